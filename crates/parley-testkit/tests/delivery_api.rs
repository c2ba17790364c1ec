//! Delivery through the real server and a real SMTP server: seen receipts, the unseen-to-email
//! fallback with digests and retries, templates and the outgoing log (R9, R13–R16, R22, R29, R32,
//! R34, R35). Time moves only when a test advances the clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::{json, Value};
use std::time::Duration;

const CARLA: &str = Desk::CARLA;
const MIA: &str = Desk::MIA;

fn message_id(said: &Value) -> i64 {
    said["message"]["id"].as_i64().unwrap()
}

async fn timeline(app: &TestApp, who: &Who, message: i64) -> Vec<Value> {
    let (status, body) = app.get(who, &format!("/api/v1/messages/{message}/deliveries")).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

fn record_of<'a>(timeline: &'a [Value], kind: &str, id: i64) -> &'a Value {
    timeline.iter().find(|r| r["party"]["kind"] == kind && r["party"]["id"] == id).expect("a record")
}

#[tokio::test]
async fn r14_r35_unseen_message_emailed_once() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let said = app.say(&d.admin, d.public, "We are **on it**").await;

    app.advance_ms(EMAIL_DELAY_MS - 1);
    assert!(app.deliver().await.is_idle(), "nothing before the delay");
    app.advance_ms(1);
    let round = app.deliver().await;
    assert_eq!((round.queued, round.sent), (2, 2), "{round:?}");
    for _ in 0..3 {
        app.advance_ms(3_600_000);
        app.deliver().await;
    }
    let to_carla = smtp.mails_to(CARLA);
    assert_eq!(to_carla.len(), 1, "exactly once");
    assert_eq!(smtp.mails_to(MIA).len(), 1);
    assert!(smtp.mails_to(ADMIN_EMAIL).is_empty(), "R9: never the author");
    let mail = &to_carla[0];
    assert_eq!(mail.from, "support@acme.test");
    assert_eq!(mail.subject(), format!("[Ticket #{}] public talk", d.ticket), "the item names the thread");
    let link = format!("{}/portal/c/{}", app.base, d.public);
    assert!(mail.text().contains(&link), "a customer's link opens the portal: {}", mail.text());
    assert_eq!(mail.header("X-Loop").as_deref(), Some("parley@acme.test"), "R19: marked as ours");
    let staff_link = format!("{}/c/{}", app.base, d.public);
    assert!(smtp.mails_to(MIA)[0].text().contains(&staff_link), "a user's opens the messenger");
    assert!(mail.text().contains("We are **on it**"), "{}", mail.text());

    let records = timeline(&app, &d.admin, message_id(&said)).await;
    let carla = record_of(&records, "customer", d.carla.id);
    assert_eq!(carla["email_state"], "sent");
    assert!(carla["email_id"].is_i64());
    app.stop().await;
}

#[tokio::test]
async fn r16_emails_thread_per_conversation_and_carry_a_reply_token_per_recipient() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    app.say(&d.admin, d.public, "First").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    app.say(&d.admin, d.public, "Second").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;

    let to_carla = smtp.mails_to(CARLA);
    assert_eq!(to_carla.len(), 2);
    let thread = format!("<parley.c{}@acme.test>", d.public);
    for mail in &to_carla {
        assert_eq!(mail.header("In-Reply-To").as_deref(), Some(thread.as_str()));
        assert_eq!(mail.header("References").as_deref(), Some(thread.as_str()));
        assert_eq!(mail.header("Auto-Submitted").as_deref(), Some("auto-generated"));
    }
    assert_ne!(to_carla[0].header("Message-ID"), to_carla[1].header("Message-ID"));
    let reply_to = |m: &ReceivedMail| m.header("Reply-To").unwrap();
    assert_eq!(reply_to(&to_carla[0]), reply_to(&to_carla[1]), "one address per recipient and conversation");
    let to_mia = &smtp.mails_to(MIA)[0];
    assert_ne!(reply_to(to_mia), reply_to(&to_carla[0]), "bound to the recipient");
    let token = reply_to(&to_carla[0]);
    assert!(token.starts_with("reply+") && token.ends_with("@acme.test"), "{token}");
    assert_eq!(token.len(), "reply+".len() + 53 + "@acme.test".len(), "{token}");
    // R44: a Message-ID names its recipient, and holds no token.
    let message_id = to_carla[0].header("Message-ID").unwrap();
    assert!(message_id.ends_with(&format!(".c{}@acme.test>", d.carla.id)), "{message_id}");
    assert!(!message_id.contains(&token["reply+".len()..token.len() - "@acme.test".len()]), "{message_id}");
    app.stop().await;
}

