//! R29: automations kept, listed with the core rule first, one core rule at most.

use crate::fixtures::*;
use parley_domain::automation::{core_rule, Action, AutomationSpec, EmailRecipient, Trigger};
use parley_domain::webhook::{DeliveryState, WebhookEvent, WebhookSpec};
use parley_domain::*;
use parley_store::webhooks::{NewWebhookDelivery, TryOutcome, WebhookAttempt};
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
        template: None,
        recipients: vec![],
        address: None,
        webhook_id: None,
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
        template: None,
        recipients: vec![],
        address: None,
        webhook_id: None,
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

fn template(name: &str) -> Template {
    Template {
        name: name.into(),
        subject: "Closed: {{ item.title }}".into(),
        body_text: "Done.".into(),
        body_html: "<p>Done.</p>".into(),
        updated_at: T0,
    }
}

pub async fn r30_a_template_an_automation_sends_cannot_be_deleted<S: Store>(store: &S) {
    let _w = World::new(store).await;
    let closed = store.insert_template(&template("closed")).await.unwrap();
    assert!(matches!(store.insert_template(&template("closed")).await, Err(StoreError::Conflict("template"))));
    assert!(store.templates().await.unwrap().contains(&closed));
    let spec = AutomationSpec {
        name: "Mail on close".into(),
        trigger: Trigger::ItemClosed,
        project_id: None,
        item_kind: None,
        minutes: None,
        action: Action::SendEmail,
        visibility: Visibility::Public,
        body: String::new(),
        template: Some("closed".into()),
        recipients: vec![EmailRecipient::Requesters, EmailRecipient::Assignees],
        address: Some("team@example.com".into()),
        webhook_id: None,
    };
    let mails = store.insert_automation(&spec, true, false, T0).await.unwrap();
    assert_eq!(mails.spec, spec, "what it sends, and to whom, is kept");
    assert!(matches!(store.delete_template("closed").await, Err(StoreError::Conflict("template_in_use"))));
    let unknown = AutomationSpec { template: Some("nowhere".into()), ..spec.clone() };
    assert!(store.insert_automation(&unknown, true, false, T0).await.is_err(), "only a stored template");
    store.delete_automation(mails.id).await.unwrap();
    store.delete_template("closed").await.unwrap();
    assert!(matches!(store.delete_template("closed").await, Err(StoreError::NotFound)));
}

/// A webhook named CRM at `url`, hearing item and message events.
pub fn hook(url: &str) -> WebhookSpec {
    WebhookSpec {
        name: "CRM".into(),
        url: url.into(),
        events: vec![WebhookEvent::ItemCreated, WebhookEvent::MessageCreated],
        internal: false,
    }
}

/// Delivery `n` of `webhook`, due at `T0 + n`.
pub fn queued(webhook: WebhookId, n: i64) -> NewWebhookDelivery {
    NewWebhookDelivery {
        webhook_id: webhook,
        event_id: format!("evt_{n}"),
        event: WebhookEvent::ItemCreated,
        payload: format!("{{\"n\":{n}}}"),
        created_at: T0 + n,
        due_at: T0 + n,
        message_id: None,
        internal: false,
    }
}

fn tried(at: i64, status: Option<i64>) -> WebhookAttempt {
    WebhookAttempt { attempted_at: at, status, error: status.is_none().then(|| "refused".into()), duration_ms: 3 }
}

pub async fn webhooks_are_kept_and_one_an_automation_calls_cannot_be_deleted<S: Store>(store: &S) {
    let _w = World::new(store).await;
    let crm = store.insert_webhook(&hook("https://crm.example.com/in"), true, "whsec_a", T0).await.unwrap();
    assert_eq!((&crm.spec, crm.enabled, crm.secret.as_str()), (&hook("https://crm.example.com/in"), true, "whsec_a"));
    let changed =
        WebhookSpec { internal: true, events: vec![WebhookEvent::DeliveryFailed], ..hook("https://x.example.com/") };
    let updated = store.update_webhook(crm.id, &changed, false, T0 + 1).await.unwrap();
    assert_eq!((&updated.spec, updated.enabled, updated.updated_at), (&changed, false, T0 + 1));
    assert_eq!(store.set_webhook_secret(crm.id, "whsec_b", T0 + 2).await.unwrap().secret, "whsec_b");
    assert_eq!(store.webhooks().await.unwrap(), vec![store.webhook(crm.id).await.unwrap()]);
    let calls = AutomationSpec {
        name: "Tell the CRM".into(),
        trigger: Trigger::ItemCreated,
        project_id: None,
        item_kind: None,
        minutes: None,
        action: Action::CallWebhook,
        visibility: Visibility::Public,
        body: String::new(),
        template: None,
        recipients: vec![],
        address: None,
        webhook_id: Some(crm.id),
    };
    let automation = store.insert_automation(&calls, true, false, T0).await.unwrap();
    assert!(matches!(store.delete_webhook(crm.id).await, Err(StoreError::Conflict("webhook_in_use"))));
    store.delete_automation(automation.id).await.unwrap();
    store.queue_webhook_deliveries(&[queued(crm.id, 1)]).await.unwrap();
    store.delete_webhook(crm.id).await.unwrap();
    assert!(matches!(store.webhook(crm.id).await, Err(StoreError::NotFound)));
    assert!(store.claim_webhook_deliveries(T0 + 100, T0 + 200, 10).await.unwrap().is_empty(), "its queue went with it");
}

