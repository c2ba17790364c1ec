//! The messenger's candidate lists and one person's relation to a conversation. The SQL only
//! gathers facts; which conversations a person may see and which view each belongs in is decided
//! by `parley_domain::access` and `parley_domain::views`.

use crate::errors::other;
use crate::names::{DbConnection, DbRow};
use crate::rows::{self, get, HEADER_COLUMNS};
use crate::SqlStore;
use crate::B;
use parley_domain::access::Relation;
use parley_domain::inbox::{reach, Reach};
use parley_domain::views::View;
use parley_domain::*;
use parley_store::{ConversationRow, InboxCursor, InboxEntry, InboxFilter, StoreResult, ViewTally, TAKING_PART};
use parley_store_sql::Backend;

/// Whose relation the columns compute: `id` and `org` are SQL expressions for the party's id and,
/// for a customer, their organization's id (NULL or -1 when none).
pub(crate) struct Asker<'a> {
    pub kind: &'a str,
    pub id: &'a str,
    pub org: &'a str,
}

/// The asker bound as parameters: `?1` is the party id and, for a customer, `?2` their
/// organization id (or -1).
const BOUND_USER: Asker = Asker { kind: "user", id: "$1", org: "$2" };
const BOUND_CUSTOMER: Asker = Asker { kind: "customer", id: "$1", org: "$2" };

/// The five facts of a party's relation to conversation `c`, each an SQL condition with its name.
fn relation_facts(a: &Asker) -> [(String, &'static str); 5] {
    let (kind, id) = (a.kind, a.id);
    let org = if kind == "customer" {
        format!("OR (pp.party_kind = 'organization' AND pp.party_id = {})", a.org)
    } else {
        format!(
            "OR (pp.party_kind = 'team' AND pp.party_id IN (SELECT team_id FROM team_members WHERE user_id = {id}))"
        )
    };
    [
        (
            format!(
                "EXISTS (SELECT 1 FROM conversation_people p WHERE p.conversation_id = c.id AND p.role = 'participant'
                 AND p.party_kind = '{kind}' AND p.party_id = {id})"
            ),
            "participant",
        ),
        (
            format!(
                "EXISTS (SELECT 1 FROM conversation_people p WHERE p.conversation_id = c.id AND p.role = 'follower'
                 AND p.party_kind = '{kind}' AND p.party_id = {id})"
            ),
            "conversation_follower",
        ),
        (
            format!(
                "((c.item_id IS NOT NULL AND EXISTS (SELECT 1 FROM item_people ip WHERE ip.item_id = c.item_id
                 AND ip.party_kind = '{kind}' AND ip.party_id = {id}))
          OR (c.linked_project_id IS NOT NULL AND EXISTS (SELECT 1 FROM project_people pp
                 WHERE pp.project_id = c.linked_project_id AND pp.role = 'follower'
                 AND ((pp.party_kind = '{kind}' AND pp.party_id = {id}) {org}))))"
            ),
            "item_follower",
        ),
        (
            format!(
                "(c.project_id IS NOT NULL AND EXISTS (SELECT 1 FROM project_people pp WHERE pp.project_id = c.project_id
                 AND ((pp.party_kind = '{kind}' AND pp.party_id = {id}) {org})))"
            ),
            "project_follower",
        ),
        (
            format!(
                "EXISTS (SELECT 1 FROM conversation_people p WHERE p.conversation_id = c.id AND p.role = '{TAKING_PART}'
                 AND p.party_kind = '{kind}' AND p.party_id = {id})"
            ),
            "taking_part",
        ),
    ]
}

/// Columns computing a party's relation to conversation `c`.
pub(crate) fn relation_columns(a: &Asker) -> String {
    let columns: Vec<String> = relation_facts(a).into_iter().map(|(fact, name)| format!("{fact} AS {name}")).collect();
    columns.join(",\n         ")
}

