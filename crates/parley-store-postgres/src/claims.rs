//! R44: claims that name their node. Each node takes an id from the `node_ids` sequence and holds
//! a session advisory lock on it, on a connection of its own, for as long as it runs. A claim
//! (an email job, an outgoing email, a webhook delivery) records its owner and the lease the owner
//! wrote. When a node dies its connection closes and the lock is free: any node that then finds
//! the lock of a claim's owner free takes that owner's claims back at once — a restarting node at
//! start, the others every few seconds — rather than when the 60 s lease runs out. A live node's
//! lock is held, so its claims are never taken. A node of an older version claims without an
//! owner; what it claims waits for its lease, as before.

use crate::errors::other;
use parley_store::StoreResult;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};
use std::time::Duration;

/// How often a running node looks for claims of nodes that are gone.
pub(crate) const LOOK_EVERY: Duration = Duration::from_secs(3);

/// The advisory lock of node `$1`, named by the schema (several installs may share a database).
const NODE_LOCK: &str = "hashtextextended(current_schema() || ':node:' || $1::text, 0)";

/// This node: its id, and the connection that holds its lock (dropped with it, which frees it).
pub(crate) struct Node {
    pub id: i64,
    _lock: PgConnection,
}

impl Node {
    /// Takes a fresh id and locks it.
    pub(crate) async fn start(options: &PgConnectOptions) -> StoreResult<Node> {
        let mut conn = options.connect().await.map_err(other)?;
        let id: i64 = sqlx::query_scalar("SELECT nextval('node_ids')").fetch_one(&mut conn).await.map_err(other)?;
        // A fresh id is no one else's: the lock is free.
        sqlx::query(&format!("SELECT pg_advisory_lock({NODE_LOCK})"))
            .bind(id)
            .execute(&mut conn)
            .await
            .map_err(other)?;
        Ok(Node { id, _lock: conn })
    }
}

/// The owners named by unsettled claims, other than `me`.
const OWNERS: &str = "SELECT claim_owner FROM message_recipients
      WHERE claim_owner IS NOT NULL AND email_state = 'pending' AND claim_owner <> $1
    UNION SELECT claim_owner FROM outgoing_emails
      WHERE claim_owner IS NOT NULL AND status = 'queued' AND claim_owner <> $1
    UNION SELECT claim_owner FROM webhook_deliveries
      WHERE claim_owner IS NOT NULL AND state = 'pending' AND claim_owner <> $1";

/// What taking back owner `$1`'s claims does: a claim it still holds (the lease it wrote) is
/// released; one claimed since by an older node only forgets the owner.
const TAKE_BACK: [&str; 3] = [
    "UPDATE message_recipients
        SET claimed_until = CASE WHEN claimed_until = owner_claimed_until THEN NULL ELSE claimed_until END,
            claim_owner = NULL
      WHERE claim_owner = $1 AND email_state = 'pending'",
    // A sealed email stays sealed (see `SEALED_LEASE`, 2^62).
    "UPDATE outgoing_emails
        SET claimed_until = CASE WHEN claimed_until <> owner_claimed_until THEN claimed_until
                                 WHEN claimed_until >= 4611686018427387904 THEN 4611686018427387904 END,
            claim_owner = NULL
      WHERE claim_owner = $1 AND status = 'queued'",
    "UPDATE webhook_deliveries
        SET leased_until = CASE WHEN leased_until = owner_claimed_until THEN NULL ELSE leased_until END,
            claim_owner = NULL
      WHERE claim_owner = $1 AND state = 'pending'",
];

/// Takes back the claims of every owner but `me` whose lock is free; answers how many claims.
pub(crate) async fn take_back_from_gone(pool: &PgPool, me: Option<i64>) -> StoreResult<u64> {
    let owners: Vec<i64> = sqlx::query_scalar(OWNERS).bind(me.unwrap_or(0)).fetch_all(pool).await.map_err(other)?;
    if owners.is_empty() {
        return Ok(0);
    }
    // The lock is a session's: taken, used and freed on one connection.
    let mut conn = pool.acquire().await.map_err(other)?;
    let mut taken = 0;
    for owner in owners {
        let gone: bool = sqlx::query_scalar(&format!("SELECT pg_try_advisory_lock({NODE_LOCK})"))
            .bind(owner)
            .fetch_one(&mut *conn)
            .await
            .map_err(other)?;
        if !gone {
            continue;
        }
        let released = async {
            let mut tx = conn.begin().await.map_err(other)?;
            let mut released = 0;
            for statement in TAKE_BACK {
                released += sqlx::query(statement).bind(owner).execute(&mut *tx).await.map_err(other)?.rows_affected();
            }
            tx.commit().await.map_err(other)?;
            Ok::<_, parley_store::StoreError>(released)
        }
        .await;
        sqlx::query(&format!("SELECT pg_advisory_unlock({NODE_LOCK})"))
            .bind(owner)
            .execute(&mut *conn)
            .await
            .map_err(other)?;
        let released = released?;
        if released > 0 {
            tracing::info!(node = owner, claims = released, "took back the claims of a node that is gone");
        }
        taken += released;
    }
    Ok(taken)
}
