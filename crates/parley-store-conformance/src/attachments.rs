//! Attachments: uploads, the message that takes them, what decides who may fetch them, pruning.

use crate::fixtures::*;
use parley_domain::access::MessageFacts;
use parley_domain::*;
use parley_store::*;

fn upload(conversation: &Conversation, uploader: Party, name: &str, sha: char, at: i64) -> NewAttachment {
    NewAttachment {
        conversation_id: conversation.header.id,
        uploader,
        name: name.into(),
        content_type: "text/plain".into(),
        size: 3,
        sha256: sha.to_string().repeat(64),
        created_at: at,
    }
}

pub async fn r7_a_message_takes_only_its_authors_unsent_uploads_and_lists_them<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let other = w.conversation(store, Visibility::Internal, Some(Link::Item(w.ticket.id)), vec![]).await;
    let admin = Party::User(w.admin.id);
    let a = store.insert_attachment(upload(&c, admin, "a.txt", 'a', T0)).await.unwrap();
    let b = store.insert_attachment(upload(&c, admin, "b.txt", 'b', T0)).await.unwrap();
    let members = store.insert_attachment(upload(&c, Party::User(w.member.id), "m.txt", 'c', T0)).await.unwrap();
    let elsewhere = store.insert_attachment(upload(&other, admin, "e.txt", 'd', T0)).await.unwrap();
    let stored = store.attachment(a.id).await.unwrap();
    assert_eq!((stored.message_id, stored.message, stored.uploader), (None, None, admin));
    assert_eq!(stored.sha256, "a".repeat(64));
    assert!(matches!(store.attachment(AttachmentId(a.id.0 + 1000)).await, Err(StoreError::NotFound)));

    let by_admin = |files: Vec<AttachmentId>| NewMessage {
        attachments: files,
        ..new_message(&c, Author::User(w.admin.id), &[Party::Customer(w.customer.id)], T0 + 1)
    };
    // Someone else's upload, another conversation's, the same one twice: refused, nothing kept.
    for files in [vec![a.id, members.id], vec![elsewhere.id], vec![a.id, a.id]] {
        assert!(matches!(store.insert_message(by_admin(files)).await, Err(StoreError::Conflict("attachment"))));
    }
    assert!(store.messages(c.header.id, 0, 10, Reader::User).await.unwrap().is_empty(), "nothing was written");

    // In the order they were uploaded, on the answer, the list and the message itself.
    let m = store.insert_message(by_admin(vec![b.id, a.id])).await.unwrap();
    assert_eq!(m.attachments, vec![a.clone(), b.clone()]);
    assert_eq!(
        store.messages(c.header.id, 0, 10, Reader::User).await.unwrap()[0].attachments,
        vec![a.clone(), b.clone()]
    );
    let customer_reads = store.messages(c.header.id, 0, 10, Reader::Customer { now: T0 + 2 }).await.unwrap();
    assert_eq!(customer_reads[0].attachments.len(), 2);
    assert_eq!(store.message(m.id).await.unwrap().attachments.len(), 2);
    let stored = store.attachment(a.id).await.unwrap();
    let facts = MessageFacts { visibility: Visibility::Public, held_until: None, withdrawn: false };
    assert_eq!((stored.message_id, stored.message), (Some(m.id), Some(facts)));
    // Sent once, never again.
    assert!(matches!(store.insert_message(by_admin(vec![a.id])).await, Err(StoreError::Conflict("attachment"))));
}

pub async fn r33_an_attachment_follows_its_message_held_made_internal_or_undone<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let admin = Party::User(w.admin.id);
    let customer = Party::Customer(w.customer.id);
    let mut files = Vec::new();
    for (i, sha) in ['a', 'b'].into_iter().enumerate() {
        let file = store.insert_attachment(upload(&c, admin, "f.txt", sha, T0)).await.unwrap();
        let held = NewMessage {
            attachments: vec![file.id],
            ..held_message(&c, Author::User(w.admin.id), &[customer], T0 + i as i64)
        };
        let m = store.insert_message(held).await.unwrap();
        files.push((file.id, m.id));
    }
    let facts = |id| async move { store.attachment(id).await.unwrap().message.unwrap() };
    assert_eq!(facts(files[0].0).await.held_until, Some(T0 + 10_000));
    store.retract_message(files[0].1, Retraction::MakeInternal, T0 + 5).await.unwrap();
    store.retract_message(files[1].1, Retraction::Undo, T0 + 5).await.unwrap();
    assert_eq!(facts(files[0].0).await.visibility, Visibility::Internal);
    assert!(facts(files[1].0).await.withdrawn);
}

pub async fn unsent_uploads_are_pruned_and_only_unnamed_bytes_reported<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let admin = Party::User(w.admin.id);
    let sent = store.insert_attachment(upload(&c, admin, "sent.txt", 'a', T0)).await.unwrap();
    let message = NewMessage { attachments: vec![sent.id], ..new_message(&c, Author::User(w.admin.id), &[], T0) };
    store.insert_message(message).await.unwrap();
    let twin = store.insert_attachment(upload(&c, admin, "twin.txt", 'a', T0)).await.unwrap();
    let lone = store.insert_attachment(upload(&c, admin, "lone.txt", 'b', T0)).await.unwrap();
    let fresh = store.insert_attachment(upload(&c, admin, "fresh.txt", 'c', T0 + 100)).await.unwrap();

    let unused = store.prune_unattached(T0 + 50).await.unwrap();
    assert_eq!(unused, vec!["b".repeat(64)], "bytes a sent file names are kept");
    for gone in [twin.id, lone.id] {
        assert!(matches!(store.attachment(gone).await, Err(StoreError::NotFound)));
    }
    assert!(store.attachment(sent.id).await.is_ok() && store.attachment(fresh.id).await.is_ok());
    assert!(store.bytes_in_use(&"a".repeat(64)).await.unwrap());
    assert!(!store.bytes_in_use(&"b".repeat(64)).await.unwrap());
}
