//! Reading rows into domain values, and the shared loaders for people lists.

use crate::errors::{corrupt, other};
use parley_domain::*;
use parley_store::StoreResult;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

pub fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    row: &'r PgRow,
    col: &str,
) -> StoreResult<T> {
    row.try_get(col).map_err(other)
}

/// Parses a stored name with `parse`.
pub fn parse<T>(row: &PgRow, col: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    let s: String = get(row, col)?;
    parse(&s).ok_or_else(|| corrupt(col))
}

pub fn user(row: &PgRow) -> StoreResult<User> {
    Ok(User {
        id: UserId(get(row, "id")?),
        email: get(row, "email")?,
        name: get(row, "name")?,
        handle: get(row, "handle")?,
        role: parse(row, "role", Role::parse)?,
        created_at: get(row, "created_at")?,
        active: get(row, "active")?,
    })
}

pub fn preferences(row: &PgRow) -> StoreResult<Preferences> {
    use parley_domain::preferences::*;
    Ok(Preferences {
        scope: parse(row, "scope", Scope::parse)?,
        show_from_customers: get(row, "show_from_customers")?,
        customer_messages: parse(row, "customer_messages", CustomerMessages::parse)?,
        replies_to_customers: parse(row, "replies_to_customers", RepliesToCustomers::parse)?,
        followed_internal: get(row, "followed_internal")?,
        sound: get(row, "sound")?,
        email_assignment_changes: get(row, "email_assignment_changes")?,
        email_new_members: get(row, "email_new_members")?,
        auto_accept_invitations: get(row, "auto_accept_invitations")?,
    })
}

/// The `reasons` column of an audience row: why the person receives the message.
pub fn reasons(row: &PgRow) -> StoreResult<Vec<parley_domain::audience::Reason>> {
    let stored: String = get(row, "reasons")?;
    stored.split(',').map(|s| parley_domain::audience::Reason::parse(s).ok_or_else(|| corrupt("reasons"))).collect()
}

pub fn customer(row: &PgRow) -> StoreResult<Customer> {
    Ok(Customer {
        id: CustomerId(get(row, "id")?),
        email: get(row, "email")?,
        unverified_email: get(row, "unverified_email")?,
        name: get(row, "name")?,
        organization_id: get::<Option<i64>>(row, "organization_id")?.map(OrganizationId),
        created_at: get(row, "created_at")?,
    })
}

pub fn party(row: &PgRow) -> StoreResult<Party> {
    let kind: String = get(row, "party_kind")?;
    Party::from_parts(&kind, get(row, "party_id")?).ok_or_else(|| corrupt("party_kind"))
}

pub fn author(row: &PgRow, kind_col: &str, id_col: &str) -> StoreResult<Author> {
    let kind: String = get(row, kind_col)?;
    Author::from_parts(&kind, get(row, id_col)?).ok_or_else(|| corrupt(kind_col))
}

pub fn message(row: &PgRow) -> StoreResult<Message> {
    Ok(Message {
        id: MessageId(get(row, "id")?),
        conversation_id: ConversationId(get(row, "conversation_id")?),
        number: get(row, "number")?,
        author: author(row, "author_kind", "author_id")?,
        visibility: parse(row, "visibility", Visibility::parse)?,
        body: get(row, "body")?,
        body_html: get(row, "body_html")?,
        channel: parse(row, "channel", Channel::parse)?,
        created_at: get(row, "created_at")?,
        held_until: get(row, "held_until")?,
        attachments: vec![],
    })
}

/// R7, R33: the messages a customer may read at time `now` (a bound parameter such as `?3`), for
/// a `messages` table under `alias` (`m.`, or empty). The one place this rule is written in SQL.
pub fn customer_sees(alias: &str, now: &str) -> String {
    format!("{alias}visibility = 'public' AND ({alias}held_until IS NULL OR {alias}held_until <= {now})")
}