#[tokio::test]
async fn r14_seen_within_the_delay_gets_no_email() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let said = app.say(&d.admin, d.public, "Did that help?").await;
    let id = message_id(&said);
    app.advance_ms(EMAIL_DELAY_MS - 10);
    let (status, seen) = app.post(&d.carla, "/api/v1/messages/seen", json!({"message_ids": [id]})).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["seen"][0]["message_id"], id);
    // Mia reads the conversation instead: reading up to a message is seeing it.
    app.ok(&d.mia, &format!("/api/v1/conversations/{}/read", d.public), json!({"up_to": 1}), 200).await;
    app.advance_ms(10);
    let round = app.deliver().await;
    assert_eq!(round.queued, 0, "{round:?}");
    assert!(smtp.wait_for(1, Duration::from_millis(200)).await.is_empty());

    let records = timeline(&app, &d.admin, id).await;
    for record in [record_of(&records, "customer", d.carla.id), record_of(&records, "user", d.mia.id)] {
        assert_eq!(record["email_state"], "suppressed");
        assert_eq!(record["email_reason"], "seen");
        assert!(record["seen_at"].is_i64());
    }
    app.stop().await;
}

#[tokio::test]
async fn r13_seen_reports_are_idempotent_own_and_bounded() {
    let app = spawn_app().await;
    let d = app.desk().await;
    let id = message_id(&app.say(&d.admin, d.public, "Hello").await);
    let seen = |who: &Who, ids: Value| {
        let who = who.clone();
        let app = &app;
        async move { app.post(&who, "/api/v1/messages/seen", json!({ "message_ids": ids })).await }
    };
    assert_eq!(seen(&d.carla, json!([id])).await.1["seen"].as_array().unwrap().len(), 1);
    assert_eq!(seen(&d.carla, json!([id])).await.1["seen"].as_array().unwrap().len(), 0, "already seen");
    // The author is not a recipient: nothing to mark.
    assert_eq!(seen(&d.admin, json!([id, 999])).await.1["seen"].as_array().unwrap().len(), 0);
    let too_many: Vec<i64> = (1..=501).collect();
    let (status, body) = seen(&d.carla, json!(too_many)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_input")));
    assert_eq!(seen(&d.carla, json!(["x"])).await.0, 400);
    // The timeline is for staff.
    assert_eq!(app.get(&d.carla, &format!("/api/v1/messages/{id}/deliveries")).await.0, 404);
    let records = timeline(&app, &d.mia, id).await;
    assert!(record_of(&records, "customer", d.carla.id)["seen_at"].is_i64());
    assert!(record_of(&records, "user", d.mia.id)["seen_at"].is_null());
    app.stop().await;
}

#[tokio::test]
async fn r15_customer_is_never_emailed_an_internal_message() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let internal = app.conversation(&d.admin, d.ticket, "internal").await;
    app.say(&d.admin, internal, "Between us: order a new printer").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "only Mia");
    assert_eq!(mails[0].to, vec![MIA.to_string()]);
    assert!(mails[0].text().contains("internal conversation"));
    assert!(smtp.mails_to(CARLA).is_empty());
    app.stop().await;
}

