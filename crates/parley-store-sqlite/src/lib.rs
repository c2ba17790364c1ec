//! Parley's [`Store`] on SQLite: one file in WAL mode, migrations embedded and run at start-up.
//!
//! Writes go through a pool of exactly one connection, so write transactions queue inside the
//! process instead of failing on SQLite's single-writer lock; reads use a separate pool and run
//! concurrently with the writer (WAL lets readers see the last commit).

mod checkpoint;
mod dialect;
mod engine;
mod posting;
mod search;
mod urgent;

/// The store's modules, written once (`parley-store-sql`), at this crate's root.
#[path = "../../parley-store-sql/src/shared/mod.rs"]
mod shared;
use shared::*;

use parley_store::{Notice, NoticeBoard, Store, StoreError, StoreResult, TallyChange};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The backend the shared store code (`parley-store-sql`) is compiled for here, and the store it
/// implements the store traits on.
pub(crate) type B = dialect::Sqlite;
pub(crate) type SqlStore = SqliteStore;

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    tallies: Arc<Announcer>,
    posts: posting::Posts,
    /// Email work waiting for the writer, which the next group of posts lets go first.
    urgent: Arc<urgent::Urgent>,
    _checkpointer: checkpoint::Checkpointer,
    /// No other node shares the file: nothing is ever heard here.
    silence: broadcast::Sender<Arc<Notice>>,
}

/// Announces each write's count changes after it commits, in commit order.
struct Announcer {
    sender: broadcast::Sender<Arc<[TallyChange]>>,
    /// Taken before the commit, while the one writer connection is still held, and kept until the
    /// announcement is sent: the next write cannot commit and announce in between.
    order: tokio::sync::Mutex<()>,
}

/// Batches kept for a listener that is slow; one further behind is told it lagged.
const TALLY_BACKLOG: usize = 4096;

/// When a commit is on disk (SQLite's `synchronous`, in WAL mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// A commit survives a crash of Parley (the email outbox relies on that); a power loss or an
    /// operating-system crash may drop the last commits before the next checkpoint.
    #[default]
    Normal,
    /// Every commit is flushed to disk before it is acknowledged: nothing acknowledged is lost
    /// even on power loss, at the cost of one disk flush per write.
    Full,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        Self::open_durable(path, Durability::Normal).await
    }

    pub async fn open_durable(path: &Path, durability: Durability) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new().filename(path);
        Self::open_with(options, durability).await
    }

    /// Opens a `sqlite:` URL such as `sqlite://parley-data/parley.db`.
    pub async fn open_url(url: &str, durability: Durability) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url).map_err(errors::other)?;
        Self::open_with(options, durability).await
    }

    async fn open_with(options: SqliteConnectOptions, durability: Durability) -> StoreResult<Self> {
        let synchronous = match durability {
            Durability::Normal => SqliteSynchronous::Normal,
            Durability::Full => SqliteSynchronous::Full,
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Statement journals (an upsert inside a transaction keeps one) in memory, not in a
            // temporary file written on every post.
            .pragma("temp_store", "memory");
        // Page caches sized for a year of history (SQLite's default is 2 MiB): the writer's holds
        // the conversations and inboxes a post touches, each reader's the pages a view reads.
        // A connection to a local file does not go stale: sqlx's check before each use (a round
        // trip to the connection's thread) is left out.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(
                options
                    .clone()
                    .pragma("cache_size", "-65536")
                    .pragma("wal_autocheckpoint", checkpoint::WAL_BOUND_PAGES),
            )
            .await
            .map_err(errors::other)?;
        sqlx::migrate!("./migrations").run(&writer).await.map_err(StoreError::other)?;
        inbox::build_if_missing(&writer).await?;
        let checkpointer = checkpoint::start(options.clone()).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options.read_only(true).pragma("cache_size", "-16384"))
            .await
            .map_err(errors::other)?;
        let tallies = Arc::new(Announcer { sender: broadcast::channel(TALLY_BACKLOG).0, order: Default::default() });
        let urgent = Arc::new(urgent::Urgent::default());
        let posts = posting::Posts::start(writer.clone(), tallies.clone(), urgent.clone());
        let silence = broadcast::channel(1).0;
        let store = SqliteStore { writer, reader, tallies, posts, urgent, _checkpointer: checkpointer, silence };
        store.resume_rebuilds().await?;
        Ok(store)
    }
}

impl Announcer {
    async fn commit(&self, mut tx: Transaction<'static, Sqlite>, mut tallies: inbox::Tallies) -> StoreResult<()> {
        inbox::flush(&mut tx, &mut tallies).await?;
        if tallies.written.is_empty() {
            return tx.commit().await.map_err(errors::other);
        }
        let _order = self.order.lock().await;
        tx.commit().await.map_err(errors::other)?;
        // Nobody listening is fine: there is no one to tell.
        let _ = self.sender.send(tallies.written.into());
        Ok(())
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn tally_changes(&self) -> broadcast::Receiver<Arc<[TallyChange]>> {
        self.tallies.sender.subscribe()
    }
}

/// One process owns the file: there are no other nodes to tell or to hear.
#[async_trait::async_trait]
impl NoticeBoard for SqliteStore {
    async fn announce(&self, _notice: Notice) -> StoreResult<()> {
        Ok(())
    }

    fn notices(&self) -> broadcast::Receiver<Arc<Notice>> {
        self.silence.subscribe()
    }
}
