//! Parley's [`Store`] on PostgreSQL, for installs that outgrow one machine: several Parley nodes
//! share one database. Migrations are embedded and run at start-up (or ahead of a deploy with
//! `parley migrate`).
//!
//! Unlike SQLite, PostgreSQL lets write transactions run side by side. Every write that changes
//! what people see of a conversation first locks that conversation's row (`FOR UPDATE`, several
//! in id order), so its inbox rows and counts change one write at a time, as on SQLite, while
//! writes to different conversations commit concurrently.

mod bus;
mod claims;
#[cfg(all(test, feature = "postgres-tests"))]
mod deadlock;
mod dialect;
mod engine;
mod posting;
mod pushes;
pub mod scratch;
mod search;

/// The store's modules, written once (`parley-store-sql`), at this crate's root.
#[path = "../../parley-store-sql/src/shared/mod.rs"]
mod shared;
use shared::*;

use parley_store::{Notice, NoticeBoard, Store, StoreError, StoreResult, TallyChange};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The backend the shared store code (`parley-store-sql`) is compiled for here, and the store it
/// implements the store traits on.
pub(crate) type B = dialect::Postgres;
pub(crate) type SqlStore = PgStore;

pub struct PgStore {
    pool: PgPool,
    /// The same pool under the names the shared store code reads and writes through.
    reader: PgPool,
    writer: PgPool,
    /// What this node tells the others and hears from them, the counts each write changed among
    /// it.
    bus: Arc<bus::Bus>,
    posts: posting::Posts,
    pushes: pushes::Pushes,
    announcer: bus::Announcer,
    /// This node, once [`PgStore::open`] started it: the owner its claims name (R44).
    node: std::sync::OnceLock<claims::Node>,
    /// The loop that takes back the claims of nodes that are gone; ends with the store.
    taking_back: std::sync::OnceLock<AbortOnDrop>,
    options: PgConnectOptions,
}

/// A task that ends when this is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How many connections one node keeps to the database.
const POOL_SIZE: u32 = 16;

/// The migrations of this backend, embedded in the binary. A node of an older version, started
/// after a newer one migrated the database, runs on the newer schema: migrations only add.
fn migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host/db`) and brings its schema up to
    /// date.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        store.resume_rebuilds().await?;
        let node = claims::Node::start(&store.options).await?;
        let me = node.id;
        let _ = store.node.set(node);
        // What nodes that die leave claimed is taken back within seconds (R44).
        let pool = store.pool.clone();
        let _ = store.taking_back.set(AbortOnDrop(tokio::spawn(async move {
            loop {
                tokio::time::sleep(claims::LOOK_EVERY).await;
                if let Err(error) = claims::take_back_from_gone(&pool, Some(me)).await {
                    tracing::warn!(%error, "looking for the claims of nodes that are gone failed");
                }
            }
        })));
        Ok(store)
    }

    /// The node id this store's claims name: none before [`PgStore::open`] started the node.
    fn owner(&self) -> Option<i64> {
        self.node.get().map(|n| n.id)
    }

    /// Connects without touching the schema.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        // PostgreSQL's notices ("relation already exists, skipping") are not worth a log line.
        let options =
            PgConnectOptions::from_str(url).map_err(errors::other)?.options([("client_min_messages", "warning")]);
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(errors::other)?;
        let schema: String =
            sqlx::query_scalar("SELECT current_schema()").fetch_one(&pool).await.map_err(errors::other)?;
        let bus = Arc::new(bus::Bus::start(url, &schema).await?);
        let posts = posting::Posts::start(pool.clone(), bus.clone());
        let pushes = pushes::Pushes::start(pool.clone());
        let announcer = bus::Announcer::start(pool.clone(), bus.notices_channel().to_owned());
        Ok(PgStore {
            reader: pool.clone(),
            writer: pool.clone(),
            pool,
            bus,
            posts,
            pushes,
            announcer,
            node: std::sync::OnceLock::new(),
            taking_back: std::sync::OnceLock::new(),
            options,
        })
    }

    /// Runs the migrations not yet run. Several nodes starting at once run each migration once
    /// (sqlx holds an advisory lock while it migrates).
    pub async fn migrate(&self) -> StoreResult<()> {
        migrator().run(&self.pool).await.map_err(StoreError::other)?;
        inbox::build_if_missing(&self.pool).await
    }

    /// The connection pool, for the parts of a node that speak to the database themselves.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Commits a write transaction that sends the count changes it made, and returns once this node
/// heard them: by then every listener on this node has them.
async fn commit(
    mut tx: Transaction<'static, Postgres>,
    bus: &bus::Bus,
    mut tallies: inbox::Tallies,
) -> StoreResult<()> {
    inbox::flush(&mut tx, &mut tallies).await?;
    if tallies.written.is_empty() {
        return tx.commit().await.map_err(errors::other);
    }
    let write = bus.send_counts(&mut tx, &tallies.written).await?;
    tx.commit().await.map_err(errors::other)?;
    bus.heard(write).await;
    Ok(())
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn tally_changes(&self) -> broadcast::Receiver<Arc<[TallyChange]>> {
        self.bus.tallies.subscribe()
    }
}

#[async_trait::async_trait]
impl NoticeBoard for PgStore {
    async fn announce(&self, notice: Notice) -> StoreResult<()> {
        self.announcer.announce(self.bus.payloads(notice)?).await
    }

    fn notices(&self) -> broadcast::Receiver<Arc<Notice>> {
        self.bus.notices.subscribe()
    }
}