pub async fn webhook_deliveries_are_claimed_once_retried_and_logged<S: Store>(store: &S) {
    let _w = World::new(store).await;
    let crm = store.insert_webhook(&hook("https://crm.example.com/in"), true, "whsec_a", T0).await.unwrap();
    let off = store.insert_webhook(&hook("https://off.example.com/in"), false, "whsec_b", T0).await.unwrap();
    store.queue_webhook_deliveries(&[queued(crm.id, 1), queued(crm.id, 2), queued(off.id, 3)]).await.unwrap();

    // Claimed once while the lease holds; a paused webhook's deliveries wait.
    let now = T0 + 10;
    let claimed = store.claim_webhook_deliveries(now, now + 60, 10).await.unwrap();
    assert_eq!(claimed.iter().map(|d| d.event_id.as_str()).collect::<Vec<_>>(), ["evt_1", "evt_2"]);
    assert!(store.claim_webhook_deliveries(now + 1, now + 61, 10).await.unwrap().is_empty(), "leased");
    let (first, second) = (&claimed[0], &claimed[1]);

    store.record_webhook_try(first.id, &tried(now, Some(200)), TryOutcome::Delivered).await.unwrap();
    store.record_webhook_try(second.id, &tried(now, None), TryOutcome::RetryAt(now + 5)).await.unwrap();
    assert!(store.claim_webhook_deliveries(now + 4, now + 64, 10).await.unwrap().is_empty(), "not due yet");
    let again = store.claim_webhook_deliveries(now + 5, now + 65, 10).await.unwrap();
    assert_eq!((again.len(), again[0].id, again[0].tries), (1, second.id, 1));
    store.record_webhook_try(second.id, &tried(now + 5, Some(500)), TryOutcome::GaveUp).await.unwrap();
    // A lease that ran out frees a claim: a node that died leaves its work to others.
    store.queue_webhook_deliveries(&[queued(crm.id, 4)]).await.unwrap();
    assert_eq!(store.claim_webhook_deliveries(now + 6, now + 20, 10).await.unwrap().len(), 1);
    assert_eq!(store.claim_webhook_deliveries(now + 21, now + 80, 10).await.unwrap().len(), 1, "lease ran out");

    // The log: newest first, each with its tries.
    let log = store.webhook_deliveries(crm.id, None, 10).await.unwrap();
    let summary: Vec<_> = log.iter().map(|d| (d.event_id.as_str(), d.state, d.tries, d.attempts.len())).collect();
    assert_eq!(
        summary,
        [
            ("evt_4", DeliveryState::Pending, 0, 0),
            ("evt_2", DeliveryState::Failed, 2, 2),
            ("evt_1", DeliveryState::Delivered, 1, 1),
        ]
    );
    assert_eq!(log[1].attempts, vec![tried(now, None), tried(now + 5, Some(500))]);
    assert_eq!((log[2].settled_at, log[1].settled_at), (Some(now), Some(now + 5)));
    let page = store.webhook_deliveries(crm.id, Some(log[0].id), 1).await.unwrap();
    assert_eq!(page.iter().map(|d| d.id).collect::<Vec<_>>(), [log[1].id]);
    assert_eq!(page[0].attempts.len(), 2, "a page's deliveries come with their tries");

    // Sent again on an admin's word; only by its own webhook.
    assert!(matches!(store.resend_webhook_delivery(off.id, second.id, now + 30).await, Err(StoreError::NotFound)));
    store.resend_webhook_delivery(crm.id, second.id, now + 30).await.unwrap();
    let resent = store.claim_webhook_deliveries(now + 30, now + 90, 10).await.unwrap();
    assert!(resent.iter().any(|d| d.id == second.id));

    // Settled deliveries are pruned; pending ones stay.
    assert_eq!(store.prune_webhook_deliveries(now + 1).await.unwrap(), 1, "only the delivered one, settled at `now`");
    let left: Vec<_> =
        store.webhook_deliveries(crm.id, None, 10).await.unwrap().iter().map(|d| d.event_id.clone()).collect();
    assert_eq!(left, ["evt_4", "evt_2"]);
}

