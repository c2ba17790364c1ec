//! R44, decided at the door, through the real server: tables of door × retraction × asker. A reply
//! carries a marker word; after each retraction every door is asked whether the marker went out
//! by it, and the row where nothing was taken back proves each door does carry it otherwise. The
//! ways in are asked the same of actors whose state changed: a deactivated user, a visitor's
//! unproven address, quoted words, a member limited to followed projects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_domain::door::Door;
use parley_testkit::*;
use serde_json::{json, Value};
use std::time::Duration;

const GUARD_MS: i64 = 10_000;
const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(400);
const CARLA: &str = Desk::CARLA;
const MIA: &str = Desk::MIA;

/// What is done to the reply within the send guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retraction {
    /// Nothing: the row that shows each door carries the reply.
    Stands,
    Undo,
    MakeInternal,
}

/// What a door let out of the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Out {
    Nothing,
    /// The reply, as public.
    Reply,
    /// The reply, marked internal (for those who may read internal words).
    Internal,
}

/// A desk with the send guard on and two webhooks: one that hears internal events, one not.
async fn guarded_desk() -> (TestApp, SmtpSink, Desk) {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let app = spawn_app_with(move |c| {
        c.send_guard = Some(Duration::from_millis(GUARD_MS as u64));
        c.smtp_url = Some(url);
    })
    .await;
    let d = app.desk().await;
    (app, smtp, d)
}

async fn webhook(app: &TestApp, admin: &Who, sink: &WebhookSink, internal: bool) -> i64 {
    let body = json!({"name": "CRM", "url": sink.url(), "events": ["message_created"], "internal": internal});
    app.ok(admin, "/api/v1/webhooks", body, 201).await["id"].as_i64().unwrap()
}

/// What of the reply `marker` a webhook heard.
fn heard(sink: &WebhookSink, marker: &str) -> Out {
    let hooks: Vec<Value> = sink.hooks().iter().map(Hook::json).filter(|h| h.to_string().contains(marker)).collect();
    assert!(hooks.len() <= 1, "heard once at most: {hooks:?}");
    match hooks.first().map(|h| h["data"]["message"]["visibility"].clone()) {
        None => Out::Nothing,
        Some(v) if v == "internal" => Out::Internal,
        Some(_) => Out::Reply,
    }
}

/// What of `marker` an email to `to` carried.
fn emailed(smtp: &SmtpSink, to: &str, marker: &str) -> Out {
    let mails: Vec<String> = smtp.mails_to(to).iter().map(|m| m.text()).filter(|t| t.contains(marker)).collect();
    match mails.first() {
        None => Out::Nothing,
        Some(text) if text.contains("made internal") => Out::Internal,
        Some(_) => Out::Reply,
    }
}

/// What a search found of `marker` among messages (the answer also repeats the words asked).
fn found(what: &(u16, Value), marker: &str) -> Out {
    shown(&(what.0, what.1["messages"].clone()), marker)
}

fn shown(what: &(u16, Value), marker: &str) -> Out {
    match what.0 == 200 && what.1.to_string().contains(marker) {
        true => Out::Reply,
        false => Out::Nothing,
    }
}

