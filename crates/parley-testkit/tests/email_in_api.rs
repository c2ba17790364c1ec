//! Email in through the real server: replies and new requests delivered to its SMTP listener by a
//! real SMTP client, or posted by a relay; the incoming log (R16–R19, R32).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::{json, Value};
use std::time::Duration;

const CARLA: &str = Desk::CARLA;
const MIA: &str = Desk::MIA;
const SUPPORT: &str = "support@acme.test";

/// Posts as `who`, lets the email delay pass and runs delivery: answers the email `to` got.
async fn notified(app: &TestApp, smtp: &SmtpSink, who: &Who, conversation: i64, body: &str, to: &str) -> ReceivedMail {
    let before = smtp.mails_to(to).len();
    app.say(who, conversation, body).await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let mails = smtp.mails_to(to);
    assert_eq!(mails.len(), before + 1, "one email to {to}");
    mails.last().unwrap().clone()
}

/// A reply as a mail client writes one: the new text above the quoted email.
fn reply(from: &str, to: &str, message_id: &str, in_reply_to: Option<&str>, text: &str) -> String {
    let threading = in_reply_to.map(|id| format!("In-Reply-To: {id}\r\nReferences: {id}\r\n")).unwrap_or_default();
    format!(
        "From: Someone <{from}>\r\nTo: {to}\r\nSubject: Re: Printer on fire\r\nMessage-ID: <{message_id}>\r\n\
         {threading}Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         {text}\r\n\r\nOn Sun, 22 Nov 2026 at 09:59, Acme Support <support@acme.test> wrote:\r\n> We are on it\r\n"
    )
}

async fn messages(app: &TestApp, who: &Who, conversation: i64) -> Vec<Value> {
    let (status, body) = app.get(who, &format!("/api/v1/conversations/{conversation}/messages")).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

async fn incoming(app: &TestApp, admin: &Who) -> Vec<Value> {
    let (status, body) = app.get(admin, "/api/v1/incoming-emails").await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

fn reply_address(mail: &ReceivedMail) -> String {
    let reply_to = mail.header("Reply-To").expect("a reply address");
    reply_to.trim_start_matches('<').trim_end_matches('>').to_string()
}

#[tokio::test]
async fn r16_r17_an_email_reply_is_posted_into_its_conversation_as_its_recipient() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let mail = notified(&app, &smtp, &d.mia, d.public, "We are **on it**", CARLA).await;
    let to = reply_address(&mail);
    assert!(to.starts_with("reply+") && to.ends_with("@acme.test"), "{to}");

    let raw = reply(CARLA, &to, "r1@client.example", mail.header("Message-ID").as_deref(), "Thanks, it works again.");
    let answer = smtp_send(app.smtp_in, CARLA, &[&to], raw.as_bytes()).await.expect("accepted");
    assert!(answer.starts_with("250"), "{answer}");

    let all = messages(&app, &d.mia, d.public).await;
    let last = all.last().unwrap();
    assert_eq!(last["body"], "Thanks, it works again.", "quote and 'wrote:' line stripped");
    assert_eq!(last["channel"], "email");
    assert_eq!(last["author"], json!({"kind": "customer", "id": d.carla.id}));
    let log = incoming(&app, &d.admin).await;
    assert_eq!(log[0]["status"], "posted", "{log:?}");
    assert_eq!(log[0]["conversation_id"], d.public);
    assert_eq!(log[0]["posted_message_id"], last["id"]);
    assert_eq!(log[0]["via"], "smtp");
    // The original, quote and all, is there for admins, its reply token hidden (R44); a member
    // is refused, and for Carla it does not exist.
    let original = |who: &Who| {
        app.client.get(format!("{}/api/v1/messages/{}/original", app.base, last["id"])).bearer_auth(&who.token).send()
    };
    let answer = original(&d.admin).await.unwrap();
    assert_eq!(answer.status(), 200);
    let text = answer.text().await.unwrap();
    assert!(text.contains("> We are on it"), "{text}");
    let token = to.trim_start_matches("reply+").split('@').next().unwrap();
    assert!(!text.contains(token) && text.contains("reply+[hidden]@acme.test"), "{text}");
    assert_eq!(original(&d.mia).await.unwrap().status(), 403);
    assert_eq!(original(&d.carla).await.unwrap().status(), 404);
    let (_, logged) = app.get(&d.admin, "/api/v1/incoming-emails").await;
    assert!(!logged.to_string().contains(token), "the log hides the token: {logged}");

    // The same mail again (an SMTP retry) posts nothing more.
    smtp_send(app.smtp_in, CARLA, &[&to], raw.as_bytes()).await.expect("accepted");
    assert_eq!(messages(&app, &d.mia, d.public).await.len(), all.len());
    assert_eq!(incoming(&app, &d.admin).await[0]["status"], "duplicate");

    // The email fallback runs for the reply like for any message: Mia is told.
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    assert!(smtp.mails_to(MIA).iter().any(|m| m.text().contains("Thanks, it works again.")));
    app.stop().await;
}

#[tokio::test]
async fn r16_a_reply_without_the_plus_address_is_matched_by_its_threading_headers() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let mail = notified(&app, &smtp, &d.mia, d.public, "Can you try again?", CARLA).await;
    let message_id = mail.header("Message-ID").unwrap();

    // Sent to the support address, but answering Parley's email: it goes into that conversation.
    let raw = reply(CARLA, SUPPORT, "r2@client.example", Some(&message_id), "Tried it, still broken.");
    smtp_send(app.smtp_in, CARLA, &[SUPPORT], raw.as_bytes()).await.expect("accepted");
    assert_eq!(messages(&app, &d.mia, d.public).await.last().unwrap()["body"], "Tried it, still broken.");

    // A Message-ID made up in Parley's form names no email it sent.
    let forged = reply(CARLA, SUPPORT, "r4@client.example", Some("<parley.m1.customer1@acme.test>"), "Guessed");
    smtp_send(app.smtp_in, CARLA, &[SUPPORT], forged.as_bytes()).await.expect("accepted");
    let log = incoming(&app, &d.admin).await;
    assert!(log[0]["reason"].as_str().unwrap().starts_with("unknown_thread"), "{log:?}");
    // R44: a Message-ID holds no secret, so one in the new form can be guessed: it names an email
    // only if that email went out. Carla saw this message in time and was never emailed it.
    let seen = app.say(&d.mia, d.public, "Seen in the portal").await["message"]["id"].as_i64().unwrap();
    app.ok(&d.carla, "/api/v1/messages/seen", json!({"message_ids": [seen]}), 200).await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let guessed = format!("<parley.m{seen}.c{}@acme.test>", d.carla.id);
    let forged = reply(CARLA, SUPPORT, "r5@client.example", Some(&guessed), "Guessed again");
    smtp_send(app.smtp_in, CARLA, &[SUPPORT], forged.as_bytes()).await.expect("accepted");
    let log = incoming(&app, &d.admin).await;
    assert!(log[0]["reason"].as_str().unwrap().starts_with("unknown_thread"), "{log:?}");

    // Someone else answering the same email with its headers is not Carla: nothing is posted.
    let raw = reply("eve@elsewhere.example", SUPPORT, "r3@elsewhere.example", Some(&message_id), "Let me in");
    smtp_send(app.smtp_in, "eve@elsewhere.example", &[SUPPORT], raw.as_bytes()).await.expect("accepted");
    let log = incoming(&app, &d.admin).await;
    assert_eq!(log[0]["status"], "refused");
    assert!(log[0]["reason"].as_str().unwrap().starts_with("sender_mismatch"), "{log:?}");
    assert!(messages(&app, &d.mia, d.public).await.iter().all(|m| m["body"] != "Let me in"));
    app.stop().await;
}

