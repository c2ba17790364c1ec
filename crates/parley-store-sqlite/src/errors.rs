//! Turning sqlx errors into the store's small error set.

use parley_store::StoreError;

/// Any failure; a missing row becomes `NotFound`.
pub fn other(e: impl Into<sqlx::Error>) -> StoreError {
    match e.into() {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        e => StoreError::Other(e.to_string()),
    }
}

/// Like [`other`], but a broken uniqueness rule becomes `Conflict(what)`.
pub fn unique(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => other(e),
    }
}

pub use parley_store::decode::corrupt;
