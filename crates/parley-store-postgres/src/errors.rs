//! Turning sqlx errors into the store's small error set.

use parley_store::{StoreError, StoreResult};

/// PostgreSQL's codes for a transaction rolled back because of concurrent ones: a deadlock and a
/// serialization failure. Nothing of it was written; it may be run again.
const CONTENDED: [&str; 2] = ["40P01", "40001"];

/// Any failure; a missing row becomes `NotFound`, a deadlock `Contended`.
pub fn other(e: impl Into<sqlx::Error>) -> StoreError {
    match e.into() {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.code().is_some_and(|code| CONTENDED.contains(&code.as_ref())) => {
            tracing::info!(cause = %db, "a write was rolled back by concurrent ones");
            StoreError::Contended
        }
        e => StoreError::Other(e.to_string()),
    }
}

/// How many times a write rolled back by concurrent ones is run again before `Contended` reaches
/// the caller.
const RETRIES: u32 = 4;

/// Runs `write` (a whole transaction, begun and committed inside it) again while PostgreSQL rolls
/// it back for a deadlock, after a short pause that grows and varies, so that the writes that met
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

#[cfg(all(test, feature = "postgres-tests"))]
mod on_postgres {
    use super::*;
    use crate::scratch::{test_database_url, ScratchSchema};
    use sqlx::{Executor, PgPool};

    #[tokio::test]
    async fn a_deadlock_is_contended_and_leaves_the_other_write_to_finish() {
        let schema = ScratchSchema::create(&test_database_url()).await.unwrap_or_else(|e| panic!("{e}"));
        let pool = PgPool::connect(&schema.url()).await.unwrap_or_else(|e| panic!("{e}"));
        pool.execute("CREATE TABLE pair (id INT PRIMARY KEY, n INT); INSERT INTO pair VALUES (1, 0), (2, 0)")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (mut a, mut b) = (
            pool.begin().await.unwrap_or_else(|e| panic!("{e}")),
            pool.begin().await.unwrap_or_else(|e| panic!("{e}")),
        );
        a.execute("UPDATE pair SET n = 1 WHERE id = 1").await.unwrap_or_else(|e| panic!("{e}"));
        b.execute("UPDATE pair SET n = 2 WHERE id = 2").await.unwrap_or_else(|e| panic!("{e}"));
        // Each now waits for the row the other holds: PostgreSQL rolls one of them back.
        let (first, second) = tokio::join!(
            a.execute("UPDATE pair SET n = 1 WHERE id = 2"),
            b.execute("UPDATE pair SET n = 2 WHERE id = 1")
        );
        let outcomes = [first.map(|_| ()).map_err(other), second.map(|_| ()).map_err(other)];
        assert_eq!(outcomes.iter().filter(|o| matches!(o, Err(StoreError::Contended))).count(), 1, "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    }
}