#[tokio::test]
async fn r16_a_forged_altered_or_foreign_reply_address_posts_nothing() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let mail = notified(&app, &smtp, &d.mia, d.public, "Hello Carla", CARLA).await;
    let to = reply_address(&mail);
    let count = messages(&app, &d.mia, d.public).await.len();

    // One character of the token changed.
    let mut altered: Vec<char> = to.chars().collect();
    altered[10] = if altered[10] == 'a' { 'b' } else { 'a' };
    let altered: String = altered.into_iter().collect();
    // A token made up from nothing.
    let forged = format!("reply+{}@acme.test", "a".repeat(47));
    for (n, address) in [altered, forged].iter().enumerate() {
        let raw = reply(CARLA, address, &format!("f{n}@client.example"), None, "Forged");
        smtp_send(app.smtp_in, CARLA, &[address], raw.as_bytes()).await.expect("accepted");
        let log = incoming(&app, &d.admin).await;
        assert!(log[0]["reason"].as_str().unwrap().starts_with("bad_token"), "{log:?}");
    }
    // Carla's genuine token, forwarded to and used by someone else.
    let raw = reply("eve@elsewhere.example", &to, "f3@elsewhere.example", None, "Forwarded");
    smtp_send(app.smtp_in, "eve@elsewhere.example", &[&to], raw.as_bytes()).await.expect("accepted");
    assert!(incoming(&app, &d.admin).await[0]["reason"].as_str().unwrap().starts_with("sender_mismatch"));

    // Carla's token after she was taken off the ticket (as requester and the follower that made her): she is no longer in the audience.
    for role in ["requester", "follower"] {
        let path = format!("/api/v1/items/{}/people/{role}/customer/{}", d.ticket, d.carla.id);
        let (status, _) = app.delete(&d.admin, &path).await;
        assert_eq!(status, 200);
    }
    let (status, seen) = app.get(&d.carla, &format!("/api/v1/conversations/{}", d.public)).await;
    assert_eq!(status, 404, "{seen}");
    let raw = reply(CARLA, &to, "f4@client.example", None, "Still here?");
    smtp_send(app.smtp_in, CARLA, &[&to], raw.as_bytes()).await.expect("accepted");
    let log = incoming(&app, &d.admin).await;
    assert!(log[0]["reason"].as_str().unwrap_or_default().starts_with("not_in_audience"), "{log:?}");

    assert_eq!(messages(&app, &d.mia, d.public).await.len(), count, "nothing was posted");
    app.stop().await;
}

#[tokio::test]
async fn r16_a_user_answering_an_internal_notification_by_email_reaches_users_only() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let internal = app.conversation(&d.admin, d.ticket, "internal").await;
    let mail = notified(&app, &smtp, &d.admin, internal, "Mia, is the toner on order?", MIA).await;
    let to = reply_address(&mail);
    let carla_mails = smtp.mails_to(CARLA).len();
    let mut carla_socket = app.socket(&d.carla).await;

    let raw = reply(MIA, &to, "u1@acme.test", mail.header("Message-ID").as_deref(), "Ordered, arrives Monday.");
    smtp_send(app.smtp_in, MIA, &[&to], raw.as_bytes()).await.expect("accepted");
    let posted = messages(&app, &d.admin, internal).await.last().unwrap().clone();
    assert_eq!(posted["body"], "Ordered, arrives Monday.");
    assert_eq!(posted["author"], json!({"kind": "user", "id": d.mia.id}));

    let (_, audience) = app.get(&d.admin, &format!("/api/v1/messages/{}/audience", posted["id"])).await;
    assert!(parties(&audience["recipients"]).iter().all(|p| p.starts_with("user")), "{audience}");
    app.advance_ms(EMAIL_DELAY_MS * 10);
    app.deliver().await;
    assert_eq!(smtp.mails_to(CARLA).len(), carla_mails, "no email to the customer");
    assert!(carla_socket.next(Duration::from_millis(300)).await.is_none(), "no push to the customer");
    assert!(messages(&app, &d.carla, d.public).await.iter().all(|m| m["body"] != "Ordered, arrives Monday."));
    app.stop().await;
}

