//! Attachments: the records of uploaded files (their bytes are kept by the application, named by
//! their SHA-256) and which message each belongs to.

use crate::error::StoreResult;
use async_trait::async_trait;
use parley_domain::attachment::Attachment;
use parley_domain::*;

/// A file just uploaded into a conversation, not yet on a message.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub conversation_id: ConversationId,
    pub uploader: Party,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    /// Lower-case hex; names the stored bytes.
    pub sha256: String,
    pub created_at: i64,
}

/// A stored attachment with what deciding who may fetch it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttachment {
    pub attachment: Attachment,
    pub conversation_id: ConversationId,
    /// `None` while it is only uploaded: then only its uploader may fetch it.
    pub message_id: Option<MessageId>,
    /// What decides who may read its message, when it is on one.
    pub message: Option<parley_domain::access::MessageFacts>,
    pub uploader: Party,
    pub sha256: String,
}

#[async_trait]
pub trait AttachmentStore {
    async fn insert_attachment(&self, attachment: NewAttachment) -> StoreResult<Attachment>;
    async fn attachment(&self, id: AttachmentId) -> StoreResult<StoredAttachment>;
    /// Removes uploads that no message took by `before`; answers the hashes of the bytes no
    /// attachment names any more.
    async fn prune_unattached(&self, before: i64) -> StoreResult<Vec<String>>;
    /// Whether any attachment names these bytes.
    async fn bytes_in_use(&self, sha256: &str) -> StoreResult<bool>;
}
