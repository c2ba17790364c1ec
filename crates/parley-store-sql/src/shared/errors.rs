//! Turning sqlx errors into the store's small error set.

use crate::B;
use parley_store::{StoreError, StoreResult};
use parley_store_sql::Backend;

/// Any failure; a missing row becomes `NotFound`, a write rolled back by concurrent ones
/// (`Backend::CONTENDED`) `Contended`.
pub fn other(e: impl Into<sqlx::Error>) -> StoreError {
    match e.into() {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.code().is_some_and(|code| B::CONTENDED.contains(&code.as_ref())) => {
            tracing::info!(cause = %db, "a write was rolled back by concurrent ones");
            StoreError::Contended
        }
        e => StoreError::other(e),
    }
}

/// How many times a write rolled back by concurrent ones is run again before `Contended` reaches
/// the caller.
const RETRIES: u32 = 4;

/// Runs `write` (a whole transaction, begun and committed inside it) again while the database
/// rolls it back for a deadlock (PostgreSQL; on SQLite it runs once), after a short pause that grows and varies, so that the writes that met
/// do not meet again in step.
pub async fn retrying<T, F: std::future::Future<Output = StoreResult<T>>>(
    mut write: impl FnMut() -> F,
) -> StoreResult<T> {
    let mut tries = 0;
    loop {
        match write().await {
            Err(StoreError::Contended) if tries < RETRIES => {
                tries += 1;
                tokio::time::sleep(pause(tries)).await;
            }
            done => return done,
        }
    }
}

/// 5, 10, 20, 40 ms, each plus up to as much again.
fn pause(tries: u32) -> std::time::Duration {
    let base = 5u64 << (tries - 1).min(6);
    let jitter = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    std::time::Duration::from_millis(base + u64::from(jitter) % (base + 1))
}

/// Like [`other`], but a broken uniqueness rule becomes `Conflict(what)`.
pub fn unique(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => other(e),
    }
}

pub use parley_store::decode::corrupt;

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test]
    async fn a_write_rolled_back_by_a_deadlock_runs_again() {
        let runs = Cell::new(0);
        let done = retrying(|| {
            runs.set(runs.get() + 1);
            std::future::ready(if runs.get() < 3 { Err(StoreError::Contended) } else { Ok(runs.get()) })
        })
        .await;
        assert_eq!(done.ok(), Some(3));
    }

    #[tokio::test]
    async fn a_write_that_keeps_meeting_others_gives_up_and_other_failures_are_not_retried() {
        let runs = Cell::new(0);
        let done: StoreResult<()> = retrying(|| {
            runs.set(runs.get() + 1);
            std::future::ready(Err(StoreError::Contended))
        })
        .await;
        assert!(matches!(done, Err(StoreError::Contended)));
        assert_eq!(runs.get(), 1 + RETRIES);
        runs.set(0);
        let done: StoreResult<()> = retrying(|| {
            runs.set(runs.get() + 1);
            std::future::ready(Err(StoreError::Locked))
        })
        .await;
        assert!(matches!(done, Err(StoreError::Locked)));
        assert_eq!(runs.get(), 1);
    }
}
