//! R44 on PostgreSQL: claims name their node. What a node that is gone had claimed is taken back
//! at once by the next node that looks (a restarting one at start, the others every few seconds),
//! never what a live node holds, and never a claim an older node (which names no owner) made since.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_domain::*;
use parley_store::*;
use parley_store_conformance::{hook, new_message, queued, World, DELAY, T0};
use parley_store_postgres::scratch::{scratch_store, test_database_url};
use parley_store_postgres::PgStore;
use std::time::Duration;

fn email(n: i64) -> NewOutgoingEmail {
    NewOutgoingEmail {
        created_at: T0,
        conversation_id: None,
        party: None,
        to_address: format!("someone{n}@acme.test"),
        to_name: "Someone".into(),
        subject: "Hello".into(),
        body_text: "text".into(),
        body_html: "<p>html</p>".into(),
        message_id_header: format!("<claims.{n}@acme.test>"),
        in_reply_to: None,
        references: None,
        reply_to: None,
        secret: None,
    }
}

/// Takes back what gone nodes held, waiting (briefly) for PostgreSQL to end a dropped node's
/// session and so free its lock.
async fn take_back_once_gone(store: &PgStore) -> u64 {
    for _ in 0..100 {
        let taken = store.take_back_claims().await.unwrap();
        if taken > 0 {
            return taken;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    0
}

#[tokio::test]
async fn r44_what_a_gone_node_claimed_is_taken_back_at_once_and_a_live_nodes_never() {
    let (first, schema) = scratch_store(&test_database_url()).await.expect("PostgreSQL is reachable");
    let second = PgStore::open(&schema.url()).await.unwrap();
    let w = World::new(&first).await;
    let c = w.conversation(&first, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    first
        .insert_message(new_message(&c, Author::User(w.admin.id), &[Party::Customer(w.customer.id)], T0))
        .await
        .unwrap();
    for n in 1..=2 {
        first.queue_email(email(n)).await.unwrap();
    }
    let crm = first.insert_webhook(&hook("https://crm.example/hook"), true, "whsec", T0).await.unwrap();
    first.queue_webhook_deliveries(&[queued(crm.id, 1)]).await.unwrap();
    // The first node claims a due email job, both queued emails and the webhook delivery, leased
    // for a minute.
    let (due, lease) = (T0 + DELAY, T0 + DELAY + 60_000);
    assert_eq!(first.claim_due_emails(due, lease, 10).await.unwrap().len(), 1);
    assert_eq!(first.claim_outgoing(due, lease, 10).await.unwrap().len(), 2);
    assert_eq!(first.claim_webhook_deliveries(due, lease, 10).await.unwrap().len(), 1);

    // While it lives, nothing of it is taken.
    assert_eq!(second.take_back_claims().await.unwrap(), 0, "a live node's claims are its own");
    assert!(second.claim_due_emails(due + 1, lease, 10).await.unwrap().is_empty());
    assert!(second.claim_outgoing(due + 1, lease, 10).await.unwrap().is_empty());
    assert!(second.claim_webhook_deliveries(due + 1, lease, 10).await.unwrap().is_empty());

    // An older node (naming no owner) claims one of the emails again after its lease: the
    // first node's lease on it is no longer the lease on the row.
    let pool = sqlx::PgPool::connect(&schema.url()).await.unwrap();
    sqlx::query("UPDATE outgoing_emails SET claimed_until = $1 WHERE message_id_header = '<claims.2@acme.test>'")
        .bind(lease + 60_000)
        .execute(&pool)
        .await
        .unwrap();

    // The first node dies (its session ends, and with it its lock): the second takes back, at
    // once, the job and the email the first still held, not the one the older node holds now.
    drop(first);
    assert_eq!(take_back_once_gone(&second).await, 4, "three released, one only forgets its owner");
    assert_eq!(second.claim_due_emails(due + 2, lease, 10).await.unwrap().len(), 1, "long before the lease ends");
    let emails = second.claim_outgoing(due + 2, lease, 10).await.unwrap();
    assert_eq!(emails.iter().map(|e| e.email.to_address.as_str()).collect::<Vec<_>>(), ["someone1@acme.test"]);
    assert!(emails[0].in_doubt, "its try began: the sender decides by its journal");
    assert_eq!(second.claim_webhook_deliveries(due + 2, lease, 10).await.unwrap().len(), 1);
    let owners: Vec<Option<i64>> =
        sqlx::query_scalar("SELECT claim_owner FROM outgoing_emails ORDER BY id").fetch_all(&pool).await.unwrap();
    assert!(owners[0].is_some() && owners[1].is_none(), "{owners:?}");
}
