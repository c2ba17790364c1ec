//! Connection states in a real headless Chromium: when Parley cannot be reached the messenger
//! says so in words (a banner while live updates are lost, and an error in place of "Failed to
//! fetch"), and when it is back the banner goes and messages arrive live again. The widget's
//! chat does the same.
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::browser::{shop_page, Browser};
use parley_testkit::*;

#[tokio::test]
async fn the_messenger_says_when_parley_cannot_be_reached_and_recovers_by_itself() {
    let mut app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&carla, public, "Hello?").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.click(&format!("#conversations li[data-id='{public}'] button")).await;
    page.wait_for("#messages", |t| t.contains("Hello?")).await;
    assert!(page.find("#connection").await.attr("hidden").await.unwrap().is_some(), "no banner while live");

    app.go_down().await;
    let banner = page.wait_for("#connection", |t| t.contains("Reconnecting")).await;
    assert!(banner.contains("Live updates are lost"), "{banner}");
    page.fill("#body", "Are you there?").await;
    page.click("#send").await;
    let error = page.wait_for("#send-error", |t| !t.is_empty()).await;
    assert!(error.contains("cannot be reached") && !error.contains("Failed to fetch"), "{error}");
    page.screenshot("connection-lost").await;

    app.come_back().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while page.find("#connection").await.attr("hidden").await.unwrap().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the banner stays after Parley came back");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.say(&carla, public, "Back again").await;
    page.wait_for("#messages", |t| t.contains("Back again")).await;
    // The message that could not go is still in the box, to send again.
    let draft = page.find("#body").await.prop("value").await.unwrap().unwrap_or_default();
    assert_eq!(draft, "Are you there?");
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn the_widget_says_when_the_chat_cannot_be_reached_and_recovers_by_itself() {
    let mut app = spawn_app().await;
    let admin = app.admin().await;
    let shop = shop_page(&app.base).await;
    let browser = Browser::start().await;
    let visitor = browser.session().await;
    visitor.open_chat(&shop).await;
    visitor.fill("#body", "Hi, my order 123 is late").await;
    visitor.click("#send").await;
    visitor.wait_for("#messages", |t| t.contains("order 123")).await;
    assert!(visitor.find("#connection").await.attr("hidden").await.unwrap().is_some(), "no banner while live");

    app.go_down().await;
    visitor.wait_for("#connection", |t| t.contains("Live updates are lost")).await;
    visitor.fill("#body", "Hello?").await;
    visitor.click("#send").await;
    let error = visitor.wait_for("#send-error", |t| !t.is_empty()).await;
    assert!(error.contains("cannot be reached") && !error.contains("Failed to fetch"), "{error}");
    visitor.screenshot("widget-connection-lost").await;

    app.come_back().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while visitor.find("#connection").await.attr("hidden").await.unwrap().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the banner stays after Parley came back");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Live again: an agent's answer arrives.
    let (_, views) = app.get(&admin, "/api/v1/views/open_with_customers").await;
    let chat = views["conversations"][0]["id"].as_i64().expect("the chat");
    app.say(&admin, chat, "Your parcel left today").await;
    visitor.wait_for("#messages", |t| t.contains("Your parcel left today")).await;
    visitor.close().await;
    app.stop().await;
}
