//! Keeping each person's inbox (table `inbox`) in line with the stored facts, inside the
//! transaction of the write that changed them. Which rows exist and which views each is in is
//! decided by `parley_domain::inbox`; this file gathers the facts and writes the differences, with
//! their effect on the per-view counts.
//!
//! Two ways in: `refresh` recomputes chosen rows from the facts (every rare write uses it), and
//! `restamp` moves every row of one conversation after a post or a state change without
//! recomputing what did not change — the hot path, a few statements however many people see it.

use crate::errors::{corrupt, other};
use crate::names::{DbConnection, DbRow};
use crate::rows::{self, get};
use crate::views::{conversation_row, row_columns, Asker};
use crate::B;
use parley_domain::inbox::{self, SharedFacts};
use parley_domain::preferences::Scope;
use parley_domain::views::View;
use parley_domain::*;
pub(crate) use parley_store::inbox_rows::Tallies;
use parley_store::inbox_rows::{self, involvement, shared, wanted_entry, Entry, Key, Posted, Upsert};
use parley_store::{StoreResult, TallyChange, ViewTally};
use parley_store_sql::Backend;
use sqlx::QueryBuilder;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

/// What a customer counts in their inbox: public messages not held, or released (R7, R33). A held
/// reply counts once the worker releases it.
pub(crate) fn customer_counts(alias: &str) -> String {
    format!("{alias}visibility = 'public' AND ({alias}held_until IS NULL OR {alias}released_at IS NOT NULL)")
}

/// Whose rows `refresh` recomputes.
pub(crate) enum Who {
    /// Everyone who may see the conversations, or has a row for them.
    Everyone,
    /// Every customer who may see the conversations, or has a row for them.
    Customers,
    /// These people (users and customers; teams and organizations expanded by `members_of`).
    Only(Vec<Party>),
}

/// Writes the count changes a transaction summed so far (`Tallies::pending`), keeping their new
/// values; its last write before it commits. The counters of the people a post reaches are the
/// rows every write touching them waits on (PostgreSQL): written last, they are locked for the
/// commit alone, not for the whole transaction.
pub(crate) async fn flush(conn: &mut DbConnection, tallies: &mut Tallies) -> StoreResult<()> {
    let changes = std::mem::take(&mut tallies.pending).in_lock_order();
    for chunk in changes.chunks(500) {
        let mut q = QueryBuilder::new("INSERT INTO inbox_counts (party_kind, party_id, view, total, unread) ");
        q.push_values(chunk, |mut b, (party, view, total, unread)| {
            b.push_bind(party.kind_str())
                .push_bind(party.raw_id())
                .push_bind(view.as_str())
                .push_bind(*total)
                .push_bind(*unread);
        });
        q.push(
            " ON CONFLICT (party_kind, party_id, view) DO UPDATE SET total = inbox_counts.total + excluded.total,
              unread = inbox_counts.unread + excluded.unread
             RETURNING party_kind, party_id, view, total, unread",
        );
        let rows = q.build().fetch_all(&mut *conn).await.map_err(other)?;
        for row in &rows {
            let tally = ViewTally {
                view: rows::parse(row, "view", View::parse)?,
                total: get(row, "total")?,
                unread: get(row, "unread")?,
            };
            tallies.written.push(TallyChange { party: rows::party(row)?, tally });
        }
    }
    Ok(())
}

fn entry(row: &DbRow) -> StoreResult<(Key, Entry)> {
    let key = (get(row, "conversation_id")?, rows::party(row)?);
    let entry = Entry {
        views: get(row, "views")?,
        involvement: get(row, "involvement")?,
        message_count: get(row, "message_count")?,
        unread: get(row, "unread")?,
        activity_at: get(row, "activity_at")?,
    };
    Ok((key, entry))
}

