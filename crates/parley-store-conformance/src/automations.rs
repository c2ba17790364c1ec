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
