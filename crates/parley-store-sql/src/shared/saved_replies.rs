//! Saved replies.

use crate::errors::{other, unique};
use crate::names::DbRow;
use crate::rows::get;
use crate::SqlStore;
use async_trait::async_trait;
use parley_domain::saved_reply::SavedReply;
use parley_domain::*;
use parley_store::{SavedReplyStore, StoreError, StoreResult};

const COLUMNS: &str = "id, title, body, created_by, updated_at";

fn saved_reply(row: &DbRow) -> StoreResult<SavedReply> {
    Ok(SavedReply {
        id: SavedReplyId(get(row, "id")?),
        title: get(row, "title")?,
        body: get(row, "body")?,
        created_by: UserId(get(row, "created_by")?),
        updated_at: get(row, "updated_at")?,
    })
}

/// Titles compare without case.
fn key(title: &str) -> String {
    title.to_lowercase()
}

#[async_trait]
impl SavedReplyStore for SqlStore {
    async fn saved_replies(&self) -> StoreResult<Vec<SavedReply>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM saved_replies ORDER BY title_key, id"))
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        rows.iter().map(saved_reply).collect()
    }

    async fn saved_reply(&self, id: SavedReplyId) -> StoreResult<SavedReply> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM saved_replies WHERE id = $1"))
            .bind(id.0)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        saved_reply(&row)
    }

    async fn insert_saved_reply(&self, title: &str, body: &str, by: UserId, at: i64) -> StoreResult<SavedReply> {
        let row = sqlx::query(&format!(
            "INSERT INTO saved_replies (title, title_key, body, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}"
        ))
        .bind(title)
        .bind(key(title))
        .bind(body)
        .bind(by.0)
        .bind(at)
        .fetch_one(&self.writer)
        .await
        .map_err(unique("title"))?;
        saved_reply(&row)
    }

    async fn update_saved_reply(&self, id: SavedReplyId, title: &str, body: &str, at: i64) -> StoreResult<SavedReply> {
        let row = sqlx::query(&format!(
            "UPDATE saved_replies SET title = $2, title_key = $3, body = $4, updated_at = $5 WHERE id = $1
             RETURNING {COLUMNS}"
        ))
        .bind(id.0)
        .bind(title)
        .bind(key(title))
        .bind(body)
        .bind(at)
        .fetch_optional(&self.writer)
        .await
        .map_err(unique("title"))?;
        saved_reply(&row.ok_or(StoreError::NotFound)?)
    }

    async fn delete_saved_reply(&self, id: SavedReplyId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM saved_replies WHERE id = $1")
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(other)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
