//! Parley's store, written once for SQLite and PostgreSQL.
//!
//! The store's SQL lives in `src/shared/`: plain Rust modules that each backend crate
//! (`parley-store-sqlite`, `parley-store-postgres`) compiles as its own (`#[path]`), against its
//! own [`Backend`] (`crate::B`) and store type (`crate::SqlStore`, an [`Engine`]). ARCHITECTURE.md
//! describes how a store method is added. sqlx's generic bounds over a database (an executor for every connection and
//! transaction, an encoding for every bound type) would have to be spelled out on every function
//! of the store; compiled into each backend, the same source meets concrete types instead, and the
//! compiler checks it once per backend.
//!
//! # The rule
//! 1. SQL is written once, with `$n` parameters (SQLite reads `$1` as PostgreSQL does).
//! 2. A *spelling* difference is an item of [`Backend`], never a second copy of a function:
//!    `GREATEST`/`MAX`, how a list of ids is bound, join-order hints.
//! 3. A difference in the *concurrency model* is a hook that does nothing on the other backend:
//!    row locks in id order, `FOR UPDATE [SKIP LOCKED]`, retrying a deadlocked write.
//! 4. An *engine feature* (full-text search, group commit, notices between nodes, WAL checkpoints)
//!    is implemented in the backend crate, with a behaviour test as its contract.
//! 5. Migrations stay per backend.

pub mod placeholders;

use parley_domain::{MessageId, Party};
use parley_store::inbox_rows::Tallies;
use parley_store::StoreResult;
use std::future::Future;

/// A connection of backend `B`'s database.
pub type Connection<B> = <<B as Backend>::Db as sqlx::Database>::Connection;
/// A row of backend `B`'s database.
pub type Row<B> = <<B as Backend>::Db as sqlx::Database>::Row;

/// What differs between the engines the shared store runs on: the explicit, compiler-checked list.
/// Each backend crate implements it once and names the implementation `crate::B`.
pub trait Backend: 'static {
    /// The sqlx database.
    type Db: sqlx::Database;

    /// Spelling: the larger of two values (`MAX(a, b)` on SQLite, `GREATEST(a, b)` on PostgreSQL).
    const GREATEST: &'static str;
    /// Spelling: the smaller of two values.
    const LEAST: &'static str;

    /// A list of ids bound as one parameter.
    type IdList: Send;
    /// Binds `ids` as one parameter, read back by [`Backend::id_set`] and [`Backend::id_table`].
    fn id_list(ids: impl IntoIterator<Item = i64>) -> Self::IdList;
    /// Spelling: a subquery of the ids bound as `$n`, for `x IN (…)`.
    fn id_set(n: u8) -> String;
    /// Spelling: the ids bound as `$n` as a table `ids` of one column `value`, for `FROM`.
    fn id_table(n: u8) -> String;
    /// Spelling: a join that keeps the table before it outermost. SQLite's planner may start a
    /// plain join from either side and walk a whole table; `CROSS JOIN` fixes the order there.
    /// PostgreSQL plans these well and spells it `JOIN`.
    const THEN_JOIN: &'static str;
    /// Spelling: what goes before a column to keep the planner off its index, where reading the
    /// index first would be the slower way (`+` on SQLite; PostgreSQL chooses well without it).
    const UNINDEXED: &'static str;

    /// Concurrency: what a read that is about to be written ends with to lock its rows until the
    /// commit (` FOR UPDATE`); nothing where one writer runs at a time.
    const FOR_UPDATE: &'static str;
    /// Concurrency: what the inner select of a claim ends with to pass over rows another claim
    /// holds (` FOR UPDATE SKIP LOCKED`); nothing where one writer runs at a time.
    const SKIP_LOCKED: &'static str;

    /// Concurrency: locks the rows of these conversations until the transaction ends, in id order
    /// (so that two writes locking several never wait on each other in a circle). Their inbox rows
    /// are then changed by one write at a time, each reading the facts once the lock is held. A
    /// backend whose writes run one at a time does nothing.
    fn lock_conversations(
        conn: &mut Connection<Self>,
        conversations: &[i64],
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Concurrency: SQLState codes of a transaction rolled back because of concurrent ones, which
    /// may be run again ([`parley_store::StoreError::Contended`]). None where writes never run side by side.
    const CONTENDED: &'static [&'static str];
}

/// What a backend's store does its own way with state of its own: the parts of the concurrency
/// model that need this node's name, its writer lane or its batched writers. The shared store code
/// calls these on the backend's store type (`crate::SqlStore`).
pub trait Engine: Sync {
    type B: Backend;
    /// Held while an email write waits for the writer or holds it.
    type Lane<'a>
    where
        Self: 'a;

    /// Concurrency: the lane an email write takes, so that due email work is not starved by
    /// posts. SQLite's one writer lets such a write go before the next group of posts; PostgreSQL
    /// runs writes side by side and needs none.
    fn writer_lane(&self) -> Self::Lane<'_>;

    /// Commits a write transaction with the count changes it made (after writing them, the
    /// transaction's last statement), then tells this node's listeners, and on PostgreSQL the
    /// other nodes, in commit order.
    fn commit(
        &self,
        tx: sqlx::Transaction<'static, <Self::B as Backend>::Db>,
        tallies: Tallies,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Concurrency: what a webhook delivery's claim sets besides its lease (`$1`): nothing, or
    /// this node as the claim's owner.
    fn claim_owned(&self) -> String;

    /// Concurrency: claims the email jobs of the soonest due digests (a person and a
    /// conversation, each taken whole) until `lease_until`, answering the claimed rows (message_id,
    /// conversation_id, party_kind, party_id, notify, seen_at). Several nodes each take other
    /// digests.
    fn claim_due_jobs(
        &self,
        conn: &mut Connection<Self::B>,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Vec<Row<Self::B>>>> + Send;

    /// Concurrency: what an outgoing email's claim sets besides `claimed_until`, which it is given
    /// as `lease` (SQL): nothing, or this node as the claim's owner.
    fn outgoing_claim_owned(&self, lease: &str) -> String;

    /// Concurrency: takes back the claims a stopped node left: all of them where one process
    /// holds the database, only those of nodes that are gone where nodes share it.
    fn take_back(&self) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Records when messages were pushed to people who are connected; one write per call, or
    /// writes grouped across calls.
    fn mark_pushed(&self, pushed: &[(MessageId, Party)], now: i64) -> impl Future<Output = StoreResult<()>> + Send;
}
