//! R44 through the real server and a real SMTP server: an email's secrets — a password or login
//! link, a verification code, a reply token — are never stored rendered. What the store and the
//! outgoing log hold is a slot; the secret is filled in as the email leaves, and forgotten once it
//! is sent. Reply addresses expire.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_domain::sealed::{SECRET_SLOT, TOKEN_SLOT};
use parley_domain::OutgoingEmailId;
use parley_testkit::*;
use reqwest::Method;
use serde_json::{json, Value};

const CARLA: &str = Desk::CARLA;
const SUPPORT: &str = "support@acme.test";
const DAY_MS: i64 = 86_400_000;

/// The newest outgoing email to `address`, as the store holds it.
async fn stored_to(app: &TestApp, admin: &Who, address: &str) -> parley_store::OutgoingEmail {
    let (status, log) = app.get(admin, "/api/v1/outgoing-emails?limit=100").await;
    assert_eq!(status, 200, "{log}");
    let entry = log.as_array().unwrap().iter().find(|e| e["to_address"] == address).expect("an email to it");
    let id = OutgoingEmailId(entry["email_id"].as_i64().unwrap());
    app.store().await.outgoing_email(id).await.unwrap()
}

/// Whether anything stored of `email` names `secret`.
fn holds(email: &parley_store::OutgoingEmail, secret: &str) -> bool {
    let e = &email.email;
    [&e.subject, &e.body_text, &e.body_html, &e.message_id_header].iter().any(|t| t.contains(secret))
        || [&e.reply_to, &e.secret].iter().any(|t| t.as_deref().is_some_and(|t| t.contains(secret)))
}

/// The value after `lead` in `text`, up to a space, quote or line end.
fn after<'t>(text: &'t str, lead: &str) -> &'t str {
    let at = text.find(lead).unwrap_or_else(|| panic!("{lead} in {text}")) + lead.len();
    text[at..].split(|c: char| c.is_whitespace() || c == '"' || c == '<').next().unwrap()
}

#[tokio::test]
async fn r44_a_reset_link_is_a_slot_until_it_leaves_even_when_the_template_alters_it() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    app.user(&admin, "mia@team.example").await;
    app.deliver().await;
    // An admin's template that would put the link, changed, where the log keeps it.
    let path = "/api/v1/templates/system.password_reset";
    let (_, template) = app.get(&admin, path).await;
    let edit = json!({
        "subject": "Reset {{ link | upper }}",
        "body_text": "Here: {{ link | upper }}",
        "body_html": template["body_html"],
    });
    assert_eq!(app.call(Method::PUT, Some(&admin), path, Some(edit)).await.0, 200);
    let reset = json!({"email": "mia@team.example"});
    assert_eq!(app.call(Method::POST, None, "/api/v1/auth/password-reset", Some(reset)).await.0, 202);

    let queued = stored_to(&app, &admin, "mia@team.example").await;
    assert_eq!(queued.status, "queued");
    assert!(queued.email.body_text.contains(SECRET_SLOT), "{:?}", queued.email);
    assert!(!queued.email.body_text.contains("pw_") && !queued.email.subject.contains("PW_"), "{:?}", queued.email);
    assert!(queued.email.secret.as_deref().is_some_and(|s| s.contains("token=pw_")), "kept apart until sent");

    app.deliver().await;
    let mail = smtp.mails_to("mia@team.example").pop().expect("the reset email");
    // The altered template gave way to the default: the link arrives whole, and works.
    assert_eq!(mail.subject(), "Reset your password");
    let token = after(&mail.text(), "/set-password?token=").to_string();
    assert!(token.starts_with("pw_"), "{token}");
    let sent = stored_to(&app, &admin, "mia@team.example").await;
    assert_eq!(sent.status, "sent");
    assert!(!holds(&sent, &token) && sent.email.secret.is_none(), "forgotten once sent: {:?}", sent.email);
    let (_, logged) = app.get(&admin, &format!("/api/v1/outgoing-emails/{}", sent.id.0)).await;
    assert!(logged["body_text"].as_str().unwrap().contains(SECRET_SLOT) && logged.get("secret").is_none(), "{logged}");
    let set = json!({"token": token, "password": "a fresh passphrase"});
    assert_eq!(app.call(Method::POST, None, "/api/v1/auth/set-password", Some(set)).await.0, 204);
    app.stop().await;
}

