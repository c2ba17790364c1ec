//! What both engines' full-text search (each backend's `search.rs`) does the same way: the engine
//! spells the four statements, this binds and reads them. Each kind is read the same way: the
//! newest matches the asker may see, then the best of those by rank.

use crate::errors::other;
use crate::names::{DbConnection, DbRow};
use crate::rows::{self, get};
use crate::B;
use parley_domain::*;
use parley_store::{CustomerHit, ItemReach, MessageHit, Reader, SearchAsk, SearchHits, StoreResult};
use parley_store_sql::Backend;

/// A search's statements as an engine spells them. All bind the engine's query text as `$1`;
/// `conversations` then the asker's kind and id (`$2`, `$3`) and the limit (`$4`); `messages` the
/// same and the time a customer reads at (`$5`, in `readable`); `items` every item (`$2`), the
/// projects (`$3`, a list), the user whose own items count (`$4`), the only items (`$5`, a list)
/// and the limit (`$6`); `customers` the limit (`$2`).
pub(crate) struct Statements {
    pub conversations: String,
    pub messages: String,
    pub items: String,
    pub customers: String,
}

/// Runs a search: `spell` makes the statements, given the condition on what of a conversation's
/// messages the asker may read (R7, R33; empty for a user) as `readable`.
pub(crate) async fn search(
    conn: &mut DbConnection,
    ask: &SearchAsk<'_>,
    expression: &str,
    spell: impl FnOnce(&str) -> Statements,
) -> StoreResult<SearchHits> {
    let (kind, id) = (ask.party.kind_str(), ask.party.raw_id());
    let (readable, now) = match ask.reader {
        Reader::User => (String::new(), 0),
        Reader::Customer { now } => (format!("AND {}", rows::customer_sees("m.", "$5")), now),
    };
    let statements = spell(&readable);

    let found: Vec<(i64, String)> = sqlx::query_as(&statements.conversations)
        .bind(expression)
        .bind(kind)
        .bind(id)
        .bind(ask.limit)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
    let conversations = found.into_iter().map(|(id, e)| (ConversationId(id), e)).collect();

    let found = sqlx::query(&statements.messages)
        .bind(expression)
        .bind(kind)
        .bind(id)
        .bind(ask.limit)
        .bind(now)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
    let messages = message_hits(&found)?;

    let (every, projects, user, only) = item_binds(&ask.items);
    let found: Vec<(i64, String)> = sqlx::query_as(&statements.items)
        .bind(expression)
        .bind(every)
        .bind(projects)
        .bind(user)
        .bind(only)
        .bind(ask.limit)
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?;
    let items = found.into_iter().map(|(id, e)| (ItemId(id), e)).collect();

    let customers = if ask.customers {
        let found: Vec<(i64, String, Option<String>)> = sqlx::query_as(&statements.customers)
            .bind(expression)
            .bind(ask.limit)
            .fetch_all(&mut *conn)
            .await
            .map_err(other)?;
        found
            .into_iter()
            .map(|(id, name, email)| CustomerHit { id: CustomerId(id), name, email: email.unwrap_or_default() })
            .collect()
    } else {
        Vec::new()
    };
    Ok(SearchHits { conversations, messages, items, customers })
}

/// Message hits from rows of `id, conversation_id, number, author_kind, author_id, created_at,
/// excerpt`.
fn message_hits(found: &[DbRow]) -> StoreResult<Vec<MessageHit>> {
    found
        .iter()
        .map(|r| {
            Ok(MessageHit {
                id: MessageId(get(r, "id")?),
                conversation_id: ConversationId(get(r, "conversation_id")?),
                number: get(r, "number")?,
                author: rows::author(r, "author_kind", "author_id")?,
                created_at: get(r, "created_at")?,
                excerpt: get(r, "excerpt")?,
            })
        })
        .collect()
}

/// The asker's reach of items as four bound values.
type ItemBinds = (bool, Option<<B as Backend>::IdList>, Option<i64>, Option<<B as Backend>::IdList>);

fn item_binds(items: &ItemReach) -> ItemBinds {
    match items {
        ItemReach::Every => (true, None, None, None),
        ItemReach::Projects { projects, user } => {
            (false, Some(B::id_list(projects.iter().map(|p| p.0))), Some(user.0), None)
        }
        ItemReach::Only(ids) => (false, None, None, Some(B::id_list(ids.iter().map(|i| i.0)))),
    }
}
