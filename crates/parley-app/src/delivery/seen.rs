//! R13 and R35: who has seen a message, and what happened to it for each recipient.

use crate::{Actor, App, AppError, AppResult};
use parley_domain::*;
use parley_store::{DeliveryRecord, SeenReceipt};

/// At most this many message ids in one seen report.
pub const MAX_SEEN_BATCH: usize = 500;

impl App {
    /// Records that the asker has seen these messages. Ids of messages not addressed to them are
    /// ignored, so nobody can mark anything for anyone else.
    pub async fn mark_seen(&self, actor: Actor, ids: &[MessageId]) -> AppResult<Vec<SeenReceipt>> {
        if ids.len() > MAX_SEEN_BATCH {
            return Err(ValidationError::new("message_ids", format!("at most {MAX_SEEN_BATCH} at once")).into());
        }
        let seen = self.store.mark_seen(actor.party(), ids, self.now()).await?;
        self.publish_seen(actor.party(), seen.clone());
        Ok(seen)
    }

    /// R35: a message's per-recipient record, for users who may see its conversation.
    pub async fn delivery_timeline(&self, actor: Actor, id: MessageId) -> AppResult<Vec<DeliveryRecord>> {
        Self::require_user(actor, "message")?;
        let message = self.store.message(id).await.map_err(AppError::from_store("message"))?;
        self.visible_conversation(actor, message.conversation_id).await.map_err(|_| AppError::NotFound("message"))?;
        Ok(self.store.delivery_timeline(id).await?)
    }
}
