//! R29: automations kept, listed with the core rule first, one core rule at most.

use crate::fixtures::*;
use parley_domain::automation::{core_rule, Action, AutomationSpec, Trigger};
use parley_domain::*;
use parley_store::*;

pub async fn r29_automations_are_kept_with_one_core_rule_first<S: Store>(store: &S) {
    let w = World::new(store).await;
    let spec = AutomationSpec {
        name: "Thanks on close".into(),
        trigger: Trigger::ItemClosed,
        project_id: Some(w.project.id),
        item_kind: Some(ItemKind::Ticket),
        minutes: None,
        action: Action::PostMessage,
        visibility: Visibility::Public,
        body: "Closed: thank you!".into(),
    };
    let thanks = store.insert_automation(&spec, true, false, T0).await.unwrap();
    assert_eq!((&thanks.spec, thanks.enabled, thanks.core, thanks.updated_at), (&spec, true, false, T0));
    let core = store.insert_automation(&core_rule(), true, true, T0 + 1).await.unwrap();
    assert!(matches!(
        store.insert_automation(&core_rule(), true, true, T0 + 2).await,
        Err(StoreError::Conflict("core"))
    ));
    let ids: Vec<_> = store.automations().await.unwrap().iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![core.id, thanks.id], "the core rule first");

    let changed = AutomationSpec { project_id: None, item_kind: None, visibility: Visibility::Internal, ..spec };
    let updated = store.update_automation(thanks.id, &changed, false, T0 + 3).await.unwrap();
    assert_eq!((&updated.spec, updated.enabled, updated.created_at, updated.updated_at), (&changed, false, T0, T0 + 3));
    store.delete_automation(thanks.id).await.unwrap();
    assert!(matches!(store.delete_automation(thanks.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.automation(thanks.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.update_automation(thanks.id, &changed, true, T0).await, Err(StoreError::NotFound)));
    assert_eq!(store.automations().await.unwrap().len(), 1);
}

pub async fn r29_customer_messages_waiting_for_a_user_are_found_and_claimed_once<S: Store>(store: &S) {
    let w = World::new(store).await;
    let spec = AutomationSpec {
        name: "Still there?".into(),
        trigger: Trigger::NoUserReply,
        project_id: None,
        item_kind: None,
        minutes: Some(5),
        action: Action::PostMessage,
        visibility: Visibility::Public,
        body: "We have not forgotten you.".into(),
    };
    let waits = store.insert_automation(&spec, true, false, T0).await.unwrap();
    let cora = Author::Customer(w.customer.id);
    let team = [Party::User(w.admin.id)];
    let public = |store| w.conversation(store, Visibility::Public, None, vec![Party::Customer(w.customer.id)]);
    // Waiting: the customer wrote last; the bot's words after hers do not answer her.
    let waiting = public(store).await;
    let asked = store.insert_message(new_message(&waiting, cora, &team, T0 + 10)).await.unwrap();
    store.insert_message(new_message(&waiting, Author::Bot, &team, T0 + 20)).await.unwrap();
    // Answered by a user.
    let answered = public(store).await;
    store.insert_message(new_message(&answered, cora, &team, T0 + 10)).await.unwrap();
    store.insert_message(new_message(&answered, Author::User(w.admin.id), &team, T0 + 30)).await.unwrap();
    // Written before the automation existed.
    let older = public(store).await;
    store.insert_message(new_message(&older, cora, &team, T0 - 1)).await.unwrap();

    assert!(store.awaiting_reply(waits.id, T0, T0 + 9, 10).await.unwrap().is_empty(), "not waited long enough");
    let found = store.awaiting_reply(waits.id, T0, T0 + 100, 10).await.unwrap();
    assert_eq!(found, vec![(waiting.header.id, asked.id)]);
    assert!(store.claim_automation_run(waits.id, asked.id, T0 + 100).await.unwrap());
    assert!(!store.claim_automation_run(waits.id, asked.id, T0 + 101).await.unwrap(), "once");
    assert!(store.awaiting_reply(waits.id, T0, T0 + 100, 10).await.unwrap().is_empty());
    // A new message of hers waits again; deleting the automation forgets its runs.
    let again = store.insert_message(new_message(&waiting, cora, &team, T0 + 200)).await.unwrap();
    assert_eq!(store.awaiting_reply(waits.id, T0, T0 + 300, 10).await.unwrap(), vec![(waiting.header.id, again.id)]);
    store.delete_automation(waits.id).await.unwrap();
}
