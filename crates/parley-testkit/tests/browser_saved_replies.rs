//! Saved replies in a real headless Chromium: added in Settings (a wrong variable is said next to
//! the form), picked in the message box with `/` and the keyboard or with the button, filled for
//! the conversation, and sent.
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::key::Key;
use parley_testkit::browser::Browser;
use parley_testkit::*;
use serde_json::json;

#[tokio::test]
async fn a_saved_reply_is_added_in_settings_and_picked_with_slash_filled_for_the_conversation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = json!({"email": "carla@client.example", "name": "Carla Diaz", "password": PASSWORD});
    let carla = app.ok(&admin, "/api/v1/customers", body, 201).await["id"].as_i64().unwrap();
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.ok(
        &admin,
        "/api/v1/saved-replies",
        json!({"title": "Thanks", "body": "Thank you, {{customer.first_name}}!"}),
        201,
    )
    .await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/settings#saved-replies", app.base)).await;
    page.wait_for("#saved-list", |t| t.contains("Thanks")).await;
    page.fill("#saved-form input[name=title]", "Fixed").await;
    page.fill("#saved-form textarea[name=body]", "Hello {{customer.nickname}}").await;
    page.click("#saved-save").await;
    page.wait_for("#saved-status", |t| t.contains("unknown variable {{customer.nickname}}")).await;
    page.fill("#saved-form textarea[name=body]", "Hello {{customer.first_name}}, {{item}} is fixed.").await;
    page.click("#saved-save").await;
    page.wait_for("#saved-list", |t| t.contains("Fixed")).await;

    page.goto(&format!("{}/c/{public}", app.base)).await;
    page.find("#messages").await;
    page.fill("#body", "/fix").await;
    page.wait_for("#saved-menu", |t| t.contains("Fixed") && !t.contains("Thanks")).await;
    page.find("#body").await.send_keys(&Key::Enter.to_string()).await.unwrap();
    let expected = format!("Hello Carla, Ticket #{ticket} is fixed.");
    let mut value = String::new();
    for _ in 0..50 {
        value = page.find("#body").await.prop("value").await.unwrap().unwrap_or_default();
        if value == expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(value, expected, "the reply, filled for the conversation, replaced the /");
    page.click("#send").await;
    page.wait_for("#messages", |t| t.contains(&expected)).await;

    // The button opens every reply; a click puts it into the box.
    page.click("#saved-open").await;
    page.wait_for("#saved-menu", |t| t.contains("Fixed") && t.contains("Thanks")).await;
    page.screenshot("saved-replies").await;
    page.click("#saved-menu li[role=option]:last-child").await;
    page.wait_for("#preview", |_| true).await;
    for _ in 0..50 {
        value = page.find("#body").await.prop("value").await.unwrap().unwrap_or_default();
        if value == "Thank you, Carla!" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(value, "Thank you, Carla!");
    page.close().await;
    app.stop().await;
}
