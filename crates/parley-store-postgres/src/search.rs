//! Search on PostgreSQL's full-text search: `search_words` (migrations 0001, 0002) reads the words of
//! each text, indexed with GIN. Each kind is read the same way: the newest matches the asker may
//! see, then the best of those by `ts_rank`; excerpts come from `ts_headline`, marked with the
//! control characters `parley_domain::search` splits on.

use crate::errors::other;
use crate::rows::{self, get};
use crate::PgStore;
use crate::B;
use async_trait::async_trait;
use parley_domain::search::Query;
use parley_domain::*;
use parley_store::{CustomerHit, ItemReach, MessageHit, Reader, SearchAsk, SearchHits, SearchStore, StoreResult};
use parley_store_sql::Backend;

/// Matches read before ranking, per kind.
const NEWEST: i64 = 200;

/// The `tsquery` text of `query`: every word, quoted (a word holds only letters and digits, so the
/// quotes cannot be escaped), the last one as a prefix; all of them must match.
fn tsquery_text(query: &Query) -> String {
    let last = query.terms.len().saturating_sub(1);
    let words: Vec<String> = query
        .terms
        .iter()
        .enumerate()
        .map(|(i, t)| if i == last { format!("'{t}':*") } else { format!("'{t}'") })
        .collect();
    words.join(" & ")
}

/// `$1` as a query (`q` in the statements below).
const QUERY: &str = "to_tsquery('parley_search', $1)";

/// An excerpt of `column` around the matched words, marked.
fn excerpt(column: &str) -> String {
    format!(
        "ts_headline('parley_search', {column}, q, 'StartSel=' || chr(2) || ', StopSel=' || chr(3)
           || ', MaxWords=16, MinWords=6, ShortWord=0, MaxFragments=1, FragmentDelimiter=…')"
    )
}

/// The whole of a short column (a subject, a title, a name) with the matched words marked.
fn marked(column: &str) -> String {
    format!(
        "ts_headline('parley_search', {column}, q, 'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', HighlightAll=true')"
    )
}

#[async_trait]
impl SearchStore for PgStore {
    async fn search(&self, ask: SearchAsk<'_>) -> StoreResult<SearchHits> {
        if ask.query.terms.is_empty() {
            return Ok(SearchHits::default());
        }
        let expression = tsquery_text(ask.query);
        let mut conn = self.pool.acquire().await.map_err(other)?;
        let (kind, id) = (ask.party.kind_str(), ask.party.raw_id());
        // What of a conversation's messages the asker may read (R7, R33).
        let (readable, now) = match ask.reader {
            Reader::User => (String::new(), 0),
            Reader::Customer { now } => (format!("AND {}", rows::customer_sees("m.", "$5")), now),
        };

        let sql = format!(
            "SELECT id, {excerpt} AS excerpt FROM (
               SELECT c.id, c.subject, ts_rank(search_words(c.subject), q) AS rank
               FROM {QUERY} AS q, conversations c
               JOIN inbox i ON i.conversation_id = c.id AND i.party_kind = $2 AND i.party_id = $3
               WHERE search_words(c.subject) @@ q ORDER BY c.id DESC LIMIT {NEWEST}) AS newest, {QUERY} AS q
             ORDER BY rank DESC, id DESC LIMIT $4",
            excerpt = marked("subject")
        );
        let found: Vec<(i64, String)> = sqlx::query_as(&sql)
            .bind(&expression)
            .bind(kind)
            .bind(id)
            .bind(ask.limit)
            .fetch_all(&mut *conn)
            .await
            .map_err(other)?;
        let conversations = found.into_iter().map(|(id, e)| (ConversationId(id), e)).collect();

        let sql = format!(
            "SELECT newest.*, {excerpt} AS excerpt FROM (
               SELECT m.id, m.conversation_id, m.number, m.author_kind, m.author_id, m.created_at, m.body,
                      ts_rank(m.body_search, q) AS rank
               FROM {QUERY} AS q, messages m
               JOIN inbox i ON i.conversation_id = m.conversation_id AND i.party_kind = $2 AND i.party_id = $3
               WHERE m.body_search @@ q AND m.withdrawn_at IS NULL {readable}
               ORDER BY m.id DESC LIMIT {NEWEST}) AS newest, {QUERY} AS q
             ORDER BY rank DESC, id DESC LIMIT $4",
            excerpt = excerpt("body")
        );
        let found = sqlx::query(&sql)
            .bind(&expression)
            .bind(kind)
            .bind(id)
            .bind(ask.limit)
            .bind(now)
            .fetch_all(&mut *conn)
            .await
            .map_err(other)?;
        let messages = found
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
            .collect::<StoreResult<Vec<_>>>()?;

        // $2: every item; $3: the projects; $4: the user whose own items count; $5: the only
        // items.
        let (every, projects, user, only) = match &ask.items {
            ItemReach::Every => (true, None, None, None),
            ItemReach::Projects { projects, user } => {
                (false, Some(B::id_list(projects.iter().map(|p| p.0))), Some(user.0), None)
            }
            ItemReach::Only(ids) => (false, None, None, Some(B::id_list(ids.iter().map(|i| i.0)))),
        };
        let sql = format!(
            "SELECT id, {excerpt} AS excerpt FROM (
               SELECT it.id, it.title, ts_rank(search_words(it.title), q) AS rank FROM {QUERY} AS q, items it
               WHERE search_words(it.title) @@ q AND ($2
                  OR it.project_id = ANY($3)
                  OR EXISTS (SELECT 1 FROM item_people ip WHERE ip.item_id = it.id AND ip.party_kind = 'user'
                             AND ip.party_id = $4)
                  OR it.id = ANY($5))
               ORDER BY it.id DESC LIMIT {NEWEST}) AS newest, {QUERY} AS q
             ORDER BY rank DESC, id DESC LIMIT $6",
            excerpt = marked("title")
        );
        let found: Vec<(i64, String)> = sqlx::query_as(&sql)
            .bind(&expression)
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
            let sql = format!(
                "SELECT id, {excerpt} AS name, email FROM (
                   SELECT cu.id, cu.name, cu.email,
                          ts_rank(search_words(cu.name || ' ' || COALESCE(cu.email, '')), q) AS rank
                   FROM {QUERY} AS q, customers cu
                   WHERE search_words(cu.name || ' ' || COALESCE(cu.email, '')) @@ q
                   ORDER BY cu.id DESC LIMIT {NEWEST}) AS newest, {QUERY} AS q
                 ORDER BY rank DESC, id DESC LIMIT $2",
                excerpt = marked("name")
            );
            let found: Vec<(i64, String, Option<String>)> =
                sqlx::query_as(&sql).bind(&expression).bind(ask.limit).fetch_all(&mut *conn).await.map_err(other)?;
            found
                .into_iter()
                .map(|(id, name, email)| CustomerHit { id: CustomerId(id), name, email: email.unwrap_or_default() })
                .collect()
        } else {
            Vec::new()
        };
        Ok(SearchHits { conversations, messages, items, customers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_words_become_quoted_terms_the_last_a_prefix() {
        let q = Query::parse("printer OR fire* NEAR").unwrap();
        assert_eq!(tsquery_text(&q), "'printer' & 'or' & 'fire' & 'near':*");
    }
}
