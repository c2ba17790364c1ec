//! Storage errors: few, so callers can act on them; causes are kept for the log only.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; names what clashed (for example `email`).
    #[error("already exists: {0}")]
    Conflict(&'static str),
    /// R6: the conversation is locked; nothing was written.
    #[error("conversation is locked")]
    Locked,
    /// Anything else: the database is unreachable, a query is wrong, data is corrupt.
    #[error("storage failure: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
