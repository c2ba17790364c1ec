//! The shared store behaviours, on a fresh SQLite file each, plus what only a file-backed store has.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_domain::*;
use parley_store::*;
use parley_store_conformance::World;
use parley_store_sqlite::SqliteStore;

async fn fresh() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("parley.db")).await.unwrap();
    (store, dir)
}

parley_store_conformance::store_behaviour_tests!(fresh);

#[tokio::test]
async fn reopening_the_file_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parley.db");
    let (conversation, message) = {
        let store = SqliteStore::open(&path).await.unwrap();
        let w = World::new(&store).await;
        let c = w.conversation(&store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
        let to = [Party::Customer(w.customer.id)];
        let m = parley_store_conformance::new_message(&c, Author::User(w.admin.id), &to, 5);
        (c.header.id, store.insert_message(m).await.unwrap())
    };
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.message(message.id).await.unwrap(), message);
    assert_eq!(store.conversation(conversation).await.unwrap().header.message_count, 1);
    assert_eq!(store.message_audience(message.id).await.unwrap().len(), 1);
}