#[tokio::test]
async fn r22_a_member_who_wants_no_customer_messages_is_not_emailed() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let path = format!("/api/v1/users/{}/preferences", d.mia.id);
    assert_eq!(app.patch(&d.mia, &path, json!({"customer_messages": "none"})).await.0, 200);
    let said = app.say(&d.carla, d.public, "Still broken!").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    assert!(smtp.mails_to(MIA).is_empty());
    assert_eq!(smtp.mails_to(ADMIN_EMAIL).len(), 1, "the admin follows the ticket with default preferences");
    let records = timeline(&app, &d.admin, message_id(&said)).await;
    let mia = record_of(&records, "user", d.mia.id);
    assert_eq!((mia["email_state"].as_str(), mia["email_reason"].as_str()), (Some("suppressed"), Some("preference")));
    app.stop().await;
}

#[tokio::test]
async fn r34_unseen_messages_of_one_conversation_go_out_as_one_digest() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    for (i, text) in ["One", "Two", "Three"].iter().enumerate() {
        app.say(&d.admin, d.public, text).await;
        app.advance_ms(10 * i as i64);
    }
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let to_carla = smtp.mails_to(CARLA);
    assert_eq!(to_carla.len(), 1, "one email, not three");
    let mail = &to_carla[0];
    assert_eq!(mail.subject(), format!("[Ticket #{}] public talk (3 new messages)", d.ticket));
    let text = mail.text();
    let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle} in {text}"));
    assert!(at("#1 ") < at("One") && at("One") < at("#2 ") && at("#2 ") < at("Two") && at("Two") < at("Three"));
    app.stop().await;
}

/// The sender runs every second, as it does in production; the email delay is the default minute.
#[tokio::test]
async fn r34_a_burst_of_five_replies_two_seconds_apart_to_an_away_customer_is_one_email() {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(move |c| {
        c.smtp_url = Some(url);
        c.email_delay = std::time::Duration::from_secs(60);
    })
    .await;
    let d = app.desk().await;
    for text in ["One", "Two", "Three", "Four", "Five"] {
        app.say(&d.mia, d.public, text).await;
        for _ in 0..2 {
            app.advance_ms(1_000);
            app.deliver().await;
        }
    }
    for _ in 0..70 {
        app.advance_ms(1_000);
        app.deliver().await;
    }
    let to_carla = sink.mails_to(CARLA);
    assert_eq!(
        to_carla.len(),
        1,
        "one email, not five: {:?}",
        to_carla.iter().map(|m| m.subject()).collect::<Vec<_>>()
    );
    let text = to_carla[0].text();
    for word in ["One", "Two", "Three", "Four", "Five"] {
        assert!(text.contains(word), "{word} in {text}");
    }
    // A reply after a pause longer than the window is an email of its own, and none is sent twice.
    app.say(&d.mia, d.public, "Six").await;
    for _ in 0..70 {
        app.advance_ms(1_000);
        app.deliver().await;
    }
    let to_carla = sink.mails_to(CARLA);
    assert_eq!(to_carla.len(), 2);
    assert!(to_carla[1].text().contains("Six") && !to_carla[1].text().contains("Five"));
    app.stop().await;
}

#[tokio::test]
async fn r14_smtp_failures_are_retried_with_backoff_and_logged() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    app.say(&d.carla, d.public, "Hello?").await;
    smtp.fail_next(2);
    app.advance_ms(EMAIL_DELAY_MS);
    let round = app.deliver().await;
    assert_eq!((round.queued, round.retried, round.sent), (2, 2, 0), "{round:?}");
    let (_, log) = app.get(&d.admin, "/api/v1/outgoing-emails").await;
    let queued: Vec<&Value> = log.as_array().unwrap().iter().filter(|e| e["status"] == "queued").collect();
    assert_eq!(queued.len(), 2, "{log}");
    assert!(queued[0]["reason"].as_str().unwrap().contains("451"), "{log}");
    app.advance_ms(4_999);
    assert!(app.deliver().await.is_idle(), "backing off");
    app.advance_ms(1);
    assert_eq!(app.deliver().await.sent, 2);
    assert_eq!(smtp.mails().len(), 2);
    let (_, log) = app.get(&d.admin, "/api/v1/outgoing-emails").await;
    let sent: Vec<&Value> = log.as_array().unwrap().iter().filter(|e| e["status"] == "sent").collect();
    assert!(sent.iter().all(|e| e["attempts"] == 2), "{log}");
    app.stop().await;
}

