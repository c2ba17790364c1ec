//! The messaging center and account links in a real headless Chromium (R25, R31): an admin turns
//! system emails off and edits their templates (the password reset's switch is disabled, with
//! the reason beside it); a new user chooses their password from the welcome link; a member
//! answers a project invitation in Settings.
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::browser::Browser;
use parley_testkit::*;
use serde_json::json;

fn token_in(text: &str, page: &str) -> String {
    let at = text.find(&format!("{page}?token=")).expect("a link");
    let start = at + page.len() + "?token=".len();
    text[start..].split(|c: char| c.is_whitespace() || c == '"').next().unwrap().to_string()
}

#[tokio::test]
async fn r31_system_emails_are_switched_and_edited_and_a_welcome_link_sets_a_password() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/settings#messaging", app.base)).await;
    page.click("#tab-system-emails").await;

    // The password reset cannot be turned off: its switch is disabled and says why.
    let reset = page.find("input[data-system-email='password_reset']").await;
    assert!(!reset.is_enabled().await.unwrap(), "the reset's switch is disabled");
    page.wait_for("tr[data-kind='password_reset']", |t| t.contains("no way back in")).await;
    // Turned off, the customer invitation is not sent; said beside the switch.
    page.click("input[data-system-email='customer_invite']").await;
    page.wait_for("input[data-system-email='customer_invite'] + .form-status", |t| t.contains("Off")).await;
    let (_, emails) = app.get(&admin, "/api/v1/system-emails").await;
    let invite = emails.as_array().unwrap().iter().find(|e| e["kind"] == "customer_invite").unwrap();
    assert_eq!(invite["enabled"], false);

    // A system email's template is edited and previewed in the same form as the new-message one.
    page.click("button[data-edit-template='system.password_reset']").await;
    page.wait_for("#template-title", |t| t.contains("Password reset")).await;
    page.fill("#template-form input[name='subject']", "Your new {{ company.name }} password").await;
    page.click("#template-preview-open").await;
    page.wait_for("#preview-subject", |t| t == "Your new Acme password").await;
    page.wait_for("#preview-text", |t| t.contains("Hello Ada")).await;
    page.click("#template-form button[type=submit]").await;
    page.wait_for("#template-form .form-status", |t| t.contains("Saved")).await;
    let saved = app.get(&admin, "/api/v1/templates/system.password_reset").await.1;
    assert_eq!(saved["subject"], "Your new {{ company.name }} password");

    // A user added without a password is sent a welcome; its link lets him choose one.
    page.fill("#user-form input[name='name']", "Leo").await;
    page.fill("#user-form input[name='email']", "leo@acme.test").await;
    page.click("#user-form button[type=submit]").await;
    page.wait_for("#users", |t| t.contains("leo@acme.test")).await;
    page.screenshot("messaging-center").await;
    page.close().await;
    app.deliver().await;
    let welcome = smtp.mails_to("leo@acme.test");
    assert_eq!(welcome.len(), 1);
    let token = token_in(&welcome[0].text(), "/set-password");

    let leo = browser.session().await;
    leo.goto(&format!("{}/set-password?token={token}", app.base)).await;
    leo.fill("#password-form input[name='password']", "password").await;
    leo.click("#password-form button[type=submit]").await;
    leo.wait_for("#account-error", |t| t.contains("too easy to guess")).await;
    leo.fill("#password-form input[name='password']", "a fresh passphrase").await;
    leo.click("#password-form button[type=submit]").await;
    leo.wait_for("#account-done", |t| t.contains("password is set")).await;
    leo.assert_accessible("set-password").await;
    leo.login(&app.base, "leo@acme.test", "a fresh passphrase").await;
    leo.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r25_a_member_answers_a_project_invitation_in_settings() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let project = app.project(&admin, "Billing").await;
    app.ok(&admin, &format!("/api/v1/projects/{project}/invitations"), json!({"user_id": mia.id}), 201).await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, "mia@acme.test", PASSWORD).await;
    page.goto(&format!("{}/settings", app.base)).await;
    page.wait_for("#invitations", |t| t.contains("Billing")).await;
    page.click("#invitations button").await;
    page.wait_for("#invitations-status", |t| t.contains("member of Billing")).await;
    let (_, found) = app.get(&admin, &format!("/api/v1/projects/{project}")).await;
    assert!(found["member_users"].as_array().unwrap().contains(&json!(mia.id)), "{found}");
    assert!(!page.find("#invitations-box").await.is_displayed().await.unwrap(), "none left to answer");
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r29_an_admin_adds_switches_and_deletes_an_automated_message_and_the_core_rule_stays() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "Support").await;
    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/settings#messaging", app.base)).await;

    // The core rule: first, always on, its switch disabled with the reason; its text is the
    // new-message template.
    let core = page.find("#automations tr:first-child input[type=checkbox]").await;
    assert!(!core.is_enabled().await.unwrap());
    page.wait_for("#automations tr:first-child", |t| t.contains("always on") && t.contains("core")).await;
    page.click("#automations tr:first-child button[data-edit-template='new_message']").await;
    page.wait_for("#template-title", |t| t.contains("New message email")).await;

    page.fill("#automation-form input[name='name']", "Thanks on close").await;
    page.find("#automation-form select[name='trigger']").await.select_by_value("item_closed").await.unwrap();
    page.find("#automation-form select[name='project_id']").await.select_by_value(&project.to_string()).await.unwrap();
    page.find("#automation-form select[name='visibility']").await.select_by_value("internal").await.unwrap();
    page.fill("#automation-form textarea[name='body']", "Closed: check the invoice.").await;
    page.click("#automation-save").await;
    page.wait_for("#automations", |t| t.contains("Thanks on close") && t.contains("an item is closed")).await;
    let (_, list) = app.get(&admin, "/api/v1/automations").await;
    let added = &list[1];
    assert_eq!((added["visibility"].as_str(), added["project_id"].as_i64()), (Some("internal"), Some(project)));
    assert_eq!(added["reaches"], "the users following the conversation (internal)");
    let id = added["id"].as_i64().unwrap();

    // A wait, in minutes.
    page.fill("#automation-form input[name='name']", "Still there?").await;
    page.find("#automation-form select[name='trigger']").await.select_by_value("no_user_reply").await.unwrap();
    page.fill("#automation-form input[name='minutes']", "45").await;
    page.fill("#automation-form textarea[name='body']", "We have your message.").await;
    page.click("#automation-save").await;
    page.wait_for("#automations", |t| t.contains("waited 45 min")).await;
    assert_eq!(app.get(&admin, "/api/v1/automations").await.1[2]["minutes"], 45);

    page.click(&format!("input[data-automation-on='{id}']")).await;
    page.wait_for(&format!("input[data-automation-on='{id}'] + .form-status"), |t| t.contains("Off")).await;
    assert_eq!(app.get(&admin, "/api/v1/automations").await.1[1]["enabled"], false);
    page.screenshot("automations").await;
    page.assert_accessible("messaging-center").await;
    page.click(&format!("tr[data-automation='{id}'] button.link:last-child")).await;
    page.wait_for("#automation-status", |t| t.contains("Deleted")).await;
    assert_eq!(app.get(&admin, "/api/v1/automations").await.1.as_array().unwrap().len(), 2);
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r30_an_admin_adds_an_automated_email_and_a_webhook_in_their_tabs() {
    let app = spawn_app().await;
    let d = app.desk().await;
    let sink = WebhookSink::start().await;
    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/settings#messaging", app.base)).await;

    // The tabs answer the arrow keys, and show one panel at a time.
    page.click("#tab-automations").await;
    page.press('\u{E014}').await;
    page.wait_for_focus("the next tab", |f| f == "button#tab-automated-emails").await;
    page.wait_for("#panel-automated-emails", |t| t.contains("New automated email")).await;

    // A new automated email opens in the editor; its preview uses its own sample values.
    page.fill("#new-template-form input[name='name']", "closed-thanks").await;
    page.fill("#new-template-form input[name='subject']", "[{{ item.name }}] {{ item.title }} is {{ item.status }}")
        .await;
    page.click("#new-template-form button[type=submit]").await;
    page.wait_for("#template-title", |t| t.contains("closed-thanks")).await;
    page.fill("#template-form textarea[name='body_text']", "Hello {{ recipient.name }}, all done. {{ link }}").await;
    page.click("#template-preview-open").await;
    page.wait_for("#preview-subject", |t| t == "[Ticket #12] Printer on fire is closed").await;
    page.click("#template-form button[type=submit]").await;
    page.wait_for("#template-form .form-status", |t| t.contains("Saved")).await;

    // An automation sends it to the requesters.
    page.click("#tab-automations").await;
    page.fill("#automation-form input[name='name']", "Mail on close").await;
    page.find("#automation-form select[name='trigger']").await.select_by_value("item_closed").await.unwrap();
    page.find("#automation-form select[name='action']").await.select_by_value("send_email").await.unwrap();
    page.find("#automation-form select[name='template']").await.select_by_value("closed-thanks").await.unwrap();
    page.click("#automation-form input[name='to_requesters']").await;
    page.click("#automation-save").await;
    page.wait_for("#automations", |t| t.contains("Mail on close") && t.contains("email to the requesters")).await;

    // Its template now says who sends it, and cannot be deleted.
    page.click("#tab-automated-emails").await;
    page.wait_for("tr[data-template='closed-thanks']", |t| t.contains("Mail on close")).await;
    let delete = page.find("button[data-delete-template='closed-thanks']").await;
    assert!(!delete.is_enabled().await.unwrap(), "a template an automation sends cannot be deleted");

    // A webhook: its secret is shown once; what it was sent is listed with each try.
    page.click("#tab-webhooks").await;
    page.fill("#webhook-form input[name='name']", "CRM").await;
    page.fill("#webhook-form input[name='url']", &sink.url()).await;
    page.click("#webhook-form input[name='event_item_created']").await;
    page.click("#webhook-save").await;
    let secret = page.wait_for("#webhook-secret-value", |t| t.starts_with("whsec_")).await;
    page.wait_for("#webhooks", |t| t.contains("CRM") && t.contains("item created")).await;
    let project = app.project(&d.admin, "Billing").await;
    app.ticket(&d.admin, project, "Invoice wrong", &[]).await;
    let hooks = sink.wait_for(1, std::time::Duration::from_secs(5)).await;
    assert_eq!(hooks.len(), 1);
    assert!(hooks[0].signed_with(secret.trim()), "signed with the secret shown");
    page.click("#webhooks tr:first-child button.link:first-child").await;
    page.wait_for("#webhook-log", |t| t.contains("item created") && t.contains("delivered") && t.contains("200")).await;
    page.screenshot("webhooks").await;
    page.assert_accessible("messaging-center-webhooks").await;
    page.close().await;
    app.stop().await;
}
