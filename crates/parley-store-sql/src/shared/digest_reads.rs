//! What the email worker reads to compose a round of digests (R34), in five statements on one
//! reader connection, however many digests the round holds: it used to be a conversation, its
//! item and each message read one by one per digest.

use crate::errors::other;
use crate::names::DbConnection;
use crate::rows::{self, get};
use crate::B;
use parley_domain::delivery::Digest;
use parley_domain::*;
use parley_store::{DigestReads, StoreResult};
use parley_store_sql::Backend;
use std::collections::BTreeSet;

pub(crate) async fn digest_reads(conn: &mut DbConnection, digests: &[Digest]) -> StoreResult<DigestReads> {
    let mut reads = DigestReads::default();
    let message_ids = B::id_list(digests.iter().flat_map(|d| d.messages.iter().map(|m| m.0)));
    let rows = sqlx::query(&format!("SELECT * FROM messages WHERE id IN ({})", B::id_set(1)))
        .bind(message_ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
    let mut messages: Vec<Message> = rows.iter().map(rows::message).collect::<StoreResult<_>>()?;
    // Their files are listed in the email, as links that ask for the reader's access.
    crate::attachments::fill(&mut *conn, &mut messages).await?;
    reads.messages.extend(messages.into_iter().map(|m| (m.id, m)));

    let conversation_ids: BTreeSet<i64> = digests.iter().map(|d| d.conversation_id.0).collect();
    for row in sqlx::query(&format!(
        "SELECT {}, i.kind AS item_kind FROM conversations c LEFT JOIN items i ON i.id = c.item_id
         WHERE c.id IN ({})",
        rows::HEADER_COLUMNS,
        B::id_set(1)
    ))
    .bind(B::id_list(conversation_ids))
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?
    {
        let header = rows::header(&row)?;
        let kind = get::<Option<String>>(&row, "item_kind")?.as_deref().and_then(ItemKind::parse);
        reads.conversations.insert(header.id, (header, kind));
    }

    // Recipients and the authors of their messages.
    let people: BTreeSet<Party> =
        digests.iter().map(|d| d.party).chain(reads.messages.values().filter_map(|m| m.author.party())).collect();
    let users = B::id_list(people.iter().filter_map(|p| p.user()).map(|u| u.0));
    for row in sqlx::query(&format!("SELECT {} FROM users WHERE id IN ({})", crate::people::USER_COLUMNS, B::id_set(1)))
        .bind(users)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?
    {
        let user = rows::user(&row)?;
        reads.users.insert(user.id, user);
    }
    let customers = B::id_list(people.iter().filter_map(|p| p.customer()).map(|c| c.0));
    for row in sqlx::query(&format!("SELECT * FROM customers WHERE id IN ({})", B::id_set(1)))
        .bind(customers)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?
    {
        let customer = rows::customer(&row)?;
        reads.customers.insert(customer.id, customer);
    }
    Ok(reads)
}
