//! What PostgreSQL's store does its own way (`parley_store_sql::Engine`): nodes name their claims
//! and take digests apart with advisory locks, push records are grouped across callers
//! (`pushes.rs`), and only the claims of nodes that are gone are taken back (`claims.rs`).

use crate::errors::other;
use crate::PgStore;
use parley_domain::{MessageId, Party};
use parley_store::inbox_rows::Tallies;
use parley_store::StoreResult;
use parley_store_sql::Engine;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, Transaction};

/// The soonest due jobs name the digests (a person and a conversation); each is taken
/// whole, so that a digest is never split between two rounds or two nodes. A digest
/// another node is claiming at this moment (its lock held) is passed over, not waited
/// for; once that node commits, its rows are claimed and no longer match. (Advisory locks belong
/// to the database: the key names the schema, which several installs may share.)
const CLAIM_DUE: &str = "UPDATE message_recipients r
    SET claimed_until = $1, claim_owner = $4, owner_claimed_until = $1
    FROM (SELECT m.message_id, m.party_kind, m.party_id FROM message_recipients m
          JOIN (SELECT DISTINCT party_kind, party_id, conversation_id FROM (
                  SELECT party_kind, party_id, conversation_id FROM message_recipients
                  WHERE email_state = 'pending' AND email_due_at <= $2
                    AND (claimed_until IS NULL OR claimed_until <= $2)
                  ORDER BY email_due_at LIMIT $3) AS soonest
                WHERE pg_try_advisory_xact_lock(hashtextextended(
                  current_schema() || ':digest:' || party_kind || ':' || party_id || ':' || conversation_id, 0)))
                AS digests
            ON m.party_kind = digests.party_kind AND m.party_id = digests.party_id
           AND m.conversation_id = digests.conversation_id
          WHERE m.email_state = 'pending' AND m.email_due_at <= $2
            AND (m.claimed_until IS NULL OR m.claimed_until <= $2)
          FOR UPDATE OF m SKIP LOCKED) AS due
    WHERE r.message_id = due.message_id AND r.party_kind = due.party_kind AND r.party_id = due.party_id
    RETURNING r.message_id, r.conversation_id, r.party_kind, r.party_id, r.notify, r.seen_at";

impl Engine for PgStore {
    type B = crate::B;
    type Lane<'a> = ();

    /// Writes run side by side: an email write waits for no one.
    fn writer_lane(&self) {}

    async fn commit(&self, tx: Transaction<'static, Postgres>, tallies: Tallies) -> StoreResult<()> {
        crate::commit(tx, &self.bus, tallies).await
    }

    /// This node as the owner, so that its claims are taken back only once it is gone.
    fn claim_owned(&self) -> String {
        match self.owner() {
            Some(id) => format!(", claim_owner = {id}, owner_claimed_until = $1"),
            None => String::new(),
        }
    }

    async fn claim_due_jobs(
        &self,
        conn: &mut PgConnection,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<PgRow>> {
        sqlx::query(CLAIM_DUE)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .bind(self.owner())
            .fetch_all(&mut *conn)
            .await
            .map_err(other)
    }

    fn outgoing_claim_owned(&self, lease: &str) -> String {
        let owner = self.owner().map_or_else(|| "NULL".to_owned(), |id| id.to_string());
        format!(", owner_claimed_until = {lease}, claim_owner = {owner}")
    }

    async fn take_back(&self) -> StoreResult<u64> {
        // Nodes share the database: what is taken back is what nodes that are gone held (their
        // locks free), never a live node's (R44, `claims.rs`).
        crate::claims::take_back_from_gone(&self.pool, self.owner()).await
    }

    async fn mark_pushed(&self, pushed: &[(MessageId, Party)], now: i64) -> StoreResult<()> {
        self.pushes.mark(pushed, now).await
    }
}

#[cfg(all(test, feature = "postgres-tests"))]
mod plans {
    use super::CLAIM_DUE;
    use crate::delivery::push_job_keys;
    use crate::rows::get;
    use crate::scratch::{scratch_store, test_database_url};
    use parley_domain::*;
    use sqlx::Connection;
    use sqlx::QueryBuilder;

