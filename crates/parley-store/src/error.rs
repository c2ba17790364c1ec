//! Storage errors: few, so callers can act on them; causes are kept for the log only.

use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Clone, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; names what clashed (for example `email`).
    #[error("already exists: {0}")]
    Conflict(&'static str),
    /// R6: the conversation is locked; nothing was written.
    #[error("conversation is locked")]
    Locked,
    /// A write met concurrent writes it could not be ordered with (a deadlock, a serialization
    /// failure) and was rolled back: nothing was written, and trying again may succeed. Stores
    /// that run writes side by side retry such writes themselves a few times first.
    #[error("a concurrent write got in the way")]
    Contended,
    /// Anything else: the database is unreachable, a query is wrong, data is corrupt. The cause
    /// is kept whole, so a log shows its chain.
    #[error("storage failure: {0}")]
    Other(#[source] Cause),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// A failure with its cause.
    pub fn other(cause: impl std::error::Error + Send + Sync + 'static) -> StoreError {
        StoreError::Other(Cause(Arc::new(cause)))
    }

    /// A failure described in words, with no error behind it.
    pub fn message(text: impl Into<String>) -> StoreError {
        StoreError::Other(Cause(Arc::new(Message(text.into()))))
    }
}

/// The cause of a storage failure. Shared, not copied into words: one failure of a group commit
/// reaches every post of the group, each with the whole cause.
#[derive(Debug, Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

#[derive(Debug, Error)]
#[error("{0}")]
struct Message(String);

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[derive(Debug, Error)]
    #[error("connection refused")]
    struct Refused;

    #[derive(Debug, Error)]
    #[error("could not reach the database")]
    struct Unreachable(#[source] Refused);

    #[test]
    fn a_storage_failure_keeps_its_cause_chain_and_can_be_shared() {
        let failure = StoreError::other(Unreachable(Refused));
        let shared = failure.clone();
        assert_eq!(shared.to_string(), "storage failure: could not reach the database");
        let cause = shared.source().expect("the cause");
        assert_eq!(cause.to_string(), "could not reach the database");
        assert_eq!(cause.source().map(ToString::to_string).as_deref(), Some("connection refused"));
    }
}