#[tokio::test]
async fn r17_a_reply_reopens_a_closed_conversation_and_a_locked_one_refuses_it() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let mail = notified(&app, &smtp, &d.mia, d.public, "Fixed, closing", CARLA).await;
    let to = reply_address(&mail);
    let state = |s: &str| json!({"action": s});
    app.ok(&d.admin, &format!("/api/v1/conversations/{}/state", d.public), state("close"), 200).await;

    let raw = reply(CARLA, &to, "c1@client.example", None, "It broke again");
    smtp_send(app.smtp_in, CARLA, &[&to], raw.as_bytes()).await.expect("accepted");
    let (_, conversation) = app.get(&d.admin, &format!("/api/v1/conversations/{}", d.public)).await;
    assert_eq!(conversation["state"], "open", "{conversation}");

    app.ok(&d.admin, &format!("/api/v1/conversations/{}/state", d.public), state("close"), 200).await;
    app.ok(&d.admin, &format!("/api/v1/conversations/{}/state", d.public), state("lock"), 200).await;
    let count = messages(&app, &d.mia, d.public).await.len();
    let raw = reply(CARLA, &to, "c2@client.example", None, "Hello?");
    smtp_send(app.smtp_in, CARLA, &[&to], raw.as_bytes()).await.expect("accepted");
    assert_eq!(messages(&app, &d.mia, d.public).await.len(), count);
    let log = incoming(&app, &d.admin).await;
    assert!(log[0]["reason"].as_str().unwrap().starts_with("conversation_locked"), "{log:?}");
    app.stop().await;
}

#[tokio::test]
async fn r18_mail_to_the_support_address_starts_a_conversation_with_a_new_or_known_customer() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (status, _) =
        app.post(&admin, "/api/v1/organizations", json!({"name": "Client", "domain": "client.example"})).await;
    assert_eq!(status, 201);
    let raw = "From: Dana Novak <dana@client.example>\r\nTo: Acme <support@acme.test>\r\n\
               Subject: Cannot log in\r\nMessage-ID: <n1@client.example>\r\n\r\n\
               Hello, my password stopped working.\r\n\r\n-- \r\nDana Novak, Client Inc.\r\n";
    smtp_send(app.smtp_in, "dana@client.example", &[SUPPORT], raw.as_bytes()).await.expect("accepted");
    let log = incoming(&app, &admin).await;
    assert_eq!(log[0]["status"], "started", "{log:?}");
    let conversation = log[0]["conversation_id"].as_i64().unwrap();
    let (_, found) = app.get(&admin, &format!("/api/v1/conversations/{conversation}")).await;
    assert_eq!(found["subject"], "Cannot log in");
    assert_eq!(found["visibility"], "public");
    let first = messages(&app, &admin, conversation).await;
    assert_eq!(first[0]["body"], "Hello, my password stopped working.", "signature stripped");
    let customer = first[0]["author"]["id"].as_i64().unwrap();
    let (_, dana) = app.get(&admin, &format!("/api/v1/customers/{customer}")).await;
    assert_eq!((dana["email"].as_str(), dana["name"].as_str()), (Some("dana@client.example"), Some("Dana Novak")));
    assert!(dana["organization_id"].is_i64(), "joined the organization of her domain: {dana}");

    // Her second request is a second conversation, from the same customer.
    let raw = raw.replace("n1@", "n2@").replace("Cannot log in", "Invoice missing");
    smtp_send(app.smtp_in, "dana@client.example", &[SUPPORT], raw.as_bytes()).await.expect("accepted");
    let log = incoming(&app, &admin).await;
    assert_ne!(log[0]["conversation_id"], conversation);
    assert_eq!(log[0]["party"], json!({"kind": "customer", "id": customer}));
    // A retry of the first one starts nothing.
    let first_again = raw.replace("n2@", "n1@");
    smtp_send(app.smtp_in, "dana@client.example", &[SUPPORT], first_again.as_bytes()).await.expect("accepted");
    assert_eq!(incoming(&app, &admin).await[0]["status"], "duplicate");

    // The company wants a ticket for each new request: in the project it names.
    let project = app.project(&admin, "Inbox").await;
    let (status, _) = app.patch(&admin, "/api/v1/company", json!({"email_ticket_project_id": 999})).await;
    assert_eq!(status, 422, "an unknown project is refused");
    let (status, company) = app.patch(&admin, "/api/v1/company", json!({"email_ticket_project_id": project})).await;
    assert_eq!(status, 200, "{company}");
    assert_eq!(company["email_ticket_project_id"], project);
    let raw = raw.replace("n2@", "n3@").replace("Invoice missing", "Printer jammed");
    smtp_send(app.smtp_in, "dana@client.example", &[SUPPORT], raw.as_bytes()).await.expect("accepted");
    let log = incoming(&app, &admin).await;
    assert_eq!(log[0]["status"], "started", "{log:?}");
    let (_, found) = app.get(&admin, &format!("/api/v1/conversations/{}", log[0]["conversation_id"])).await;
    assert_eq!(found["link"]["kind"], "item", "{found}");
    let (_, ticket) = app.get(&admin, &format!("/api/v1/items/{}", found["link"]["id"])).await;
    assert_eq!((ticket["kind"].as_str(), ticket["title"].as_str()), (Some("ticket"), Some("Printer jammed")));
    assert_eq!(ticket["project_id"], project);
    assert_eq!(ticket["requesters"], json!([customer]));
    assert_eq!(ticket["created_by"], json!({"kind": "customer", "id": customer}));
    assert_eq!(log[0]["reason"], format!("opened ticket #{}", ticket["id"]));
    // Turned off again with null.
    let (_, company) = app.patch(&admin, "/api/v1/company", json!({"email_ticket_project_id": null})).await;
    assert!(company["email_ticket_project_id"].is_null(), "{company}");
    app.stop().await;
}