    /// The statements that name jobs by key find them through the whole key, never by reading
    /// the ledger (a million rows on a large install). Sequential scans are turned off for the
    /// check, so a plan that still scans has no index to use.
    #[tokio::test]
    async fn r12_r14_jobs_named_by_key_are_looked_up_not_scanned() {
        let (_store, schema) = scratch_store(&test_database_url()).await.unwrap_or_else(|e| panic!("{e}"));
        let mut conn = sqlx::PgConnection::connect(&schema.url()).await.unwrap_or_else(|e| panic!("{e}"));
        // A ledger of 200 messages to 20 people each, with its statistics: each person's part of
        // it is 200 rows, the email jobs of the latest 50 messages are waiting, each key is one row.
        sqlx::query(
            "INSERT INTO message_recipients (message_id, conversation_id, party_kind, party_id, reasons, notify,
               email_state, email_due_at)
             SELECT m, m / 10, CASE WHEN p % 2 = 0 THEN 'user' ELSE 'customer' END, p, 'follower', TRUE,
               CASE WHEN m > 150 THEN 'pending' ELSE 'sent' END, CASE WHEN m > 150 THEN m END
             FROM generate_series(1, 200) AS m, generate_series(1, 20) AS p",
        )
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        sqlx::query("ANALYZE message_recipients").execute(&mut conn).await.unwrap_or_else(|e| panic!("{e}"));
        sqlx::query("SET enable_seqscan = off").execute(&mut conn).await.unwrap_or_else(|e| panic!("{e}"));
        let jobs = [(MessageId(1), Party::User(UserId(2))), (MessageId(3), Party::Customer(CustomerId(4)))];
        let mut plans = Vec::new();
        for statement in [
            "UPDATE message_recipients SET claimed_until = NULL WHERE ",
            "SELECT message_id FROM message_recipients WHERE email_state = 'pending' AND seen_at IS NULL AND ",
        ] {
            let mut query = QueryBuilder::new(format!("EXPLAIN {statement}"));
            push_job_keys(&mut query, jobs.iter().copied());
            plans.push((statement, query.build().fetch_all(&mut conn).await.unwrap_or_else(|e| panic!("{e}"))));
        }
        // The push records' grouped write (pushes.rs) joins its keys to the ledger.
        let pushes = sqlx::query(
            "EXPLAIN UPDATE message_recipients r SET pushed_at = v.at
             FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[]) AS v (message_id, party_kind, party_id, at)
             WHERE r.message_id = v.message_id AND r.party_kind = v.party_kind AND r.party_id = v.party_id
               AND r.pushed_at IS NULL",
        )
        .bind(vec![1i64, 3])
        .bind(vec!["user", "customer"])
        .bind(vec![2i64, 4])
        .bind(vec![5i64, 5])
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        plans.push(("the grouped push records", pushes));
        // R14, R34: the claim reads the soonest due jobs through the index of pending jobs, then
        // each digest's other jobs through the index of each person's pending jobs.
        let claim = sqlx::query(&format!("EXPLAIN {CLAIM_DUE}"))
            .bind(1_000i64)
            .bind(175i64)
            .bind(10i64)
            .bind(Some(1_i64))
            .fetch_all(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let claim: Vec<String> = claim.iter().map(|row| get::<String>(row, "QUERY PLAN").unwrap_or_default()).collect();
        for index in ["message_recipients_due", "message_recipients_pending_burst"] {
            assert!(claim.iter().any(|step| step.contains(index)), "the claim: {claim:#?}");
        }
        assert!(!claim.iter().any(|step| step.contains("Seq Scan on message_recipients")), "the claim: {claim:#?}");
        for (statement, rows) in plans {
            let plan: Vec<String> =
                rows.iter().map(|row| get::<String>(row, "QUERY PLAN").unwrap_or_default()).collect();
            assert!(plan.iter().any(|step| step.contains("message_recipients_pkey")), "{statement}: {plan:#?}");
            assert!(!plan.iter().any(|step| step.contains("Seq Scan on message_recipients")), "{statement}: {plan:#?}");
        }
    }
}
