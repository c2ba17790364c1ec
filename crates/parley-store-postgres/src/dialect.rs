//! What PostgreSQL spells or does differently, for the shared store code (`parley-store-sql`).

use parley_store::StoreResult;
use parley_store_sql::Backend;

pub struct Postgres;

impl Backend for Postgres {
    type Db = sqlx::Postgres;

    const GREATEST: &'static str = "GREATEST";
    const LEAST: &'static str = "LEAST";

    /// A `bigint[]`, read with `unnest`.
    type IdList = Vec<i64>;

    fn id_list(ids: impl IntoIterator<Item = i64>) -> Vec<i64> {
        ids.into_iter().collect()
    }

    fn id_set(n: u8) -> String {
        format!("SELECT unnest(${n}::bigint[])")
    }

    fn id_table(n: u8) -> String {
        format!("unnest(${n}::bigint[]) AS ids(value)")
    }

    const THEN_JOIN: &'static str = "JOIN";

    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";

    const UNINDEXED: &'static str = "";

    const FOR_UPDATE: &'static str = " FOR UPDATE";

    /// A post locks its conversation by counting the message, so it waits for a read-position
    /// change or a new follower of the same conversation, and the other way round.
    async fn lock_conversations(conn: &mut sqlx::PgConnection, conversations: &[i64]) -> StoreResult<()> {
        sqlx::query("SELECT id FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(conversations)
            .execute(&mut *conn)
            .await
            .map_err(crate::errors::other)?;
        Ok(())
    }

    /// A deadlock and a serialization failure: nothing of the write was written.
    const CONTENDED: &'static [&'static str] = &["40P01", "40001"];
}
