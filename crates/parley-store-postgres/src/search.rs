//! Search on PostgreSQL's full-text search: `search_words` (migrations 0001, 0002) reads the words of
//! each text, indexed with GIN. Each kind is read the same way: the newest matches the asker may
//! see, then the best of those by `ts_rank`; excerpts come from `ts_headline`, marked with the
//! control characters `parley_domain::search` splits on.

use crate::errors::other;
use crate::search_rows::Statements;
use crate::PgStore;
use async_trait::async_trait;
use parley_domain::search::Query;
use parley_store::{SearchAsk, SearchHits, SearchStore, StoreResult};

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
        let mut conn = self.reader.acquire().await.map_err(other)?;
        crate::search_rows::search(&mut conn, &ask, &expression, statements).await
    }
}

/// The statements of a search (`search_rows::Statements`), with `readable` the condition on what
/// of a conversation's messages the asker may read.
fn statements(readable: &str) -> Statements {
    Statements {
        conversations: format!(
            "SELECT id, {excerpt} AS excerpt FROM (
               SELECT c.id, c.subject, ts_rank(search_words(c.subject), q) AS rank
               FROM {QUERY} AS q, conversations c
               JOIN inbox i ON i.conversation_id = c.id AND i.party_kind = $2 AND i.party_id = $3
               WHERE search_words(c.subject) @@ q ORDER BY c.id DESC LIMIT {NEWEST}) AS newest, {QUERY} AS q
             ORDER BY rank DESC, id DESC LIMIT $4",
            excerpt = marked("subject")
        ),
        messages: format!(
            "SELECT newest.*, {excerpt} AS excerpt FROM (
               SELECT m.id, m.conversation_id, m.number, m.author_kind, m.author_id, m.created_at, m.body,
                      ts_rank(m.body_search, q) AS rank
               FROM {QUERY} AS q, messages m
               JOIN inbox i ON i.conversation_id = m.conversation_id AND i.party_kind = $2 AND i.party_id = $3
               WHERE m.body_search @@ q AND m.withdrawn_at IS NULL {readable}
               ORDER BY m.id DESC LIMIT {NEWEST}) AS newest, {QUERY} AS q
             ORDER BY rank DESC, id DESC LIMIT $4",
            excerpt = excerpt("body")
        ),
        items: format!(
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
        ),
        customers: format!(
            "SELECT id, {excerpt} AS name, email FROM (
               SELECT cu.id, cu.name, cu.email,
                      ts_rank(search_words(cu.name || ' ' || COALESCE(cu.email, '')), q) AS rank
               FROM {QUERY} AS q, customers cu
               WHERE search_words(cu.name || ' ' || COALESCE(cu.email, '')) @@ q
               ORDER BY cu.id DESC LIMIT {NEWEST}) AS newest, {QUERY} AS q
             ORDER BY rank DESC, id DESC LIMIT $2",
            excerpt = marked("name")
        ),
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