#[tokio::test]
async fn r32_outgoing_log_is_for_admins_and_shows_each_email() {
    let (app, _smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    app.say(&d.admin, d.public, "Hello").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    assert_eq!(app.get(&d.mia, "/api/v1/outgoing-emails").await.0, 403);
    assert_eq!(
        app.get(&d.carla, "/api/v1/outgoing-emails").await.0,
        404,
        "customers are told admin routes do not exist"
    );
    assert_eq!(app.get(&d.admin, "/api/v1/outgoing-emails?limit=0").await.0, 400);
    let (status, log) = app.get(&d.admin, "/api/v1/outgoing-emails").await;
    assert_eq!(status, 200);
    let entry = log.as_array().unwrap().iter().find(|e| e["to_address"] == CARLA).expect("Carla's email");
    assert_eq!(entry["status"], "sent");
    let (status, email) = app.get(&d.admin, &format!("/api/v1/outgoing-emails/{}", entry["email_id"])).await;
    assert_eq!(status, 200);
    assert!(email["body_html"].as_str().unwrap().contains("<p>Hello</p>"), "{email}");
    assert_eq!(app.get(&d.mia, &format!("/api/v1/outgoing-emails/{}", entry["email_id"])).await.0, 403);
    // After 72 hours the email itself is forgotten.
    app.advance_ms(72 * 3_600_000 + 1);
    let (_, log) = app.get(&d.admin, "/api/v1/outgoing-emails").await;
    assert_eq!(log.as_array().unwrap().len(), 0, "{log}");
    app.stop().await;
}

#[tokio::test]
async fn r29_new_message_template_is_editable_and_checked() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let path = "/api/v1/templates/new_message";
    let (status, template) = app.get(&d.admin, path).await;
    assert_eq!(status, 200);
    assert!(template["body_text"].as_str().unwrap().contains("{{ m.body }}"));
    assert_eq!(app.get(&d.mia, path).await.0, 403);

    let edit = |subject: &str| json!({"subject": subject, "body_text": template["body_text"], "body_html": template["body_html"]});
    let (status, err) = app.call(reqwest::Method::PUT, Some(&d.admin), path, Some(edit("{% for %}"))).await;
    assert_eq!((status, err["error"]["code"].as_str()), (422, Some("invalid_template")), "{err}");
    let (status, _) = app.call(reqwest::Method::PUT, Some(&d.mia), path, Some(edit("x"))).await;
    assert_eq!(status, 403);
    let (status, saved) =
        app.call(reqwest::Method::PUT, Some(&d.admin), path, Some(edit("[Acme] {{ conversation.subject }}"))).await;
    assert_eq!(status, 200, "{saved}");
    let (status, refused) = app.call(reqwest::Method::DELETE, Some(&d.admin), path, None).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("built_in")), "cannot be removed");

    // A preview renders an edit with sample data and stores nothing; a broken one says where.
    let preview = format!("{path}/preview");
    let (status, shown) =
        app.post(&d.admin, &preview, edit("Re: {{ conversation.subject }} for {{ recipient.name }}")).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["subject"], "Re: Printer on fire for Ada");
    assert!(shown["body_text"].as_str().unwrap().contains("Hello Ada"), "{shown}");
    assert!(shown["body_html"].as_str().unwrap().contains("<strong>Bob</strong>"), "{shown}");
    let (status, err) = app.post(&d.admin, &preview, edit("{{ conversation.subject ")).await;
    assert_eq!((status, err["error"]["code"].as_str()), (422, Some("invalid_template")), "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("line 1"), "{err}");
    assert_eq!(app.post(&d.mia, &preview, edit("x")).await.0, 403);
    assert_eq!(
        app.get(&d.admin, path).await.1["subject"],
        "[Acme] {{ conversation.subject }}",
        "the preview saved nothing"
    );

    app.say(&d.admin, d.public, "Hello").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    assert_eq!(smtp.mails_to(CARLA)[0].subject(), "[Acme] public talk");
    app.stop().await;
}

