//! Saved replies: the team's canned answers.

use crate::error::StoreResult;
use async_trait::async_trait;
use parley_domain::saved_reply::SavedReply;
use parley_domain::*;

#[async_trait]
pub trait SavedReplyStore {
    /// Every saved reply, by title.
    async fn saved_replies(&self) -> StoreResult<Vec<SavedReply>>;
    async fn saved_reply(&self, id: SavedReplyId) -> StoreResult<SavedReply>;
    /// `Conflict("title")` when another has the same title, whatever its case.
    async fn insert_saved_reply(&self, title: &str, body: &str, by: UserId, at: i64) -> StoreResult<SavedReply>;
    async fn update_saved_reply(&self, id: SavedReplyId, title: &str, body: &str, at: i64) -> StoreResult<SavedReply>;
    async fn delete_saved_reply(&self, id: SavedReplyId) -> StoreResult<()>;
}