/// Writes inbox rows. Those whose involvement is new or changed go apart: the partial index
/// `inbox_involved` is maintained for them alone, since SQLite rewrites an index entry whenever
/// the statement sets a column its condition reads, even to the same value.
async fn upsert(conn: &mut DbConnection, rows: &[&Upsert], involvement: bool) -> StoreResult<()> {
    for chunk in rows.chunks(1000) {
        let mut q = QueryBuilder::new(
            "INSERT INTO inbox (conversation_id, party_kind, party_id, views, involvement, message_count, unread,
               activity_at) ",
        );
        q.push_values(chunk, |mut b, Upsert { key: (conversation, party), entry: e, .. }| {
            b.push_bind(*conversation)
                .push_bind(party.kind_str())
                .push_bind(party.raw_id())
                .push_bind(e.views)
                .push_bind(e.involvement)
                .push_bind(e.message_count)
                .push_bind(e.unread)
                .push_bind(e.activity_at);
        });
        q.push(" ON CONFLICT (conversation_id, party_kind, party_id) DO UPDATE SET views = excluded.views,");
        if involvement {
            q.push(" involvement = excluded.involvement,");
        }
        q.push(" message_count = excluded.message_count, unread = excluded.unread, activity_at = excluded.activity_at");
        q.build().execute(&mut *conn).await.map_err(other)?;
    }
    Ok(())
}

async fn write(conn: &mut DbConnection, upserts: &[Upsert], deletes: &[Key]) -> StoreResult<()> {
    let (involved, moved): (Vec<&Upsert>, Vec<&Upsert>) = upserts.iter().partition(|u| u.involvement_changed);
    upsert(conn, &involved, true).await?;
    upsert(conn, &moved, false).await?;
    for (conversation, party) in deletes {
        sqlx::query("DELETE FROM inbox WHERE conversation_id = $1 AND party_kind = $2 AND party_id = $3")
            .bind(conversation)
            .bind(party.kind_str())
            .bind(party.raw_id())
            .execute(&mut *conn)
            .await
            .map_err(other)?;
    }
    Ok(())
}

/// Writes `wanted` over `existing` for the same set of keys: what changed, what is new, what went.
async fn settle(
    conn: &mut DbConnection,
    existing: BTreeMap<Key, Entry>,
    wanted: BTreeMap<Key, Entry>,
    tallies: &mut Tallies,
) -> StoreResult<()> {
    let (upserts, deletes) = inbox_rows::settle(&existing, &wanted, &mut tallies.pending);
    write(conn, &upserts, &deletes).await
}

/// The pairs (`pid`, `cid`) of a user and a conversation among the ids `$1` that the user may see
/// at all: everyone with scope "all projects", and whoever stands in a relation to it (R20); only
/// the users among the ids `$2` when it is not NULL. Read through indexes, so that the full facts
/// below are computed for these pairs alone; `{join}` fixes the order SQLite reads them in (from the
/// few conversations outwards).
const USER_PAIRS: &str = "
    conv(id) AS MATERIALIZED ({conv}),
    pairs(pid, cid) AS (
      SELECT u.id, conv.id FROM users u CROSS JOIN conv WHERE u.scope = '{all}' AND {only:u.id}
      UNION SELECT cp.party_id, conv.id FROM conv {join} conversation_people cp
            ON cp.conversation_id = conv.id WHERE cp.party_kind = 'user' AND {only:cp.party_id}
      UNION SELECT ip.party_id, c.id FROM conv {join} conversations c ON c.id = conv.id
            {join} item_people ip ON ip.item_id = c.item_id WHERE ip.party_kind = 'user' AND {only:ip.party_id}
      UNION SELECT pp.party_id, c.id FROM conv {join} conversations c ON c.id = conv.id
            {join} project_people pp ON pp.project_id = c.project_id
            WHERE pp.party_kind = 'user' AND {only:pp.party_id}
      UNION SELECT tm.user_id, c.id FROM conv {join} conversations c ON c.id = conv.id
            {join} project_people pp ON pp.project_id = c.project_id AND pp.party_kind = 'team'
            {join} team_members tm ON tm.team_id = pp.party_id WHERE {only:tm.user_id})";