#[tokio::test]
async fn r19_automatic_mail_is_logged_and_never_answered() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    let mail = notified(&app, &smtp, &d.mia, d.public, "We are on it", CARLA).await;
    let to = reply_address(&mail);
    let count = messages(&app, &d.mia, d.public).await.len();
    let vacation = format!(
        "From: Carla <{CARLA}>\r\nTo: {to}\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\
         Message-ID: <ooo1@client.example>\r\n\r\nI am away until Monday.\r\n"
    );
    let bounce = "From: MAILER-DAEMON@client.example\r\nTo: support@acme.test\r\nSubject: Undelivered\r\n\
                  Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n\
                  Content-Type: text/plain\r\n\r\nNo such user\r\n--b--\r\n";
    smtp_send(app.smtp_in, CARLA, &[&to], vacation.as_bytes()).await.expect("accepted");
    smtp_send(app.smtp_in, "mailer-daemon@client.example", &[SUPPORT], bounce.as_bytes()).await.expect("accepted");
    let log = incoming(&app, &d.admin).await;
    assert_eq!((log[0]["status"].as_str(), log[0]["reason"].as_str()), (Some("automatic"), Some("bounce")));
    assert_eq!((log[1]["status"].as_str(), log[1]["reason"].as_str()), (Some("automatic"), Some("auto_submitted")));
    assert_eq!(messages(&app, &d.mia, d.public).await.len(), count, "nothing posted");
    let sent = smtp.mails().len();
    app.advance_ms(EMAIL_DELAY_MS * 10);
    app.deliver().await;
    assert_eq!(smtp.mails().len(), sent, "nothing answered");
    app.stop().await;
}

/// R19, R45: a bounce comes with the null reverse-path (`MAIL FROM:<>`), as mail servers send them:
/// the listener takes it, and it is logged as automatic and answered by nothing.
#[tokio::test]
async fn r19_r45_a_bounce_from_the_null_reverse_path_arrives_and_is_never_answered() {
    let app = spawn_app().await;
    let replies = smtp_dialogue(
        app.smtp_in,
        &[
            "EHLO mx.client.example",
            "MAIL FROM:<> SIZE=400",
            "RCPT TO:<support@acme.test>",
            "DATA",
            "From: Mail Delivery System <MAILER-DAEMON@client.example>",
            "To: support@acme.test",
            "Subject: Undelivered Mail Returned to Sender",
            "Auto-Submitted: auto-replied",
            "Content-Type: multipart/report; report-type=delivery-status; boundary=b",
            "",
            "--b",
            "Content-Type: text/plain",
            "",
            "No such user",
            "--b--",
            ".",
            "QUIT",
        ],
    )
    .await;
    assert!(replies[2].starts_with("250"), "the null reverse-path is taken: {replies:?}");
    assert!(replies[5].starts_with("250"), "{replies:?}");
    assert_eq!(replies[5], "250 2.0.0 Ok: queued", "the answer names nothing of what came before");
    let admin = app.admin().await;
    let log = incoming(&app, &admin).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "automatic", "{log:?}");
    app.stop().await;
}

/// R45: a line ends at CRLF alone: a bare LF inside a message's data never ends it, so a second
/// mail written after `\n.\n` is only words of the first, and starts nothing.
#[tokio::test]
async fn r45_no_second_mail_hides_inside_one_behind_a_bare_lf() {
    let app = spawn_app().await;
    let smuggled = "From: erin@client.example\r\nTo: support@acme.test\r\nSubject: One\r\n\r\nHello\n.\n\
                    MAIL FROM:<mallory@evil.example>\nRCPT TO:<support@acme.test>\nDATA\n\
                    From: ceo@acme.test\nSubject: Two\n\nPay this invoice\n.\n\r\n.\r\n";
    let stream = tokio::net::TcpStream::connect(app.smtp_in).await.unwrap();
    let (read, mut write) = stream.into_split();
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut read = tokio::io::BufReader::new(read);
    let mut answers = Vec::new();
    let mut line = String::new();
    read.read_line(&mut line).await.unwrap();
    for command in [
        "HELO client.example\r\n",
        "MAIL FROM:<erin@client.example>\r\n",
        "RCPT TO:<support@acme.test>\r\n",
        "DATA\r\n",
    ] {
        write.write_all(command.as_bytes()).await.unwrap();
        line.clear();
        read.read_line(&mut line).await.unwrap();
        answers.push(line.clone());
    }
    write.write_all(smuggled.as_bytes()).await.unwrap();
    write.write_all(b"QUIT\r\n").await.unwrap();
    loop {
        line.clear();
        if read.read_line(&mut line).await.unwrap() == 0 {
            break;
        }
        answers.push(line.clone());
    }
    let codes: Vec<&str> = answers.iter().map(|a| &a[..3]).collect();
    assert_eq!(codes, ["250", "250", "250", "354", "250", "221"], "one mail, one answer: {answers:?}");
    let admin = app.admin().await;
    let log = incoming(&app, &admin).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!((log[0]["subject"].as_str(), log[0]["status"].as_str()), (Some("One"), Some("started")));
    app.stop().await;
}

