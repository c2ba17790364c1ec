//! §10 through the real server and a real receiver: each event reaches a webhook once, signed;
//! a failed try is tried again with backoff and every try is logged; an internal message never
//! reaches a webhook not allowed internal events; endpoints inside the network are refused unless
//! the server allows them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_app::Clock;
use parley_testkit::*;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(400);

/// Registers a webhook for `events` at `sink`; answers its id and secret.
async fn webhook(app: &TestApp, admin: &Who, sink: &WebhookSink, events: &[&str], internal: bool) -> (i64, String) {
    let body = json!({"name": "CRM", "url": sink.url(), "events": events, "internal": internal});
    let made = app.ok(admin, "/api/v1/webhooks", body, 201).await;
    (made["id"].as_i64().unwrap(), made["secret"].as_str().unwrap().to_string())
}

async fn deliveries(app: &TestApp, admin: &Who, webhook: i64) -> Vec<Value> {
    let (status, log) = app.get(admin, &format!("/api/v1/webhooks/{webhook}/deliveries")).await;
    assert_eq!(status, 200, "{log}");
    log.as_array().unwrap().clone()
}

#[tokio::test]
async fn webhooks_hear_each_event_once_signed() {
    let app = spawn_app().await;
    let d = app.desk().await;
    let sink = WebhookSink::start().await;
    let events = ["message_created", "conversation_state_changed", "item_created", "item_updated"];
    let (id, secret) = webhook(&app, &d.admin, &sink, &events, false).await;
    assert!(secret.starts_with("whsec_"));
    let (_, listed) = app.get(&d.admin, "/api/v1/webhooks").await;
    assert!(listed.to_string().find("whsec_").is_none(), "secrets are never listed: {listed}");

    let message = app.say(&d.admin, d.public, "We are on it.").await;
    let project = app.project(&d.admin, "Billing").await;
    let item = app.ticket(&d.admin, project, "Invoice wrong", &[d.carla.id]).await;
    let (status, _) = app.patch(&d.admin, &format!("/api/v1/items/{item}"), json!({"status": "in_progress"})).await;
    assert_eq!(status, 200);
    app.ok(&d.admin, &format!("/api/v1/conversations/{}/state", d.public), json!({"action": "close"}), 200).await;

    sink.wait_for(4, WAIT).await;
    tokio::time::sleep(QUIET).await;
    let hooks = sink.hooks();
    let mut kinds: Vec<String> = hooks.iter().map(Hook::event).collect();
    kinds.sort();
    assert_eq!(kinds, ["conversation_state_changed", "item_created", "item_updated", "message_created"], "once each");
    for hook in &hooks {
        assert!(hook.signed_with(&secret), "signed: {hook:?}");
        assert!(!hook.signed_with("whsec_c2VjcmV0"), "by its own secret only");
        assert_eq!(hook.timestamp, (app.clock.now_ms() / 1000).to_string());
    }
    let mut ids: Vec<&str> = hooks.iter().map(|h| h.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 4, "each event its own id");

    let of = |kind: &str| hooks.iter().find(|h| h.event() == kind).unwrap().json();
    let said = of("message_created");
    assert_eq!(said["data"]["message"]["id"], message["message"]["id"]);
    assert_eq!(said["data"]["message"]["body"], "We are on it.");
    assert_eq!(said["data"]["conversation"]["id"], d.public);
    assert_eq!(of("item_created")["data"]["item"]["id"], item);
    assert_eq!(of("item_updated")["data"]["changed"], json!(["status"]));
    assert_eq!(of("item_updated")["data"]["item"]["status"], "in_progress");
    let closed = of("conversation_state_changed");
    assert_eq!((closed["data"]["from"].as_str(), closed["data"]["to"].as_str()), (Some("open"), Some("closed")));

    let log = deliveries(&app, &d.admin, id).await;
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|d| d["state"] == "delivered" && d["attempts"][0]["status"] == 200), "{log:?}");
    app.stop().await;
}

