//! R25, R31, R38 through the real server and a real SMTP server: password resets, welcome and
//! portal invitations, assignment and new-member emails, project invitations, and the switches
//! admins turn system emails off with.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const AT_ONCE: Duration = Duration::from_secs(1);
const SESSION_ENDED: u16 = 4001;
const NEW_PASSWORD: &str = "a fresh passphrase";

/// The token of the link to `page` in a mail's text.
fn token_in(text: &str, page: &str) -> String {
    let at = text.find(&format!("{page}?token=")).unwrap_or_else(|| panic!("a link to {page} in {text}"));
    let start = at + page.len() + "?token=".len();
    text[start..].split(|c: char| c.is_whitespace() || c == '"').next().unwrap().to_string()
}

async fn anonymous(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    app.call(Method::POST, None, path, Some(body)).await
}

async fn set_password(app: &TestApp, token: &str, password: &str) -> (u16, Value) {
    anonymous(app, "/api/v1/auth/set-password", json!({"token": token, "password": password})).await
}

/// Sends what is queued and answers every mail `address` received.
async fn mails_to(app: &TestApp, smtp: &SmtpSink, address: &str) -> Vec<ReceivedMail> {
    app.deliver().await;
    smtp.mails_to(address)
}

#[tokio::test]
async fn r38_a_reset_link_works_once_expires_and_ends_every_session_and_token() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let other = app.login("mia@team.example", PASSWORD).await;
    let mut socket = app.socket(&other).await;
    let api_token =
        app.ok(&mia, "/api/v1/me/tokens", json!({"name": "ci"}), 201).await["token"].as_str().unwrap().to_string();

    let ask = |email: &'static str| anonymous(&app, "/api/v1/auth/password-reset", json!({"email": email}));
    // The same answer for unknown addresses, and no sooner: every answer waits out one floor,
    // longer than sending a link takes (R44: the door tells nothing by its timing).
    let timed = |email: &'static str| async move {
        let started = std::time::Instant::now();
        let status = ask(email).await.0;
        (status, started.elapsed() >= std::time::Duration::from_millis(250))
    };
    assert_eq!(timed("mia@team.example").await, (202, true));
    assert_eq!(timed("nobody@team.example").await, (202, true), "the same answer for unknown addresses");
    let mails = mails_to(&app, &smtp, "mia@team.example").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject(), "Reset your password");
    assert!(smtp.mails_to("nobody@team.example").is_empty());
    let token = token_in(&mails[0].text(), "/set-password");
    // The admins' outgoing log shows the email, not the link in it (R44: it was never stored).
    let (_, log) = app.get(&admin, "/api/v1/outgoing-emails").await;
    let (_, logged) = app.get(&admin, &format!("/api/v1/outgoing-emails/{}", log[0]["email_id"])).await;
    let text = logged["body_text"].as_str().unwrap();
    assert!(text.contains(parley_domain::sealed::SECRET_SLOT) && !text.contains(&token), "{logged}");

    let (status, body) = set_password(&app, &token, "password").await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_input")), "{body}");
    assert_eq!(set_password(&app, &token, NEW_PASSWORD).await.0, 204, "a refused password does not spend the link");
    assert_eq!(socket.closed_with(AT_ONCE).await, Some(SESSION_ENDED));
    assert_eq!(app.get(&mia, "/api/v1/me").await.0, 401, "every session ends");
    let by_token = Who { token: api_token, id: mia.id };
    assert_eq!(app.get(&by_token, "/api/v1/me").await.0, 401, "API tokens end too");
    app.login("mia@team.example", NEW_PASSWORD).await;
    let (status, body) = set_password(&app, &token, "another passphrase").await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_link")), "once");

    assert_eq!(ask("mia@team.example").await.0, 202);
    let mails = mails_to(&app, &smtp, "mia@team.example").await;
    let late = token_in(&mails.last().unwrap().text(), "/set-password");
    app.advance_ms(60 * 60_000);
    assert_eq!(set_password(&app, &late, "another passphrase").await.0, 422, "expired after an hour");
    app.login("mia@team.example", NEW_PASSWORD).await;
    app.stop().await;
}