/// A connection to the listener, held open after its greeting, which must be 220.
async fn greeted_connection(app: &TestApp) -> tokio::io::BufReader<tokio::net::TcpStream> {
    let stream = tokio::net::TcpStream::connect(app.smtp_in).await.unwrap();
    let mut read = tokio::io::BufReader::new(stream);
    let mut greeting = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut read, &mut greeting).await.unwrap();
    assert!(greeting.starts_with("220"), "{greeting}");
    read
}

/// R45: a relay in front of Parley (out of the box, one on this machine) is held by the listener's
/// own limit only, not by one client's share.
#[tokio::test]
async fn r45_a_relay_may_hold_more_connections_than_one_client() {
    let app = spawn_app().await;
    let mut held = Vec::new();
    for _ in 0..15 {
        held.push(greeted_connection(&app).await);
    }
    app.stop().await;
}

/// R45: a refused mail keeps its headers only, with the size it came with.
#[tokio::test]
async fn r45_a_refused_mail_keeps_its_headers_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let head = "From: erin@client.example\r\nTo: support@acme.test\r\nSubject: Empty\r\nMessage-ID: <e0@client.example>\r\n\r\n";
    // No words of its own: refused, and only its headers stay.
    let empty = format!("{head}   \r\n{}\r\n", " ".repeat(5_000));
    smtp_send(app.smtp_in, "erin@client.example", &[SUPPORT], empty.as_bytes()).await.unwrap();
    let log = incoming(&app, &admin).await;
    assert_eq!(log[0]["status"], "refused", "{log:?}");
    assert_eq!(raw_of(&app, &admin, log[0]["id"].as_i64().unwrap()).await, head.as_bytes());
    assert!(log[0]["size"].as_i64().unwrap() > 5_000, "the size it came with: {log:?}");
    app.stop().await;
}

/// R45: past the incoming log's byte budget, a mail is still handled but keeps its headers only,
/// so that a flood of large mails cannot fill the disk.
#[tokio::test]
async fn r45_the_incoming_log_keeps_at_most_its_budget() {
    let app = spawn_app_with(|c| c.incoming_log_mb = 1).await;
    let admin = app.admin().await;
    let head = |n: i32| {
        format!("From: erin{n}@client.example\r\nTo: {SUPPORT}\r\nSubject: Big {n}\r\nMessage-ID: <big{n}@client.example>\r\n\r\n")
    };
    let big = |n: i32| format!("{}{}\r\n", head(n), "Lorem ipsum dolor sit amet.\r\n".repeat(23_000));
    for n in 1..=2 {
        smtp_send(app.smtp_in, &format!("erin{n}@client.example"), &[SUPPORT], big(n).as_bytes()).await.unwrap();
    }
    let log = incoming(&app, &admin).await;
    assert_eq!((log[1]["status"].as_str(), log[0]["status"].as_str()), (Some("started"), Some("started")), "{log:?}");
    let kept = |i: usize| raw_of(&app, &admin, log[i]["id"].as_i64().unwrap());
    assert!(kept(1).await.len() >= big(1).len(), "within the budget: all of it");
    assert_eq!(kept(0).await, head(2).into_bytes(), "past it: the headers");
    assert!(log[0]["reason"].as_str().unwrap().contains("budget"), "{log:?}");
    app.stop().await;
}

/// A mail of the incoming log as it is kept (admins).
async fn raw_of(app: &TestApp, admin: &Who, id: i64) -> Vec<u8> {
    let url = format!("{}/api/v1/incoming-emails/{id}/raw", app.base);
    let res = app.client.get(url).bearer_auth(&admin.token).send().await.unwrap();
    res.bytes().await.unwrap().to_vec()
}

/// R45: one client cannot take every connection: past its own share it is told to come back later,
/// while the listener still has room for others. (Here the test's own address is not a relay.)
#[tokio::test]
async fn r45_one_client_holds_at_most_ten_connections() {
    let app = spawn_app_with(|c| c.smtp_relays = vec![]).await;
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(greeted_connection(&app).await);
    }
    let refused = smtp_dialogue(app.smtp_in, &[]).await;
    assert!(refused[0].starts_with("421"), "the eleventh: {refused:?}");
    held.pop();
    // The freed slot is the client's again (the count goes down once the connection ends).
    let mut greeted = Vec::new();
    for _ in 0..50 {
        greeted = smtp_dialogue(app.smtp_in, &["QUIT"]).await;
        if greeted[0].starts_with("220") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(greeted[0].starts_with("220"), "{greeted:?}");
    app.stop().await;
}

