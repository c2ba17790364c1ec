//! R33, the send guard, through the real server: a public reply by a user reaches no customer
//! (no push, no portal, no email) until the guard has passed; its author may undo it or make it
//! internal meanwhile; users see it at once, marked as sending.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_app::Clock;
use parley_testkit::*;
use serde_json::{json, Value};
use std::time::Duration;

const GUARD_MS: i64 = 10_000;
const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(300);

struct Desk {
    admin: Who,
    mia: Who,
    carla: Who,
    public: i64,
}

async fn guarded() -> (TestApp, SmtpSink, Desk) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(move |c| {
        c.send_guard = Some(Duration::from_millis(GUARD_MS as u64));
        c.smtp_url = Some(url);
    })
    .await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer", &[carla.id]).await;
    app.assign_quietly(&admin, ticket, mia.id).await;
    let public = app.conversation(&admin, ticket, "public").await;
    (app, sink, Desk { admin, mia, carla, public })
}

async fn bodies(app: &TestApp, who: &Who, conversation: i64) -> Vec<String> {
    let (status, list) = app.get(who, &format!("/api/v1/conversations/{conversation}/messages")).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_string()).collect()
}

fn id_of(said: &Value) -> i64 {
    said["message"]["id"].as_i64().unwrap()
}

#[tokio::test]
async fn r33_a_reply_reaches_customers_only_after_the_guard() {
    let (app, smtp, d) = guarded().await;
    let mut mia = app.socket(&d.mia).await;
    let mut carla = app.socket(&d.carla).await;
    let said = app.say(&d.admin, d.public, "We replaced the toner").await;
    assert_eq!(said["message"]["held_until"].as_i64(), Some(app.clock.now_ms() + GUARD_MS));

    let pushed = mia.next_of("message", WAIT).await.unwrap();
    assert!(pushed["message"]["held_until"].is_i64(), "users see it at once, as sending");
    assert!(carla.all_of("message", QUIET).await.is_empty(), "no push to the customer yet");
    assert!(bodies(&app, &d.carla, d.public).await.is_empty(), "nor in the portal");
    let (_, views) = app.get(&d.carla, "/api/v1/views").await;
    assert!(views.as_array().unwrap().iter().all(|v| v["unread"] == 0), "nor in the counts: {views}");

    app.advance_ms(GUARD_MS - 1);
    assert_eq!(app.deliver().await.released, 0);
    app.advance_ms(1);
    assert_eq!(app.deliver().await.released, 1);
    let released = carla.next_of("message", WAIT).await.unwrap();
    assert_eq!(released["message"]["body"], "We replaced the toner");
    assert_eq!(bodies(&app, &d.carla, d.public).await, ["We replaced the toner"]);

    // The customer's email falls due after the email delay, counted from the release at the earliest.
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    assert_eq!(smtp.mails_to("carla@client.example").len(), 1);
    assert!(id_of(&said) > 0);
    app.stop().await;
}