#[tokio::test]
async fn r44_a_reply_taken_back_or_made_internal_leaves_by_no_door() {
    use Out::*;
    use Retraction::*;
    let mut checked = 0;
    for retraction in [Stands, Undo, MakeInternal] {
        let (app, smtp, d) = guarded_desk().await;
        let public_hook = WebhookSink::start().await;
        let internal_hook = WebhookSink::start().await;
        webhook(&app, &d.admin, &public_hook, false).await;
        webhook(&app, &d.admin, &internal_hook, true).await;
        let marker = format!("quokka{}", checked + 1);
        let mut carla_socket = app.socket(&d.carla).await;
        let (status, file) = app.upload(&d.mia, d.public, "plan.txt", "text/plain", marker.as_bytes()).await;
        assert_eq!(status, 201, "{file}");
        let body = json!({"body": format!("The {marker} plan is what we offer"), "attachments": [file["id"]]});
        let said = app.ok(&d.mia, &format!("/api/v1/conversations/{}/messages", d.public), body, 201).await;
        let id = said["message"]["id"].as_i64().unwrap();

        // Within the guard no webhook hears of it, whatever becomes of it.
        app.send_webhooks().await;
        tokio::time::sleep(QUIET).await;
        assert_eq!((public_hook.count(), internal_hook.count()), (0, 0), "{retraction:?}: heard within the guard");
        let how = match retraction {
            Stands => None,
            Undo => Some("undo"),
            MakeInternal => Some("make-internal"),
        };
        if let Some(how) = how {
            let (status, body) = app.post(&d.mia, &format!("/api/v1/messages/{id}/{how}"), json!({})).await;
            assert_eq!(status, 200, "{body}");
        }
        app.advance_ms(GUARD_MS + EMAIL_DELAY_MS);
        app.deliver().await;
        app.send_webhooks().await;
        if retraction != Undo {
            internal_hook.wait_for(1, WAIT).await;
        }
        if retraction == Stands {
            public_hook.wait_for(1, WAIT).await;
        }
        tokio::time::sleep(QUIET).await;

        let search = format!("/api/v1/search?q={marker}");
        let audience = app.get(&d.admin, &format!("/api/v1/messages/{id}/audience")).await;
        let deliveries = app.get(&d.admin, &format!("/api/v1/messages/{id}/deliveries")).await;
        let pushed = carla_socket.all_of("message", QUIET).await;
        let file = app.fetch(Some(&d.carla), &format!("/api/v1/attachments/{}", file["id"])).await;
        let file_out = if file.0 == 200 && file.2 == marker.as_bytes() { Reply } else { Nothing };
        let rows: Vec<(&str, Out, [Out; 3])> = vec![
            ("webhook without internal events", heard(&public_hook, &marker), [Reply, Nothing, Nothing]),
            ("webhook with internal events", heard(&internal_hook, &marker), [Reply, Nothing, Internal]),
            ("customer's email", emailed(&smtp, CARLA, &marker), [Reply, Nothing, Nothing]),
            ("follower's email (staff)", emailed(&smtp, ADMIN_EMAIL, &marker), [Reply, Nothing, Internal]),
            (
                "customer's messages",
                shown(&app.get(&d.carla, &format!("/api/v1/conversations/{}/messages", d.public)).await, &marker),
                [Reply, Nothing, Nothing],
            ),
            ("customer's search", found(&app.get(&d.carla, &search).await, &marker), [Reply, Nothing, Nothing]),
            ("staff search", found(&app.get(&d.admin, &search).await, &marker), [Reply, Nothing, Reply]),
            ("audience view (staff)", if audience.0 == 200 { Reply } else { Nothing }, [Reply, Nothing, Reply]),
            ("delivery view (staff)", if deliveries.0 == 200 { Reply } else { Nothing }, [Reply, Nothing, Reply]),
            ("customer's socket", shown(&(200, json!(pushed)), &marker), [Reply, Nothing, Nothing]),
            ("customer's file", file_out, [Reply, Nothing, Nothing]),
        ];
        let column = match retraction {
            Stands => 0,
            Undo => 1,
            MakeInternal => 2,
        };
        for (door, out, expected) in rows {
            assert_eq!(out, expected[column], "door {door}, after {retraction:?}");
            checked += 1;
        }
        app.stop().await;
    }
    assert_eq!(checked, 33);
}

/// A reply as a mail client writes one, `text` being all of its body.
fn mail(from: &str, to: &str, message_id: &str, text: &str) -> String {
    format!(
        "From: Someone <{from}>\r\nTo: {to}\r\nSubject: Re: Printer on fire\r\nMessage-ID: <{message_id}>\r\n\
         Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
}

async fn messages(app: &TestApp, who: &Who, conversation: i64) -> Vec<String> {
    let (status, body) = app.get(who, &format!("/api/v1/conversations/{conversation}/messages")).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_string()).collect()
}

async fn last_incoming(app: &TestApp, admin: &Who) -> Value {
    let (status, body) = app.get(admin, "/api/v1/incoming-emails").await;
    assert_eq!(status, 200, "{body}");
    body[0].clone()
}

/// The reply address of the latest email to `to`.
fn reply_address(smtp: &SmtpSink, to: &str) -> String {
    let mail = smtp.mails_to(to).last().cloned().expect("an email");
    mail.header("Reply-To").unwrap().trim_start_matches('<').trim_end_matches('>').to_string()
}

