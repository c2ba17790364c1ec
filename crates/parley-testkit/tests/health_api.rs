//! Health checks a load balancer polls: `/healthz` while the process serves, `/readyz` only while
//! the store answers as well. Neither needs a credential nor says anything about the data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::{spawn_app, test_store, TestStore};
use serde_json::Value;

async fn get(app: &parley_testkit::TestApp, path: &str) -> (u16, Value) {
    let res = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_serving_node_is_live_and_ready_with_its_store_named() {
    let app = spawn_app().await;
    assert_eq!(get(&app, "/healthz").await, (200, serde_json::json!({"status": "live"})));
    let (status, ready) = get(&app, "/readyz").await;
    assert_eq!(status, 200, "{ready}");
    let backend = match test_store() {
        TestStore::Sqlite => "sqlite",
        TestStore::Postgres => "postgres",
    };
    assert_eq!(ready, serde_json::json!({"status": "ready", "store": backend}));
}

/// On PostgreSQL the database can go away under a running node: it stays live (the process is
/// fine) but is no longer ready, with a JSON error a load balancer and a person can read. On
/// SQLite the store is a file of the process itself, and stays ready.
#[tokio::test]
async fn a_node_whose_database_is_gone_is_live_but_not_ready() {
    let app = spawn_app().await;
    let Some(schema) = &app.postgres else {
        assert_eq!(get(&app, "/readyz").await.0, 200, "an embedded store is always reachable");
        return;
    };
    let base = parley_store_postgres::scratch::test_database_url();
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&base).await.unwrap();
    // The node keeps reading its tables while the schema goes, and PostgreSQL may pick the drop
    // as a deadlock's victim: drop again until it is gone.
    let mut tries = 0;
    while let Err(error) = sqlx::query(&format!("DROP SCHEMA {} CASCADE", schema.name())).execute(&mut admin).await {
        tries += 1;
        assert!(tries < 10, "the schema could not be dropped: {error}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(get(&app, "/healthz").await.0, 200);
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "store_unreachable", "{body}");
}