#[tokio::test]
async fn r33_undo_within_the_guard_makes_it_disappear_for_everyone() {
    let (app, smtp, d) = guarded().await;
    let mut mia = app.socket(&d.mia).await;
    let mut carla = app.socket(&d.carla).await;
    let id = id_of(&app.say(&d.admin, d.public, "Oops, wrong customer").await);
    mia.next_of("message", WAIT).await.unwrap();

    assert_eq!(app.post(&d.mia, &format!("/api/v1/messages/{id}/undo"), json!({})).await.0, 403, "only its author");
    assert_eq!(app.post(&d.carla, &format!("/api/v1/messages/{id}/undo"), json!({})).await.0, 404);
    let (status, body) = app.post(&d.admin, &format!("/api/v1/messages/{id}/undo"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let retracted = mia.next_of("retracted", WAIT).await.unwrap();
    assert_eq!((retracted["how"].as_str(), retracted["message"]["id"].as_i64()), (Some("undone"), Some(id)));
    assert!(bodies(&app, &d.admin, d.public).await.is_empty());

    app.advance_ms(GUARD_MS + EMAIL_DELAY_MS);
    app.deliver().await;
    assert!(carla.all_of("message", QUIET).await.is_empty());
    assert!(bodies(&app, &d.carla, d.public).await.is_empty());
    assert!(smtp.mails().is_empty(), "nobody is emailed an undone message");
    let (status, body) = app.post(&d.admin, &format!("/api/v1/messages/{id}/undo"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("send_guard_passed")));
    app.stop().await;
}

#[tokio::test]
async fn r33_made_internal_it_stays_with_users_and_never_reaches_the_customer() {
    let (app, smtp, d) = guarded().await;
    let mut carla = app.socket(&d.carla).await;
    let id = id_of(&app.say(&d.admin, d.public, "Note: this customer is on the old plan").await);
    let (status, made) = app.post(&d.admin, &format!("/api/v1/messages/{id}/make-internal"), json!({})).await;
    assert_eq!((status, made["visibility"].as_str()), (200, Some("internal")), "{made}");

    app.advance_ms(GUARD_MS + EMAIL_DELAY_MS);
    app.deliver().await;
    assert!(carla.all_of("message", QUIET).await.is_empty());
    assert!(bodies(&app, &d.carla, d.public).await.is_empty());
    assert_eq!(bodies(&app, &d.mia, d.public).await, ["Note: this customer is on the old plan"]);
    assert!(smtp.mails_to("carla@client.example").is_empty());
    assert_eq!(smtp.mails_to("mia@acme.test").len(), 1, "users are still notified");
    app.stop().await;
}

#[tokio::test]
async fn r33_after_the_guard_nothing_can_be_taken_back_and_customer_messages_are_never_held() {
    let (app, _smtp, d) = guarded().await;
    let id = id_of(&app.say(&d.admin, d.public, "Sent").await);
    app.advance_ms(GUARD_MS);
    let (status, body) = app.post(&d.admin, &format!("/api/v1/messages/{id}/make-internal"), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("send_guard_passed")));

    let said = app.say(&d.carla, d.public, "Thanks!").await;
    assert!(said["message"]["held_until"].is_null());
    assert!(bodies(&app, &d.carla, d.public).await.contains(&"Thanks!".to_string()));
    app.stop().await;
}

#[tokio::test]
async fn r33_a_customer_reading_the_conversation_does_not_see_a_held_message() {
    let (app, smtp, d) = guarded().await;
    app.say(&d.carla, d.public, "Hello?").await;
    app.say(&d.admin, d.public, "On it").await;
    let (_, read) = app.post(&d.carla, &format!("/api/v1/conversations/{}/read", d.public), json!({"up_to": 2})).await;
    assert_eq!(read["last_seen_number"], 1, "{read}");
    app.advance_ms(GUARD_MS);
    app.deliver().await;
    let (_, views) = app.get(&d.carla, "/api/v1/views").await;
    let open = views.as_array().unwrap().iter().find(|v| v["view"] == "portal_open").unwrap().clone();
    assert_eq!(open["unread"], 1, "the released reply is unread: {views}");
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    assert_eq!(smtp.mails_to("carla@client.example").len(), 1, "and emailed when unseen");
    app.stop().await;
}

#[tokio::test]
async fn r7_counts_never_betray_a_message_a_customer_cannot_see() {
    let (app, _smtp, d) = guarded().await;
    app.say(&d.carla, d.public, "Hello?").await;
    let id = id_of(&app.say(&d.admin, d.public, "Internal aside").await);
    app.post(&d.admin, &format!("/api/v1/messages/{id}/make-internal"), json!({})).await;
    app.say(&d.admin, d.public, "Held reply").await;

    let (_, conversation) = app.get(&d.carla, &format!("/api/v1/conversations/{}", d.public)).await;
    assert_eq!(conversation["message_count"], 1, "{conversation}");
    let (_, page) = app.get(&d.carla, "/api/v1/views/portal_open").await;
    assert_eq!(page["conversations"][0]["message_count"], 1, "{page}");
    let (_, users_view) = app.get(&d.mia, &format!("/api/v1/conversations/{}", d.public)).await;
    assert_eq!(users_view["message_count"], 3, "users count everything");

    app.advance_ms(GUARD_MS);
    app.deliver().await;
    let (_, conversation) = app.get(&d.carla, &format!("/api/v1/conversations/{}", d.public)).await;
    assert_eq!(conversation["message_count"], 2, "the released reply, still not the internal one");
    app.stop().await;
}

#[tokio::test]
async fn r13_a_customer_cannot_mark_seen_what_they_may_not_read() {
    let (app, _smtp, d) = guarded().await;
    let held = id_of(&app.say(&d.admin, d.public, "Still sending").await);
    let hidden = id_of(&app.say(&d.admin, d.public, "Oops, internal").await);
    app.ok(&d.admin, &format!("/api/v1/messages/{hidden}/make-internal"), json!({}), 200).await;
    let internal_conv = {
        let (_, c) = app.get(&d.admin, &format!("/api/v1/conversations/{}", d.public)).await;
        let item = c["link"]["id"].as_i64().unwrap();
        app.conversation(&d.admin, item, "internal").await
    };
    let internal = id_of(&app.say(&d.admin, internal_conv, "Between us").await);

    let ids = json!({"message_ids": [held, hidden, internal, 999_999]});
    let (status, receipts) = app.post(&d.carla, "/api/v1/messages/seen", ids.clone()).await;
    assert_eq!((status, &receipts["seen"]), (200, &json!([])), "ignored silently: {receipts}");
    // Over the socket, the same.
    let mut mia = app.socket(&d.mia).await;
    let mut socket = app.socket(&d.carla).await;
    socket.send_json(json!({"type": "seen", "message_ids": [held, hidden, internal]})).await;
    assert!(mia.next_of("seen", QUIET).await.is_none(), "no receipt reaches staff");
    for id in [held, hidden] {
        let (_, timeline) = app.get(&d.admin, &format!("/api/v1/messages/{id}/deliveries")).await;
        let carla = timeline.as_array().unwrap().iter().find(|r| r["party"]["kind"] == "customer").unwrap();
        assert!(carla["seen_at"].is_null(), "{timeline}");
    }
    // Once the guard has passed, she may.
    app.advance_ms(GUARD_MS);
    app.deliver().await;
    let (_, receipts) = app.post(&d.carla, "/api/v1/messages/seen", ids).await;
    let seen: Vec<i64> =
        receipts["seen"].as_array().unwrap().iter().map(|r| r["message_id"].as_i64().unwrap()).collect();
    assert_eq!(seen, vec![held]);
    app.stop().await;
}

#[tokio::test]
async fn r7_customers_see_no_gap_where_a_reply_was_taken_back() {
    let (app, _smtp, d) = guarded().await;
    let mut carla = app.socket(&d.carla).await;
    let mine = app.say(&d.carla, d.public, "My printer is on fire").await;
    assert_eq!(mine["message"]["number"], 1);
    let undone = id_of(&app.say(&d.admin, d.public, "Have you tried water?").await);
    app.ok(&d.admin, &format!("/api/v1/messages/{undone}/undo"), json!({}), 200).await;
    let hidden = id_of(&app.say(&d.admin, d.public, "She did it herself").await);
    app.ok(&d.admin, &format!("/api/v1/messages/{hidden}/make-internal"), json!({}), 200).await;
    app.say(&d.admin, d.public, "A technician is on the way").await;
    app.advance_ms(GUARD_MS);
    app.deliver().await;

    let pushed = carla.next_of("message", WAIT).await.unwrap();
    assert_eq!(pushed["message"]["number"], 2, "her second message, not the conversation's fourth: {pushed}");
    let (_, list) = app.get(&d.carla, &format!("/api/v1/conversations/{}/messages", d.public)).await;
    let numbers: Vec<i64> = list.as_array().unwrap().iter().map(|m| m["number"].as_i64().unwrap()).collect();
    assert_eq!(numbers, vec![1, 2]);
    let (_, staff) = app.get(&d.admin, &format!("/api/v1/conversations/{}/messages", d.public)).await;
    let numbers: Vec<i64> = staff.as_array().unwrap().iter().map(|m| m["number"].as_i64().unwrap()).collect();
    assert_eq!(numbers, vec![1, 3, 4], "staff see the conversation's own numbers");
    // Reading up to her number 2 reads everything; her views count nothing unread.
    app.ok(&d.carla, &format!("/api/v1/conversations/{}/read", d.public), json!({"up_to": 2}), 200).await;
    let (_, views) = app.get(&d.carla, "/api/v1/views").await;
    assert!(views.as_array().unwrap().iter().all(|v| v["unread"] == 0), "{views}");
    app.stop().await;
}

/// The guard of a message, as its author is told it.
fn held_for(app: &TestApp, said: &Value) -> Option<i64> {
    said["message"]["held_until"].as_i64().map(|until| until - app.clock.now_ms())
}

#[tokio::test]
async fn r33_a_guard_per_channel_3s_in_a_chat_10s_elsewhere_and_an_admin_sets_each() {
    // No --send-guard: the built-in defaults.
    let app = spawn_app_with(|c| c.send_guard = None).await;
    let d = app.desk().await;
    let (status, visitor) = app.call(reqwest::Method::POST, None, "/api/v1/widget/visitors", Some(json!({}))).await;
    assert_eq!(status, 200);
    let vera =
        Who { token: visitor["token"].as_str().unwrap().into(), id: visitor["customer"]["id"].as_i64().unwrap() };
    let chat = app.ok(&vera, "/api/v1/conversations", json!({"subject": "Chat", "visibility": "public"}), 201).await;
    let chat = chat["id"].as_i64().unwrap();
    let path = format!("/api/v1/conversations/{chat}/messages");
    app.ok(&vera, &path, json!({"body": "Hello?", "channel": "widget"}), 201).await;
    let (_, conversation) = app.get(&d.mia, &format!("/api/v1/conversations/{chat}")).await;
    assert_eq!(conversation["origin"], "widget", "a chat remembers where it began");

    assert_eq!(held_for(&app, &app.say(&d.mia, chat, "Hi!").await), Some(3_000), "a chat");
    assert_eq!(held_for(&app, &app.say(&d.mia, d.public, "On it").await), Some(10_000), "the rest");
    let (_, company) = app.get(&d.admin, "/api/v1/company").await;
    assert_eq!(company["send_guards_in_effect"], json!({"chat_ms": 3000, "other_ms": 10000}));

    // The admin's settings win; null gives the default back.
    let body = json!({"chat_send_guard_ms": 0, "send_guard_ms": 20000});
    let (status, company) = app.patch(&d.admin, "/api/v1/company", body).await;
    assert_eq!(status, 200, "{company}");
    assert_eq!(company["send_guards_in_effect"], json!({"chat_ms": 0, "other_ms": 20000}));
    assert_eq!(held_for(&app, &app.say(&d.mia, chat, "Right away").await), None, "0 turns it off");
    assert_eq!(held_for(&app, &app.say(&d.mia, d.public, "Later").await), Some(20_000));
    assert_eq!(app.patch(&d.admin, "/api/v1/company", json!({"chat_send_guard_ms": null})).await.0, 200);
    assert_eq!(held_for(&app, &app.say(&d.mia, chat, "Again").await), Some(3_000));

    // Bad values change nothing; members may not change them.
    for bad in [json!({"send_guard_ms": -1}), json!({"send_guard_ms": 300_001}), json!({"send_guard_ms": "10s"})] {
        let (status, body) = app.patch(&d.admin, "/api/v1/company", bad.clone()).await;
        assert!((400..500).contains(&status), "{bad}: {status} {body}");
    }
    assert_eq!(app.patch(&d.mia, "/api/v1/company", json!({"send_guard_ms": 0})).await.0, 403);
    let (_, company) = app.get(&d.admin, "/api/v1/company").await;
    assert_eq!((company["chat_send_guard_ms"].clone(), company["send_guard_ms"].clone()), (json!(null), json!(20000)));
    app.stop().await;
}

#[tokio::test]
async fn r33_the_deployments_send_guard_is_the_default_of_both() {
    let app = spawn_app_with(|c| c.send_guard = Some(Duration::from_secs(5))).await;
    let d = app.desk().await;
    let (_, company) = app.get(&d.admin, "/api/v1/company").await;
    assert_eq!(company["send_guards_in_effect"], json!({"chat_ms": 5000, "other_ms": 5000}));
    assert_eq!(held_for(&app, &app.say(&d.mia, d.public, "On it").await), Some(5_000));
    app.stop().await;
}
