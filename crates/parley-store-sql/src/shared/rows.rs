//! Reading rows into domain values, and the shared loaders for people lists.

use crate::errors::other;
use crate::names::DbConnection;
use crate::names::{Db, DbRow};
use parley_domain::*;
use parley_store::decode;
pub use parley_store::decode::HEADER_COLUMNS;
use parley_store::StoreResult;
use sqlx::Row;

pub fn get<'r, T: sqlx::Decode<'r, Db> + sqlx::Type<Db>>(row: &'r DbRow, col: &str) -> StoreResult<T> {
    row.try_get(col).map_err(other)
}

/// Parses a stored name with `parse`.
pub fn parse<T>(row: &DbRow, col: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    decode::parse(&Cols(row), col, parse)
}

/// A row of this backend, as the shared decoders (`parley_store::decode`) read it.
struct Cols<'r>(&'r DbRow);

impl decode::Columns for Cols<'_> {
    fn int(&self, column: &str) -> StoreResult<i64> {
        get(self.0, column)
    }
    fn int_or_null(&self, column: &str) -> StoreResult<Option<i64>> {
        get(self.0, column)
    }
    fn text(&self, column: &str) -> StoreResult<String> {
        get(self.0, column)
    }
    fn text_or_null(&self, column: &str) -> StoreResult<Option<String>> {
        get(self.0, column)
    }
    fn flag(&self, column: &str) -> StoreResult<bool> {
        get(self.0, column)
    }
}

pub fn user(row: &DbRow) -> StoreResult<User> {
    decode::user(&Cols(row))
}

pub fn preferences(row: &DbRow) -> StoreResult<Preferences> {
    decode::preferences(&Cols(row))
}

/// The `reasons` column of an audience row: why the person receives the message.
pub fn reasons(row: &DbRow) -> StoreResult<Vec<parley_domain::audience::Reason>> {
    decode::reasons(&Cols(row))
}

pub fn customer(row: &DbRow) -> StoreResult<Customer> {
    decode::customer(&Cols(row))
}

pub fn party(row: &DbRow) -> StoreResult<Party> {
    decode::party(&Cols(row))
}

pub fn author(row: &DbRow, kind_col: &str, id_col: &str) -> StoreResult<Author> {
    decode::author(&Cols(row), kind_col, id_col)
}

pub fn message(row: &DbRow) -> StoreResult<Message> {
    decode::message(&Cols(row))
}

pub fn header(row: &DbRow) -> StoreResult<ConversationHeader> {
    decode::header(&Cols(row))
}

/// R7, R33: the messages a customer may read at time `now` (a bound parameter such as `?3`), for
/// a `messages` table under `alias` (`m.`, or empty). The one place this rule is written in SQL.
pub fn customer_sees(alias: &str, now: &str) -> String {
    format!("{alias}visibility = 'public' AND ({alias}held_until IS NULL OR {alias}held_until <= {now})")
}

/// Pushes a shared fragment written with the markers `{0}`, `{1}`, … onto a builder's statement,
/// binding `values[n]` at `{n}`: inside a builder, whose parameters it numbers itself, the
/// fragments above still bind their values rather than spell them (a statement spelling a
/// conversation or a time would be a new statement, prepared again, at every call).
pub fn push_fragment(q: &mut sqlx::QueryBuilder<'_, Db>, fragment: &str, values: &[i64]) {
    let mut rest = fragment;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else { break };
        let Some(&value) = rest[start + 1..start + len].parse::<usize>().ok().and_then(|n| values.get(n)) else {
            q.push(&rest[..=start]);
            rest = &rest[start + 1..];
            continue;
        };
        q.push(&rest[..start]).push_bind(value);
        rest = &rest[start + len + 1..];
    }
    q.push(rest);
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

/// Every user and customer of one row of a `*_people` table with their role, in one statement
/// (teams and organizations left out), ordered by party.
pub async fn people_with_roles(
    conn: &mut DbConnection,
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
    conn: &mut DbConnection,
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
    conn: &mut DbConnection,
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

pub fn invitation(row: &DbRow) -> StoreResult<parley_domain::system_email::Invitation> {
    decode::invitation(&Cols(row))
}

pub fn automation(row: &DbRow) -> StoreResult<parley_domain::automation::Automation> {
    decode::automation(&Cols(row))
}

pub fn webhook(row: &DbRow) -> StoreResult<parley_domain::webhook::Webhook> {
    decode::webhook(&Cols(row))
}

pub fn webhook_delivery(row: &DbRow) -> StoreResult<parley_store::webhooks::WebhookDelivery> {
    decode::webhook_delivery(&Cols(row))
}

pub fn webhook_attempt(
    row: &DbRow,
) -> StoreResult<(parley_domain::WebhookDeliveryId, parley_store::webhooks::WebhookAttempt)> {
    decode::webhook_attempt(&Cols(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fragment_binds_its_values_where_its_markers_are() {
        let mut q = sqlx::QueryBuilder::<Db>::new("SELECT 1 WHERE ");
        push_fragment(&mut q, "a = {0} AND b <= {1} AND c = '{x}' AND d = {7}", &[5, 7]);
        let sql = q.sql().to_string();
        assert!(!sql.contains("{0}") && !sql.contains("{1}"), "{sql}");
        assert!(sql.contains("'{x}'") && sql.contains("{7}"), "what names no value stays: {sql}");
        let binds = sql.matches('?').count() + sql.matches('$').count();
        assert_eq!(binds, 2, "{sql}");
    }
}