#[tokio::test]
async fn without_smtp_emails_land_in_the_outbox_folder() {
    let app = spawn_app().await;
    let d = app.desk().await;
    app.say(&d.carla, d.public, "Anyone there?").await;
    app.advance_ms(EMAIL_DELAY_MS);
    assert_eq!(app.deliver().await.sent, 2);
    let (_, log) = app.get(&d.admin, "/api/v1/outgoing-emails").await;
    let entry = log.as_array().unwrap().iter().find(|e| e["to_address"] == MIA).expect("Mia's email");
    let file = app.data_dir.path().join("outbox").join(format!("{}.eml", entry["email_id"]));
    let raw = std::fs::read_to_string(&file).unwrap();
    assert!(raw.contains("To: mia <mia@acme.test>") && raw.contains("Anyone there?"), "{raw}");
    app.stop().await;
}

#[tokio::test]
async fn r35_a_conversations_delivery_records_come_in_one_request_for_staff_only() {
    let app = spawn_app().await;
    let d = app.desk().await;
    let first = message_id(&app.say(&d.admin, d.public, "One").await);
    let second = message_id(&app.say(&d.admin, d.public, "Two").await);
    app.post(&d.carla, "/api/v1/messages/seen", json!({"message_ids": [first]})).await;
    let path = format!("/api/v1/conversations/{}/deliveries", d.public);
    let (status, marks) = app.get(&d.mia, &path).await;
    assert_eq!(status, 200, "{marks}");
    let marks = marks.as_array().unwrap();
    assert_eq!(marks.iter().map(|m| m["message_id"].as_i64().unwrap()).collect::<Vec<_>>(), vec![first, second]);
    assert!(record_of(marks[0]["records"].as_array().unwrap(), "customer", d.carla.id)["seen_at"].is_i64());
    assert!(record_of(marks[1]["records"].as_array().unwrap(), "customer", d.carla.id)["seen_at"].is_null());
    assert_eq!(app.get(&d.carla, &path).await.0, 404, "customers do not see who saw what");
    assert_eq!(app.get(&d.mia, &format!("{path}?limit=0")).await.0, 400);
    app.stop().await;
}

#[tokio::test]
async fn an_install_with_the_earlier_default_subject_gets_the_one_naming_the_item_and_an_admins_own_is_kept() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let earlier = "{{ conversation.subject }}{% if count > 1 %} ({{ count }} new messages){% endif %}";
    let (_, template) = app.get(&admin, "/api/v1/templates/new_message").await;
    let edit = |subject: &str| json!({"subject": subject, "body_text": template["body_text"], "body_html": template["body_html"]});
    let (status, _) =
        app.call(reqwest::Method::PUT, Some(&admin), "/api/v1/templates/new_message", Some(edit(earlier))).await;
    assert_eq!(status, 200);
    app.services().install_default_templates().await.unwrap();
    let (_, now) = app.get(&admin, "/api/v1/templates/new_message").await;
    assert!(now["subject"].as_str().unwrap().starts_with("{% if conversation.item %}"), "{now}");

    let own = "[Acme] {{ conversation.subject }}";
    app.call(reqwest::Method::PUT, Some(&admin), "/api/v1/templates/new_message", Some(edit(own))).await;
    app.services().install_default_templates().await.unwrap();
    assert_eq!(app.get(&admin, "/api/v1/templates/new_message").await.1["subject"], own);
    app.stop().await;
}
