//! Rebuilding one user's whole inbox (a new user, a changed scope or team) a range of
//! conversations at a time, each range in a transaction of its own. On a large install a user with
//! scope "all projects" has a row for nearly every conversation; one transaction writing them all
//! would hold every post back for as long (SQLite's one writer, PostgreSQL's conversation locks). The mark in `inbox_rebuilds` says how
//! far it got, so a restart finishes it. Each range is recomputed from the facts in its own
//! transaction, so a post stored between two ranges is never undone; and every write after the
//! mark already treats the user by their new scope or team.

use crate::errors::other;
use crate::inbox::{self, Tallies};
use crate::names::DbConnection;
use crate::SqlStore;
use parley_domain::Party;
use parley_store::StoreResult;
use parley_store_sql::Engine;

/// Conversation ids per transaction: a range holds the writer (SQLite) or its conversations' locks
/// (PostgreSQL) while it is rebuilt, so this bounds how long a post waits for a rebuild: about
/// 25 ms on SQLite on a 2-core machine for a user who sees every conversation.
pub(crate) const RANGE: i64 = 500;

/// Records, inside the transaction that changes what `party` may see, that their inbox is to be
/// rebuilt from the first conversation on; answers the rebuild's generation for `finish`.
pub(crate) async fn mark(conn: &mut DbConnection, party: Party) -> StoreResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO inbox_rebuilds (party_kind, party_id, generation, next_conversation_id) VALUES ($1, $2, 1, 0)
         ON CONFLICT (party_kind, party_id) DO UPDATE SET generation = inbox_rebuilds.generation + 1,
             next_conversation_id = 0, background = FALSE
         RETURNING generation",
    )
    .bind(party.kind_str())
    .bind(party.raw_id())
    .fetch_one(&mut *conn)
    .await
    .map_err(other)
}

impl SqlStore {
    /// Rebuilds `party`'s inbox from where the mark of `generation` stands to the last
    /// conversation, one range per transaction, then removes the mark. Stops early when a newer
    /// rebuild of the same person took over (it does the whole of it).
    pub(crate) async fn finish_rebuild(&self, party: Party, generation: i64) -> StoreResult<()> {
        loop {
            let mut tx = self.writer.begin().await.map_err(other)?;
            let mark: Option<(i64, i64)> = sqlx::query_as(
                "SELECT generation, next_conversation_id FROM inbox_rebuilds WHERE party_kind = $1 AND party_id = $2",
            )
            .bind(party.kind_str())
            .bind(party.raw_id())
            .fetch_optional(&mut *tx)
            .await
            .map_err(other)?;
            let Some((current, from)) = mark.filter(|(current, _)| *current == generation) else {
                return Ok(());
            };
            let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM conversations")
                .fetch_one(&mut *tx)
                .await
                .map_err(other)?;
            if from > last {
                sqlx::query("DELETE FROM inbox_rebuilds WHERE party_kind = $1 AND party_id = $2 AND generation = $3")
                    .bind(party.kind_str())
                    .bind(party.raw_id())
                    .bind(current)
                    .execute(&mut *tx)
                    .await
                    .map_err(other)?;
                return tx.commit().await.map_err(other);
            }
            let mut tallies = Tallies::default();
            let to = from + RANGE;
            inbox::rebuild(&mut tx, party, (from, to), &mut tallies).await?;
            sqlx::query("UPDATE inbox_rebuilds SET next_conversation_id = $1 WHERE party_kind = $2 AND party_id = $3")
                .bind(to)
                .bind(party.kind_str())
                .bind(party.raw_id())
                .execute(&mut *tx)
                .await
                .map_err(other)?;
            self.commit(tx, tallies).await?;
        }
    }

    /// Finishes the rebuilds a stop cut short; at start-up, before anyone reads. Those an upgrade
    /// left to the background wait for [`Self::rebuild_in_background`].
    pub(crate) async fn resume_rebuilds(&self) -> StoreResult<()> {
        self.finish_marked(false).await.map(|_| ())
    }

    /// Finishes the rebuilds marked to be done in the background, while the server serves.
    pub(crate) async fn rebuild_in_background(&self) -> StoreResult<usize> {
        self.finish_marked(true).await
    }

    async fn finish_marked(&self, background: bool) -> StoreResult<usize> {
        let marks: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT party_kind, party_id, generation FROM inbox_rebuilds WHERE background = $1
             ORDER BY party_kind, party_id",
        )
        .bind(background)
        .fetch_all(&self.writer)
        .await
        .map_err(other)?;
        let mut finished = 0;
        for (kind, id, generation) in marks {
            if let Some(party) = Party::from_parts(&kind, id) {
                match background {
                    true => tracing::debug!(%kind, id, "rebuilding an inbox after an upgrade"),
                    false => tracing::info!(%kind, id, "finishing an inbox rebuild a stop cut short"),
                }
                self.finish_rebuild(party, generation).await?;
                finished += 1;
            }
        }
        Ok(finished)
    }
}
