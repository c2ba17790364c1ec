//! The storage seam. Application services speak to storage only through the [`Store`] trait; each
//! database has its own implementation crate with its own migrations, and the same behaviour tests
//! run against each.
//!
//! Operations that must be atomic (posting a message with its audience, linking a conversation
//! with its follower changes, creating the company with its first admin) are single methods here,
//! so each implementation can run them in one transaction.

pub mod accounts;
mod attachments;
pub mod automations;
pub mod bursts;
mod conversations;
pub mod decode;
mod delivery;
mod error;
pub mod inbox_rows;
mod mail_in;
mod notices;
pub mod people;
mod records;
pub mod routing;
mod saved_replies;
mod search;
pub mod webhooks;
mod work;

pub use accounts::{AccountStore, NewInvitation, NewPasswordLink};
pub use attachments::{AttachmentStore, NewAttachment, StoredAttachment};
pub use automations::AutomationStore;
pub use conversations::ConversationStore;
pub use delivery::DeliveryStore;
pub use error::{StoreError, StoreResult};
pub use mail_in::{InboundToken, IncomingEmail, IncomingOutcome, MailInStore, NewIncomingEmail};
pub use notices::{Notice, NoticeBoard};
pub use people::{CustomerReach, PeopleStore};
pub use records::*;
pub use saved_replies::SavedReplyStore;
pub use search::{CustomerHit, Excerpt, ItemReach, MessageHit, SearchAsk, SearchHits, SearchStore};
pub use webhooks::WebhookStore;

/// The role in `conversation_people` of a user who wrote in the conversation (R41): it counts as
/// following for notifications and views, never for access.
pub const TAKING_PART: &str = "taking_part";

/// The role in `conversation_people` of a user assigned an independent conversation (R42); a
/// linked conversation's assignees are its item's.
pub const ASSIGNEE: &str = "assignee";
pub use work::WorkStore;

/// Everything Parley keeps. One value of this is shared by the whole server.
pub trait Store:
    PeopleStore
    + WorkStore
    + ConversationStore
    + DeliveryStore
    + MailInStore
    + SearchStore
    + AttachmentStore
    + SavedReplyStore
    + AccountStore
    + AutomationStore
    + WebhookStore
    + NoticeBoard
    + Send
    + Sync
    + 'static
{
    /// A short name of the backend, for logs.
    fn backend(&self) -> &'static str;

    /// The counts each committed write changed, one batch per write, in the order the writes
    /// committed. Each change holds the view's new values, so a listener needs no read to pass
    /// them on. A listener that falls behind is told how many batches it missed (`Lagged`).
    fn tally_changes(&self) -> tokio::sync::broadcast::Receiver<std::sync::Arc<[TallyChange]>>;
}
