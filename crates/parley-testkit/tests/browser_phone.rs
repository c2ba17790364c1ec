//! The messenger on a phone (390 × 844) in a real headless Chromium: the list, then the opened
//! conversation with a back button, nothing wider than the screen, badges in sight.
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::browser::{Browser, Page};
use parley_testkit::*;

const PHONE: (u32, u32) = (390, 844);

/// Whether the element matching `css` is on screen (rendered, with a size).
async fn shown(page: &Page, css: &str) -> bool {
    let script = "const e = document.querySelector(arguments[0]); \
                  return !!e && e.getClientRects().length > 0 && e.getBoundingClientRect().width > 0;";
    page.client.execute(script, vec![serde_json::json!(css)]).await.unwrap() == serde_json::json!(true)
}

/// How much wider than the window the page is (0 when nothing sticks out).
async fn overflow(page: &Page) -> i64 {
    let script = "return document.documentElement.scrollWidth - document.documentElement.clientWidth;";
    page.client.execute(script, vec![]).await.unwrap().as_i64().unwrap()
}

async fn wait_until(page: &Page, what: &str, css: &str, visible: bool) {
    for _ in 0..100 {
        if shown(page, css).await == visible {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    page.screenshot(&format!("phone-failed-{}", what.replace(' ', "-"))).await;
    panic!("{what}: '{css}' should be {}", if visible { "shown" } else { "hidden" });
}

#[tokio::test]
async fn a_phone_shows_the_list_then_the_conversation_with_a_way_back() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket =
        app.ticket(&admin, project, "Printer on fire, and the fax is beeping all night long", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&carla, public, "My printer is on fire and the fax will not stop beeping").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.resize(PHONE.0, PHONE.1).await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.find("#conversations li").await;

    // The list: views with their unread badges, the rows; no conversation pane yet.
    wait_until(&page, "the list", "#conversations", true).await;
    assert!(shown(&page, "#sidebar .view .badge").await, "the views' badges are in sight");
    assert!(shown(&page, "#conversations .badge").await, "the row's badge is in sight");
    assert!(!shown(&page, "#pane").await, "no pane beside the list on a phone");
    assert!(shown(&page, "#search-q").await && shown(&page, "#logout").await, "the top bar wraps, all of it in sight");
    assert_eq!(overflow(&page).await, 0, "the list page is wider than the phone");
    page.screenshot("phone-list").await;

    // A conversation takes the whole screen, with a back button; the list steps aside.
    page.click(&format!("#conversations li[data-id='{public}'] button")).await;
    page.wait_for("#messages", |t| t.contains("fax will not stop beeping")).await;
    wait_until(&page, "the conversation", "#pane", true).await;
    wait_until(&page, "the list while a conversation is open", "#conversations", false).await;
    assert!(shown(&page, "#back").await, "the back button");
    assert!(shown(&page, "#body").await && shown(&page, "#send").await, "the message box");
    assert_eq!(overflow(&page).await, 0, "the conversation is wider than the phone");
    page.fill("#body", "A technician comes at 3 pm").await;
    page.click("#send").await;
    page.wait_for("#messages", |t| t.contains("A technician comes at 3 pm")).await;
    page.screenshot("phone-conversation").await;

    // Back: the list again, the focus on the row just left.
    page.click("#back").await;
    wait_until(&page, "the list after going back", "#conversations", true).await;
    assert!(!shown(&page, "#pane").await);
    page.wait_for_focus("the row just left", |f| f == "button").await;
    assert!(page.client.current_url().await.unwrap().path() == "/");

    // At desktop width the same page shows list and pane side by side, without a back button.
    page.resize(1280, 900).await;
    page.click(&format!("#conversations li[data-id='{public}'] button")).await;
    wait_until(&page, "the pane on a desktop", "#pane", true).await;
    assert!(shown(&page, "#conversations").await);
    assert!(!shown(&page, "#back").await, "no back button beside the list");
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r7_a_customer_on_a_phone_reads_the_portal_one_screen_at_a_time() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&admin, public, "A technician comes at 3 pm").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.resize(PHONE.0, PHONE.1).await;
    page.portal_login(&app.base, "carla@client.example", PASSWORD).await;
    page.wait_for("#items", |t| t.contains("Printer on fire")).await;
    wait_until(&page, "the portal's list", "#conversations", true).await;
    assert!(!shown(&page, "#pane").await, "no pane beside the list on a phone");
    assert_eq!(overflow(&page).await, 0, "the portal is wider than the phone");
    page.assert_accessible("portal-phone-list").await;

    page.click(&format!("#conversations li[data-id='{public}'] button")).await;
    page.wait_for("#messages", |t| t.contains("A technician comes at 3 pm")).await;
    wait_until(&page, "the portal's conversation", "#pane", true).await;
    wait_until(&page, "the portal's list while reading", "#conversations", false).await;
    assert!(shown(&page, "#back").await && shown(&page, "#body").await);
    assert_eq!(overflow(&page).await, 0, "the conversation is wider than the phone");
    page.assert_accessible("portal-phone-conversation").await;

    page.click("#back").await;
    wait_until(&page, "the portal's list after going back", "#conversations", true).await;
    page.wait_for_focus("the conversation just left", |f| f == "button").await;
    page.close().await;
    app.stop().await;
}