#[tokio::test]
async fn r44_an_email_reply_posts_only_its_own_words_and_only_for_who_may_post_now() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    app.say(&d.admin, d.public, "Internal detail: on the old plan").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let to_mia = reply_address(&smtp, MIA);
    let to_carla = reply_address(&smtp, CARLA);
    let quote = "On Sun, 22 Nov 2026 at 09:59, Acme Support <support@acme.test> wrote:\r\n\
                 > Internal detail: on the old plan\r\n";

    // (sender, to, body, expected status, expected reason prefix, expected new message)
    type Case<'a> = (&'a str, &'a str, String, &'a str, &'a str, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (MIA, &to_mia, format!("{quote}\r\nI will call her."), "posted", "", Some("I will call her.")),
        (MIA, &to_mia, quote.to_string(), "refused", "no_new_words", None),
        (CARLA, &to_carla, format!("> Which tray?\r\nThe lower one.\r\n{quote}"), "posted", "", Some("The lower one.")),
        (CARLA, &to_carla, format!("\r\n\r\n{quote}"), "refused", "no_new_words", None),
    ];
    for (n, (from, to, body, status, reason, posted)) in cases.into_iter().enumerate() {
        let before = messages(&app, &d.admin, d.public).await;
        let raw = mail(from, to, &format!("q{n}@example"), &body);
        smtp_send(app.smtp_in, from, &[to], raw.as_bytes()).await.expect("accepted");
        let logged = last_incoming(&app, &d.admin).await;
        assert_eq!(logged["status"], status, "case {n}: {logged}");
        assert!(logged["reason"].as_str().unwrap_or_default().starts_with(reason), "case {n}: {logged}");
        let after = messages(&app, &d.admin, d.public).await;
        match posted {
            Some(words) => assert_eq!(after.last().map(String::as_str), Some(words), "case {n}"),
            None => assert_eq!(after.len(), before.len(), "case {n}: nothing posted"),
        }
        assert!(after.iter().skip(1).all(|m| !m.contains("old plan")), "case {n}: quoted words never posted");
    }

    // Deactivated since the email: the reply address no longer speaks for Mia.
    let (status, _) = app.patch(&d.admin, &format!("/api/v1/users/{}", d.mia.id), json!({"active": false})).await;
    assert_eq!(status, 200);
    let before = messages(&app, &d.admin, d.public).await.len();
    smtp_send(app.smtp_in, MIA, &[&to_mia], mail(MIA, &to_mia, "late@acme", "Still here").as_bytes()).await.unwrap();
    let logged = last_incoming(&app, &d.admin).await;
    assert_eq!(logged["status"], "refused", "{logged}");
    assert!(logged["reason"].as_str().unwrap().starts_with("deactivated"), "{logged}");
    assert_eq!(messages(&app, &d.admin, d.public).await.len(), before);
    app.stop().await;
}

#[tokio::test]
async fn r36_r44_an_answer_from_a_visitors_unproven_address_never_joins_the_visitors_chat() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, CARLA).await;
    // A visitor types Carla's address; the agent's reply is emailed there.
    let visitor = app.visitor().await;
    let chat = app.ok(&visitor, "/api/v1/conversations", json!({"subject": "Chat", "visibility": "public"}), 201).await;
    let chat = chat["id"].as_i64().unwrap();
    app.ok(
        &visitor,
        &format!("/api/v1/conversations/{chat}/messages"),
        json!({"body": "Hi", "channel": "widget"}),
        201,
    )
    .await;
    app.ok(&visitor, "/api/v1/widget/contact", json!({"email": CARLA}), 200).await;
    app.say(&admin, chat, "Your order ships tomorrow").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let to = smtp
        .mails_to(CARLA)
        .iter()
        .rev()
        .find_map(|m| m.header("Reply-To"))
        .expect("the reply was emailed to the address given")
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string();

    // The real Carla answers: her words stay hers, out of the anonymous chat.
    let raw = mail(CARLA, &to, "carla1@client.example", "I never ordered anything, who is this?");
    smtp_send(app.smtp_in, CARLA, &[&to], raw.as_bytes()).await.expect("accepted");
    let logged = last_incoming(&app, &admin).await;
    assert_eq!(logged["status"], "started", "{logged}");
    assert_eq!(logged["party"], json!({"kind": "customer", "id": carla.id}), "{logged}");
    assert_ne!(logged["conversation_id"], chat);
    let (_, chat_messages) = app.get(&visitor, &format!("/api/v1/conversations/{chat}/messages")).await;
    assert!(!chat_messages.to_string().contains("never ordered"), "{chat_messages}");
    let (_, hers) = app.get(&carla, &format!("/api/v1/conversations/{}/messages", logged["conversation_id"])).await;
    assert!(hers.to_string().contains("never ordered"), "{hers}");
    app.stop().await;
}

