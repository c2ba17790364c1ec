//! Proving a visitor's address (R36): the unverified address and its codes, and the
//! move of a visitor's chat to the customer who owns the proven address.

use crate::errors::{other, unique};
use crate::names::DbConnection;
use crate::rows;
use crate::SqlStore;
use parley_domain::*;
use parley_store::*;
use parley_store_sql::Engine;

pub(crate) async fn set_unverified_contact(
    store: &SqlStore,
    id: CustomerId,
    email: &EmailAddress,
    name: Option<&str>,
    v: NewVerification,
) -> StoreResult<Customer> {
    let mut tx = store.writer.begin().await.map_err(other)?;
    let row = sqlx::query(
        "UPDATE customers SET unverified_email = $1, name = COALESCE($2, name) WHERE id = $3 AND email IS NULL RETURNING *",
    )
    .bind(email.as_str())
    .bind(name)
    .bind(id.0)
    .fetch_optional(&mut *tx)
    .await
    .map_err(other)?;
    let Some(row) = row else {
        sqlx::query("SELECT id FROM customers WHERE id = $1").bind(id.0).fetch_one(&mut *tx).await.map_err(other)?;
        return Err(StoreError::Conflict("contact"));
    };
    // An earlier code for another address proves nothing any more.
    sqlx::query("UPDATE email_verifications SET used_at = $1 WHERE customer_id = $2 AND used_at IS NULL")
        .bind(v.created_at)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
    sqlx::query(
        "INSERT INTO email_verifications (customer_id, email, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.0)
    .bind(email.as_str())
    .bind(&v.code_hash)
    .bind(v.created_at)
    .bind(v.expires_at)
    .execute(&mut *tx)
    .await
    .map_err(other)?;
    let customer = rows::customer(&row)?;
    tx.commit().await.map_err(other)?;
    Ok(customer)
}

pub(crate) async fn verifications_since(store: &SqlStore, customer: CustomerId, since: i64) -> StoreResult<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM email_verifications WHERE customer_id = $1 AND created_at >= $2")
        .bind(customer.0)
        .bind(since)
        .fetch_one(&store.reader)
        .await
        .map_err(other)
}

pub(crate) async fn use_verification_code(
    store: &SqlStore,
    customer: CustomerId,
    code_hash: &str,
    now: i64,
    max_attempts: i64,
) -> StoreResult<EmailAddress> {
    let mut tx = store.writer.begin().await.map_err(other)?;
    // Every try counts, right or wrong, so a code cannot be guessed by trying them all.
    let row: Option<(i64, String, String, i64)> = sqlx::query_as(
        "UPDATE email_verifications SET attempts = attempts + 1
         WHERE id = (SELECT id FROM email_verifications WHERE customer_id = $1 AND used_at IS NULL AND expires_at > $2
                     ORDER BY created_at DESC, id DESC LIMIT 1)
         RETURNING id, email, code_hash, attempts",
    )
    .bind(customer.0)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await
    .map_err(other)?;
    let Some((id, email, stored_hash, attempts)) = row else {
        return Err(StoreError::NotFound);
    };
    let proven = attempts <= max_attempts && stored_hash == code_hash;
    if proven {
        sqlx::query("UPDATE email_verifications SET used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
    }
    tx.commit().await.map_err(other)?;
    if !proven {
        return Err(StoreError::NotFound);
    }
    EmailAddress::parse("email", &email).map_err(|_| crate::errors::corrupt("email_verifications.email"))
}

/// The tables that name a customer by `party_kind`/`party_id`, with the columns that make a row
/// unique besides the party.
const PARTY_TABLES: [(&str, &str); 5] = [
    ("conversation_people", "conversation_id = t.conversation_id AND role = t.role"),
    ("item_people", "item_id = t.item_id AND role = t.role"),
    ("project_people", "project_id = t.project_id AND role = t.role"),
    ("message_recipients", "message_id = t.message_id"),
    ("conversation_reads", "conversation_id = t.conversation_id"),
];

/// Moves every row naming customer `from` to customer `to`; where `to` has the same row already,
/// the one of `from` is dropped.
async fn move_customer(conn: &mut DbConnection, from: CustomerId, to: CustomerId) -> StoreResult<()> {
    for (table, same) in PARTY_TABLES {
        sqlx::query(&format!(
            "UPDATE {table} AS t SET party_id = $1 WHERE party_kind = 'customer' AND party_id = $2
               AND NOT EXISTS (SELECT 1 FROM {table} WHERE party_kind = 'customer' AND party_id = $1 AND {same})"
        ))
        .bind(to.0)
        .bind(from.0)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
        sqlx::query(&format!("DELETE FROM {table} WHERE party_kind = 'customer' AND party_id = $1"))
            .bind(from.0)
            .execute(&mut *conn)
            .await
            .map_err(other)?;
    }
    for sql in [
        "UPDATE messages SET author_id = $1 WHERE author_kind = 'customer' AND author_id = $2",
        "UPDATE conversations SET created_by_id = $1 WHERE created_by_kind = 'customer' AND created_by_id = $2",
        "UPDATE outgoing_emails SET party_id = $1 WHERE party_kind = 'customer' AND party_id = $2",
    ] {
        sqlx::query(sql).bind(to.0).bind(from.0).execute(&mut *conn).await.map_err(other)?;
    }
    sqlx::query("DELETE FROM sessions WHERE party_kind = 'customer' AND party_id = $1")
        .bind(from.0)
        .execute(&mut *conn)
        .await
        .map_err(other)?;
    Ok(())
}

pub(crate) async fn verify_customer_email(
    store: &SqlStore,
    visitor: CustomerId,
    email: &EmailAddress,
    organization: Option<OrganizationId>,
) -> StoreResult<Customer> {
    let mut tx = store.writer.begin().await.map_err(other)?;
    let mut tallies = crate::inbox::Tallies::default();
    let owner: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(other)?;
    let row = match owner {
        Some(owner) if owner != visitor.0 => {
            move_customer(&mut tx, visitor, CustomerId(owner)).await?;
            sqlx::query("UPDATE customers SET unverified_email = NULL WHERE id = $1")
                .bind(visitor.0)
                .execute(&mut *tx)
                .await
                .map_err(other)?;
            sqlx::query("SELECT * FROM customers WHERE id = $1").bind(owner).fetch_one(&mut *tx).await.map_err(other)?
        }
        _ => sqlx::query(
            "UPDATE customers SET email = $1, unverified_email = NULL, organization_id = COALESCE(organization_id, $2)
             WHERE id = $3 RETURNING *",
        )
        .bind(email.as_str())
        .bind(organization.map(|o| o.0))
        .bind(visitor.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(unique("email"))?,
    };
    let customer = rows::customer(&row)?;
    // Both inboxes follow: the visitor's rows went to the owner, or an organization was joined.
    crate::inbox::rebuild(&mut tx, Party::Customer(visitor), crate::inbox::EVERY_CONVERSATION, &mut tallies).await?;
    if customer.id != visitor {
        crate::inbox::rebuild(&mut tx, Party::Customer(customer.id), crate::inbox::EVERY_CONVERSATION, &mut tallies)
            .await?;
    }
    store.commit(tx, tallies).await?;
    Ok(customer)
}