/// The messages of conversation `conversation` a customer may read at `now` (bound parameters
/// such as `?1`, `?4`), each with `customer_number`: its position among them, the number customers
/// are shown. Messages become readable for customers in the order of `COALESCE(held_until,
/// created_at)` (a held reply when its guard ends), then of their number, and a readable one never
/// stops being readable (a reply can be taken back only while held), so a position once shown
/// never changes — and customers see no gap where a message was undone or made internal.
pub fn customer_numbered(conversation: &str, now: &str) -> String {
    format!(
        "(SELECT m.*, ROW_NUMBER() OVER (ORDER BY COALESCE(m.held_until, m.created_at), m.number) AS customer_number
          FROM messages m WHERE m.conversation_id = {conversation} AND m.withdrawn_at IS NULL AND {sees})",
        sees = customer_sees("m.", now)
    )
}

pub const HEADER_COLUMNS: &str = "c.id, c.subject, c.visibility, c.state, c.item_id, c.linked_project_id, \
     c.project_id, c.created_by_kind, c.created_by_id, c.created_at, c.last_activity_at, c.message_count";

pub fn header(row: &PgRow) -> StoreResult<ConversationHeader> {
    let item: Option<i64> = get(row, "item_id")?;
    let linked_project: Option<i64> = get(row, "linked_project_id")?;
    let link = match (item, linked_project) {
        (Some(i), _) => Some(Link::Item(ItemId(i))),
        (None, Some(p)) => Some(Link::Project(ProjectId(p))),
        (None, None) => None,
    };
    Ok(ConversationHeader {
        id: ConversationId(get(row, "id")?),
        subject: get(row, "subject")?,
        visibility: parse(row, "visibility", Visibility::parse)?,
        state: parse(row, "state", ConversationState::parse)?,
        link,
        project_id: get::<Option<i64>>(row, "project_id")?.map(ProjectId),
        created_by: author(row, "created_by_kind", "created_by_id")?,
        created_at: get(row, "created_at")?,
        last_activity_at: get(row, "last_activity_at")?,
        message_count: get(row, "message_count")?,
    })
}

/// Every user and customer of one row of a `*_people` table with their role, in one statement
/// (teams and organizations left out), ordered by party.
pub async fn people_with_roles(
    conn: &mut PgConnection,
    table: &str,
    key: &str,
    id: i64,
) -> StoreResult<Vec<(String, Party)>> {
    let sql = format!("SELECT role, party_kind, party_id FROM {table} WHERE {key} = $1 ORDER BY party_kind, party_id");
    let rows = sqlx::query(&sql).bind(id).fetch_all(conn).await.map_err(other)?;
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let kind: String = get(row, "party_kind")?;
        if let Some(party) = Party::from_parts(&kind, get(row, "party_id")?) {
            found.push((get(row, "role")?, party));
        }
    }
    Ok(found)
}

/// The parties holding `role` in one row of a `*_people` table.
pub async fn people(
    conn: &mut PgConnection,
    table: &str,
    key: &str,
    id: i64,
    role: &str,
) -> StoreResult<Vec<(String, i64)>> {
    let sql = format!(
        "SELECT party_kind, party_id FROM {table} WHERE {key} = $1 AND role = $2 ORDER BY party_kind, party_id"
    );
    let rows = sqlx::query(&sql).bind(id).bind(role).fetch_all(conn).await.map_err(other)?;
    rows.iter().map(|r| Ok((get(r, "party_kind")?, get(r, "party_id")?))).collect()
}

/// Adds (`on`) or removes a party in a role of a `*_people` table; repeating either is harmless.
pub async fn set_person(
    conn: &mut PgConnection,
    table: &str,
    key: &str,
    id: i64,
    role: &str,
    (kind, party_id): (&str, i64),
    on: bool,
) -> StoreResult<()> {
    let sql = if on {
        format!(
            "INSERT INTO {table} ({key}, role, party_kind, party_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
        )
    } else {
        format!("DELETE FROM {table} WHERE {key} = $1 AND role = $2 AND party_kind = $3 AND party_id = $4")
    };
    sqlx::query(&sql).bind(id).bind(role).bind(kind).bind(party_id).execute(conn).await.map_err(other)?;
    Ok(())
}

pub fn parties(list: Vec<(String, i64)>) -> Vec<Party> {
    list.into_iter().filter_map(|(k, id)| Party::from_parts(&k, id)).collect()
}

pub fn ids_of<T>(list: &[(String, i64)], kind: &str, wrap: fn(i64) -> T) -> Vec<T> {
    list.iter().filter(|(k, _)| k == kind).map(|(_, id)| wrap(*id)).collect()
}
