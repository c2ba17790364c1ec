//! Copying the write-ahead log back into the database file, away from the writer.
//!
//! By default SQLite checkpoints inside the commit that takes the log past 1,000 pages: that post
//! waits while the pages are copied and the file is flushed, and a page that every post changes
//! is copied again each time. Parley's store checkpoints from a connection of its own instead, a
//! few times a second (PASSIVE: it waits for neither the writer nor the readers), so a busy page
//! is copied once per round. The writer keeps SQLite's own checkpoint only as a bound on the
//! log's size, should this fall behind.

use crate::errors::other;
use parley_store::StoreResult;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::time::Duration;
use tokio::sync::oneshot;

/// How often the log is copied back.
const EVERY: Duration = Duration::from_millis(200);

/// The writer's own checkpoint, in pages (4 KiB each): only reached if rounds fall behind.
pub(crate) const WAL_BOUND_PAGES: &str = "16384";

/// Runs checkpoints until dropped.
pub(crate) struct Checkpointer {
    _stop: oneshot::Sender<()>,
}

pub(crate) async fn start(options: SqliteConnectOptions) -> StoreResult<Checkpointer> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(other)?;
    let (stop, mut stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut rounds = tokio::time::interval(EVERY);
        rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = rounds.tick() => {}
            }
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                tracing::warn!(%error, "checkpoint failed");
            }
        }
        pool.close().await;
    });
    Ok(Checkpointer { _stop: stop })
}
