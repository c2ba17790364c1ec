//! Parley's [`Store`] on PostgreSQL, for installs that outgrow one machine: several Parley nodes
//! share one database. Migrations are embedded and run at start-up (or ahead of a deploy with
//! `parley migrate`).
//!
//! Unlike SQLite, PostgreSQL lets write transactions run side by side. Every write that changes
//! what people see of a conversation first locks that conversation's row (`FOR UPDATE`, several
//! in id order), so its inbox rows and counts change one write at a time, as on SQLite, while
//! writes to different conversations commit concurrently.

mod accounts;
mod attachments;
mod automations;
mod bus;
mod conversations;
mod delivery;
mod digest_reads;
mod errors;
mod inbox;
mod inbox_rebuild;
mod mail_in;
mod people;
mod posting;
mod pushes;
mod row_details;
mod rows;
mod saved_replies;
pub mod scratch;
mod search;
mod verification;
mod views;
mod webhooks;
mod work;

use parley_store::{Notice, NoticeBoard, Store, StoreError, StoreResult, TallyChange};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

pub struct PgStore {
    pool: PgPool,
    /// What this node tells the others and hears from them, the counts each write changed among
    /// it.
    bus: Arc<bus::Bus>,
    posts: posting::Posts,
    pushes: pushes::Pushes,
    announcer: bus::Announcer,
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
        Ok(store)
    }

    /// Connects without touching the schema.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        // PostgreSQL's notices ("relation already exists, skipping") are not worth a log line.
        let options =
            PgConnectOptions::from_str(url).map_err(errors::other)?.options([("client_min_messages", "warning")]);
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(errors::other)?;
        let schema: String =
            sqlx::query_scalar("SELECT current_schema()").fetch_one(&pool).await.map_err(errors::other)?;
        let bus = Arc::new(bus::Bus::start(url, &schema).await?);
        let posts = posting::Posts::start(pool.clone(), bus.clone());
        let pushes = pushes::Pushes::start(pool.clone());
        let announcer = bus::Announcer::start(pool.clone(), bus.notices_channel().to_owned());
        Ok(PgStore { pool, bus, posts, pushes, announcer })
    }

    /// Runs the migrations not yet run. Several nodes starting at once run each migration once
    /// (sqlx holds an advisory lock while it migrates).
    pub async fn migrate(&self) -> StoreResult<()> {
        migrator().run(&self.pool).await.map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        inbox::build_if_missing(&self.pool).await
    }

    /// The connection pool, for the parts of a node that speak to the database themselves.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Commits a write transaction with the count changes it made (see [`commit`]).
    async fn commit(&self, tx: Transaction<'static, Postgres>, tallies: inbox::Tallies) -> StoreResult<()> {
        commit(tx, &self.bus, tallies).await
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
