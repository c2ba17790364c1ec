//! R42: assignment of independent conversations, availability, and round-robin routing, each in
//! one write. Routing locks the one `routing` row first: two nodes routing at the same moment take
//! turns, so neither gives a user a place the other just took.

use crate::errors::{other, retrying};
use crate::inbox::{self, Who};
use crate::names::DbConnection;
use crate::rows::set_person;
use crate::work::set_item_role;
use crate::SqlStore;
use crate::B;
use parley_domain::routing::{self, Candidate};
use parley_domain::*;
use parley_store::routing::{AVAILABILITY, HAS_ASSIGNEE, LAST_ROUTED, OPEN_ASSIGNED, ROUTED};
use parley_store::{ItemRole, StoreResult, ASSIGNEE};
use parley_store_sql::{Backend, Engine};

/// Assigns `user` conversation `id` (its item when linked), or takes it back; assigned, they
/// follow it. Their inbox rows of what changed are recomputed.
pub(crate) async fn assign(
    conn: &mut DbConnection,
    id: ConversationId,
    user: UserId,
    on: bool,
    tallies: &mut inbox::Tallies,
) -> StoreResult<()> {
    let item: Option<i64> = sqlx::query_scalar("SELECT item_id FROM conversations WHERE id = $1")
        .bind(id.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(other)?;
    let party = Party::User(user);
    let who = ("user", user.0);
    let conversations: Vec<i64> = match item {
        Some(item) => {
            set_item_role(&mut *conn, ItemId(item), ItemRole::Assignee, party, on).await?;
            sqlx::query_scalar("SELECT id FROM conversations WHERE item_id = $1")
                .bind(item)
                .fetch_all(&mut *conn)
                .await
                .map_err(other)?
        }
        None => {
            set_person(&mut *conn, "conversation_people", "conversation_id", id.0, ASSIGNEE, who, on).await?;
            if on {
                set_person(&mut *conn, "conversation_people", "conversation_id", id.0, "follower", who, true).await?;
            }
            vec![id.0]
        }
    };
    inbox::refresh(conn, &conversations, Who::Only(vec![party]), tallies).await
}

pub(crate) async fn open_assigned(conn: &mut DbConnection, user: UserId) -> StoreResult<Vec<ConversationId>> {
    let ids: Vec<i64> = sqlx::query_scalar(OPEN_ASSIGNED).bind(user.0).fetch_all(&mut *conn).await.map_err(other)?;
    Ok(ids.into_iter().map(ConversationId).collect())
}

impl SqlStore {
    pub(crate) async fn route(
        &self,
        id: ConversationId,
        eligible: &[UserId],
        cap: i64,
        now: i64,
    ) -> StoreResult<Option<UserId>> {
        retrying(|| self.route_once(id, eligible, cap, now)).await
    }

    async fn route_once(
        &self,
        id: ConversationId,
        eligible: &[UserId],
        cap: i64,
        now: i64,
    ) -> StoreResult<Option<UserId>> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        // Taken first, held to the commit: routings on every node take turns (PostgreSQL; SQLite's
        // one writer makes them take turns anyway).
        let last: Option<i64> =
            sqlx::query_scalar(&format!("{LAST_ROUTED}{}", B::FOR_UPDATE)).fetch_one(&mut *tx).await.map_err(other)?;
        let assigned: bool = sqlx::query_scalar(HAS_ASSIGNEE).bind(id.0).fetch_one(&mut *tx).await.map_err(other)?;
        if assigned {
            return Ok(None);
        }
        let mut candidates = Vec::with_capacity(eligible.len());
        for user in eligible {
            let found: Option<(bool, Option<i64>)> =
                sqlx::query_as(AVAILABILITY).bind(user.0).fetch_optional(&mut *tx).await.map_err(other)?;
            let Some((away, connected_at)) = found else { continue };
            let available = routing::available(away, connected_at, now);
            let open = match available {
                true => i64::try_from(open_assigned(&mut tx, *user).await?.len()).unwrap_or(i64::MAX),
                false => 0,
            };
            candidates.push(Candidate { user: *user, available, open });
        }
        let Some(chosen) = routing::next(&candidates, cap, last.map(UserId)) else {
            return Ok(None);
        };
        let mut tallies = inbox::Tallies::default();
        assign(&mut tx, id, chosen, true, &mut tallies).await?;
        sqlx::query(ROUTED).bind(chosen.0).execute(&mut *tx).await.map_err(other)?;
        self.commit(tx, tallies).await?;
        Ok(Some(chosen))
    }

    pub(crate) async fn set_assignee(&self, id: ConversationId, user: UserId, on: bool) -> StoreResult<()> {
        retrying(|| async move {
            let mut tx = self.writer.begin().await.map_err(other)?;
            let mut tallies = inbox::Tallies::default();
            assign(&mut tx, id, user, on, &mut tallies).await?;
            self.commit(tx, tallies).await
        })
        .await
    }
}
