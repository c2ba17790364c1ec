//! The whole path in two real browsers: a visitor chats through the widget on another site, an
//! agent answers in the messenger; the reply reaches the visitor after the send guard, an internal
//! remark never does, and a locked conversation stops both sides.
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::Locator;
use parley_testkit::browser::{shop_page, Browser, Page};
use parley_testkit::*;
use serde_json::json;
use std::time::Duration;

const GUARD_MS: i64 = 5_000;
const INTERNAL: &str = "Internal: check the warehouse";

async fn enter_chat(page: &Page) {
    let frame = page.find("#parley-chat-frame").await;
    frame.enter_frame().await.expect("enter the chat frame");
}

/// What the chat frame has received from the API, fetched again with the visitor's token.
async fn frame_responses(page: &Page) -> Vec<(String, String)> {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const token = JSON.parse(localStorage.getItem('parley.widget') || '{}').token;
        const urls = [...new Set(performance.getEntriesByType('resource').map(e => e.name)
            .filter(u => u.includes('/api/v1/') && !u.includes('/realtime')))];
        Promise.all(urls.map(u => fetch(u, { headers: { authorization: 'Bearer ' + token } }).then(r => r.text())))
            .then(bodies => done(urls.map((u, i) => [u, bodies[i]])));
    "#;
    serde_json::from_value(page.client.execute_async(script, vec![]).await.expect("script")).expect("pairs")
}

