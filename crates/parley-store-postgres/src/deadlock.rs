//! A deadlock on PostgreSQL is `Contended`: the write it rolled back may run again.

use crate::errors::other;
use crate::scratch::{test_database_url, ScratchSchema};
use parley_store::StoreError;
use sqlx::{Executor, PgPool};

#[tokio::test]
async fn a_deadlock_is_contended_and_leaves_the_other_write_to_finish() {
    let schema = ScratchSchema::create(&test_database_url()).await.unwrap_or_else(|e| panic!("{e}"));
    let pool = PgPool::connect(&schema.url()).await.unwrap_or_else(|e| panic!("{e}"));
    pool.execute("CREATE TABLE pair (id INT PRIMARY KEY, n INT); INSERT INTO pair VALUES (1, 0), (2, 0)")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (mut a, mut b) =
        (pool.begin().await.unwrap_or_else(|e| panic!("{e}")), pool.begin().await.unwrap_or_else(|e| panic!("{e}")));
    a.execute("UPDATE pair SET n = 1 WHERE id = 1").await.unwrap_or_else(|e| panic!("{e}"));
    b.execute("UPDATE pair SET n = 2 WHERE id = 2").await.unwrap_or_else(|e| panic!("{e}"));
    // Each now waits for the row the other holds: PostgreSQL rolls one of them back.
    let (first, second) =
        tokio::join!(a.execute("UPDATE pair SET n = 1 WHERE id = 2"), b.execute("UPDATE pair SET n = 2 WHERE id = 1"));
    let outcomes = [first.map(|_| ()).map_err(other), second.map(|_| ()).map_err(other)];
    assert_eq!(outcomes.iter().filter(|o| matches!(o, Err(StoreError::Contended))).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
}
