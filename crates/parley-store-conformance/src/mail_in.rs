//! Email in: the incoming log and relay tokens.

use crate::fixtures::*;
use parley_domain::inbound::IncomingStatus;
use parley_domain::*;
use parley_store::*;

fn mail(at: i64, message_id: &str) -> NewIncomingEmail {
    NewIncomingEmail {
        received_at: at,
        via: "smtp".into(),
        from_address: "cora@client.test".into(),
        to_addresses: "support@acme.test".into(),
        subject: "Help".into(),
        message_id: Some(message_id.into()),
        raw: b"From: cora@client.test\r\n\r\nHelp\r\n".to_vec(),
    }
}

pub async fn r32_incoming_log_keeps_what_each_mail_did_and_prunes<S: Store>(store: &S) {
    let world = World::new(store).await;
    let first = store.insert_incoming_email(mail(T0, "a@client.test")).await.unwrap();
    let logged = store.incoming_email(first).await.unwrap();
    assert_eq!(logged.status, IncomingStatus::Received);
    assert_eq!(logged.size, 32);
    assert_eq!(store.incoming_email_raw(first).await.unwrap(), mail(T0, "a").raw);
    assert_eq!(store.handled_incoming_email("a@client.test").await.unwrap(), None, "not handled yet");

    let conversation = store
        .insert_conversation(NewConversation {
            subject: "Help".into(),
            visibility: Visibility::Public,
            link: None,
            created_by: Author::Customer(world.customer.id),
            participants: vec![Party::Customer(world.customer.id)],
            followers: vec![],
            created_at: T0,
        })
        .await
        .unwrap();
    let outcome = IncomingOutcome {
        status: Some(IncomingStatus::Started),
        reason: None,
        conversation_id: Some(conversation.header.id),
        posted_message_id: None,
        party: Some(Party::Customer(world.customer.id)),
        keep: None,
    };
    let finished = store.finish_incoming_email(first, outcome).await.unwrap();
    assert_eq!((finished.id, finished.status), (first, IncomingStatus::Started), "the entry as it now is");
    assert_eq!(store.incoming_email_of_message(MessageId(1)).await.unwrap(), None);
    let handled = store.handled_incoming_email("a@client.test").await.unwrap().unwrap();
    assert_eq!((handled.id, handled.status), (first, IncomingStatus::Started));
    assert_eq!(handled.party, Some(Party::Customer(world.customer.id)));

    let refused = store.insert_incoming_email(mail(T0 + 10, "b@client.test")).await.unwrap();
    assert_eq!(store.incoming_log_bytes(T0).await.unwrap(), 64);
    let why = IncomingOutcome {
        status: Some(IncomingStatus::Refused),
        reason: Some("sender_mismatch".into()),
        keep: Some(b"From: cora@client.test\r\n\r\n".to_vec()),
        ..IncomingOutcome::default()
    };
    let finished = store.finish_incoming_email(refused, why).await.unwrap();
    assert_eq!(store.handled_incoming_email("b@client.test").await.unwrap(), None, "a refusal handled nothing");
    // R45: what the outcome keeps replaces the mail; its size stays the size it arrived with.
    assert_eq!(store.incoming_email_raw(refused).await.unwrap(), b"From: cora@client.test\r\n\r\n".to_vec());
    assert_eq!(finished.size, 32);
    assert_eq!(store.incoming_log_bytes(T0).await.unwrap(), 32 + 26);
    assert_eq!(store.incoming_log_bytes(T0 + 5).await.unwrap(), 26);

    let log = store.incoming_emails(T0, 10).await.unwrap();
    assert_eq!(log.iter().map(|m| m.id).collect::<Vec<_>>(), vec![refused, first], "newest first");
    assert_eq!(log[0].reason.as_deref(), Some("sender_mismatch"));
    assert_eq!(store.incoming_emails(T0 + 5, 10).await.unwrap().len(), 1);

    assert_eq!(store.prune_incoming(T0 + 5).await.unwrap(), 1);
    assert!(matches!(store.incoming_email(first).await, Err(StoreError::NotFound)));
    assert!(matches!(store.incoming_email_raw(first).await, Err(StoreError::NotFound)));
    assert!(matches!(store.finish_incoming_email(first, IncomingOutcome::default()).await, Err(StoreError::NotFound)));
}

pub async fn inbound_tokens_are_found_by_hash_and_revoked<S: Store>(store: &S) {
    let world = World::new(store).await;
    let token = store.insert_inbound_token("Relay", "hash-1", world.admin.id, T0).await.unwrap();
    assert!(matches!(
        store.insert_inbound_token("Again", "hash-1", world.admin.id, T0).await,
        Err(StoreError::Conflict("token"))
    ));
    assert_eq!(store.use_inbound_token("hash-1", T0 + 120_000).await.unwrap(), token.id);
    let listed = store.inbound_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_used_at, Some(T0 + 120_000));
    assert!(matches!(store.use_inbound_token("hash-2", T0).await, Err(StoreError::NotFound)));
    store.delete_inbound_token(token.id).await.unwrap();
    assert!(matches!(store.use_inbound_token("hash-1", T0).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_inbound_token(token.id).await, Err(StoreError::NotFound)));
}

pub async fn r18_an_item_may_be_opened_by_a_customer<S: Store>(store: &S) {
    let world = World::new(store).await;
    let customer = Party::Customer(world.customer.id);
    let item = store
        .insert_item(NewItem {
            project_id: world.project.id,
            kind: ItemKind::Ticket,
            title: "From an email".into(),
            created_by: customer,
            requesters: vec![world.customer.id],
            assignees: vec![],
            created_at: T0,
        })
        .await
        .unwrap();
    assert_eq!(item.created_by, customer);
    assert_eq!(item.requesters, vec![world.customer.id]);
    assert_eq!(store.item(item.id).await.unwrap().created_by, customer);
    assert_eq!(store.item(world.ticket.id).await.unwrap().created_by, Party::User(world.admin.id));

    let settings = CompanySettings { email_ticket_project_id: Some(world.project.id), ..CompanySettings::default() };
    let company = store.update_company(None, settings).await.unwrap();
    assert_eq!(company.settings.email_ticket_project_id, Some(world.project.id));
    let company = store.update_company(None, CompanySettings::default()).await.unwrap();
    assert_eq!(company.settings.email_ticket_project_id, None);
}