#[tokio::test]
async fn r37_r44_a_member_limited_to_followed_projects_reaches_only_the_customers_of_their_scope() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lena = app.user(&admin, "lena@acme.test").await;
    let mo = app.user(&admin, "mo@acme.test").await;
    let prefs = format!("/api/v1/users/{}/preferences", lena.id);
    assert_eq!(app.patch(&admin, &prefs, json!({"scope": "followed_projects"})).await.0, 200);
    let org = app.ok(&admin, "/api/v1/organizations", json!({"name": "Big", "domain": "big.example"}), 201).await;
    let followed = app.project(&admin, "Followed").await;
    let elsewhere = app.project(&admin, "Elsewhere").await;
    let follow = json!({"role": "follower", "party": {"kind": "user", "id": lena.id}});
    app.ok(&admin, &format!("/api/v1/projects/{followed}/people"), follow, 200).await;
    let share = json!({"role": "follower", "party": {"kind": "organization", "id": org["id"]}});
    app.ok(&admin, &format!("/api/v1/projects/{elsewhere}/people"), share, 200).await;
    let near = app.customer(&admin, "near@client.example").await;
    let far = app.customer(&admin, "far@big.example").await;
    app.ticket(&admin, followed, "Near's ticket", &[near.id]).await;
    app.ticket(&admin, elsewhere, "Far's ticket", &[far.id]).await;

    // A password would let its giver log in as the customer and read what Big shares.
    for (who, name, expected) in [(&lena, "lena", 403), (&mo, "mo", 403), (&admin, "admin", 201)] {
        let body = json!({"email": format!("{name}-made@big.example"), "name": "Made", "password": PASSWORD});
        let (status, answer) = app.post(who, "/api/v1/customers", body).await;
        assert_eq!(status, expected, "{name}: {answer}");
    }
    let made = app.ok(&lena, "/api/v1/customers", json!({"email": "x@big.example", "name": "X"}), 201).await;
    assert!(made["email"].is_string(), "a member still adds customers without a password: {made}");

    // (asker, route, reaches near, reaches far)
    let names = |body: &Value| body.to_string();
    for (label, who, near_seen, far_seen) in [("limited", &lena, true, false), ("all", &mo, true, true)] {
        let (status, list) = app.get(who, "/api/v1/customers?limit=100").await;
        assert_eq!(status, 200);
        assert_eq!(names(&list).contains("near@client.example"), near_seen, "{label} list: {list}");
        assert_eq!(names(&list).contains("far@big.example"), far_seen, "{label} list: {list}");
        for (customer, seen) in [(&near, near_seen), (&far, far_seen)] {
            let expected = if seen { 200 } else { 404 };
            assert_eq!(app.get(who, &format!("/api/v1/customers/{}", customer.id)).await.0, expected, "{label}");
            let (status, _) = app.post(who, &format!("/api/v1/customers/{}/invite", customer.id), json!({})).await;
            assert_eq!(status == 404, !seen, "{label} invite: {status}");
        }
        let (_, found) = app.get(who, "/api/v1/search?q=far").await;
        assert_eq!(found["customers"].to_string().contains("far@big.example"), far_seen, "{label} search: {found}");
    }
    app.stop().await;
}

