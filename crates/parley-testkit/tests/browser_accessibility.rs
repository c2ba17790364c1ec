//! The automated accessibility check: axe-core (from the npm registry, see `a11y/package.json`)
//! injected into each page of Parley in a real headless Chromium, with real content on it, must
//! report no violation — the messenger with a conversation open, the item page, settings, the
//! portal with a request open, and the widget's chat. The phone-sized messenger is checked too.
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::browser::{shop_page, Browser};
use parley_testkit::*;

/// A ticket with a customer thread and an internal note, a message with a file, and unread counts.
async fn desk_with_content(app: &TestApp, admin: &Who) -> (Who, i64, i64) {
    let carla = app.customer(admin, "carla@client.example").await;
    let project = app.project(admin, "Support").await;
    let ticket = app.ticket(admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(admin, ticket, "public").await;
    app.say(&carla, public, "My printer is on **fire**, see the picture").await;
    app.say(admin, public, "We are on it: a technician comes at 3 pm.").await;
    let internal = app.conversation(admin, ticket, "internal").await;
    app.say(admin, internal, "Under warranty until March").await;
    (carla, ticket, public)
}

#[tokio::test]
async fn the_staff_pages_have_no_accessibility_violations() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_carla, ticket, public) = desk_with_content(&app, &admin).await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.assert_accessible("messenger-list").await;
    page.goto(&format!("{}/c/{public}", app.base)).await;
    page.wait_for("#messages", |t| t.contains("technician")).await;
    page.wait_for("#preview", |t| t.contains("Will reach")).await;
    page.wait_for("#customer-card", |t| t.contains("carla@client.example")).await;
    page.assert_accessible("messenger-conversation").await;

    page.goto(&format!("{}/items/{ticket}", app.base)).await;
    page.find("#item-conversations li").await;
    page.assert_accessible("item").await;
    page.goto(&format!("{}/items", app.base)).await;
    page.wait_for("body", |t| t.contains("Support")).await;
    page.assert_accessible("items").await;

    page.goto(&format!("{}/settings", app.base)).await;
    page.wait_for("#users", |t| t.contains(ADMIN_EMAIL)).await;
    page.wait_for("#customer-list", |t| t.contains("carla")).await;
    page.assert_accessible("settings").await;
    page.click("#template-preview-open").await;
    page.wait_for("#preview-subject", |t| !t.is_empty()).await;
    page.assert_accessible("settings-template-preview").await;

    page.goto(&format!("{}/login", app.base)).await;
    page.find("#email").await;
    page.assert_accessible("login").await;

    // At phone size, the list and then the open conversation.
    page.resize(390, 844).await;
    page.goto(&format!("{}/", app.base)).await;
    page.find("#conversations li").await;
    page.assert_accessible("phone-list").await;
    page.goto(&format!("{}/c/{public}", app.base)).await;
    page.wait_for("#messages", |t| t.contains("technician")).await;
    page.assert_accessible("phone-conversation").await;
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn the_customer_pages_have_no_accessibility_violations() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (_carla, _ticket, public) = desk_with_content(&app, &admin).await;
    let (_, projects) = app.get(&admin, "/api/v1/projects").await;
    let portal = serde_json::json!({"portal_request_project_id": projects[0]["id"]});
    assert_eq!(app.patch(&admin, "/api/v1/company", portal).await.0, 200);

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.goto(&format!("{}/portal", app.base)).await;
    page.find("#email").await;
    page.assert_accessible("portal-login").await;
    page.fill("#email", "carla@client.example").await;
    page.fill("#password", PASSWORD).await;
    page.click("#password-form button[type=submit]").await;
    page.wait_for("#items", |t| t.contains("Printer on fire")).await;
    page.click(&format!("#conversations li[data-id='{public}'] button")).await;
    page.wait_for("#messages", |t| t.contains("technician")).await;
    page.assert_accessible("portal").await;
    page.click("#new-request-open").await;
    page.find("#request-title").await;
    page.assert_accessible("portal-new-request").await;

    // The widget: the shop's button, then the chat in its frame with a message and the address form.
    let visitor = browser.session().await;
    visitor.open_chat(&shop_page(&app.base).await).await;
    visitor.fill("#body", "Hi, my order 123 is late").await;
    visitor.click("#send").await;
    visitor.wait_for("#messages", |t| t.contains("order 123")).await;
    visitor.assert_accessible("widget").await;
    visitor.close().await;
    page.close().await;
    app.stop().await;
}
