//! R13 and R35: who has seen a message, and what happened to it for each recipient.

use crate::{Actor, App, AppResult};
use parley_domain::*;
use parley_store::{DeliveryRecord, Reader, SeenReceipt};

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
        self.message_for_staff(actor, id).await?;
        Ok(self.store.delivery_timeline(id).await?)
    }
}

/// One message's delivery records, for a conversation's delivery marks.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MessageDeliveries {
    pub message_id: MessageId,
    pub records: Vec<DeliveryRecord>,
}

impl App {
    /// R13: the delivery records of a page of a conversation's messages, for the messenger's
    /// "seen by / emailed to" marks. Staff only.
    pub async fn conversation_deliveries(
        &self,
        actor: Actor,
        id: ConversationId,
        after_number: i64,
        limit: i64,
    ) -> AppResult<Vec<MessageDeliveries>> {
        Self::require_user(actor, "conversation")?;
        self.visible_conversation(actor, id).await?;
        if !(1..=200).contains(&limit) {
            return Err(ValidationError::new("limit", "must be between 1 and 200").into());
        }
        let mut out = Vec::new();
        for m in self.store.messages(id, after_number.max(0), limit, Reader::User).await? {
            out.push(MessageDeliveries { message_id: m.id, records: self.store.delivery_timeline(m.id).await? });
        }
        Ok(out)
    }
}