/// R44, the email sender's door: an email waiting for a retry goes out only if its recipient may
/// still see its conversation then — not after their scope was narrowed, not after they were
/// deactivated; the row whose recipient kept access is sent.
#[tokio::test]
async fn r44_an_email_is_sent_only_if_its_recipient_may_still_see_the_conversation() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let narrowed = app.user(&d.admin, "narrowed@acme.test").await;
    let gone = app.user(&d.admin, "gone@acme.test").await;
    for who in [&narrowed, &gone] {
        let follow = json!({"role": "follower", "party": {"kind": "user", "id": who.id}});
        app.ok(&d.admin, &format!("/api/v1/items/{}/people", d.ticket), follow, 200).await;
    }
    smtp.fail_next(10);
    app.say(&d.carla, d.public, "The printer smokes again").await;
    app.advance_ms(EMAIL_DELAY_MS);
    let round = app.deliver().await;
    assert!(round.retried >= 3, "every first try failed: {round:?}");

    // Meanwhile one follower's scope shrinks to followed projects (it follows the ticket, not its
    // project: the conversation stays theirs), then loses the ticket; another is deactivated.
    let prefs = format!("/api/v1/users/{}/preferences", narrowed.id);
    assert_eq!(app.patch(&d.admin, &prefs, json!({"scope": "followed_projects"})).await.0, 200);
    let unfollow = format!("/api/v1/items/{}/people/follower/user/{}", d.ticket, narrowed.id);
    assert_eq!(app.delete(&d.admin, &unfollow).await.0, 200, "the follower removed");
    let deactivate = format!("/api/v1/users/{}", gone.id);
    assert_eq!(app.patch(&d.admin, &deactivate, json!({"active": false})).await.0, 200);

    smtp.fail_next(0);
    app.advance_ms(60_000);
    app.deliver().await;
    let rows = [(MIA, 1), ("narrowed@acme.test", 0), ("gone@acme.test", 0)];
    for (to, expected) in rows {
        assert_eq!(smtp.mails_to(to).len(), expected, "{to}");
    }
    let (_, log) = app.get(&d.admin, "/api/v1/outgoing-emails").await;
    let reason = |to: &str| {
        log.as_array().unwrap().iter().find(|e| e["to_address"] == to).map(|e| e["reason"].to_string()).unwrap()
    };
    assert!(reason("narrowed@acme.test").contains("may no longer see the conversation"), "{log}");
    assert!(reason("gone@acme.test").contains("deactivated"), "{log}");
    app.stop().await;
}

/// Where each door of `Door` is asked, here or in the suite named: a door added without a row
/// fails `r44_every_door_has_a_row`.
const ROWS: &[(Door, &str)] = &[
    (Door::Push, "r44_a_reply_taken_back_or_made_internal_leaves_by_no_door: customer's socket; policy_matrix_api: the socket half"),
    (Door::NotificationEmail, "r44_a_reply_taken_back_…: customer's and follower's email; r44_an_email_is_sent_only_if_its_recipient_may_still_see_the_conversation"),
    (Door::AutomatedEmail, "automated_emails_api: each person named gets it only if they may see the item or conversation"),
    (Door::Webhook, "r44_a_reply_taken_back_…: both webhooks; store behaviour r44_queued_deliveries_stop_when_what_they_were_for_changes"),
    (Door::Search, "r44_a_reply_taken_back_…: customer's and staff search; r37_r44_a_member_limited_…: customer hits"),
    (Door::Attachment, "r44_a_reply_taken_back_…: customer's file; attachments_api"),
    (Door::RecipientPreview, "n/a for a retraction: it previews a message not yet written; audience_api for scope"),
    (Door::AudienceView, "r44_a_reply_taken_back_…: audience view"),
    (Door::DeliveryView, "r44_a_reply_taken_back_…: delivery view"),
    (Door::OriginalMail, "email_in_api r16_r17_…: admins only, reply tokens hidden"),
    (Door::CustomerDirectory, "r37_r44_a_member_limited_to_followed_projects_reaches_only_the_customers_of_their_scope"),
    (Door::OnlookerPush, "reach_api r43_whoever_has_a_conversation_open_gets_its_messages_live_if_they_may_see_it: a narrowed scope gets nothing; r43_a_new_customer_conversation_arrives_live_…: outside the scope nothing; r43_r44_an_onlooker_learns_of_a_reply_taken_back; customers are never onlookers"),
    (Door::Http, "policy_matrix_api: every route × every asker; customer's messages row here"),
    (Door::Socket, "sessions_end_api: an ended session or deactivation closes the socket; r40_a_person_holds_a_bounded_number_of_sockets"),
    (Door::Looking, "reach_api r43_a_message_is_seen_only_when_a_visible_page_shows_it_…: a hidden page sees nothing; r43_whoever_has_…: a conversation out of scope is not looked at; browser r43_ tests: messenger, widget"),
    (Door::EmailIn, "r44_an_email_reply_posts_only_its_own_words_and_only_for_who_may_post_now; r36_r44_an_answer_from_a_visitors_unproven_address_…"),
    (Door::Widget, "verified_address_api: an unproven address reaches nothing shared; r36_r44_an_answer_from_a_visitors_unproven_address_…"),
    (Door::Automation, "automations_api: the bot posts through the one post path (locked, internal, audience)"),
];

#[test]
fn r44_every_door_has_a_row() {
    for door in Door::ALL {
        assert!(ROWS.iter().any(|(d, _)| d == door), "the door {door} has no row in doors_api");
    }
    assert_eq!(ROWS.len(), Door::ALL.len(), "one row per door");
}
