//! Email in: the incoming log (R32) with each mail's raw bytes, and the tokens mail relays post
//! incoming mail with.

use crate::error::StoreResult;
use async_trait::async_trait;
use parley_domain::inbound::IncomingStatus;
use parley_domain::*;

#[async_trait]
pub trait MailInStore {
    /// Logs a mail as received, before it is handled, with its raw bytes.
    async fn insert_incoming_email(&self, mail: NewIncomingEmail) -> StoreResult<IncomingEmailId>;
    /// Records what the mail did (and, when the outcome says so, keeps less of it); answers its
    /// log entry.
    async fn finish_incoming_email(&self, id: IncomingEmailId, outcome: IncomingOutcome) -> StoreResult<IncomingEmail>;
    /// An earlier mail with this Message-ID that posted or started something, if any.
    async fn handled_incoming_email(&self, message_id: &str) -> StoreResult<Option<IncomingEmail>>;
    /// The log since `since`, newest first, without raw bytes.
    async fn incoming_emails(&self, since: i64, limit: i64) -> StoreResult<Vec<IncomingEmail>>;
    async fn incoming_email(&self, id: IncomingEmailId) -> StoreResult<IncomingEmail>;
    async fn incoming_email_raw(&self, id: IncomingEmailId) -> StoreResult<Vec<u8>>;
    /// The mail that posted `message`, if one did and it is still kept.
    async fn incoming_email_of_message(&self, message: MessageId) -> StoreResult<Option<IncomingEmail>>;
    /// Forgets mails received before `before`; answers how many.
    async fn prune_incoming(&self, before: i64) -> StoreResult<u64>;
    /// R45: the bytes of raw mail the log keeps for mails received since `since`.
    async fn incoming_log_bytes(&self, since: i64) -> StoreResult<i64>;

    async fn insert_inbound_token(
        &self,
        name: &str,
        token_hash: &str,
        created_by: UserId,
        created_at: i64,
    ) -> StoreResult<InboundToken>;
    async fn inbound_tokens(&self) -> StoreResult<Vec<InboundToken>>;
    async fn delete_inbound_token(&self, id: InboundTokenId) -> StoreResult<()>;
    /// The token with this hash, recording its use; `NotFound` for none.
    async fn use_inbound_token(&self, token_hash: &str, now: i64) -> StoreResult<InboundTokenId>;
}

/// A mail as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncomingEmail {
    pub received_at: i64,
    /// `smtp` or `http`.
    pub via: String,
    /// Empty when the mail names no sender.
    pub from_address: String,
    /// Its recipients, comma-separated.
    pub to_addresses: String,
    pub subject: String,
    pub message_id: Option<String>,
    pub raw: Vec<u8>,
}

/// What a mail did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IncomingOutcome {
    pub status: Option<IncomingStatus>,
    /// Why it was refused or counts as automatic; what was dropped.
    pub reason: Option<String>,
    pub conversation_id: Option<ConversationId>,
    pub posted_message_id: Option<MessageId>,
    /// Who it was posted as.
    pub party: Option<Party>,
    /// What the log keeps of the mail from now on, when less than all of it (R45: a refused
    /// mail keeps its headers only).
    pub keep: Option<Vec<u8>>,
}

/// One row of the incoming log (R32).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct IncomingEmail {
    pub id: IncomingEmailId,
    pub received_at: i64,
    /// `smtp` or `http`.
    pub via: String,
    pub from_address: String,
    pub to_addresses: String,
    pub subject: String,
    pub message_id: Option<String>,
    pub status: IncomingStatus,
    pub reason: Option<String>,
    pub conversation_id: Option<ConversationId>,
    pub posted_message_id: Option<MessageId>,
    pub party: Option<Party>,
    /// The raw message's size in bytes.
    pub size: i64,
}

/// A relay's token (its secret is shown once, when it is made).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct InboundToken {
    pub id: InboundTokenId,
    pub name: String,
    pub created_by: UserId,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}
