//! Search on SQLite's FTS5 (migration 0014). Each kind is read the same way: the newest matches
//! the asker may see (FTS5 walks its index newest first and stops when enough passed the asker's
//! filter), then the best of those by rank. The cost so depends on the page of hits, not on how
//! common a word is in a year of history.

use crate::errors::other;
use crate::search_rows::Statements;
use crate::SqliteStore;
use async_trait::async_trait;
use parley_domain::search::Query;
use parley_store::{SearchAsk, SearchHits, SearchStore, StoreResult};

/// Matches read before ranking, per kind.
const NEWEST: i64 = 200;

/// The FTS5 expression of `query`: every word, quoted (a word holds only letters and digits, so
/// the quotes cannot be escaped), the last one as a prefix.
fn fts_expression(query: &Query) -> String {
    let last = query.terms.len().saturating_sub(1);
    let words: Vec<String> = query
        .terms
        .iter()
        .enumerate()
        .map(|(i, t)| if i == last { format!("\"{t}\"*") } else { format!("\"{t}\"") })
        .collect();
    words.join(" ")
}

/// An excerpt of column `column` of FTS table `table`, with the matched words marked.
fn excerpt(table: &str, column: usize) -> String {
    format!("snippet({table}, {column}, char(2), char(3), '…', 16)")
}

/// The whole of a short column (a subject, a title, a name) with the matched words marked.
fn marked(table: &str, column: usize) -> String {
    format!("highlight({table}, {column}, char(2), char(3))")
}

#[async_trait]
impl SearchStore for SqliteStore {
    async fn search(&self, ask: SearchAsk<'_>) -> StoreResult<SearchHits> {
        let expression = fts_expression(ask.query);
        let mut conn = self.reader.acquire().await.map_err(other)?;
        crate::search_rows::search(&mut conn, &ask, &expression, statements).await
    }
}

/// The statements of a search (`search_rows::Statements`), with `readable` the condition on what
/// of a conversation's messages the asker may read.
fn statements(readable: &str) -> Statements {
    Statements {
        conversations: format!(
            "SELECT id, excerpt FROM (
               SELECT c.id, {excerpt} AS excerpt, f.rank AS rank FROM conversations_fts f
               JOIN conversations c ON c.id = f.rowid
               JOIN inbox i ON i.conversation_id = c.id AND i.party_kind = $2 AND i.party_id = $3
               WHERE conversations_fts MATCH $1 ORDER BY f.rowid DESC LIMIT {NEWEST})
             ORDER BY rank LIMIT $4",
            excerpt = marked("conversations_fts", 0)
        ),
        messages: format!(
            "SELECT * FROM (
               SELECT m.id, m.conversation_id, m.number, m.author_kind, m.author_id, m.created_at,
                      {excerpt} AS excerpt, f.rank AS rank
               FROM messages_fts f
               JOIN messages m ON m.id = f.rowid
               JOIN inbox i ON i.conversation_id = m.conversation_id AND i.party_kind = $2 AND i.party_id = $3
               WHERE messages_fts MATCH $1 AND m.withdrawn_at IS NULL {readable}
               ORDER BY f.rowid DESC LIMIT {NEWEST})
             ORDER BY rank LIMIT $4",
            excerpt = excerpt("messages_fts", 0)
        ),
        items: format!(
            "SELECT id, excerpt FROM (
               SELECT it.id, {excerpt} AS excerpt, f.rank AS rank FROM items_fts f JOIN items it ON it.id = f.rowid
               WHERE items_fts MATCH $1 AND ($2
                  OR it.project_id IN (SELECT value FROM json_each($3))
                  OR EXISTS (SELECT 1 FROM item_people ip WHERE ip.item_id = it.id AND ip.party_kind = 'user'
                             AND ip.party_id = $4)
                  OR it.id IN (SELECT value FROM json_each($5)))
               ORDER BY f.rowid DESC LIMIT {NEWEST})
             ORDER BY rank LIMIT $6",
            excerpt = marked("items_fts", 0)
        ),
        customers: format!(
            "SELECT id, name, email FROM (
               SELECT cu.id, {excerpt} AS name, cu.email, f.rank AS rank FROM customers_fts f
               JOIN customers cu ON cu.id = f.rowid
               WHERE customers_fts MATCH $1 ORDER BY f.rowid DESC LIMIT {NEWEST})
             ORDER BY rank LIMIT $2",
            excerpt = marked("customers_fts", 0)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_words_become_quoted_terms_the_last_a_prefix() {
        let q = Query::parse("printer OR fire* NEAR").unwrap();
        assert_eq!(fts_expression(&q), "\"printer\" \"or\" \"fire\" \"near\"*");
    }
}
