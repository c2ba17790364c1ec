//! What SQLite spells or does differently, for the shared store code (`parley-store-sql`).

use parley_store::StoreResult;
use parley_store_sql::Backend;

pub struct Sqlite;

impl Backend for Sqlite {
    type Db = sqlx::Sqlite;

    const GREATEST: &'static str = "MAX";
    const LEAST: &'static str = "MIN";

    /// A JSON array, read with `json_each`.
    type IdList = String;

    fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
        let ids: Vec<String> = ids.into_iter().map(|i| i.to_string()).collect();
        format!("[{}]", ids.join(","))
    }

    fn id_set(n: u8) -> String {
        format!("SELECT value FROM json_each(${n})")
    }

    fn id_table(n: u8) -> String {
        format!("json_each(${n}) ids")
    }

    const THEN_JOIN: &'static str = "CROSS JOIN";

    const SKIP_LOCKED: &'static str = "";

    const UNINDEXED: &'static str = "+";

    const FOR_UPDATE: &'static str = "";

    /// The one writer holds the whole file for the transaction.
    async fn lock_conversations(_: &mut sqlx::SqliteConnection, _: &[i64]) -> StoreResult<()> {
        Ok(())
    }

    /// One writer at a time: writes never meet.
    const CONTENDED: &'static [&'static str] = &[];
}