#[tokio::test]
async fn r39_reset_links_are_throttled_per_person() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    app.user(&admin, "mia@team.example").await;
    for _ in 0..3 {
        assert_eq!(anonymous(&app, "/api/v1/auth/password-reset", json!({"email": "mia@team.example"})).await.0, 202);
    }
    let (status, _) = anonymous(&app, "/api/v1/auth/password-reset", json!({"email": "mia@team.example"})).await;
    assert_eq!(status, 429, "the address's limit");
    assert_eq!(mails_to(&app, &smtp, "mia@team.example").await.len(), 3);
    let (status, body) = anonymous(&app, "/api/v1/auth/password-reset", json!({"email": "not an address"})).await;
    assert!((400..500).contains(&status), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn r31_a_welcome_lets_a_new_user_choose_their_password_and_a_customer_is_invited_to_the_portal() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let new = json!({"email": "leo@team.example", "name": "Leo"});
    app.ok(&admin, "/api/v1/users", new, 201).await;
    let (status, _) = anonymous(&app, "/api/v1/auth/login", json!({"email": "leo@team.example", "password": ""})).await;
    assert_eq!(status, 401, "no password until he chooses one");
    let mails = mails_to(&app, &smtp, "leo@team.example").await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].subject().starts_with("Welcome to"), "{}", mails[0].subject());
    let token = token_in(&mails[0].text(), "/set-password");
    assert_eq!(set_password(&app, &token, NEW_PASSWORD).await.0, 204);
    app.login("leo@team.example", NEW_PASSWORD).await;

    let carla =
        app.ok(&admin, "/api/v1/customers", json!({"email": "carla@client.example", "name": "Carla"}), 201).await;
    let invite = format!("/api/v1/customers/{}/invite", carla["id"]);
    assert_eq!(app.post(&admin, &invite, json!({})).await.0, 202);
    let mails = mails_to(&app, &smtp, "carla@client.example").await;
    assert_eq!(mails.len(), 1);
    let token = token_in(&mails[0].text(), "/portal/set-password");
    assert_eq!(set_password(&app, &token, NEW_PASSWORD).await.0, 204);
    app.login_at("/api/v1/auth/customer-login", "carla@client.example", NEW_PASSWORD).await;
    let carla_who = app.login_at("/api/v1/auth/customer-login", "carla@client.example", NEW_PASSWORD).await;
    assert_eq!(app.post(&carla_who, &invite, json!({})).await.0, 404, "customers do not invite");
    app.stop().await;
}

#[tokio::test]
async fn r31_a_disabled_system_email_is_not_sent_while_password_reset_still_is() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let (status, list) = app.get(&admin, "/api/v1/system-emails").await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 6);
    assert!(list.as_array().unwrap().iter().all(|e| e["enabled"] == json!(true)));
    assert_eq!(app.get(&mia, "/api/v1/system-emails").await.0, 403, "admins only");

    let off = app.patch(&admin, "/api/v1/system-emails/welcome", json!({"enabled": false})).await;
    assert_eq!((off.0, off.1["enabled"].clone()), (200, json!(false)));
    let (status, body) = app.patch(&admin, "/api/v1/system-emails/password_reset", json!({"enabled": false})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("always_sent")), "{body}");
    assert_eq!(app.patch(&admin, "/api/v1/system-emails/nonsense", json!({"enabled": false})).await.0, 404);

    app.ok(&admin, "/api/v1/users", json!({"email": "leo@team.example", "name": "Leo"}), 201).await;
    assert!(mails_to(&app, &smtp, "leo@team.example").await.is_empty(), "the welcome is off");
    assert_eq!(anonymous(&app, "/api/v1/auth/password-reset", json!({"email": "leo@team.example"})).await.0, 202);
    let mails = mails_to(&app, &smtp, "leo@team.example").await;
    assert_eq!(mails.len(), 1, "the reset still goes out");
    assert_eq!(mails[0].subject(), "Reset your password");

    app.patch(&admin, "/api/v1/system-emails/customer_invite", json!({"enabled": false})).await;
    let carla =
        app.ok(&admin, "/api/v1/customers", json!({"email": "carla@client.example", "name": "Carla"}), 201).await;
    let (status, body) = app.post(&admin, &format!("/api/v1/customers/{}/invite", carla["id"]), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("email_turned_off")));
    app.stop().await;
}