/// Like `USER_PAIRS`, for customers: those who stand in a relation to a public conversation (R7).
const CUSTOMER_PAIRS: &str = "
    conv(id) AS MATERIALIZED ({conv}),
    pairs(pid, cid) AS (
      SELECT cp.party_id, conv.id FROM conv {join} conversation_people cp
            ON cp.conversation_id = conv.id WHERE cp.party_kind = 'customer' AND {only:cp.party_id}
      UNION SELECT ip.party_id, c.id FROM conv {join} conversations c ON c.id = conv.id
            {join} item_people ip ON ip.item_id = c.item_id WHERE ip.party_kind = 'customer' AND {only:ip.party_id}
      UNION SELECT pp.party_id, c.id FROM conv {join} conversations c ON c.id = conv.id
            {join} project_people pp ON pp.project_id = c.project_id
            WHERE pp.party_kind = 'customer' AND {only:pp.party_id}
      UNION SELECT cu.id, c.id FROM conv {join} conversations c ON c.id = conv.id
            {join} project_people pp ON pp.project_id = c.project_id AND pp.party_kind = 'organization'
            {join} customers cu ON cu.organization_id = pp.party_id WHERE {only:cu.id})";

/// `pairs` with each `{only:column}` replaced by the condition that the column names one of the
/// people in `?2`, or that `?2` is NULL. Rebuilding one person's inbox then reads their pairs
/// alone, not those of everyone who sees the conversations.
fn only_the_asked(pairs: &str) -> String {
    let mut out = String::with_capacity(pairs.len() + 256);
    let mut rest = pairs;
    while let Some(at) = rest.find("{only:") {
        let tail = &rest[at + "{only:".len()..];
        let Some(end) = tail.find('}') else { break };
        out.push_str(&rest[..at]);
        out.push_str(&format!("($2 IS NULL OR {} IN ({}))", &tail[..end], B::id_set(2)));
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out.replace("{join}", B::THEN_JOIN).replace("{conv}", &B::id_set(1))
}

/// The rows users should have for the conversations `convs`; only for `users` when given.
async fn wanted_for_users(
    conn: &mut DbConnection,
    convs: &<B as Backend>::IdList,
    users: Option<&<B as Backend>::IdList>,
) -> StoreResult<BTreeMap<Key, Entry>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let asker = Asker { kind: "user", id: "u.id", org: "NULL" };
        format!(
            "WITH {pairs}
             SELECT u.id AS inbox_party, u.scope AS inbox_scope, {columns}
             FROM pairs {join} users u ON u.id = pairs.pid {join} conversations c ON c.id = pairs.cid
             WHERE $2 IS NULL OR u.id IN ({users})",
            join = B::THEN_JOIN,
            users = B::id_set(2),
            pairs = only_the_asked(&USER_PAIRS.replace("{all}", Scope::AllProjects.as_str())),
            columns = row_columns(&asker, ""),
        )
    });
    let found = sqlx::query(SQL.as_str()).bind(convs).bind(users).fetch_all(&mut *conn).await.map_err(other)?;
    let mut wanted = BTreeMap::new();
    for row in &found {
        let r = conversation_row(row)?;
        let scope = rows::parse(row, "inbox_scope", Scope::parse)?;
        let views = inbox::user_row_views(scope, r.conversation.project_id, shared(&r), r.relation, involvement(&r));
        // Users see every message as it is written, so their activity is the conversation's.
        if let Some(mut e) = wanted_entry(&r, views) {
            e.activity_at = get(row, "last_activity_at")?;
            wanted.insert((r.conversation.id.0, Party::User(UserId(get(row, "inbox_party")?))), e);
        }
    }
    Ok(wanted)
}

