//! The messenger's message box in a real headless Chromium: a draft belongs to its conversation
//! (text typed for colleagues never sits under a customer's recipients), the newest message and a
//! just-sent one with its Undo are in view, and Undo gives the text back. And logging in never
//! sends anyone off-site.
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::browser::{Browser, Page};
use parley_testkit::*;
use serde_json::json;
use std::time::Duration;

async fn body_value(page: &Page) -> String {
    page.find("#body").await.prop("value").await.expect("value").unwrap_or_default()
}

/// Whether the element matching `css` is fully visible above the message box.
async fn above_the_message_box(page: &Page, css: &str) -> bool {
    let script = "const el = document.querySelector(arguments[0]); if (!el) return false; \
                  const r = el.getBoundingClientRect(); const box = document.getElementById('composer').getBoundingClientRect(); \
                  return r.height > 0 && r.top >= 0 && r.bottom <= box.top + 1;";
    page.client.execute(script, vec![json!(css)]).await.expect("script").as_bool().unwrap_or(false)
}

async fn wait_until_above_the_message_box(page: &Page, css: &str) {
    for _ in 0..50 {
        if above_the_message_box(page, css).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("'{css}' is not in view above the message box");
}

#[tokio::test]
async fn r7_each_conversation_keeps_its_own_draft() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer", &[carla.id]).await;
    let internal = app.conversation(&admin, ticket, "internal").await;
    let public = app.conversation(&admin, ticket, "public").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/c/{internal}", app.base)).await;
    page.wait_for("#composer-kind", |t| t.contains("Internal message")).await;
    page.fill("#body", "Between us: she broke it herself").await;
    // Another conversation: its own, empty box under the customer's recipients.
    page.goto(&format!("{}/c/{public}", app.base)).await;
    page.wait_for("#composer-kind", |t| t.contains("Customer reply")).await;
    page.wait_for("#preview", |t| t.contains("(customer)")).await;
    assert_eq!(body_value(&page).await, "", "the remark did not follow");
    page.goto(&format!("{}/c/{internal}", app.base)).await;
    page.wait_for("#composer-kind", |t| t.contains("Internal message")).await;
    assert_eq!(body_value(&page).await, "Between us: she broke it herself", "kept across reloads");
    page.click("#send").await;
    page.wait_for("#messages", |t| t.contains("she broke it herself")).await;
    assert_eq!(body_value(&page).await, "");
    page.goto(&format!("{}/c/{internal}", app.base)).await;
    page.wait_for("#messages", |t| t.contains("she broke it herself")).await;
    assert_eq!(body_value(&page).await, "", "a sent draft is gone");
    let (_, seen) = app.get(&carla, &format!("/api/v1/conversations/{public}/messages")).await;
    assert_eq!(seen, json!([]), "nothing reached the customer");
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r33_the_newest_message_and_undo_are_in_view_and_undo_gives_the_text_back() {
    let app = spawn_app_with(|c| c.send_guard = Some(Duration::from_secs(600))).await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    for n in 1..=30 {
        app.say(&carla, public, &format!("Line {n} of a long story")).await;
    }
    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/c/{public}", app.base)).await;
    page.wait_for("#messages", |t| t.contains("Line 30 of a long story")).await;
    wait_until_above_the_message_box(&page, "#messages li:last-child").await;

    page.fill("#body", "We will replace the tonner").await;
    page.click("#send").await;
    page.wait_for("#messages li:last-child", |t| t.contains("replace the tonner")).await;
    wait_until_above_the_message_box(&page, "#messages li:last-child .undo-send").await;
    page.click("#messages li:last-child .undo-send").await;
    page.wait_for("#messages", |t| !t.contains("replace the tonner")).await;
    assert_eq!(body_value(&page).await, "We will replace the tonner", "back for correction");
    page.screenshot("undo").await;
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r44_after_login_only_a_path_on_this_site_is_followed() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    let page = browser.session().await;
    for next in
        // Five logins in all: the sixth in a row would meet the per-address login limit (R39).
        ["/%5Cevil.example/x", "//evil.example/x", "/%09/evil.example", "/.//evil.example/x"]
    {
        page.goto(&format!("{}/login?next={next}", app.base)).await;
        page.fill("#email", ADMIN_EMAIL).await;
        page.fill("#password", ADMIN_PASSWORD).await;
        page.click("#login-form button[type=submit]").await;
        page.find("#sidebar .view").await;
        let url = page.client.current_url().await.unwrap();
        assert_eq!(url.origin().ascii_serialization(), app.base, "{next} led to {url}");
        page.click("#logout").await;
        page.find("#login-form").await;
    }
    page.goto(&format!("{}/login?next=/items", app.base)).await;
    page.fill("#email", ADMIN_EMAIL).await;
    page.fill("#password", ADMIN_PASSWORD).await;
    page.click("#login-form button[type=submit]").await;
    page.find("#project-list").await;
    assert!(page.client.current_url().await.unwrap().as_str().ends_with("/items"));
    page.close().await;
    app.stop().await;
}