#[tokio::test]
async fn r31_a_system_template_is_edited_previewed_and_used() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    app.user(&admin, "mia@team.example").await;
    let path = "/api/v1/templates/system.password_reset";
    let (status, template) = app.get(&admin, path).await;
    assert_eq!(status, 200);
    let mut edit = json!({
        "subject": "New password for {{ recipient.name }}",
        "body_text": template["body_text"],
        "body_html": template["body_html"],
    });
    let (status, preview) = app.post(&admin, &format!("{path}/preview"), edit.clone()).await;
    assert_eq!((status, preview["subject"].as_str()), (200, Some("New password for Ada")), "{preview}");
    edit["body_text"] = json!("{% if link %}unclosed");
    let (status, body) = app.call(Method::PUT, Some(&admin), path, Some(edit.clone())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_template")), "{body}");
    edit["body_text"] = json!("Hello {{ recipient.name }}: {{ link }}");
    assert_eq!(app.call(Method::PUT, Some(&admin), path, Some(edit)).await.0, 200);
    anonymous(&app, "/api/v1/auth/password-reset", json!({"email": "mia@team.example"})).await;
    let mails = mails_to(&app, &smtp, "mia@team.example").await;
    assert_eq!(mails[0].subject(), "New password for mia");
    assert!(mails[0].text().starts_with("Hello mia: http"), "{}", mails[0].text());
    app.stop().await;
}

