//! Delivery after a message is stored: seen receipts and the delivery timeline (R13, R35), email
//! templates (R29), composing digests (R16, R34), the worker that emails what stays unseen (R14,
//! R15), the secrets filled in as an email leaves (R44) and the outgoing log (R32).

mod compose;
mod journal;
mod log;
mod seal;
mod seen;
pub(crate) mod system_templates;
pub(crate) mod templates;
mod worker;

pub use journal::SentJournal;
pub use seen::MessageDeliveries;
pub use templates::{TemplateEdit, TemplatePreview, NEW_MESSAGE_TEMPLATE};
pub use worker::{DeliveryRound, DeliveryWorker};