/// R44: what stops a queued delivery before it goes out, in the store: a changed URL stops all
/// of a webhook's queue, turning "internal" off its internal deliveries, a retraction those
/// announcing its message; a delivery is due no sooner than asked; and a delivery deleted with
/// its webhook during a try is reported gone, with nothing written.
pub async fn r44_queued_deliveries_stop_when_what_they_were_for_changes<S: Store>(store: &S) {
    let _w = World::new(store).await;
    let spec = WebhookSpec { internal: true, ..hook("https://crm.example.com/in") };
    let crm = store.insert_webhook(&spec, true, "whsec_a", T0).await.unwrap();
    let held = NewWebhookDelivery { due_at: T0 + 500, message_id: Some(MessageId(7)), ..queued(crm.id, 1) };
    let internal = NewWebhookDelivery { internal: true, ..queued(crm.id, 2) };
    let plain = queued(crm.id, 3);
    store.queue_webhook_deliveries(&[held, internal, plain]).await.unwrap();

    let claimed = store.claim_webhook_deliveries(T0 + 10, T0 + 20, 10).await.unwrap();
    let names: Vec<_> = claimed.iter().map(|d| (d.event_id.as_str(), d.message_id, d.internal)).collect();
    assert_eq!(names, [("evt_2", None, true), ("evt_3", None, false)], "the held one is not due yet");
    store.postpone_webhook_delivery(claimed[1].id, T0 + 30).await.unwrap();

    // "internal" turned off: the internal one goes, with why; the URL kept, the others stay.
    let no_internal = WebhookSpec { internal: false, ..spec.clone() };
    store.update_webhook(crm.id, &no_internal, true, T0 + 21).await.unwrap();
    let log = store.webhook_deliveries(crm.id, None, 10).await.unwrap();
    let states: Vec<_> = log.iter().map(|d| (d.event_id.as_str(), d.state, d.cancel_reason.as_deref())).collect();
    assert_eq!(
        states,
        [
            ("evt_3", DeliveryState::Pending, None),
            ("evt_2", DeliveryState::Cancelled, Some("the webhook no longer hears internal events")),
            ("evt_1", DeliveryState::Pending, None),
        ]
    );
    assert_eq!((log[1].settled_at, log[2].message_id, log[1].internal), (Some(T0 + 21), Some(MessageId(7)), true));

    // The message taken back: what announces it is cancelled.
    assert_eq!(store.cancel_message_webhook_deliveries(MessageId(7), "taken back", T0 + 22).await.unwrap(), 1);
    assert_eq!(store.cancel_message_webhook_deliveries(MessageId(7), "taken back", T0 + 23).await.unwrap(), 0);

    // A new URL: nothing queued for the old one is sent to it.
    let moved = WebhookSpec { url: "https://new.example.com/in".into(), ..no_internal.clone() };
    store.update_webhook(crm.id, &moved, true, T0 + 24).await.unwrap();
    let log = store.webhook_deliveries(crm.id, None, 10).await.unwrap();
    assert_eq!(log[0].cancel_reason.as_deref(), Some("the webhook's URL changed"));
    assert!(log.iter().all(|d| d.state == DeliveryState::Cancelled), "{log:?}");
    assert!(store.claim_webhook_deliveries(T0 + 1_000, T0 + 1_100, 10).await.unwrap().is_empty());
    assert!(matches!(store.cancel_webhook_delivery(log[0].id, "again", T0 + 25).await, Err(StoreError::NotFound)));

    // Deleted during its try: the try finds it gone and writes nothing.
    store.queue_webhook_deliveries(&[queued(crm.id, 4)]).await.unwrap();
    let trying = store.claim_webhook_deliveries(T0 + 30, T0 + 90, 10).await.unwrap();
    store.delete_webhook(crm.id).await.unwrap();
    let outcome = store.record_webhook_try(trying[0].id, &tried(T0 + 31, Some(200)), TryOutcome::Delivered).await;
    assert!(matches!(outcome, Err(StoreError::NotFound)), "{outcome:?}");
}