/// The columns of a [`ConversationRow`] for the asker. `customer_sees` is the condition on
/// messages `m.` a customer may read (R7, R33).
pub(crate) fn row_columns(a: &Asker, customer_sees: &str) -> String {
    let (kind, id) = (a.kind, a.id);
    let last_seen = format!(
        "COALESCE((SELECT cr.last_seen_number FROM conversation_reads cr WHERE cr.conversation_id = c.id
                 AND cr.party_kind = '{kind}' AND cr.party_id = {id}), 0)"
    );
    // What the reader may see of the messages after their position (R7, R33).
    let visible = if kind == "customer" { format!("AND {customer_sees}") } else { String::new() };
    // A customer's position counts what they may read (their numbers), so what is unread is what
    // they may read beyond it; a user's is a message number.
    let unread = if kind == "customer" {
        format!(
            "{greatest}(0, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.withdrawn_at IS NULL
                     {visible}) - {last_seen})",
            greatest = B::GREATEST
        )
    } else {
        format!(
            "(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.number > {last_seen}
                     AND m.withdrawn_at IS NULL)"
        )
    };
    format!(
        "{HEADER_COLUMNS}, c.last_author_kind, {relation},
         (c.created_by_kind = '{kind}' AND c.created_by_id = {id}) AS started_by_me,
         EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.author_kind = '{kind}'
                 AND m.author_id = {id}) AS wrote_in,
         EXISTS (SELECT 1 FROM message_recipients r WHERE r.conversation_id = c.id AND r.party_kind = '{kind}'
                 AND r.party_id = {id}) AS addressed_to_me,
         {last_seen} AS last_seen_number,
         {unread} AS unread,
         (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id
                 AND m.withdrawn_at IS NULL {visible}) AS visible_count,
         (SELECT MAX(m.created_at) FROM messages m WHERE m.conversation_id = c.id
                 AND m.withdrawn_at IS NULL {visible}) AS visible_last_at",
        relation = relation_columns(a)
    )
}

fn relation(row: &DbRow) -> StoreResult<Relation> {
    Ok(Relation {
        participant: get(row, "participant")?,
        conversation_follower: get(row, "conversation_follower")?,
        item_follower: get(row, "item_follower")?,
        project_follower: get(row, "project_follower")?,
        taking_part: get(row, "taking_part")?,
    })
}

pub(crate) fn conversation_row(row: &DbRow) -> StoreResult<ConversationRow> {
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

impl SqlStore {
    pub(crate) async fn rows_for_user(&self, user: UserId) -> StoreResult<Vec<ConversationRow>> {
        let sql = format!(
            "SELECT {} FROM conversations c ORDER BY c.last_activity_at DESC, c.id DESC",
            row_columns(&BOUND_USER, &rows::customer_sees("m.", "$3"))
        );
        let rows = sqlx::query(&sql).bind(user.0).fetch_all(&self.reader).await.map_err(other)?;
        rows.iter().map(conversation_row).collect()
    }

    pub(crate) async fn rows_for_customer(&self, customer: CustomerId, now: i64) -> StoreResult<Vec<ConversationRow>> {
        let sql = format!(
            "SELECT * FROM (SELECT {} FROM conversations c WHERE c.visibility = 'public') AS x
             WHERE participant OR conversation_follower OR item_follower OR project_follower
             ORDER BY COALESCE(visible_last_at, created_at) DESC, id DESC",
            row_columns(&BOUND_CUSTOMER, &rows::customer_sees("m.", "$3"))
        );
        let org = self.organization_of(customer).await?;
        let rows =
            sqlx::query(&sql).bind(customer.0).bind(org).bind(now).fetch_all(&self.reader).await.map_err(other)?;
        rows.iter().map(conversation_row).collect()
    }

    pub(crate) async fn relation_of(&self, id: ConversationId, party: Party) -> StoreResult<Relation> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        relation_on(&mut conn, id, party).await
    }

    async fn organization_of(&self, customer: CustomerId) -> StoreResult<i64> {
        let mut conn = self.reader.acquire().await.map_err(other)?;
        organization_of(&mut conn, customer).await
    }
}

