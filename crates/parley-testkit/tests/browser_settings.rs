//! Settings in a real headless Chromium: a member edits their own notifications but not their
//! scope; an admin sets scopes, company defaults, the new-message template, and reads the
//! outgoing email log (R20–R25, R3, R29, R32).
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::browser::Browser;
use parley_testkit::*;

#[tokio::test]
async fn r22_r20_a_member_edits_notifications_and_an_admin_the_rest() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&admin, public, "Hello").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;

    let browser = Browser::start().await;
    let member = browser.session().await;
    member.login(&app.base, "mia@acme.test", PASSWORD).await;
    member.goto(&format!("{}/settings", app.base)).await;
    member.wait_for("#scope", |t| t.contains("all projects")).await;
    assert!(!member.find("#company").await.is_displayed().await.unwrap(), "company settings are for admins");
    member.find("select[name='customer_messages']").await.select_by_value("none").await.unwrap();
    member.click("input[name='sound']").await;
    member.click("#preferences-form button[type=submit]").await;
    member.wait_for("#preferences-form .form-status", |t| t.contains("Saved")).await;
    let (_, prefs) = app.get(&mia, &format!("/api/v1/users/{}/preferences", mia.id)).await;
    assert_eq!((prefs["customer_messages"].as_str(), prefs["sound"].as_bool()), (Some("none"), Some(false)));
    member.close().await;

    // R42: Mia sets herself away; colleagues see it beside her name.
    let away =
        app.call(reqwest::Method::PUT, Some(&mia), "/api/v1/me/away", Some(serde_json::json!({"away": true}))).await;
    assert_eq!(away.0, 200);
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/settings", app.base)).await;
    page.wait_for(&format!("[data-presence='{}']", mia.id), |t| t == "away").await;
    let scope = page.find(&format!("select[data-user='{}']", mia.id)).await;
    scope.select_by_value("followed_projects").await.unwrap();
    // Said beside the control that was changed.
    page.wait_for(&format!("select[data-user='{}'] + .form-status", mia.id), |t| t.contains("Saved")).await;
    let (_, prefs) = app.get(&admin, &format!("/api/v1/users/{}/preferences", mia.id)).await;
    assert_eq!(prefs["scope"], "followed_projects");

    page.find("#company-form select[name='item_default_visibility']").await.select_by_value("internal").await.unwrap();
    page.find("#company-form select[name='email_ticket_project_id']")
        .await
        .select_by_value(&project.to_string())
        .await
        .unwrap();
    page.find("#company-form select[name='portal_request_project_id']")
        .await
        .select_by_value(&project.to_string())
        .await
        .unwrap();
    page.fill("#company-form input[name='staff_display_name']", "ACME Support").await;
    page.fill("#company-form textarea[name='widget_greeting']", "Hello from ACME!").await;
    page.fill("#company-form input[name='widget_reply_time']", "We reply within an hour.").await;
    // R33: the send guard per kind of conversation; left empty, the default shown stays.
    page.fill("#company-form input[name='chat_send_guard_s']", "1.5").await;
    // R42: routing to everyone, and a cap.
    page.click("#company-form input[name='routing'][value='everyone']").await;
    page.fill("#company-form input[name='routing_cap']", "4").await;
    page.click("#company-form button[type=submit]").await;
    page.wait_for("#company-form .form-status", |t| t.contains("Saved")).await;
    let company = app.get(&admin, "/api/v1/company").await.1;
    assert_eq!(company["item_default_visibility"], "internal");
    assert_eq!(company["email_ticket_project_id"], project, "R18: new requests by email open tickets there");
    assert_eq!(company["portal_request_project_id"], project);
    assert_eq!(company["staff_display_name"], "ACME Support");
    assert_eq!(
        (company["widget_greeting"].as_str(), company["widget_reply_time"].as_str()),
        (Some("Hello from ACME!"), Some("We reply within an hour."))
    );
    assert_eq!((company["chat_send_guard_ms"].as_i64(), company["send_guard_ms"].as_i64()), (Some(1500), None));
    assert_eq!((company["routing"].as_str(), company["routing_cap"].as_i64()), (Some("everyone"), Some(4)));
    page.client
        .execute(
            "document.querySelector(\"#company-form input[name='routing']\").scrollIntoView({block: 'center'})",
            vec![],
        )
        .await
        .unwrap();
    page.screenshot("settings-routing").await;
    // Emptied: each by their own name again; a failed save says why under the same button.
    page.fill("#company-form input[name='staff_display_name']", "").await;
    page.click("#company-form button[type=submit]").await;
    page.wait_for("#company-form .form-status", |t| t.contains("Saved")).await;
    assert_eq!(app.get(&admin, "/api/v1/company").await.1["staff_display_name"], serde_json::Value::Null);

    page.click("#tab-outgoing").await;
    page.wait_for("#outgoing", |t| t.contains("carla@client.example") && t.contains("sent")).await;
    page.click("#tab-automations").await;
    page.fill("#template-form input[name='subject']", "{% if %}").await;
    page.click("#template-form button[type=submit]").await;
    page.wait_for("#template-form .form-status.error[role=alert]", |t| t.contains("subject")).await;
    page.fill("#template-form input[name='subject']", "[Acme] {{ conversation.subject }}").await;
    page.click("#template-form button[type=submit]").await;
    page.wait_for("#template-form .form-status", |t| t.contains("Saved")).await;
    assert_eq!(
        app.get(&admin, "/api/v1/templates/new_message").await.1["subject"],
        "[Acme] {{ conversation.subject }}"
    );
    page.screenshot("settings").await;
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r32_an_admin_reads_the_incoming_log_and_makes_relay_tokens() {
    let app = spawn_app().await;
    let raw = "From: Dana <dana@client.example>\r\nTo: support@acme.test\r\nSubject: Cannot log in\r\n\
               Message-ID: <b1@client.example>\r\n\r\nMy password stopped working.\r\n";
    smtp_send(app.smtp_in, "dana@client.example", &["support@acme.test"], raw.as_bytes()).await.expect("accepted");
    let vacation = "From: Eve <eve@client.example>\r\nTo: support@acme.test\r\nSubject: Away\r\n\
                    Auto-Submitted: auto-replied\r\n\r\nI am away.\r\n";
    smtp_send(app.smtp_in, "eve@client.example", &["support@acme.test"], vacation.as_bytes()).await.expect("accepted");

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/settings", app.base)).await;
    page.click("#tab-incoming").await;
    let log = page.wait_for("#incoming", |t| t.contains("Cannot log in") && t.contains("Away")).await;
    assert!(log.contains("started a conversation"), "{log}");
    assert!(log.contains("ignored: automatic") && log.contains("auto_submitted"), "{log}");

    page.fill("#relay-token-form input[name='name']", "Postfix on mx1").await;
    page.click("#relay-token-form button[type=submit]").await;
    let token = page.wait_for("#relay-token-value", |t| t.starts_with("pr_")).await;
    page.wait_for("#relay-tokens", |t| t.contains("Postfix on mx1") && t.contains("never used")).await;
    let posted = app
        .client
        .post(format!("{}/api/v1/inbound/email", app.base))
        .bearer_auth(token.trim())
        .header("content-type", "message/rfc822")
        .body(raw.replace("b1@", "b2@"))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200, "the token shown once works");
    page.click("#relay-tokens button").await;
    page.wait_for("#relay-tokens + .form-status", |t| t.contains("revoked")).await;
    let admin = app.admin().await;
    assert_eq!(app.get(&admin, "/api/v1/inbound-tokens").await.1, serde_json::json!([]));
    page.screenshot("settings-incoming").await;
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r29_admin_pages_preview_templates_edit_users_and_link_the_email_log() {
    use parley_domain::values::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&admin, public, "Hello").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/settings", app.base)).await;

    // The email log links each email to its conversation and its person.
    page.click("#tab-outgoing").await;
    let row = format!("#outgoing a[href='/c/{public}']");
    page.find(&row).await;
    let person = page.find(&format!("#outgoing a[href='#customer-{}']", carla.id)).await;
    assert_eq!(person.text().await.unwrap(), "carla");
    page.click("#tab-automations").await;

    // The template as edited, rendered with sample data; a broken one says part and line.
    page.fill("#template-form input[name='subject']", "Hi {{ recipient.name }}: {{ conversation.subject }}").await;
    page.click("#template-preview-open").await;
    page.wait_for("#preview-subject", |t| t == "Hi Ada: Printer on fire").await;
    page.wait_for("#preview-text", |t| t.contains("Hello Ada")).await;
    let frame = page.find("#preview-html").await;
    assert!(frame.attr("srcdoc").await.unwrap().unwrap_or_default().contains("<strong>Bob</strong>"));
    assert_eq!(frame.attr("sandbox").await.unwrap().as_deref(), Some(""), "nothing in the preview runs");
    page.screenshot("template-preview").await;
    page.fill("#template-form input[name='subject']", "{{ conversation.subject ").await;
    page.click("#template-preview-open").await;
    page.wait_for("#template-form .form-status.error", |t| t.contains("subject, line 1")).await;
    let saved = app.get(&admin, "/api/v1/templates/new_message").await.1;
    assert!(
        !saved["subject"].as_str().unwrap().starts_with("Hi {{ recipient.name }}"),
        "a preview saves nothing: {saved}"
    );

    // A user's name and role are edited in their row; the answer is said beside its button.
    page.fill(&format!("input[data-user-name='{}']", mia.id), "Mia Wong").await;
    page.find(&format!("select[data-user-role='{}']", mia.id)).await.select_by_value("admin").await.unwrap();
    page.click(&format!("button[data-user-save='{}']", mia.id)).await;
    page.wait_for(&format!("button[data-user-save='{}'] + .form-status", mia.id), |t| t.contains("Saved")).await;
    let (_, user) = app.get(&admin, &format!("/api/v1/users/{}", mia.id)).await;
    assert_eq!((user["name"].as_str(), user["role"].as_str()), (Some("Mia Wong"), Some("admin")));

    // Deactivating a user signs them out at once; the row says so and offers to reactivate.
    let mia_session = app.login("mia@acme.test", PASSWORD).await;
    page.click(&format!("button[data-user-active='{}']", mia.id)).await;
    page.wait_for(&format!("button[data-user-active='{}'] + .form-status", mia.id), |t| t.contains("Deactivated"))
        .await;
    page.wait_for(&format!("#user-{}", mia.id), |t| t.contains("deactivated") && t.contains("Reactivate")).await;
    assert_eq!(app.get(&mia_session, "/api/v1/me").await.0, 401);
    page.click(&format!("button[data-user-active='{}']", mia.id)).await;
    page.wait_for(&format!("button[data-user-active='{}'] + .form-status", mia.id), |t| t.contains("Reactivated"))
        .await;
    app.login("mia@acme.test", PASSWORD).await;

    // The password rule is the server's, said the same in the form.
    let field = page.find("#user-form input[name='password']").await;
    assert_eq!(field.attr("minlength").await.unwrap(), Some(MIN_PASSWORD_CHARS.to_string()));
    assert_eq!(field.attr("maxlength").await.unwrap(), Some(MAX_PASSWORD_CHARS.to_string()));
    let said = field.attr("placeholder").await.unwrap().unwrap_or_default();
    assert!(said.contains(&format!("{MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS}")), "{said}");
    let short = "x".repeat(MIN_PASSWORD_CHARS - 1);
    let body = serde_json::json!({"email": "short@acme.test", "name": "Short", "password": short});
    let (status, refused) = app.post(&admin, "/api/v1/users", body).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]["message"].as_str().unwrap().contains(&format!("at least {MIN_PASSWORD_CHARS}")),
        "{refused}"
    );
    page.close().await;
    app.stop().await;
}
