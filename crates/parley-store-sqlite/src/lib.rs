//! Parley's [`Store`] on SQLite: one file in WAL mode, migrations embedded and run at start-up.
//!
//! Writes go through a pool of exactly one connection, so write transactions queue inside the
//! process instead of failing on SQLite's single-writer lock; reads use a separate pool and run
//! concurrently with the writer (WAL lets readers see the last commit).

mod conversations;
mod delivery;
mod errors;
mod inbox;
mod mail_in;
mod people;
mod rows;
mod verification;
mod views;
mod work;

use parley_store::{Store, StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new().filename(path);
        Self::open_with(options).await
    }

    /// Opens a `sqlite:` URL such as `sqlite://parley-data/parley.db`.
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url).map_err(errors::other)?;
        Self::open_with(options).await
    }

    async fn open_with(options: SqliteConnectOptions) -> StoreResult<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL survives a crash of the process (the email outbox relies on it);
            // only a power loss may drop the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer =
            SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await.map_err(errors::other)?;
        sqlx::migrate!("./migrations")
            .run(&writer)
            .await
            .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        let mut tx = writer.begin().await.map_err(errors::other)?;
        inbox::build_if_missing(&mut tx).await?;
        tx.commit().await.map_err(errors::other)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await
            .map_err(errors::other)?;
        Ok(SqliteStore { writer, reader })
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