/// Like `wanted_for_users`, for customers and public conversations only.
async fn wanted_for_customers(
    conn: &mut DbConnection,
    convs: &<B as Backend>::IdList,
    customers: Option<&<B as Backend>::IdList>,
) -> StoreResult<BTreeMap<Key, Entry>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let asker = Asker { kind: "customer", id: "cu.id", org: "cu.organization_id" };
        format!(
            "WITH {pairs}
             SELECT cu.id AS inbox_party, {columns}
             FROM pairs {join} customers cu ON cu.id = pairs.pid {join} conversations c ON c.id = pairs.cid
             WHERE c.visibility = 'public' AND ($2 IS NULL OR cu.id IN ({customers}))",
            join = B::THEN_JOIN,
            customers = B::id_set(2),
            pairs = only_the_asked(CUSTOMER_PAIRS),
            columns = row_columns(&asker, &customer_counts("m.")),
        )
    });
    let found = sqlx::query(SQL.as_str()).bind(convs).bind(customers).fetch_all(&mut *conn).await.map_err(other)?;
    let mut wanted = BTreeMap::new();
    for row in &found {
        let r = conversation_row(row)?;
        let views = inbox::customer_row_views(r.conversation.project_id, shared(&r), r.relation, involvement(&r));
        if let Some(e) = wanted_entry(&r, views) {
            wanted.insert((r.conversation.id.0, Party::Customer(CustomerId(get(row, "inbox_party")?))), e);
        }
    }
    Ok(wanted)
}

/// Every conversation (`?1` is bound and unused).
const ALL_CONVERSATIONS: &str = "SELECT id FROM conversations WHERE $1 IS NOT NULL";

/// Conversations a user (`?1`) with a limited scope may see: those of their projects (directly or
/// through a team) and those they are part of.
const USER_CONVERSATIONS: &str = "
    SELECT c.id FROM conversations c WHERE c.project_id IN (SELECT project_id FROM project_people
          WHERE (party_kind = 'user' AND party_id = $1)
             OR (party_kind = 'team' AND party_id IN (SELECT team_id FROM team_members WHERE user_id = $1)))
    UNION SELECT conversation_id FROM conversation_people WHERE party_kind = 'user' AND party_id = $1
    UNION SELECT c.id FROM item_people ip JOIN conversations c ON c.item_id = ip.item_id
          WHERE ip.party_kind = 'user' AND ip.party_id = $1
    UNION SELECT conversation_id FROM inbox WHERE party_kind = 'user' AND party_id = $1";

/// Conversations a customer (`?1`, organization `?4`) may be related to.
const CUSTOMER_CONVERSATIONS: &str = "
    SELECT conversation_id AS id FROM conversation_people WHERE party_kind = 'customer' AND party_id = $1
    UNION SELECT c.id FROM item_people ip JOIN conversations c ON c.item_id = ip.item_id
          WHERE ip.party_kind = 'customer' AND ip.party_id = $1
    UNION SELECT c.id FROM project_people pp JOIN conversations c ON c.project_id = pp.project_id
          WHERE (pp.party_kind = 'customer' AND pp.party_id = $1) OR (pp.party_kind = 'organization' AND pp.party_id = $4)
    UNION SELECT conversation_id FROM inbox WHERE party_kind = 'customer' AND party_id = $1";

async fn existing_rows(
    conn: &mut DbConnection,
    sql: &str,
    binds: &[&<B as Backend>::IdList],
) -> StoreResult<BTreeMap<Key, Entry>> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    let found = q.fetch_all(&mut *conn).await.map_err(other)?;
    found.iter().map(entry).collect()
}