#[tokio::test]
async fn webhooks_are_retried_after_a_500_with_backoff_and_each_try_is_logged() {
    let app = spawn_app().await;
    let d = app.desk().await;
    let sink = WebhookSink::start().await;
    let (id, secret) = webhook(&app, &d.admin, &sink, &["message_created"], false).await;
    sink.answer(&[500, 503]);

    app.say(&d.admin, d.public, "Hello").await;
    assert_eq!(sink.wait_for(1, WAIT).await.len(), 1);
    tokio::time::sleep(QUIET).await;
    assert_eq!(app.send_webhooks().await, 0, "not tried again before its time");
    let log = deliveries(&app, &d.admin, id).await;
    assert_eq!((log[0]["state"].as_str(), log[0]["tries"].as_i64()), (Some("pending"), Some(1)), "{log:?}");
    assert_eq!(log[0]["attempts"][0]["status"], 500);
    assert_eq!(log[0]["attempts"][0]["error"], "the endpoint answered 500");

    app.advance_ms(5_000);
    assert_eq!(app.send_webhooks().await, 1);
    app.advance_ms(29_000);
    assert_eq!(app.send_webhooks().await, 0, "the second wait is longer");
    app.advance_ms(1_000);
    assert_eq!(app.send_webhooks().await, 1);
    let hooks = sink.hooks();
    assert_eq!(hooks.iter().map(|h| h.answered).collect::<Vec<_>>(), [500, 503, 200]);
    assert!(hooks.iter().all(|h| h.id == hooks[0].id && h.body == hooks[0].body), "the same event each time");
    assert!(hooks.iter().all(|h| h.signed_with(&secret)));
    let log = deliveries(&app, &d.admin, id).await;
    assert_eq!((log[0]["state"].as_str(), log[0]["tries"].as_i64()), (Some("delivered"), Some(3)));
    let statuses: Vec<i64> =
        log[0]["attempts"].as_array().unwrap().iter().map(|a| a["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [500, 503, 200]);

    // An admin may send it again: one more try, the same event.
    let resend = format!("/api/v1/webhooks/{id}/deliveries/{}/resend", log[0]["id"]);
    app.ok(&d.admin, &resend, json!({}), 202).await;
    assert_eq!(sink.wait_for(4, WAIT).await.len(), 4);
    assert_eq!(sink.hooks()[3].id, hooks[0].id);
    app.stop().await;
}

/// Waits until the webhook's first delivery records `tries` tries.
async fn tried_times(app: &TestApp, admin: &Who, webhook: i64, tries: i64) {
    let deadline = std::time::Instant::now() + WAIT;
    while deliveries(app, admin, webhook).await[0]["tries"].as_i64() != Some(tries) {
        assert!(std::time::Instant::now() < deadline, "try {tries} was not recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn webhooks_give_up_after_the_last_try() {
    let app = spawn_app().await;
    let d = app.desk().await;
    let sink = WebhookSink::start().await;
    let (id, _) = webhook(&app, &d.admin, &sink, &["message_created"], false).await;
    sink.answer(&[500; 8]);
    app.say(&d.admin, d.public, "Hello").await;
    sink.wait_for(1, WAIT).await;
    // The worker runs beside the test: each try is recorded before the clock moves again, so
    // none is scheduled from a later time than it was made.
    for tried in 1..=8 {
        tried_times(&app, &d.admin, id, tried).await;
        app.advance_ms(5 * 3600 * 1000);
        app.send_webhooks().await;
    }
    assert_eq!(sink.hooks().len(), 8, "eight tries in all");
    let log = deliveries(&app, &d.admin, id).await;
    assert_eq!((log[0]["state"].as_str(), log[0]["tries"].as_i64()), (Some("failed"), Some(8)));
    app.stop().await;
}

#[tokio::test]
async fn an_internal_message_never_reaches_a_webhook_not_allowed_internal_events() {
    let app = spawn_app().await;
    let d = app.desk().await;
    let (public_only, internal_too) = (WebhookSink::start().await, WebhookSink::start().await);
    webhook(&app, &d.admin, &public_only, &["message_created", "conversation_state_changed"], false).await;
    webhook(&app, &d.admin, &internal_too, &["message_created", "conversation_state_changed"], true).await;
    let internal = app.conversation(&d.admin, d.ticket, "internal").await;

    app.say(&d.admin, internal, "Their card was declined twice.").await;
    app.ok(&d.admin, &format!("/api/v1/conversations/{internal}/state"), json!({"action": "close"}), 200).await;
    app.say(&d.admin, d.public, "We are looking into it.").await;

    let all = internal_too.wait_for(3, WAIT).await;
    assert_eq!(all.len(), 3, "allowed: it hears all three");
    public_only.wait_for(1, WAIT).await;
    tokio::time::sleep(QUIET).await;
    let heard = public_only.hooks();
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert_eq!(heard[0].json()["data"]["message"]["body"], "We are looking into it.");
    assert!(!heard.iter().any(|h| h.body.contains("declined")), "never the internal message");
    app.stop().await;
}

#[tokio::test]
async fn a_call_webhook_automation_tells_its_webhook_and_keeps_it_from_deletion() {
    let app = spawn_app().await;
    let d = app.desk().await;
    let sink = WebhookSink::start().await;
    let (id, secret) = webhook(&app, &d.admin, &sink, &["delivery_failed"], false).await;
    let automation =
        json!({"name": "Tell the CRM", "trigger": "item_closed", "action": "call_webhook", "webhook_id": id});
    let made = app.ok(&d.admin, "/api/v1/automations", automation, 201).await;
    assert_eq!(made["reaches"], "a webhook");
    let (status, refused) = app.delete(&d.admin, &format!("/api/v1/webhooks/{id}")).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("webhook_in_use")));
    let (_, listed) = app.get(&d.admin, "/api/v1/webhooks").await;
    assert_eq!(listed[0]["used_by"][0]["name"], "Tell the CRM");

    let (status, _) = app.patch(&d.admin, &format!("/api/v1/items/{}", d.ticket), json!({"status": "closed"})).await;
    assert_eq!(status, 200);
    let hooks = sink.wait_for(1, WAIT).await;
    assert_eq!(hooks.len(), 1);
    let body = hooks[0].json();
    assert_eq!(body["type"], "automation");
    assert_eq!(body["data"]["automation"]["name"], "Tell the CRM");
    assert_eq!(body["data"]["trigger"], "item_closed");
    assert_eq!(body["data"]["item"]["id"], d.ticket);
    assert!(hooks[0].signed_with(&secret));

    // A renewed secret signs what follows; the old one nothing.
    let renewed = app.ok(&d.admin, &format!("/api/v1/webhooks/{id}/secret"), json!({}), 200).await;
    let renewed = renewed["secret"].as_str().unwrap();
    assert_ne!(renewed, secret);
    let (status, _) = app.patch(&d.admin, &format!("/api/v1/items/{}", d.ticket), json!({"status": "open"})).await;
    assert_eq!(status, 200);
    let (status, _) = app.patch(&d.admin, &format!("/api/v1/items/{}", d.ticket), json!({"status": "closed"})).await;
    assert_eq!(status, 200);
    let hooks = sink.wait_for(2, WAIT).await;
    assert!(hooks[1].signed_with(renewed) && !hooks[1].signed_with(&secret));

    let path = format!("/api/v1/automations/{}", made["id"]);
    assert_eq!(app.delete(&d.admin, &path).await.0, 204);
    assert_eq!(app.delete(&d.admin, &format!("/api/v1/webhooks/{id}")).await.0, 204);
    assert_eq!(app.get(&d.admin, &format!("/api/v1/webhooks/{id}/deliveries")).await.0, 404);
    app.stop().await;
}

#[tokio::test]
async fn webhooks_refuse_endpoints_inside_the_network_unless_the_server_allows_them() {
    let app = spawn_app_with(|c| c.allow_private_webhooks = false).await;
    let admin = app.admin().await;
    for url in ["http://127.0.0.1:9/hook", "http://localhost/hook", "https://10.0.0.8/", "https://169.254.169.254/"] {
        let body = json!({"name": "Inside", "url": url, "events": ["item_created"]});
        let (status, refused) = app.post(&admin, "/api/v1/webhooks", body).await;
        assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("invalid_url")), "{url}: {refused}");
    }
    let outside = json!({"name": "Outside", "url": "https://hooks.example.com/parley", "events": ["item_created"]});
    app.ok(&admin, "/api/v1/webhooks", outside, 201).await;
    let (_, listed) = app.get(&admin, "/api/v1/webhooks").await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "nothing refused was written");
    app.stop().await;
}

