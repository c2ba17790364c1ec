//! Attachment records: uploads, the messages that take them, and the files of listed messages.

use crate::errors::other;
use crate::names::DbRow;
use crate::names::{Db, DbConnection};
use crate::rows::{self, get};
use crate::SqlStore;
use crate::B;
use async_trait::async_trait;
use parley_domain::access::MessageFacts;
use parley_domain::attachment::Attachment;
use parley_domain::*;
use parley_store::{AttachmentStore, NewAttachment, StoreError, StoreResult, StoredAttachment};
use parley_store_sql::Backend;
use sqlx::Executor;
use std::collections::HashMap;

fn attachment(row: &DbRow) -> StoreResult<Attachment> {
    Ok(Attachment {
        id: AttachmentId(get(row, "id")?),
        name: get(row, "name")?,
        content_type: get(row, "content_type")?,
        size: get(row, "size")?,
    })
}

/// Fills in the files of `messages` with one read.
pub(crate) async fn fill<'e>(db: impl Executor<'e, Database = Db>, messages: &mut [Message]) -> StoreResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    // Every page of messages reads its files: the statement is spelled once.
    static FILES_OF: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT a.id, a.message_id, a.name, a.content_type, a.size
             FROM {ids} {join} attachments a ON a.message_id = ids.value ORDER BY a.id",
            ids = B::id_table(1),
            join = B::THEN_JOIN
        )
    });
    let rows =
        sqlx::query(&FILES_OF).bind(B::id_list(messages.iter().map(|m| m.id.0))).fetch_all(db).await.map_err(other)?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut of: HashMap<i64, Vec<Attachment>> = HashMap::new();
    for row in &rows {
        of.entry(get(row, "message_id")?).or_default().push(attachment(row)?);
    }
    for m in messages {
        m.attachments = of.remove(&m.id.0).unwrap_or_default();
    }
    Ok(())
}

/// Before anything of a post is written: every file it names must be an upload of its author into
/// its conversation that no message has taken yet.
pub(crate) async fn check_unsent(tx: &mut DbConnection, m: &parley_store::NewMessage) -> StoreResult<()> {
    if m.attachments.is_empty() {
        return Ok(());
    }
    let Some(author) = m.author.party() else { return Err(StoreError::Conflict("attachment")) };
    let found: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {ids} {join} attachments a ON a.id = ids.value
         WHERE a.message_id IS NULL AND a.conversation_id = $2 AND a.uploader_kind = $3 AND a.uploader_id = $4",
        ids = B::id_table(1),
        join = B::THEN_JOIN
    ))
    .bind(B::id_list(m.attachments.iter().map(|a| a.0)))
    .bind(m.conversation_id.0)
    .bind(author.kind_str())
    .bind(author.raw_id())
    .fetch_one(&mut *tx)
    .await
    .map_err(other)?;
    let distinct: std::collections::BTreeSet<_> = m.attachments.iter().collect();
    if found != m.attachments.len() as i64 || distinct.len() != m.attachments.len() {
        return Err(StoreError::Conflict("attachment"));
    }
    Ok(())
}

/// Gives the checked uploads to the message, and answers them in the order they were uploaded
/// (the order every read lists them in).
pub(crate) async fn take(
    tx: &mut DbConnection,
    message: MessageId,
    ids: &[AttachmentId],
) -> StoreResult<Vec<Attachment>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let rows = sqlx::query(&format!(
        "UPDATE attachments SET message_id = $1 WHERE id IN ({ids})
         RETURNING id, name, content_type, size",
        ids = B::id_set(2)
    ))
    .bind(message.0)
    .bind(B::id_list(ids.iter().map(|a| a.0)))
    .fetch_all(&mut *tx)
    .await
    .map_err(other)?;
    let mut taken: Vec<Attachment> = rows.iter().map(attachment).collect::<StoreResult<_>>()?;
    taken.sort_by_key(|a| a.id);
    Ok(taken)
}

#[async_trait]
impl AttachmentStore for SqlStore {
    async fn insert_attachment(&self, a: NewAttachment) -> StoreResult<Attachment> {
        let row = sqlx::query(
            "INSERT INTO attachments (conversation_id, uploader_kind, uploader_id, name, content_type, size, sha256,
               created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, name, content_type, size",
        )
        .bind(a.conversation_id.0)
        .bind(a.uploader.kind_str())
        .bind(a.uploader.raw_id())
        .bind(&a.name)
        .bind(&a.content_type)
        .bind(a.size)
        .bind(&a.sha256)
        .bind(a.created_at)
        .fetch_one(&self.writer)
        .await
        .map_err(other)?;
        attachment(&row)
    }

    async fn attachment(&self, id: AttachmentId) -> StoreResult<StoredAttachment> {
        let row = sqlx::query(
            "SELECT a.id, a.conversation_id, a.message_id, a.uploader_kind AS party_kind, a.uploader_id AS party_id,
               a.name, a.content_type, a.size, a.sha256, m.visibility, m.held_until, m.withdrawn_at IS NOT NULL AS withdrawn
             FROM attachments a LEFT JOIN messages m ON m.id = a.message_id WHERE a.id = $1",
        )
        .bind(id.0)
        .fetch_one(&self.reader)
        .await
        .map_err(other)?;
        let message_id = get::<Option<i64>>(&row, "message_id")?.map(MessageId);
        let message = match message_id {
            None => None,
            Some(_) => Some(MessageFacts {
                visibility: rows::parse(&row, "visibility", Visibility::parse)?,
                held_until: get(&row, "held_until")?,
                withdrawn: get(&row, "withdrawn")?,
            }),
        };
        Ok(StoredAttachment {
            attachment: attachment(&row)?,
            conversation_id: ConversationId(get(&row, "conversation_id")?),
            message_id,
            message,
            uploader: rows::party(&row)?,
            sha256: get(&row, "sha256")?,
        })
    }

    async fn prune_unattached(&self, before: i64) -> StoreResult<Vec<String>> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let gone: Vec<String> =
            sqlx::query_scalar("DELETE FROM attachments WHERE message_id IS NULL AND created_at < $1 RETURNING sha256")
                .bind(before)
                .fetch_all(&mut *tx)
                .await
                .map_err(other)?;
        let mut unused = Vec::new();
        for sha in gone {
            let used: Option<i64> =
                sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM attachments WHERE sha256 = $1 LIMIT 1")
                    .bind(&sha)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(other)?;
            if used.is_none() && !unused.contains(&sha) {
                unused.push(sha);
            }
        }
        tx.commit().await.map_err(other)?;
        Ok(unused)
    }

    async fn bytes_in_use(&self, sha256: &str) -> StoreResult<bool> {
        let used: Option<i64> =
            sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM attachments WHERE sha256 = $1 LIMIT 1")
                .bind(sha256)
                .fetch_optional(&self.reader)
                .await
                .map_err(other)?;
        Ok(used.is_some())
    }
}
