//! An item in the conversation pane, in a real headless Chromium (run by `.ci/run` with
//! `--features browser`): its conversations as tabs, an internal note started beside the
//! customer thread, status and assignees edited in place, closing offered for the item too.
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::browser::Browser;
use parley_testkit::*;

async fn item(app: &TestApp, who: &Who, id: i64) -> serde_json::Value {
    let (status, item) = app.get(who, &format!("/api/v1/items/{id}")).await;
    assert_eq!(status, 200, "{item}");
    item
}

/// Waits (a little) until the item as the API returns it satisfies `check`.
async fn item_becomes(app: &TestApp, who: &Who, id: i64, what: &str, check: impl Fn(&serde_json::Value) -> bool) {
    for _ in 0..100 {
        if check(&item(app, who, id).await) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the item never became {what}: {}", item(app, who, id).await);
}

#[tokio::test]
async fn r1_r28_an_internal_note_is_started_in_a_tab_beside_the_customer_thread_and_never_reaches_the_customer() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&carla, public, "My printer is on fire").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/c/{public}", app.base)).await;
    page.wait_for("#messages", |t| t.contains("My printer is on fire")).await;
    // The item line is a link to the item.
    let link = page.find("#item-link").await;
    assert_eq!(link.attr("href").await.unwrap().as_deref(), Some(format!("/items/{ticket}").as_str()));
    assert!(link.text().await.unwrap().contains(&format!("Ticket #{ticket}: Printer on fire")));
    // The customer thread's tab is the open one; the item has no internal conversation yet.
    let open_tab = page.find(&format!("#item-tabs button[data-conversation='{public}']")).await;
    assert_eq!(open_tab.attr("aria-selected").await.unwrap().as_deref(), Some("true"));
    assert!(open_tab.text().await.unwrap().contains("Customers"));

    page.click("#item-tabs button[data-new='internal']").await;
    page.wait_for("#composer-kind", |t| t.contains("Internal message")).await;
    page.wait_for("#messages", |t| t.contains("No internal conversation")).await;
    page.wait_for("#preview", |t| t.contains("users who follow")).await;
    page.fill("#body", "Carla's printer is still under warranty").await;
    page.click("#send").await;
    page.wait_for("#messages", |t| t.contains("Carla's printer is still under warranty")).await;

    // The note started the item's internal conversation; its tab is now the open one.
    let (_, conversations) = app.get(&admin, &format!("/api/v1/items/{ticket}/conversations")).await;
    let internal = conversations.as_array().unwrap().iter().find(|c| c["visibility"] == "internal").expect("internal");
    let internal = internal["id"].as_i64().unwrap();
    let tab = page.find(&format!("#item-tabs button[data-conversation='{internal}']")).await;
    assert_eq!(tab.attr("aria-selected").await.unwrap().as_deref(), Some("true"));
    assert!(page.client.find(fantoccini::Locator::Css("#item-tabs button[data-new='internal']")).await.is_err());
    assert!(page.client.current_url().await.unwrap().path().ends_with(&format!("/c/{internal}")));
    // R1/R7: the customer never gets the internal conversation or its note, by any route.
    let (status, _) = app.get(&carla, &format!("/api/v1/conversations/{internal}/messages")).await;
    assert_eq!(status, 404);
    let (_, hers) = app.get(&carla, &format!("/api/v1/items/{ticket}/conversations")).await;
    assert_eq!(hers.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect::<Vec<_>>(), vec![public]);
    page.screenshot("item-tabs").await;

    // Back to the customer thread with its tab, the composer says so.
    page.click(&format!("#item-tabs button[data-conversation='{public}']")).await;
    page.wait_for("#composer-kind", |t| t.contains("Customer reply")).await;
    page.wait_for("#messages", |t| t.contains("My printer is on fire") && !t.contains("warranty")).await;
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r28_the_pane_edits_the_items_status_and_assignees_and_offers_to_close_it_with_the_conversation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&carla, public, "My printer is on fire").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/c/{public}", app.base)).await;
    page.wait_for("#item-assignees", |t| t.contains("Unassigned")).await;

    page.find("#item-status").await.select_by_value("in_progress").await.unwrap();
    item_becomes(&app, &admin, ticket, "in progress", |i| i["status"] == "in_progress").await;
    page.find("#item-assign").await.select_by_value(&mia.id.to_string()).await.unwrap();
    page.wait_for("#item-assignees", |t| t.contains("mia")).await;
    item_becomes(&app, &admin, ticket, "assigned to mia", |i| i["assignees"] == serde_json::json!([mia.id])).await;
    page.click(&format!("#item-assignees [data-assignee='{}'] button", mia.id)).await;
    page.wait_for("#item-assignees", |t| t.contains("Unassigned")).await;
    item_becomes(&app, &admin, ticket, "unassigned", |i| i["assignees"] == serde_json::json!([])).await;

    // Closing the conversation offers to close the ticket; declining leaves it in progress.
    page.click("#state-actions button[data-action='close']").await;
    page.wait_for("#close-offer", |t| t.contains(&format!("Close Ticket #{ticket} too?"))).await;
    // R6 in the thread: a line says who closed it.
    page.wait_for("#messages .state-line", |t| t.contains("You closed this conversation")).await;
    page.click("#close-item-no").await;
    assert!(!page.find("#close-offer").await.is_displayed().await.unwrap());
    assert_eq!(item(&app, &admin, ticket).await["status"], "in_progress");
    // Reopened and closed again, the offer is taken: the ticket is closed.
    page.click("#state-actions button[data-action='reopen']").await;
    page.wait_for("#messages", |t| t.contains("You reopened this conversation")).await;
    page.click("#state-actions button[data-action='close']").await;
    page.click("#close-item").await;
    item_becomes(&app, &admin, ticket, "closed", |i| i["status"] == "closed").await;
    page.wait_for("#close-offer", |t| t.is_empty()).await;
    let status = page.find("#item-status").await.prop("value").await.unwrap();
    assert_eq!(status.as_deref(), Some("closed"));
    // The conversation's own state is the user's choice: closed, not locked.
    let (_, conversation) = app.get(&admin, &format!("/api/v1/conversations/{public}")).await;
    assert_eq!(conversation["state"], "closed");
    page.close().await;
    app.stop().await;
}