/// R19, R45: a sender writing too often is told to come back later at MAIL time (450), before
/// its mail is read, and nothing of it is kept; a relay's mail is answered 429 the same way.
#[tokio::test]
async fn r19_r45_a_sender_writing_too_often_is_refused_for_a_while_before_anything_is_kept() {
    let app = spawn_app_with(|c| c.rate_limit = vec!["inbound_mail.address=2/1h".into()]).await;
    let admin = app.admin().await;
    let ping = |n: i32| {
        format!("From: bot@loop.example\r\nTo: {SUPPORT}\r\nSubject: Ping {n}\r\nMessage-ID: <p{n}@loop.example>\r\n\r\nPing\r\n")
    };
    for n in 0..2 {
        smtp_send(app.smtp_in, "bot@loop.example", &[SUPPORT], ping(n).as_bytes()).await.expect("accepted");
    }
    let refused = smtp_send(app.smtp_in, "bot@loop.example", &[SUPPORT], ping(2).as_bytes()).await.unwrap_err();
    assert!(refused.contains("450") || refused.contains("Too many mails"), "{refused}");
    // Another envelope sender from the same client still gets through.
    smtp_send(app.smtp_in, "person@loop.example", &[SUPPORT], ping(3).as_bytes()).await.expect("accepted");
    let log = incoming(&app, &admin).await;
    assert_eq!(log.len(), 3, "the refused mail left nothing: {log:?}");
    assert!(log.iter().all(|m| m["status"] == "started"), "{log:?}");

    let token = app.ok(&admin, "/api/v1/inbound-tokens", json!({"name": "Relay"}), 201).await;
    let token = token["token"].as_str().unwrap().to_string();
    let relayed = |n: i32| {
        let url = format!("{}/api/v1/inbound/email", app.base);
        let body = ping(n).replace("bot@loop.example", "relayed@loop.example");
        app.client.post(url).bearer_auth(&token).header("content-type", "message/rfc822").body(body).send()
    };
    for n in 10..12 {
        assert_eq!(relayed(n).await.unwrap().status(), 200);
    }
    let res = relayed(12).await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(incoming(&app, &admin).await.len(), 5);
    app.stop().await;
}

#[tokio::test]
async fn the_listener_takes_mail_only_for_its_own_addresses_and_never_relays() {
    let app = spawn_app().await;
    let replies = smtp_dialogue(
        app.smtp_in,
        &[
            "EHLO client.example",
            "MAIL FROM:<someone@client.example>",
            "RCPT TO:<victim@elsewhere.example>",
            "RCPT TO:<reply+x@elsewhere.example>",
            "RCPT TO:<support@acme.test>",
            "DATA",
            "From: someone@client.example",
            "Subject: hi",
            "",
            "..leading dot",
            ".",
            "QUIT",
        ],
    )
    .await;
    assert!(replies[0].starts_with("220"), "{replies:?}");
    assert!(replies[3].starts_with("550"), "another domain: {replies:?}");
    assert!(replies[4].starts_with("550"), "a reply address of another domain: {replies:?}");
    assert!(replies[5].starts_with("250"), "the support address: {replies:?}");
    assert!(replies[6].starts_with("354"), "{replies:?}");
    assert!(replies[7].starts_with("250"), "{replies:?}");
    assert!(replies[8].starts_with("221"), "{replies:?}");
    let admin = app.admin().await;
    let log = incoming(&app, &admin).await;
    assert_eq!(log[0]["to_addresses"], "support@acme.test", "only the accepted recipient: {log:?}");
    let id = log[0]["id"].as_i64().unwrap();
    let raw = app.client.get(format!("{}/api/v1/incoming-emails/{id}/raw", app.base)).bearer_auth(&admin.token);
    let raw = raw.send().await.unwrap().text().await.unwrap();
    assert!(raw.contains("\r\n.leading dot\r\n"), "dot-stuffing undone: {raw:?}");
    app.stop().await;
}

#[tokio::test]
async fn a_mail_over_the_size_limit_is_refused_with_552() {
    let app = spawn_app().await;
    let big = format!("From: a@client.example\r\nTo: {SUPPORT}\r\nSubject: big\r\n\r\n{}", "x".repeat(998) + "\r\n");
    let raw = big.repeat(10 * 1024 + 20);
    let refused = smtp_send(app.smtp_in, "a@client.example", &[SUPPORT], raw.as_bytes()).await.unwrap_err();
    assert!(refused.contains("552") || refused.to_lowercase().contains("too large"), "{refused}");
    let admin = app.admin().await;
    assert!(incoming(&app, &admin).await.is_empty(), "nothing logged");
    app.stop().await;
}

#[tokio::test]
async fn r32_relays_post_raw_mail_with_their_token_and_only_admins_read_the_log() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, MIA).await;
    let made = app.ok(&admin, "/api/v1/inbound-tokens", json!({"name": "Provider"}), 201).await;
    let token = made["token"].as_str().unwrap().to_string();
    let raw = "From: erin@client.example\r\nTo: support@acme.test\r\nSubject: Via relay\r\nMessage-ID: <h1@client.example>\r\n\r\nHello\r\n";
    let post = |bearer: String, content_type: &'static str| {
        app.client
            .post(format!("{}/api/v1/inbound/email", app.base))
            .bearer_auth(bearer)
            .header("content-type", content_type)
            .body(raw)
            .send()
    };
    let answer = post(token.clone(), "message/rfc822").await.unwrap();
    assert_eq!(answer.status(), 200);
    let logged: Value = answer.json().await.unwrap();
    assert_eq!((logged["status"].as_str(), logged["via"].as_str()), (Some("started"), Some("http")));

    assert_eq!(post(token.clone(), "text/plain").await.unwrap().status(), 415);
    assert_eq!(post(admin.token.clone(), "message/rfc822").await.unwrap().status(), 403, "a person is no relay");
    assert_eq!(post("pr_nonsense".into(), "message/rfc822").await.unwrap().status(), 401);
    // A relay token opens nothing else.
    let (status, _) = app.get(&Who { token: token.clone(), id: 0 }, "/api/v1/incoming-emails").await;
    assert_eq!(status, 401);

    let (status, _) = app.get(&mia, "/api/v1/incoming-emails").await;
    assert_eq!(status, 403);
    let (status, _) = app.get(&mia, &format!("/api/v1/incoming-emails/{}/raw", logged["id"])).await;
    assert_eq!(status, 403);
    let (status, one) = app.get(&admin, &format!("/api/v1/incoming-emails/{}", logged["id"])).await;
    assert_eq!((status, one["subject"].as_str()), (200, Some("Via relay")));

    let id = made["inbound_token"]["id"].as_i64().unwrap();
    let (status, _) = app.delete(&admin, &format!("/api/v1/inbound-tokens/{id}")).await;
    assert_eq!(status, 204);
    assert_eq!(post(token, "message/rfc822").await.unwrap().status(), 401, "revoked");

    // 72 hours later the mail and its raw bytes are gone.
    app.advance_ms(72 * 3600 * 1000 + 1);
    let (status, _) = app.get(&admin, &format!("/api/v1/incoming-emails/{}", logged["id"])).await;
    assert_eq!(status, 404);
    assert!(incoming(&app, &admin).await.is_empty());
    app.stop().await;
}

