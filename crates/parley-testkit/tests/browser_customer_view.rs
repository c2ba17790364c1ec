//! The portal and the widget as customers see them, in a real headless Chromium: a new request
//! from the portal, requests that open, the team named as the company decides; the widget's
//! greeting and promised reply time, the agent's name on replies, the address said back to the
//! visitor, and the visitor's details beside the chat in the messenger.
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::browser::{shop_page, Browser};
use parley_testkit::*;
use serde_json::json;

#[tokio::test]
async fn r7_a_customer_opens_a_request_in_the_portal_and_the_team_answers_under_the_companys_name() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let settings = json!({"portal_request_project_id": project, "staff_display_name": "ACME Support"});
    assert_eq!(app.patch(&admin, "/api/v1/company", settings).await.0, 200);

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.portal_login(&app.base, "carla@client.example", PASSWORD).await;
    page.click("#new-request-open").await;
    page.wait_for_focus("the request's title", |f| f == "input#request-title").await;
    page.fill("#request-title", "Printer on fire").await;
    page.fill("#request-body", "It smokes since this morning.").await;
    page.screenshot("portal-new-request").await;
    page.click("#request-send").await;
    page.wait_for("#messages", |t| t.contains("It smokes since this morning.")).await;
    page.wait_for("#subject", |t| t == "Printer on fire").await;
    page.wait_for("#items", |t| t.contains("Printer on fire")).await;

    // The ticket is in the chosen project, and the team answers; Carla sees the company's name.
    let (_, items) = app.get(&admin, &format!("/api/v1/projects/{project}/items")).await;
    let ticket = items[0]["id"].as_i64().expect("the ticket");
    let (_, conversations) = app.get(&admin, &format!("/api/v1/items/{ticket}/conversations")).await;
    let conversation = conversations[0]["id"].as_i64().unwrap();
    app.say(&admin, conversation, "A technician comes at 3 pm").await;
    let thread = page.wait_for("#messages", |t| t.contains("A technician comes at 3 pm")).await;
    assert!(thread.contains("ACME Support"), "{thread}");
    assert!(!thread.contains("Administrator"), "the agent's own name stays inside: {thread}");

    // A request in the list opens its conversation.
    page.goto(&format!("{}/portal", app.base)).await;
    page.click(&format!("#items li[data-item='{ticket}'] button")).await;
    page.wait_for("#messages", |t| t.contains("A technician comes at 3 pm")).await;
    page.wait_for_focus("the opened request", |f| f == "h1#subject").await;
    page.screenshot("portal-request").await;
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn the_widget_greets_names_the_agent_and_says_back_the_address_and_the_agent_sees_the_visitor() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let welcome = json!({"widget_greeting": "Hello from ACME! Ask about your order.", "widget_reply_time": "We reply within an hour."});
    assert_eq!(app.patch(&admin, "/api/v1/company", welcome).await.0, 200);
    let shop = shop_page(&app.base).await;

    let browser = Browser::start().await;
    let visitor = browser.session().await;
    visitor.open_chat(&shop).await;
    visitor.wait_for("#welcome", |t| t.contains("Hello from ACME!") && t.contains("We reply within an hour.")).await;
    visitor.fill("#body", "Hi, my order 123 is late").await;
    visitor.click("#send").await;
    visitor.wait_for("#messages", |t| t.contains("order 123")).await;
    visitor.fill("#contact-email", "vera@shopper.example").await;
    visitor.click("#contact button[type=submit]").await;
    visitor.wait_for("#contact-saved", |t| t.contains("emailed to vera@shopper.example")).await;

    // The agent sees who the visitor is beside the chat, and answers.
    let agent = browser.session().await;
    agent.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, views) = app.get(&admin, "/api/v1/views/open_with_customers").await;
    let chat = views["conversations"][0]["id"].as_i64().expect("the chat");
    agent.goto(&format!("{}/c/{chat}", app.base)).await;
    let card = agent.wait_for("#customer-card", |t| t.contains("vera@shopper.example")).await;
    assert!(card.contains("unconfirmed") && card.contains("live-chat visitor"), "{card}");
    agent.screenshot("customer-card").await;
    agent.fill("#body", "It left the warehouse today").await;
    agent.click("#send").await;

    // The reply carries the agent's name (no display name is set).
    let bubble = visitor.wait_for("#messages li:last-child", |t| t.contains("left the warehouse")).await;
    assert!(bubble.contains("Administrator"), "{bubble}");
    visitor.screenshot("widget-greeting").await;
    visitor.close().await;
    agent.close().await;
    app.stop().await;
}
