//! The shared store behaviours on PostgreSQL, each on a fresh schema of the database named by
//! `PARLEY_TEST_POSTGRES_URL` (the local server by default).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_store_postgres::scratch::{scratch_store, test_database_url, ScratchSchema};
use parley_store_postgres::PgStore;

async fn fresh() -> (PgStore, ScratchSchema) {
    scratch_store(&test_database_url()).await.expect("PostgreSQL is reachable at PARLEY_TEST_POSTGRES_URL")
}

parley_store_conformance::store_behaviour_tests!(fresh);

/// R41: an upgrade makes everyone who wrote before take part, at once; their inbox rows follow in
/// the background, while the nodes already serve.
#[tokio::test]
async fn r41_upgrading_makes_earlier_writers_take_part_and_rebuilds_their_inboxes_later() {
    use parley_domain::inbox::Involvement;
    use parley_domain::views::View;
    use parley_domain::*;
    use parley_store::*;
    let (store, schema) = fresh().await;
    let w = parley_store_conformance::World::new(&store).await;
    let cora = Party::Customer(w.customer.id);
    let chat = w.conversation(&store, Visibility::Public, None, vec![cora]).await;
    let answer = parley_store_conformance::new_message(&chat, Author::User(w.member.id), &[cora], 5);
    store.insert_message(answer).await.unwrap();
    let (mia, chat) = (w.member.id, chat.header.id);
    drop(store);
    // As the previous version left it: nobody takes part, and the rows say so.
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&schema.url()).await.unwrap();
    let follows = Involvement { follows: true, ..Default::default() }.bits();
    for sql in [
        "DELETE FROM conversation_people WHERE role = 'taking_part'",
        "UPDATE inbox SET views = views & ~$1::BIGINT, involvement = involvement & ~$2::BIGINT WHERE party_kind = 'user'",
        "ALTER TABLE inbox_rebuilds DROP COLUMN background",
        "DELETE FROM _sqlx_migrations WHERE version = 9",
    ] {
        let query = sqlx::query(sql);
        let query = if sql.contains("$1") { query.bind(View::CustomerReplies.bit()).bind(follows) } else { query };
        query.execute(&pool).await.unwrap();
    }
    pool.close().await;

    async fn among_replies(store: &PgStore, mia: UserId, chat: ConversationId) -> bool {
        let rows = parley_store_conformance::read_view(store, Party::User(mia), View::CustomerReplies, 10).await;
        rows.iter().any(|shown| shown.0 == chat.0)
    }
    let store = PgStore::open(&schema.url()).await.unwrap();
    assert_eq!(store.conversation(chat).await.unwrap().taking_part, vec![mia], "at once");
    assert!(!among_replies(&store, mia, chat).await, "the row waits for the background rebuild");
    assert_eq!(store.finish_background_rebuilds().await.unwrap(), 1);
    assert!(among_replies(&store, mia, chat).await, "now among Mia's customer replies");
    assert_eq!(store.finish_background_rebuilds().await.unwrap(), 0, "done once");
}