/// A loopback port that is bound now and, once `to` is known, forwards every connection to it.
/// Two Parleys that mail each other each need the other's address at launch; holding the port
/// from the start means no other test can take it between choosing it and listening on it.
async fn forwarder() -> (u16, tokio::sync::oneshot::Sender<std::net::SocketAddr>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (send, target) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let Ok(to) = target.await else { return };
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (port, send)
}

/// Helpdesk A's customer is helpdesk B's support address, and B's customer is A's: each Parley
/// mails the other's listener. Every email either sends is automatic to the other (R19), so it is
/// logged and answers nothing: the exchange stops at the emails people caused.
#[tokio::test]
async fn r19_two_parleys_mailing_each_other_answer_nothing_automatically() {
    let (to_b, b_listens_on) = forwarder().await;
    let a = spawn_app_with(|c| {
        c.smtp_from = "Helpdesk A <support@a.test>".into();
        c.smtp_url = Some(format!("smtp://127.0.0.1:{to_b}"));
    })
    .await;
    let a_listener = a.smtp_in;
    let b = spawn_app_with(|c| {
        c.smtp_from = "Helpdesk B <support@b.test>".into();
        c.smtp_url = Some(format!("smtp://{a_listener}"));
    })
    .await;
    b_listens_on.send(b.smtp_in).unwrap();
    let mut talks = Vec::new();
    for (app, other) in [(&a, "support@b.test"), (&b, "support@a.test")] {
        let admin = app.admin().await;
        let other = app.customer(&admin, other).await;
        let project = app.project(&admin, "Support").await;
        let ticket = app.ticket(&admin, project, "Shared printer", &[other.id]).await;
        let public = app.conversation(&admin, ticket, "public").await;
        talks.push((admin, public));
    }
    // A minute of simulated time in which people on both sides write now and then, and both
    // delivery workers run every second.
    let mut written = 0;
    for second in 0..60 {
        if second % 15 == 0 {
            for (app, (admin, public)) in [(&a, &talks[0]), (&b, &talks[1])] {
                app.say(admin, *public, &format!("Update at second {second}")).await;
                written += 1;
            }
        }
        for app in [&a, &b] {
            app.advance_ms(1_000);
            app.deliver().await;
        }
    }
    let mut received = 0;
    for (app, (admin, _)) in [(&a, &talks[0]), (&b, &talks[1])] {
        let log = incoming(app, admin).await;
        received += log.len();
        for mail in &log {
            assert_eq!(mail["status"], "automatic", "{mail}");
            assert_eq!(mail["reason"], "auto_submitted", "{mail}");
        }
        let (_, out) = app.get(admin, "/api/v1/outgoing-emails").await;
        let sent = out.as_array().unwrap().iter().filter(|e| e["status"] == "sent").count();
        assert_eq!(sent, 4, "one email per message people wrote, nothing in answer: {out}");
    }
    assert_eq!(received, written, "every email arrived once and caused nothing more");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn the_listener_offers_starttls_with_a_certificate_and_mail_arrives_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, key_pair } = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key_pair.serialize_pem()).unwrap();
    let app = spawn_app_with(|c| {
        c.smtp_listen_cert = Some(cert_path.clone());
        c.smtp_listen_key = Some(key_path.clone());
    })
    .await;
    let offered = smtp_dialogue(app.smtp_in, &["EHLO client.example", "QUIT"]).await;
    assert!(offered[1].contains("STARTTLS"), "{offered:?}");

    use lettre::transport::smtp::client::{Tls, TlsParameters};
    use lettre::AsyncTransport;
    // The test's certificate is self-signed: the client trusts it for this test only.
    let tls = TlsParameters::builder("localhost".into()).dangerous_accept_invalid_certs(true).build_rustls().unwrap();
    let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(app.smtp_in.port())
        .tls(Tls::Required(tls))
        .build();
    let raw = format!("From: dana@client.example\r\nTo: {SUPPORT}\r\nSubject: Over TLS\r\n\r\nSecret hello\r\n");
    let envelope =
        lettre::address::Envelope::new(Some("dana@client.example".parse().unwrap()), vec![SUPPORT.parse().unwrap()])
            .unwrap();
    transport.send_raw(&envelope, raw.as_bytes()).await.expect("sent over STARTTLS");
    let admin = app.admin().await;
    let log = incoming(&app, &admin).await;
    assert_eq!((log[0]["subject"].as_str(), log[0]["status"].as_str()), (Some("Over TLS"), Some("started")));
    app.stop().await;
}

