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
    /// A write met concurrent writes it could not be ordered with (a deadlock, a serialization
    /// failure) and was rolled back: nothing was written, and trying again may succeed. Stores
    /// that run writes side by side retry such writes themselves a few times first.
    #[error("a concurrent write got in the way")]
    Contended,
    /// Anything else: the database is unreachable, a query is wrong, data is corrupt.
    #[error("storage failure: {0}")]
    Other(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