#[tokio::test]
async fn r44_login_links_codes_and_reply_tokens_are_stored_as_slots() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    // A login link to the portal.
    let ask = json!({"email": CARLA});
    app.call(Method::POST, None, "/api/v1/auth/customer-link", Some(ask)).await;
    app.deliver().await;
    let link = after(&smtp.mails_to(CARLA).pop().unwrap().text(), "token=").to_string();
    assert!(link.starts_with("pl_"), "{link}");
    assert!(!holds(&stored_to(&app, &d.admin, CARLA).await, &link));
    // A code proving a visitor's address.
    let visitor = app.visitor().await;
    app.ok(&visitor, "/api/v1/widget/contact", json!({"email": "vera@elsewhere.example"}), 200).await;
    app.deliver().await;
    let mail = smtp.mails_to("vera@elsewhere.example").pop().unwrap();
    let code = after(mail.subject().as_str(), "Your code: ").to_string();
    assert_eq!(code.len(), 6, "{}", mail.subject());
    let stored = stored_to(&app, &d.admin, "vera@elsewhere.example").await;
    assert_eq!(stored.email.subject, format!("Your code: {SECRET_SLOT}"));
    assert!(!holds(&stored, &code));
    assert_eq!(app.post(&visitor, "/api/v1/widget/verify", json!({"code": code})).await.0, 200, "the code works");
    // A reply token: the stored address has a slot; the one sent is signed as it leaves.
    app.say(&d.mia, d.public, "We are on it").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let mail = smtp.mails_to(CARLA).pop().unwrap();
    let address = mail.header("Reply-To").unwrap().trim_matches(['<', '>']).to_string();
    let stored = stored_to(&app, &d.admin, CARLA).await;
    assert_eq!(stored.email.reply_to.as_deref(), Some(format!("reply+{TOKEN_SLOT}@acme.test").as_str()));
    assert!(!holds(&stored, &address["reply+".len()..address.len() - "@acme.test".len()]));
    let answer = "From: <carla@client.example>\r\nSubject: Re\r\nMessage-ID: <a1@client.example>\r\n\r\nThanks!\r\n";
    smtp_send(app.smtp_in, CARLA, &[&address], answer.as_bytes()).await.expect("accepted");
    let (_, messages) = app.get(&d.mia, &format!("/api/v1/conversations/{}/messages", d.public)).await;
    assert_eq!(messages.as_array().unwrap().last().unwrap()["body"], "Thanks!", "the filled address works");
    app.stop().await;
}

/// The newest row of the incoming log, as a freshly logged-in admin reads it.
async fn last_incoming(app: &TestApp) -> Value {
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.get(&admin, "/api/v1/incoming-emails").await.1[0].clone()
}

#[tokio::test]
async fn r44_a_reply_address_expires_a_customer_starts_a_new_request_and_a_user_is_refused() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    app.say(&d.mia, d.public, "Anything else?").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let to_carla = smtp.mails_to(CARLA).pop().unwrap();
    let carla_address = to_carla.header("Reply-To").unwrap().trim_matches(['<', '>']).to_string();
    let message_id = to_carla.header("Message-ID").unwrap();
    let internal = app.conversation(&d.admin, d.ticket, "internal").await;
    app.say(&d.admin, internal, "Mia, one more thing").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let to_mia = smtp.mails_to(Desk::MIA).pop().unwrap();
    let mia_address = to_mia.header("Reply-To").unwrap().trim_matches(['<', '>']).to_string();

    // Still good on the last day of its lifetime (180 days by default).
    app.advance_ms(180 * DAY_MS);
    let mail = |from: &str, id: &str, body: &str| {
        format!("From: <{from}>\r\nSubject: Re: help\r\nMessage-ID: <{id}>\r\n\r\n{body}\r\n")
    };
    smtp_send(app.smtp_in, CARLA, &[&carla_address], mail(CARLA, "e1@client.example", "Still there").as_bytes())
        .await
        .expect("accepted");
    assert_eq!(last_incoming(&app).await["status"], "posted");

    // A day later it has expired: Carla's words start a new request instead.
    app.advance_ms(DAY_MS);
    smtp_send(app.smtp_in, CARLA, &[&carla_address], mail(CARLA, "e2@client.example", "Months later").as_bytes())
        .await
        .expect("accepted");
    let row = last_incoming(&app).await;
    assert_eq!(row["status"], "started", "{row}");
    assert_ne!(row["conversation_id"], d.public, "{row}");
    assert!(row["reason"].as_str().unwrap().contains("more than 180 days old"), "{row}");
    // The same by the threading headers alone.
    let threaded = format!(
        "From: <{CARLA}>\r\nTo: {SUPPORT}\r\nSubject: Re\r\nMessage-ID: <e3@client.example>\r\n\
         In-Reply-To: {message_id}\r\n\r\nBy the headers\r\n"
    );
    smtp_send(app.smtp_in, CARLA, &[SUPPORT], threaded.as_bytes()).await.expect("accepted");
    let row = last_incoming(&app).await;
    assert!(row["reason"].as_str().is_some_and(|r| r.contains("more than 180 days old")), "{row}");
    assert_ne!(row["conversation_id"], d.public, "{row}");
    // A user's expired address is refused: staff answer in Parley.
    smtp_send(app.smtp_in, Desk::MIA, &[&mia_address], mail(Desk::MIA, "e4@team.example", "Late").as_bytes())
        .await
        .expect("accepted");
    let row = last_incoming(&app).await;
    assert_eq!(row["status"], "refused", "{row}");
    assert!(row["reason"].as_str().unwrap().starts_with("expired"), "{row}");
    app.stop().await;
}
