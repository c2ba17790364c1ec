//! What SQLite's store does its own way (`parley_store_sql::Engine`): email writes take the
//! writer before the next group of posts (`urgent.rs`), one process holds every claim, and push
//! records are written as they come.

use crate::errors::other;
use crate::names::DbRow;
use crate::{urgent, SqliteStore};
use parley_domain::{MessageId, Party};
use parley_store::inbox_rows::Tallies;
use parley_store::StoreResult;
use parley_store_sql::Engine;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, Transaction};

/// What a restart takes back. Only unsettled work is ever claimed: each statement reads its
/// queue's partial index, not the whole history.
const TAKE_BACK: [&str; 3] = [
    "UPDATE message_recipients SET claimed_until = NULL
     WHERE email_state = 'pending' AND email_due_at IS NOT NULL AND claimed_until IS NOT NULL",
    // A sealed email stays sealed (see `SEALED_LEASE`, 2^62).
    "UPDATE outgoing_emails
       SET claimed_until = CASE WHEN claimed_until >= 4611686018427387904 THEN 4611686018427387904 END
     WHERE status = 'queued' AND next_attempt_at IS NOT NULL AND claimed_until IS NOT NULL
       AND claimed_until <> 4611686018427387904",
    "UPDATE webhook_deliveries SET leased_until = NULL WHERE state = 'pending' AND leased_until IS NOT NULL",
];

/// The soonest due jobs name the digests (a person and a conversation); each is taken
/// whole, so that a digest is never split between two rounds.
const CLAIM_DUE: &str = "UPDATE message_recipients SET claimed_until = $1
    WHERE email_state = 'pending' AND email_due_at <= $2 AND (claimed_until IS NULL OR claimed_until <= $2)
      AND (party_kind, party_id, conversation_id) IN (
        SELECT DISTINCT party_kind, party_id, conversation_id FROM (
          SELECT party_kind, party_id, conversation_id FROM message_recipients
          WHERE email_state = 'pending' AND email_due_at <= $2 AND (claimed_until IS NULL OR claimed_until <= $2)
          ORDER BY email_due_at LIMIT $3))
    RETURNING message_id, conversation_id, party_kind, party_id, notify, seen_at";

impl Engine for SqliteStore {
    type B = crate::B;
    type Lane<'a> = urgent::UrgentWrite<'a>;

    fn writer_lane(&self) -> urgent::UrgentWrite<'_> {
        self.urgent.enter()
    }

    /// Announces the count changes after the commit, in commit order (see `Announcer`).
    async fn commit(&self, tx: Transaction<'static, Sqlite>, tallies: Tallies) -> StoreResult<()> {
        self.tallies.commit(tx, tallies).await
    }

    /// Nothing: one process holds the file and takes back everything claimed when it starts again.
    fn claim_owned(&self) -> String {
        String::new()
    }

    async fn claim_due_jobs(
        &self,
        conn: &mut SqliteConnection,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<DbRow>> {
        sqlx::query(CLAIM_DUE).bind(lease_until).bind(now).bind(limit).fetch_all(&mut *conn).await.map_err(other)
    }

    fn outgoing_claim_owned(&self, _lease: &str) -> String {
        String::new()
    }

    async fn take_back(&self) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        let mut taken = 0;
        for statement in TAKE_BACK {
            taken += sqlx::query(statement).execute(&mut *tx).await.map_err(other)?.rows_affected();
        }
        tx.commit().await.map_err(other)?;
        Ok(taken)
    }

    async fn mark_pushed(&self, pushed: &[(MessageId, Party)], now: i64) -> StoreResult<()> {
        // Three bound values a pair, well under SQLite's limit.
        for chunk in pushed.chunks(2000) {
            let mut query = QueryBuilder::new("UPDATE message_recipients SET pushed_at = ");
            query.push_bind(now).push(" WHERE pushed_at IS NULL AND ");
            crate::delivery::push_job_keys(&mut query, chunk.iter().copied());
            query.build().execute(&self.writer).await.map_err(other)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::delivery::push_job_keys;
    use crate::rows::get;
    use parley_domain::*;
    use sqlx::QueryBuilder;

    /// The steps of an `EXPLAIN QUERY PLAN` statement.
    async fn plan_of<'q>(
        store: &SqliteStore,
        explain: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Vec<String> {
        let rows = explain.fetch_all(&store.reader).await.unwrap();
        rows.iter().map(|row| get::<String>(row, "detail").unwrap()).collect()
    }

    /// R14, R34: the claim finds the soonest due jobs through the index of pending jobs, then
    /// each digest's other jobs through the index of each person's pending jobs, never by reading
    /// the ledger.
    #[tokio::test]
    async fn r14_the_claim_reads_due_jobs_and_digests_through_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("plan.db")).await.unwrap();
        let explain = format!("EXPLAIN QUERY PLAN {CLAIM_DUE}");
        let plan = plan_of(&store, sqlx::query(&explain).bind(1_i64).bind(1_i64).bind(10_i64)).await;
        assert!(plan.iter().all(|step| !step.starts_with("SCAN message_recipients")), "{plan:?}");
        assert!(plan.iter().any(|step| step.contains("USING INDEX message_recipients_due")), "{plan:?}");
        assert!(
            plan.iter().any(|step| step.contains(
                "USING INDEX message_recipients_pending_burst (party_kind=? AND party_id=? AND conversation_id=?"
            )),
            "{plan:?}"
        );
    }

    /// A restart's take-back reads the queues of unsettled work, never a table's whole history.
    #[tokio::test]
    async fn r14_a_restart_takes_back_its_claims_through_the_queues_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("plan.db")).await.unwrap();
        for statement in TAKE_BACK {
            let plan = plan_of(&store, sqlx::query(&format!("EXPLAIN QUERY PLAN {statement}"))).await;
            assert!(
                plan.iter().all(|step| !step.starts_with("SCAN") || step.contains("USING")),
                "{statement}: {plan:?}"
            );
        }
    }

    /// The statements that name jobs by key find them through the whole key, never by reading
    /// the ledger (a million rows on a large install) or a person's part of it.
    #[tokio::test]
    async fn r12_r14_jobs_named_by_key_are_looked_up_not_scanned() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("plan.db")).await.unwrap();
        let jobs = [(MessageId(1), Party::User(UserId(2))), (MessageId(3), Party::Customer(CustomerId(4)))];
        for statement in [
            "UPDATE message_recipients SET pushed_at = 1 WHERE pushed_at IS NULL AND ",
            "UPDATE message_recipients SET claimed_until = NULL WHERE ",
            "SELECT message_id FROM message_recipients WHERE email_state = 'pending' AND seen_at IS NULL AND ",
        ] {
            let mut query = QueryBuilder::new(format!("EXPLAIN QUERY PLAN {statement}"));
            push_job_keys(&mut query, jobs.iter().copied());
            let plan = plan_of(&store, query.build()).await;
            // By the whole key (the table's primary key).
            let by_key = "INDEX sqlite_autoindex_message_recipients_1 (message_id=? AND party_kind=? AND party_id=?)";
            assert!(
                plan.iter().any(|step| step.starts_with("SEARCH message_recipients USING") && step.ends_with(by_key)),
                "{statement}: {plan:?}"
            );
        }
    }
}
