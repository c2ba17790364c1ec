//! Saved replies: kept, listed by title, titles unique whatever their case.

use crate::fixtures::*;
use parley_store::*;

pub async fn saved_replies_are_listed_by_title_and_titles_are_unique_without_case<S: Store>(store: &S) {
    let w = World::new(store).await;
    let refund = store.insert_saved_reply("Refund", "Your refund is on its way.", w.member.id, T0).await.unwrap();
    let hello = store.insert_saved_reply("hello", "Hello {{customer.first_name}}!", w.admin.id, T0 + 1).await.unwrap();
    assert_eq!((hello.title.as_str(), hello.created_by, hello.updated_at), ("hello", w.admin.id, T0 + 1));
    let titles: Vec<String> = store.saved_replies().await.unwrap().into_iter().map(|r| r.title).collect();
    assert_eq!(titles, vec!["hello", "Refund"], "by title, whatever the case");
    assert!(matches!(
        store.insert_saved_reply("REFUND", "x", w.admin.id, T0).await,
        Err(StoreError::Conflict("title"))
    ));
    assert!(matches!(
        store.update_saved_reply(hello.id, "refund", "x", T0 + 2).await,
        Err(StoreError::Conflict("title"))
    ));
    let changed = store.update_saved_reply(refund.id, "Refund sent", "Sent today.", T0 + 3).await.unwrap();
    assert_eq!(
        (changed.title.as_str(), changed.body.as_str(), changed.updated_at),
        ("Refund sent", "Sent today.", T0 + 3)
    );
    assert_eq!(store.saved_reply(refund.id).await.unwrap(), changed);
    store.delete_saved_reply(refund.id).await.unwrap();
    assert!(matches!(store.delete_saved_reply(refund.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.saved_reply(refund.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.update_saved_reply(refund.id, "a", "b", T0).await, Err(StoreError::NotFound)));
    assert_eq!(store.saved_replies().await.unwrap().len(), 1);
}