#[tokio::test]
async fn r12_r33_r7_a_widget_chat_end_to_end() {
    let app = spawn_app_with(|c| c.send_guard = Some(Duration::from_millis(GUARD_MS as u64))).await;
    let admin = app.admin().await;
    // The agent takes every customer message (R10), as chat agents do.
    let path = format!("/api/v1/users/{}/preferences", admin.id);
    assert_eq!(app.patch(&admin, &path, json!({"customer_messages": "all"})).await.0, 200);
    let shop = shop_page(&app.base).await;

    let browser = Browser::start().await;
    let agent = browser.session().await;
    agent.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let visitor = browser.session().await;
    visitor.goto(&shop).await;
    visitor.click("#parley-chat-button").await;
    enter_chat(&visitor).await;
    visitor.fill("#body", "Hi, my order 123 is late").await;
    visitor.click("#send").await;
    visitor.wait_for("#messages", |t| t.contains("my order 123 is late")).await;
    visitor.fill("#contact-email", "vera@shopper.example").await;
    visitor.click("#contact button[type=submit]").await;
    visitor.wait_for("body", |_| true).await;

    // The agent sees it arrive: a count in the sidebar and the chat at the top of the list.
    agent.wait_for_content("#sidebar .view[data-view='open_with_customers'] .badge", |t| t == "1 unread").await;
    agent.wait_for("#conversations li:first-child", |t| t.contains("Live chat with Visitor")).await;
    agent.click("#conversations li:first-child button").await;
    agent.wait_for("#messages", |t| t.contains("my order 123 is late")).await;
    agent.wait_for("#messages li:first-child header", |t| t.contains("Visitor")).await;
    assert!(agent.text("#composer-kind").await.contains("Customer reply"));

    // A reply is held by the send guard; the visitor gets it once the guard has passed.
    agent.fill("#body", "Sorry! It ships today.").await;
    agent.click("#send").await;
    agent.wait_for("#messages", |t| t.contains("Sending in ")).await;
    // An internal remark: written, then turned internal within the guard.
    agent.fill("#body", INTERNAL).await;
    agent.click("#send").await;
    agent.wait_for("#messages li:last-child", |t| t.contains(INTERNAL)).await;
    agent.click("#messages li:last-child button:not(.undo-send)").await;
    agent.wait_for("#messages li:last-child", |t| t.contains("Internal")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!visitor.text("#messages").await.contains("ships today"), "held from the customer");

    app.advance_ms(GUARD_MS);
    assert_eq!(app.deliver().await.released, 2);
    visitor.wait_for("#messages", |t| t.contains("Sorry! It ships today.")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = visitor.text("body").await;
    assert!(!text.contains(INTERNAL), "{text}");
    for (url, body) in frame_responses(&visitor).await {
        assert!(!body.contains(INTERNAL), "{url} answered {body}");
    }
    visitor.client.enter_parent_frame().await.unwrap();
    visitor.screenshot("widget").await;
    agent.screenshot("messenger-chat").await;

    // Locked: neither side can write.
    agent.click("#state-actions button[data-action='close']").await;
    agent.click("#state-actions button[data-action='lock']").await;
    agent.wait_for("#locked-reason", |t| t.contains("locked")).await;
    assert!(!agent.find("#send").await.is_enabled().await.unwrap());
    enter_chat(&visitor).await;
    visitor.wait_for("#locked-reason", |t| t.contains("closed")).await;
    assert!(!visitor.find("#send").await.is_enabled().await.unwrap());
    assert!(visitor.client.find(Locator::Css("#body:disabled")).await.is_ok());

    agent.close().await;
    visitor.close().await;
    app.stop().await;
}

/// A visitor on the shop's page opens the chat, writes `first`, gives `address` and waits for the
/// code form; the code is emailed.
async fn visitor_gives_address(app: &TestApp, browser: &Browser, first: &str, address: &str) -> Page {
    let shop = shop_page(&app.base).await;
    let visitor = browser.session().await;
    visitor.goto(&shop).await;
    visitor.click("#parley-chat-button").await;
    enter_chat(&visitor).await;
    visitor.fill("#body", first).await;
    visitor.click("#send").await;
    // The address is asked for once the first message is there.
    visitor.wait_for("#messages", |t| t.contains(first)).await;
    visitor.wait_for("#contact:not([hidden])", |_| true).await;
    visitor.fill("#contact-email", address).await;
    visitor.click("#contact button[type=submit]").await;
    visitor.wait_for("#verify-label", |t| t.contains(address)).await;
    app.deliver().await;
    visitor
}

async fn app_with_smtp() -> (TestApp, SmtpSink) {
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    (spawn_app_with(move |c| c.smtp_url = Some(url)).await, smtp)
}

#[tokio::test]
async fn r36_a_visitor_proves_their_address_with_the_emailed_code() {
    let (app, smtp) = app_with_smtp().await;
    let admin = app.admin().await;
    app.ok(&admin, "/api/v1/organizations", json!({"name": "Shopper", "domain": "shopper.example"}), 201).await;
    let browser = Browser::start().await;
    let visitor = visitor_gives_address(&app, &browser, "Where is my parcel?", "vera@shopper.example").await;
    visitor.fill("#verify-code", &smtp.verification_code("vera@shopper.example")).await;
    visitor.click("#verify button[type=submit]").await;
    for _ in 0..50 {
        if visitor.client.find(Locator::Css("#verify[hidden]")).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(visitor.client.find(Locator::Css("#verify[hidden]")).await.is_ok(), "the code form is gone");
    let (_, page) = app.get(&admin, "/api/v1/customers?q=vera").await;
    let vera = &page["customers"][0];
    assert_eq!(vera["email"], "vera@shopper.example", "{page}");
    assert!(vera["organization_id"].is_i64(), "verified: she joined her organization: {page}");
    visitor.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r36_once_proven_the_chat_moves_to_the_existing_customer_and_stays_live() {
    let (app, smtp) = app_with_smtp().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let browser = Browser::start().await;
    let visitor = visitor_gives_address(&app, &browser, "Hello, Carla here", "carla@client.example").await;
    visitor.fill("#verify-code", &smtp.verification_code("carla@client.example")).await;
    visitor.click("#verify button[type=submit]").await;
    // The chat is now Carla's: she finds it in her portal, and a reply reaches the widget live.
    let mut chat = None;
    for _ in 0..50 {
        let (_, page) = app.get(&carla, "/api/v1/views/portal_open").await;
        if let Some(id) = page["conversations"][0]["id"].as_i64() {
            chat = Some(id);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let chat = chat.expect("the chat moved to Carla");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.say(&admin, chat, "Welcome back, Carla").await;
    visitor.wait_for("#messages", |t| t.contains("Welcome back, Carla")).await;
    assert!(visitor.text("#messages").await.contains("Hello, Carla here"), "her earlier message stays");
    visitor.close().await;
    app.stop().await;
}

/// R43: with the chat closed, a reply is not seen: the button counts it and rings; opening the
/// chat shows it, and only then is it seen (and its email no longer due).
#[tokio::test]
async fn r43_a_closed_widget_counts_a_reply_on_its_button_and_sees_it_only_when_opened() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let shop = shop_page(&app.base).await;
    let browser = Browser::start().await;
    let visitor = browser.session().await;
    visitor.goto(&shop).await;
    visitor.click("#parley-chat-button").await;
    enter_chat(&visitor).await;
    visitor.fill("#body", "Do you ship to Norway?").await;
    visitor.click("#send").await;
    visitor.wait_for("#messages", |t| t.contains("Norway")).await;
    let saved = visitor.client.execute("return localStorage.getItem('parley.widget')", vec![]).await.unwrap();
    let saved: serde_json::Value = serde_json::from_str(saved.as_str().unwrap()).unwrap();
    let chat = saved["conversation"].as_i64().unwrap();
    let me = Who { token: saved["token"].as_str().unwrap().into(), id: 0 };
    let (_, who) = app.get(&me, "/api/v1/me").await;
    let vera = ("customer", who["customer"]["id"].as_i64().unwrap());
    visitor.client.enter_parent_frame().await.unwrap();
    visitor.click("#parley-chat-button").await;
    visitor.wait_for("#parley-chat-button", |t| t.contains("Chat")).await;

    let said = app.say(&admin, chat, "Yes, in three days").await;
    let reply = said["message"]["id"].as_i64().unwrap();
    visitor.wait_for_content("#parley-chat-badge", |t| t == "1").await;
    let label = visitor.find("#parley-chat-button").await.attr("aria-label").await.unwrap();
    assert_eq!(label.as_deref(), Some("Chat, 1 unread reply"));
    visitor.screenshot("widget-unread").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.seen_at(&admin, chat, reply, vera).await, None, "the chat is closed: not seen");

    visitor.click("#parley-chat-button").await;
    app.until_seen(&admin, chat, reply, vera).await;
    let badge = visitor.find("#parley-chat-badge").await;
    assert!(!badge.is_displayed().await.unwrap(), "open: no count");
    visitor.screenshot("widget-open-after-a-reply").await;
    visitor.close().await;
    app.stop().await;
}
