//! The messenger's candidate lists and one person's relation to a conversation. The SQL only
//! gathers facts; which conversations a person may see and which view each belongs in is decided
//! by `parley_domain::access` and `parley_domain::views`.

use crate::errors::other;
use crate::rows::{self, get, HEADER_COLUMNS};
use crate::SqliteStore;
use parley_domain::access::Relation;
use parley_domain::*;
use parley_store::{ConversationRow, StoreResult};
use sqlx::sqlite::SqliteRow;

/// Columns computing a party's relation to conversation `c`; `?1` is the party id and, for a
/// customer, `?2` their organization id (or -1).
fn relation_columns(kind: &str) -> String {
    let org = if kind == "customer" {
        "OR (pp.party_kind = 'organization' AND pp.party_id = ?2)"
    } else {
        "OR (pp.party_kind = 'team' AND pp.party_id IN (SELECT team_id FROM team_members WHERE user_id = ?1))"
    };
    format!(
        "EXISTS (SELECT 1 FROM conversation_people p WHERE p.conversation_id = c.id AND p.role = 'participant'
                 AND p.party_kind = '{kind}' AND p.party_id = ?1) AS participant,
         EXISTS (SELECT 1 FROM conversation_people p WHERE p.conversation_id = c.id AND p.role = 'follower'
                 AND p.party_kind = '{kind}' AND p.party_id = ?1) AS conversation_follower,
         ((c.item_id IS NOT NULL AND EXISTS (SELECT 1 FROM item_people ip WHERE ip.item_id = c.item_id
                 AND ip.party_kind = '{kind}' AND ip.party_id = ?1))
          OR (c.linked_project_id IS NOT NULL AND EXISTS (SELECT 1 FROM project_people pp
                 WHERE pp.project_id = c.linked_project_id AND pp.role = 'follower'
                 AND ((pp.party_kind = '{kind}' AND pp.party_id = ?1) {org})))) AS item_follower,
         (c.project_id IS NOT NULL AND EXISTS (SELECT 1 FROM project_people pp WHERE pp.project_id = c.project_id
                 AND ((pp.party_kind = '{kind}' AND pp.party_id = ?1) {org}))) AS project_follower"
    )
}

fn row_columns(kind: &str) -> String {
    let last_seen = format!(
        "COALESCE((SELECT cr.last_seen_number FROM conversation_reads cr WHERE cr.conversation_id = c.id
                 AND cr.party_kind = '{kind}' AND cr.party_id = ?1), 0)"
    );
    // What the reader may see of the messages after their position (R7, R33); `?3` is now.
    let visible = if kind == "customer" { format!("AND {}", rows::customer_sees("m.", "?3")) } else { String::new() };
    // A customer's position counts what they may read (their numbers), so what is unread is what
    // they may read beyond it; a user's is a message number.
    let unread = if kind == "customer" {
        format!(
            "MAX(0, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.withdrawn_at IS NULL
                     {visible}) - {last_seen})"
        )
    } else {
        format!(
            "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.number > {last_seen}
                     AND m.withdrawn_at IS NULL)"
        )
    };
    format!(
        "{HEADER_COLUMNS}, c.last_author_kind, {relation},
         (c.created_by_kind = '{kind}' AND c.created_by_id = ?1) AS started_by_me,
         EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.author_kind = '{kind}'
                 AND m.author_id = ?1) AS wrote_in,
         EXISTS (SELECT 1 FROM message_recipients r WHERE r.conversation_id = c.id AND r.party_kind = '{kind}'
                 AND r.party_id = ?1) AS addressed_to_me,
         {last_seen} AS last_seen_number,
         {unread} AS unread,
         (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id
                 AND m.withdrawn_at IS NULL {visible}) AS visible_count,
         (SELECT MAX(m.created_at) FROM messages m WHERE m.conversation_id = c.id
                 AND m.withdrawn_at IS NULL {visible}) AS visible_last_at",
        relation = relation_columns(kind)
    )
}

fn relation(row: &SqliteRow) -> StoreResult<Relation> {
    Ok(Relation {
        participant: get(row, "participant")?,
        conversation_follower: get(row, "conversation_follower")?,
        item_follower: get(row, "item_follower")?,
        project_follower: get(row, "project_follower")?,
    })
}

fn conversation_row(row: &SqliteRow) -> StoreResult<ConversationRow> {
    let last_author: Option<String> = get(row, "last_author_kind")?;
    // Counts and times as the reader sees them: nothing withdrawn, and for customers nothing
    // internal or held (R7, R33).
    let mut conversation = rows::header(row)?;
    conversation.message_count = get(row, "visible_count")?;
    let last_at: Option<i64> = get(row, "visible_last_at")?;
    conversation.last_activity_at = last_at.unwrap_or(conversation.created_at);
    Ok(ConversationRow {
        conversation,
        relation: relation(row)?,
        started_by_me: get(row, "started_by_me")?,
        wrote_in: get(row, "wrote_in")?,
        addressed_to_me: get(row, "addressed_to_me")?,
        last_author: last_author.as_deref().and_then(AuthorKind::parse),
        last_seen_number: get(row, "last_seen_number")?,
        unread: get(row, "unread")?,
    })
}

impl SqliteStore {
    pub(crate) async fn rows_for_user(&self, user: UserId) -> StoreResult<Vec<ConversationRow>> {
        let sql =
            format!("SELECT {} FROM conversations c ORDER BY c.last_activity_at DESC, c.id DESC", row_columns("user"));
        let rows = sqlx::query(&sql).bind(user.0).fetch_all(&self.reader).await.map_err(other)?;
        rows.iter().map(conversation_row).collect()
    }

    pub(crate) async fn rows_for_customer(&self, customer: CustomerId, now: i64) -> StoreResult<Vec<ConversationRow>> {
        let sql = format!(
            "SELECT * FROM (SELECT {} FROM conversations c WHERE c.visibility = 'public') AS x
             WHERE participant OR conversation_follower OR item_follower OR project_follower
             ORDER BY COALESCE(visible_last_at, created_at) DESC, id DESC",
            row_columns("customer")
        );
        let org = self.organization_of(customer).await?;
        let rows =
            sqlx::query(&sql).bind(customer.0).bind(org).bind(now).fetch_all(&self.reader).await.map_err(other)?;
        rows.iter().map(conversation_row).collect()
    }

    pub(crate) async fn relation_of(&self, id: ConversationId, party: Party) -> StoreResult<Relation> {
        let sql = format!("SELECT {} FROM conversations c WHERE c.id = ?3", relation_columns(party.kind_str()));
        let org = match party {
            Party::Customer(c) => self.organization_of(c).await?,
            Party::User(_) => -1,
        };
        let row =
            sqlx::query(&sql).bind(party.raw_id()).bind(org).bind(id.0).fetch_one(&self.reader).await.map_err(other)?;
        relation(&row)
    }

    async fn organization_of(&self, customer: CustomerId) -> StoreResult<i64> {
        let org: Option<i64> = sqlx::query_scalar("SELECT organization_id FROM customers WHERE id = ?")
            .bind(customer.0)
            .fetch_one(&self.reader)
            .await
            .map_err(other)?;
        Ok(org.unwrap_or(-1))
    }
}