#[tokio::test]
async fn a_webhook_turned_off_hears_nothing_new_and_keeps_what_was_queued_until_it_is_on_again() {
    let app = spawn_app().await;
    let d = app.desk().await;
    let sink = WebhookSink::start().await;
    let (id, _) = webhook(&app, &d.admin, &sink, &["message_created"], false).await;
    sink.answer(&[500]);
    app.say(&d.admin, d.public, "First").await;
    sink.wait_for(1, WAIT).await;
    let off = json!({"name": "CRM", "url": sink.url(), "events": ["message_created"], "enabled": false});
    let (status, _) =
        app.call(reqwest::Method::PUT, Some(&d.admin), &format!("/api/v1/webhooks/{id}"), Some(off)).await;
    assert_eq!(status, 200);
    app.advance_ms(60_000);
    assert_eq!(app.send_webhooks().await, 0, "paused");
    app.say(&d.admin, d.public, "While off").await;
    let on = json!({"name": "CRM", "url": sink.url(), "events": ["message_created"]});
    let (status, _) = app.call(reqwest::Method::PUT, Some(&d.admin), &format!("/api/v1/webhooks/{id}"), Some(on)).await;
    assert_eq!(status, 200);
    // Turned on, the worker sends what waited at once; what happened while off was not heard.
    assert_eq!(sink.wait_for(2, WAIT).await.len(), 2);
    tokio::time::sleep(QUIET).await;
    let hooks = sink.hooks();
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert_eq!((hooks[1].id.as_str(), hooks[1].answered), (hooks[0].id.as_str(), 200));
    app.stop().await;
}
