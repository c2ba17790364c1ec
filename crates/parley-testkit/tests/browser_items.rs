//! Items in a real headless Chromium: the grid, an item's fields and people, and its
//! conversations, public and internal side by side (R28), a new one preselecting the company's
//! default visibility (R3).
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::browser::Browser;
use parley_testkit::*;
use serde_json::json;

#[tokio::test]
async fn r3_r28_an_items_conversations_and_a_new_one_with_the_default_visibility() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    app.conversation(&admin, ticket, "public").await;
    app.conversation(&admin, ticket, "internal").await;
    let (status, _) = app.patch(&admin, "/api/v1/company", json!({"item_default_visibility": "internal"})).await;
    assert_eq!(status, 200);

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/items", app.base)).await;
    page.wait_for("#grid", |t| t.contains("Printer on fire") && t.contains("carla")).await;
    page.click(&format!("#grid tr[data-item='{ticket}'] a")).await;
    page.wait_for("#item-kind", |t| t.contains(&format!("ticket #{ticket}"))).await;
    page.wait_for("#item-conversations", |t| t.contains("public talk") && t.contains("internal talk")).await;
    page.wait_for(".people-columns section[data-role='requester'] ul", |t| t.contains("carla")).await;

    // People and fields are editable.
    let assignees = page.find(".people-columns section[data-role='assignee'] select").await;
    assignees.select_by_value(&format!("user:{}", mia.id)).await.unwrap();
    page.wait_for(".people-columns section[data-role='assignee'] ul", |t| t.contains("mia")).await;
    page.find("#item-status").await.select_by_value("in_progress").await.unwrap();
    page.click("#item-fields button[type=submit]").await;
    page.wait_for("#item-kind", |_| true).await;
    let (_, item) = app.get(&admin, &format!("/api/v1/items/{ticket}")).await;
    assert_eq!(item["status"], "in_progress");
    assert!(item["assignees"].as_array().unwrap().contains(&json!(mia.id)));
    page.screenshot("item").await;
    assert!(page.find("#back").await.is_displayed().await.unwrap(), "the way back to all items is in sight");

    // R3: the company default (internal here) is preselected for a new conversation.
    let internal_checked = page.find("input[name='visibility'][value='internal']").await.prop("checked").await.unwrap();
    assert_eq!(internal_checked.as_deref(), Some("true"));
    page.fill("#conversation-subject", "Replacement options").await;
    page.click("#new-conversation button[type=submit]").await;
    page.wait_for("#subject", |t| t.contains("Replacement options")).await;
    page.wait_for("#composer-kind", |t| t.contains("Internal message")).await;
    page.close().await;
    app.stop().await;
}
