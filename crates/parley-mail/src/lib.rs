//! How Parley's outgoing emails leave the process: over SMTP with lettre, or, on an installation
//! with no SMTP server configured, into an outbox folder in the data directory (one `.eml` file per
//! email), so a fresh install shows exactly what it would send.

mod message;
mod outbox;
mod smtp;
mod smtp_pool;
mod smtp_target;

pub use message::build;
pub use outbox::FileOutbox;
pub use smtp::SmtpMailer;
pub use smtp_pool::CONNECTIONS as SMTP_CONNECTIONS;