#[tokio::test]
async fn r25_an_assignee_with_assignment_emails_off_gets_none() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[]).await;
    let assign = json!({"role": "assignee", "party": {"kind": "user", "id": mia.id}});
    app.ok(&admin, &format!("/api/v1/items/{ticket}/people"), assign.clone(), 200).await;
    let mails = mails_to(&app, &smtp, "mia@team.example").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject(), format!("Assigned to you: [Ticket #{ticket}] Printer on fire"));
    assert!(mails[0].text().contains("Administrator assigned you"), "says who: {}", mails[0].text());

    let path = format!("/api/v1/items/{ticket}/people/assignee/user/{}", mia.id);
    assert_eq!(app.delete(&admin, &path).await.0, 200);
    let mails = mails_to(&app, &smtp, "mia@team.example").await;
    assert_eq!(mails.len(), 2);
    assert!(mails[1].subject().starts_with("No longer assigned to you"), "{}", mails[1].subject());

    let off = json!({"email_assignment_changes": false});
    assert_eq!(app.patch(&mia, &format!("/api/v1/users/{}/preferences", mia.id), off).await.0, 200);
    app.ok(&admin, &format!("/api/v1/items/{ticket}/people"), assign, 200).await;
    assert_eq!(mails_to(&app, &smtp, "mia@team.example").await.len(), 2, "she turned them off");

    // Assigning oneself tells no one.
    let own = json!({"role": "assignee", "party": {"kind": "user", "id": admin.id}});
    app.ok(&admin, &format!("/api/v1/items/{ticket}/people"), own, 200).await;
    assert!(mails_to(&app, &smtp, ADMIN_EMAIL).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn r25_an_invitation_is_accepted_at_once_only_with_auto_accept_invitations() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let leo = app.user(&admin, "leo@team.example").await;
    let ann = app.user(&admin, "ann@team.example").await;
    let project = app.project(&admin, "Support").await;
    let member = json!({"role": "member", "party": {"kind": "user", "id": ann.id}});
    app.ok(&admin, &format!("/api/v1/projects/{project}/people"), member, 200).await;
    let members =
        |p: &Value| p["member_users"].as_array().unwrap().iter().map(|m| m.as_i64().unwrap()).collect::<Vec<_>>();

    // Mia decides: an invitation waits, and is emailed with a link.
    let invite = format!("/api/v1/projects/{project}/invitations");
    let invitation = app.ok(&admin, &invite, json!({"user_id": mia.id}), 201).await;
    assert_eq!(invitation["state"], "pending");
    let (status, body) = app.post(&admin, &invite, json!({"user_id": mia.id})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("invitation_pending")));
    assert!(!members(&app.get(&admin, &format!("/api/v1/projects/{project}")).await.1).contains(&mia.id));
    let (_, mine) = app.get(&mia, "/api/v1/me/invitations").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["project_name"], "Support");
    let id = invitation["id"].as_i64().unwrap();
    assert_eq!(app.post(&leo, &format!("/api/v1/invitations/{id}/accept"), json!({})).await.0, 404, "not his");
    let mails = mails_to(&app, &smtp, "mia@team.example").await;
    assert_eq!(mails.len(), 1);
    let token = token_in(&mails[0].text(), "/invitations/accept");
    let (status, accepted) = anonymous(&app, "/api/v1/invitations/accept-link", json!({"token": token})).await;
    assert_eq!((status, accepted["state"].as_str()), (200, Some("accepted")), "{accepted}");
    assert!(members(&app.get(&admin, &format!("/api/v1/projects/{project}")).await.1).contains(&mia.id));
    let (status, body) = anonymous(&app, "/api/v1/invitations/accept-link", json!({"token": token})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("already_answered")));
    let joined = mails_to(&app, &smtp, "ann@team.example").await;
    assert_eq!(joined.len(), 1, "Ann hears Mia joined");
    assert_eq!(joined[0].subject(), "mia joined Support");

    // Leo accepts every invitation: he is a member at once, and no invitation is emailed.
    let auto = json!({"auto_accept_invitations": true});
    assert_eq!(app.patch(&leo, &format!("/api/v1/users/{}/preferences", leo.id), auto).await.0, 200);
    let ann_off = json!({"email_new_members": false});
    assert_eq!(app.patch(&ann, &format!("/api/v1/users/{}/preferences", ann.id), ann_off).await.0, 200);
    let invitation = app.ok(&admin, &invite, json!({"user_id": leo.id}), 201).await;
    assert_eq!(invitation["state"], "accepted");
    assert!(members(&app.get(&admin, &format!("/api/v1/projects/{project}")).await.1).contains(&leo.id));
    assert!(mails_to(&app, &smtp, "leo@team.example").await.is_empty());
    assert_eq!(mails_to(&app, &smtp, "ann@team.example").await.len(), 1, "Ann turned new-member emails off");
    let mia_mails = mails_to(&app, &smtp, "mia@team.example").await;
    assert_eq!(mia_mails.last().unwrap().subject(), "leo joined Support", "Mia, a member now, hears");
    let (status, body) = app.post(&admin, &invite, json!({"user_id": leo.id})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("already_member")));

    // A declined invitation leaves the user out; members do not invite.
    let bo = app.user(&admin, "bo@team.example").await;
    let invitation = app.ok(&admin, &invite, json!({"user_id": bo.id}), 201).await;
    let decline = format!("/api/v1/invitations/{}/decline", invitation["id"]);
    assert_eq!(app.ok(&bo, &decline, json!({}), 200).await["state"], "declined");
    assert_eq!(app.post(&bo, &decline, json!({})).await.0, 409);
    assert!(!members(&app.get(&admin, &format!("/api/v1/projects/{project}")).await.1).contains(&bo.id));
    assert_eq!(app.post(&mia, &invite, json!({"user_id": bo.id})).await.0, 403);
    app.stop().await;
}
