//! Parley's domain: identifiers, validated values, entities and the rules of the product
//! (who receives a message, who may see a conversation, conversation states, preferences and the
//! messenger's views).
//!
//! Nothing in this crate does I/O or is async: every rule is a plain function over plain data, so
//! it can be read in one sitting and tested exhaustively. Storage, HTTP, realtime and email are
//! adapters around it.

pub mod access;
pub mod attachment;
pub mod audience;
pub mod automation;
pub mod delivery;
pub mod door;
pub mod entities;
pub mod excerpt;
pub mod ids;
pub mod inbound;
pub mod inbox;
pub mod markdown;
pub mod mentions;
pub mod party;
pub mod preferences;
pub mod redact;
pub mod reply_token;
pub mod routing;
pub mod saved_reply;
pub mod sealed;
pub mod search;
pub mod shown_name;
pub mod state;
pub mod system_email;
pub mod values;
pub mod views;
pub mod webhook;

pub use entities::*;
pub use ids::*;
pub use party::{Author, AuthorKind, Party};
pub use preferences::Preferences;
pub use values::{EmailAddress, ValidationError};