#[tokio::test]
async fn a_mail_with_control_characters_is_cleaned_not_refused_and_leaves_nothing_half_made() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let raw = "From: \"Fay\u{7}\" <fay@client.example>\r\nTo: support@acme.test\r\nSubject: Printer\tjam\r\n\r\n\
               Page one\u{c}page two\u{1b}[0m\r\n";
    smtp_send(app.smtp_in, "fay@client.example", &[SUPPORT], raw.as_bytes()).await.expect("accepted");
    let log = incoming(&app, &admin).await;
    assert_eq!(log[0]["status"], "started", "{log:?}");
    let conversation = log[0]["conversation_id"].as_i64().unwrap();
    let (_, found) = app.get(&admin, &format!("/api/v1/conversations/{conversation}")).await;
    assert_eq!(found["subject"], "Printer jam");
    assert_eq!(messages(&app, &admin, conversation).await[0]["body"], "Page onepage two[0m");

    // A mail with no text at all is refused before any conversation is made.
    let empty = "From: gil@client.example\r\nTo: support@acme.test\r\nSubject: Nothing\r\n\r\n\u{c}\r\n";
    smtp_send(app.smtp_in, "gil@client.example", &[SUPPORT], empty.as_bytes()).await.expect("accepted");
    let log = incoming(&app, &admin).await;
    assert!(log[0]["reason"].as_str().unwrap().starts_with("empty"), "{log:?}");
    let (_, customers) = app.get(&admin, "/api/v1/customers?q=gil").await;
    assert_eq!(customers["customers"], serde_json::json!([]), "no customer made for it either: {customers}");
    app.stop().await;
}

/// The golden corpus (crates/parley-app/tests/corpus) through the relay endpoint: each mail, sent
/// to the support address, starts a conversation whose first message is exactly its expected text.
#[tokio::test]
async fn r17_the_corpus_posted_by_a_relay_gives_the_expected_messages() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let relay = app.ok(&admin, "/api/v1/inbound-tokens", json!({"name": "corpus"}), 201).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../parley-app/tests/corpus");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Ok(expected) = std::fs::read_to_string(path.with_extension("txt")) else { continue };
        if path.extension().is_none_or(|x| x != "eml") {
            continue;
        }
        let raw = as_new_request(&std::fs::read(&path).unwrap());
        let answer = app
            .client
            .post(format!("{}/api/v1/inbound/email", app.base))
            .bearer_auth(&relay)
            .header("content-type", "message/rfc822")
            .body(raw)
            .send()
            .await
            .unwrap();
        let logged: Value = answer.json().await.unwrap();
        assert_eq!(logged["status"], "started", "{}: {logged}", path.display());
        let first = messages(&app, &admin, logged["conversation_id"].as_i64().unwrap()).await;
        assert_eq!(first[0]["body"], expected.trim_end(), "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 7, "{checked} corpus mails");
    app.stop().await;
}

/// A corpus mail readdressed to the support address, without the threading headers of the
/// installation it was written for. (The corpus is ASCII: 8-bit text is encoded in it.)
fn as_new_request(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").expect("a header block");
    let mut out = String::new();
    let mut dropping = false;
    for line in head.lines() {
        // A folded line belongs to the header above it.
        if !line.starts_with([' ', '\t']) {
            let name = line.split(':').next().unwrap_or_default().to_ascii_lowercase();
            dropping = ["to", "cc", "in-reply-to", "references", "message-id"].contains(&name.as_str());
        }
        if !dropping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("To: support@acme.test\n\n");
    out.push_str(body);
    out.into_bytes()
}

#[tokio::test]
async fn r18_a_mails_files_become_the_messages_attachments_and_refused_ones_are_logged() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let raw = "From: Dana Novak <dana@client.example>\r\nTo: support@acme.test\r\nSubject: Broken screen\r\n\
               Message-ID: <files1@client.example>\r\nMIME-Version: 1.0\r\n\
               Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
               --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the photo and the log.\r\n\
               --b1\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"screen.png\"\r\n\
               Content-Transfer-Encoding: base64\r\n\r\n\
               iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=\r\n\
               --b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"app.log\"\r\n\r\n\
               error 42\r\n\
               --b1\r\nContent-Type: application/x-msdownload\r\nContent-Disposition: attachment; filename=\"fix.exe\"\r\n\
               Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n\
               --b1--\r\n";
    smtp_send(app.smtp_in, "dana@client.example", &[SUPPORT], raw.as_bytes()).await.expect("accepted");
    let log = incoming(&app, &admin).await;
    assert_eq!(log[0]["status"], "started", "{log:?}");
    let reason = log[0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("attachments dropped: fix.exe (files of type 'application/x-msdownload'"), "{reason}");
    let conversation = log[0]["conversation_id"].as_i64().unwrap();
    let first = messages(&app, &admin, conversation).await;
    assert_eq!(first[0]["body"], "See the photo and the log.");
    let files: Vec<(&str, &str, i64)> = first[0]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), a["content_type"].as_str().unwrap(), a["size"].as_i64().unwrap()))
        .collect();
    assert_eq!(files, vec![("screen.png", "image/png", 68), ("app.log", "text/plain", 8)]);
    let log_file = first[0]["attachments"][1]["id"].as_i64().unwrap();
    let (status, _, bytes) = app.fetch(Some(&admin), &format!("/api/v1/attachments/{log_file}")).await;
    assert_eq!((status, String::from_utf8_lossy(&bytes).trim_end()), (200, "error 42"));
    app.stop().await;
}