/// Recomputes the inbox rows of `who` for `conversations` from the stored facts.
pub(crate) async fn refresh(
    conn: &mut DbConnection,
    conversations: &[i64],
    who: Who,
    tallies: &mut Tallies,
) -> StoreResult<()> {
    if conversations.is_empty() || matches!(&who, Who::Only(people) if people.is_empty()) {
        return Ok(());
    }
    B::lock_conversations(conn, conversations).await?;
    let convs = B::id_list(conversations.iter().copied());
    let (existing, wanted) = match who {
        Who::Everyone | Who::Customers => {
            let kinds = if matches!(who, Who::Everyone) { "('user', 'customer')" } else { "('customer')" };
            let sql =
                format!("SELECT * FROM inbox WHERE conversation_id IN ({}) AND party_kind IN {kinds}", B::id_set(1));
            let existing = existing_rows(conn, &sql, &[&convs]).await?;
            let mut wanted = if matches!(who, Who::Everyone) {
                wanted_for_users(conn, &convs, None).await?
            } else {
                BTreeMap::new()
            };
            wanted.extend(wanted_for_customers(conn, &convs, None).await?);
            (existing, wanted)
        }
        Who::Only(parties) => {
            let users = B::id_list(parties.iter().filter_map(|p| p.user()).map(|u| u.0));
            let customers = B::id_list(parties.iter().filter(|p| p.is_customer()).map(|c| c.raw_id()));
            let mut existing = BTreeMap::new();
            for (kind, ids) in [("user", &users), ("customer", &customers)] {
                let sql = format!(
                    "SELECT * FROM inbox WHERE conversation_id IN ({convs})
                     AND party_kind = '{kind}' AND party_id IN ({ids})",
                    convs = B::id_set(1),
                    ids = B::id_set(2)
                );
                existing.extend(existing_rows(conn, &sql, &[&convs, ids]).await?);
            }
            let mut wanted = wanted_for_users(conn, &convs, Some(&users)).await?;
            wanted.extend(wanted_for_customers(conn, &convs, Some(&customers)).await?);
            (existing, wanted)
        }
    };
    settle(conn, existing, wanted, tallies).await
}

/// Every conversation id: `rebuild` over all of a person's rows at once.
pub(crate) const EVERY_CONVERSATION: (i64, i64) = (i64::MIN, i64::MAX);