/// How `party` stands to conversation `id`.
pub(crate) async fn relation_on(conn: &mut DbConnection, id: ConversationId, party: Party) -> StoreResult<Relation> {
    let asker = if party.is_customer() { BOUND_CUSTOMER } else { BOUND_USER };
    let sql = format!("SELECT {} FROM conversations c WHERE c.id = $3", relation_columns(&asker));
    let org = match party {
        Party::Customer(c) => organization_of(conn, c).await?,
        Party::User(_) => -1,
    };
    let row = sqlx::query(&sql).bind(party.raw_id()).bind(org).bind(id.0).fetch_one(&mut *conn).await.map_err(other)?;
    relation(&row)
}

async fn organization_of(conn: &mut DbConnection, customer: CustomerId) -> StoreResult<i64> {
    let org: Option<i64> = sqlx::query_scalar("SELECT organization_id FROM customers WHERE id = $1")
        .bind(customer.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(other)?;
    Ok(org.unwrap_or(-1))
}

/// The columns of a page row: the conversation, and the person's counts from their inbox row.
fn page_columns() -> String {
    format!("{HEADER_COLUMNS}, i.message_count AS inbox_count, i.unread AS inbox_unread, i.activity_at AS inbox_at")
}

fn inbox_entry(row: &DbRow) -> StoreResult<InboxEntry> {
    let mut conversation = rows::header(row)?;
    conversation.message_count = get(row, "inbox_count")?;
    conversation.last_activity_at = get(row, "inbox_at")?;
    Ok(InboxEntry { conversation, unread: get(row, "inbox_unread")? })
}

impl SqlStore {
    pub(crate) async fn counts_of(&self, party: Party) -> StoreResult<Vec<ViewTally>> {
        let found = sqlx::query("SELECT view, total, unread FROM inbox_counts WHERE party_kind = $1 AND party_id = $2")
            .bind(party.kind_str())
            .bind(party.raw_id())
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        found
            .iter()
            .map(|r| {
                Ok(ViewTally {
                    view: rows::parse(r, "view", View::parse)?,
                    total: get(r, "total")?,
                    unread: get(r, "unread")?,
                })
            })
            .collect()
    }

    /// A page of a view. Its reach (`parley_domain::inbox::reach`) says where to look: the
    /// conversations a person is involved in, read through the partial index of those rows; or,
    /// for the shared views, the conversations of that visibility and state in order of activity,
    /// checking each against the person's row — which finds a page quickly when the person sees
    /// most of them (scope "all projects"), and otherwise falls back to all the person's rows.
    pub(crate) async fn page_of(
        &self,
        party: Party,
        view: View,
        filter: InboxFilter,
        before: Option<InboxCursor>,
        limit: i64,
    ) -> StoreResult<Vec<InboxEntry>> {
        let before = before.map_or((i64::MAX, i64::MAX), |c| (c.activity_at, c.conversation_id.0));
        let filter = filter_condition(filter);
        match reach(view) {
            Reach::Shared { visibility, states } if !party.is_customer() => {
                // A few candidates first (enough when the person sees nearly all), then more.
                for budget in [limit * 2 + 8, limit * 16] {
                    if let Some(page) =
                        self.shared_page(party, (view, &filter), (visibility, states), before, limit, budget).await?
                    {
                        return Ok(page);
                    }
                }
                self.own_page(party, view, false, &filter, before, limit).await
            }
            Reach::Shared { .. } => self.own_page(party, view, false, &filter, before, limit).await,
            Reach::Involved => self.own_page(party, view, true, &filter, before, limit).await,
        }
    }

    /// A page read from the person's own rows, sorted by activity.
    async fn own_page(
        &self,
        party: Party,
        view: View,
        involved: bool,
        filter: &str,
        (at, id): (i64, i64),
        limit: i64,
    ) -> StoreResult<Vec<InboxEntry>> {
        // The literal condition lets the planner use the partial index `inbox_involved` (SQLite's needs it).
        let involved = if involved { "AND i.involvement <> 0" } else { "" };
        let sql = format!(
            "SELECT {} FROM inbox i JOIN conversations c ON c.id = i.conversation_id
             WHERE i.party_kind = $1 AND i.party_id = $2 {involved} AND (i.views & $3) <> 0
               AND (i.activity_at, i.conversation_id) < ($4, $5) AND {filter}
             ORDER BY i.activity_at DESC, i.conversation_id DESC LIMIT $6",
            page_columns()
        );
        let found = sqlx::query(&sql)
            .bind(party.kind_str())
            .bind(party.raw_id())
            .bind(view.bit())
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        found.iter().map(inbox_entry).collect()
    }

    /// A page read along the shared order of activity, or `None` when the person's conversations
    /// are too sparse there to fill it within a few pages' worth of candidates.
    async fn shared_page(
        &self,
        party: Party,
        (view, filter): (View, &str),
        (visibility, states): (Visibility, &[ConversationState]),
        (at, id): (i64, i64),
        limit: i64,
        budget: i64,
    ) -> StoreResult<Option<Vec<InboxEntry>>> {
        let mut candidates: Vec<(i64, i64)> = Vec::new();
        let mut exhausted = true;
        for state in states {
            let found: Vec<(i64, i64)> = sqlx::query_as(&format!(
                "SELECT c.last_activity_at, c.id FROM conversations c WHERE c.visibility = $1 AND c.state = $2
                   AND (c.last_activity_at, c.id) < ($3, $4) AND {filter}
                 ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $5"
            ))
            .bind(visibility.as_str())
            .bind(state.as_str())
            .bind(at)
            .bind(id)
            .bind(budget)
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
            exhausted &= found.len() < budget as usize;
            candidates.extend(found);
        }
        // Each state gave its newest candidates, so the newest `budget` of them all are known.
        candidates.sort_by_key(|c| std::cmp::Reverse(*c));
        if !exhausted {
            candidates.truncate(budget as usize);
        }
        let sql = format!(
            "SELECT {} FROM inbox i JOIN conversations c ON c.id = i.conversation_id
             WHERE i.conversation_id IN ({}) AND i.party_kind = $2 AND i.party_id = $3
               AND (i.views & $4) <> 0
             ORDER BY i.activity_at DESC, i.conversation_id DESC LIMIT $5",
            page_columns(),
            B::id_set(1)
        );
        let found = sqlx::query(&sql)
            .bind(B::id_list(candidates.iter().map(|(_, id)| *id)))
            .bind(party.kind_str())
            .bind(party.raw_id())
            .bind(view.bit())
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        if (found.len() as i64) < limit && !exhausted {
            return Ok(None);
        }
        found.iter().map(inbox_entry).collect::<StoreResult<_>>().map(Some)
    }
}

/// The condition on conversation `c` that a page's filter sets (ids are numbers, written in).
fn filter_condition(filter: InboxFilter) -> String {
    match filter {
        InboxFilter::Everything => "1 = 1".into(),
        // R42: a linked conversation's assignees are its item's; an independent one has its own.
        InboxFilter::AssignedTo(user) => format!(
            "(c.item_id IN (SELECT ip.item_id FROM item_people ip WHERE ip.party_kind = 'user' AND ip.party_id = {id}
               AND ip.role = 'assignee')
              OR c.id IN (SELECT p.conversation_id FROM conversation_people p WHERE p.party_kind = 'user'
               AND p.party_id = {id} AND p.role = 'assignee'))",
            id = user.0
        ),
        InboxFilter::Unassigned => "NOT EXISTS (SELECT 1 FROM item_people ip WHERE ip.item_id = c.item_id AND ip.role = 'assignee')
             AND NOT EXISTS (SELECT 1 FROM conversation_people p WHERE p.conversation_id = c.id AND p.role = 'assignee')"
            .into(),
    }
}