/// Recomputes the inbox rows of one user or customer for the conversations whose ids lie in
/// `from..to` (a new user, a changed scope or team, a customer's organization or their rows moved
/// to another customer). A user's whole inbox is rebuilt a range at a time (`inbox_rebuild.rs`).
pub(crate) async fn rebuild(
    conn: &mut DbConnection,
    party: Party,
    (from, to): (i64, i64),
    tallies: &mut Tallies,
) -> StoreResult<()> {
    // The candidates' ids are bound as $2 and $3; their own query binds $1 (and $4).
    let in_range = |candidates: &str| format!("SELECT id FROM ({candidates}) AS candidates WHERE id >= $2 AND id < $3");
    let convs: Vec<i64> = match party {
        Party::User(id) => {
            let scope: Option<String> = sqlx::query_scalar("SELECT scope FROM users WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(other)?;
            // With a limited scope, only their projects' conversations and those they are part
            // of may be theirs.
            let candidates = if scope.as_deref() == Some(Scope::AllProjects.as_str()) {
                ALL_CONVERSATIONS
            } else {
                USER_CONVERSATIONS
            };
            sqlx::query_scalar(&in_range(candidates)).bind(id.0).bind(from).bind(to).fetch_all(&mut *conn).await
        }
        Party::Customer(id) => {
            let org: Option<i64> = sqlx::query_scalar("SELECT organization_id FROM customers WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *conn)
                .await
                .map_err(other)?
                .flatten();
            sqlx::query_scalar(&in_range(CUSTOMER_CONVERSATIONS))
                .bind(id.0)
                .bind(from)
                .bind(to)
                .bind(org.unwrap_or(-1))
                .fetch_all(&mut *conn)
                .await
        }
    }
    .map_err(other)?;
    // The candidates include the conversations the person has rows for: locked (PostgreSQL), those
    // rows and the facts below stay as read until this write commits.
    B::lock_conversations(conn, &convs).await?;
    let found = sqlx::query(
        "SELECT * FROM inbox WHERE party_kind = $1 AND party_id = $2 AND conversation_id >= $3 AND conversation_id < $4",
    )
    .bind(party.kind_str())
    .bind(party.raw_id())
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    let existing = found.iter().map(entry).collect::<StoreResult<BTreeMap<_, _>>>()?;
    let (convs, me) = (B::id_list(convs), B::id_list([party.raw_id()]));
    let wanted = match party {
        Party::User(_) => wanted_for_users(conn, &convs, Some(&me)).await?,
        Party::Customer(_) => wanted_for_customers(conn, &convs, Some(&me)).await?,
    };
    settle(conn, existing, wanted, tallies).await
}

/// The users or customers a `*_people` party stands for: a team's members, an organization's
/// customers, or the user or customer themself.
pub(crate) async fn members_of(conn: &mut DbConnection, (kind, id): (&str, i64)) -> StoreResult<Vec<Party>> {
    let sql = match kind {
        "team" => "SELECT 'user' AS party_kind, user_id AS party_id FROM team_members WHERE team_id = $1",
        "organization" => "SELECT 'customer' AS party_kind, id AS party_id FROM customers WHERE organization_id = $1",
        _ => return Party::from_parts(kind, id).map(|p| vec![p]).ok_or_else(|| corrupt("party_kind")),
    };
    let found = sqlx::query(sql).bind(id).fetch_all(&mut *conn).await.map_err(other)?;
    found.iter().map(rows::party).collect()
}

/// Moves every row of a conversation after a post (`posted`) or a change of its state: counts and
/// time, whom it addressed, and the views, recomputed from each row's stored involvement and the
/// conversation's new facts. Rows of `skip` are left to `refresh`. Answers who has a row.
pub(crate) async fn restamp(
    conn: &mut DbConnection,
    conversation: ConversationId,
    posted: Option<Posted<'_>>,
    skip: &BTreeSet<Party>,
    tallies: &mut Tallies,
) -> StoreResult<BTreeSet<Party>> {
    let facts = match &posted {
        Some(p) => p.facts,
        None => {
            let row = sqlx::query("SELECT visibility, state, last_author_kind FROM conversations WHERE id = $1")
                .bind(conversation.0)
                .fetch_one(&mut *conn)
                .await
                .map_err(other)?;
            let last_author: Option<String> = get(&row, "last_author_kind")?;
            SharedFacts {
                visibility: rows::parse(&row, "visibility", Visibility::parse)?,
                state: rows::parse(&row, "state", ConversationState::parse)?,
                last_author: last_author.as_deref().and_then(AuthorKind::parse),
            }
        }
    };
    let found = sqlx::query("SELECT * FROM inbox WHERE conversation_id = $1")
        .bind(conversation.0)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
    let existing = found.iter().map(entry).collect::<StoreResult<BTreeMap<_, _>>>()?;
    let holders = existing.keys().map(|(_, party)| *party).collect();
    let upserts = inbox_rows::restamp(&existing, facts, posted.as_ref(), skip, &mut tallies.pending);
    write(conn, &upserts, &[]).await?;
    Ok(holders)
}

/// Fills the inbox of an install from before it, once: a batch of conversations at a time, for
/// everyone, each batch in its own transaction (rows of one conversation sit together, so this
/// order writes each page once). Stopped half-way, it starts over at the next start; what was
/// done is recomputed to the same rows.
pub(crate) async fn build_if_missing(pool: &sqlx::Pool<crate::names::Db>) -> StoreResult<()> {
    let built: bool =
        sqlx::query_scalar("SELECT built FROM inbox_built WHERE id = 1").fetch_one(pool).await.map_err(other)?;
    if built {
        return Ok(());
    }
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM conversations ORDER BY id").fetch_all(pool).await.map_err(other)?;
    if !ids.is_empty() {
        tracing::info!(conversations = ids.len(), "building every inbox once");
    }
    for batch in ids.chunks(500) {
        let mut tx = pool.begin().await.map_err(other)?;
        // Nobody is connected yet: the counts need no announcing.
        let mut tallies = Tallies::default();
        refresh(&mut tx, batch, Who::Everyone, &mut tallies).await?;
        flush(&mut tx, &mut tallies).await?;
        tx.commit().await.map_err(other)?;
    }
    sqlx::query("UPDATE inbox_built SET built = TRUE WHERE id = 1").execute(pool).await.map_err(other)?;
    Ok(())
}
