//! The messenger by keyboard and screen reader, in a real headless Chromium: a skip link first,
//! shortcuts listed behind `?` that do what they say, the focus moving into an opened
//! conversation, new messages announced in a live region, and unread badges that say "unread".
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::key::Key;
use parley_testkit::browser::Browser;
use parley_testkit::*;

#[tokio::test]
async fn a_keyboard_alone_skips_to_the_list_opens_conversations_and_replies() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let first = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let first = app.conversation(&admin, first, "public").await;
    app.say(&carla, first, "My printer is on fire").await;
    let second = app.ticket(&admin, project, "Invoice twice", &[carla.id]).await;
    let second = app.conversation(&admin, second, "public").await;
    app.say(&carla, second, "I was billed twice").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.find("#conversations li").await;

    // The first Tab reaches the skip link; following it puts the focus on the list.
    page.press(Key::Tab.into()).await;
    page.wait_for_focus("the skip link", |f| f == "a.skip-link").await;
    assert_eq!(page.text(".skip-link").await, "Skip to the conversations");
    page.press(Key::Enter.into()).await;
    page.wait_for_focus("the list's heading", |f| f == "h2#list-title").await;

    // `j` opens the newest conversation, and the focus goes into it; `j` again the next one.
    page.press('j').await;
    page.wait_for_focus("the opened conversation", |f| f == "h1#subject").await;
    page.wait_for("#messages", |t| t.contains("billed twice")).await;
    page.press('j').await;
    page.wait_for("#messages", |t| t.contains("printer is on fire")).await;
    page.wait_for_focus("the opened conversation", |f| f == "h1#subject").await;
    page.press('k').await;
    page.wait_for("#messages", |t| t.contains("billed twice")).await;
    assert!(page.client.current_url().await.unwrap().path().ends_with(&format!("/c/{second}")));

    // `r` goes to the message box (without typing an r), and Ctrl+Enter sends.
    page.press('r').await;
    page.wait_for_focus("the message box", |f| f == "textarea#body").await;
    assert_eq!(page.find("#body").await.prop("value").await.unwrap().as_deref(), Some(""));
    page.find("#body").await.send_keys("Refunded, sorry").await.expect("type");
    let keys = format!("{}{}", char::from(Key::Control), char::from(Key::Enter));
    page.find("#body").await.send_keys(&keys).await.expect("send");
    page.wait_for("#messages", |t| t.contains("Refunded, sorry")).await;

    // `?` lists the shortcuts; Escape closes the list.
    page.find("#subject").await.click().await.expect("click the subject");
    page.press('?').await;
    let list = page.wait_for("#shortcuts-dialog", |t| t.contains("Open the next conversation")).await;
    for shortcut in ["Search", "Write in the message box", "Back to the list", "Show these shortcuts"] {
        assert!(list.contains(shortcut), "{shortcut} missing from:\n{list}");
    }
    assert_eq!(page.find("#shortcuts-dialog").await.attr("open").await.unwrap().as_deref(), Some("true"));
    page.screenshot("keyboard-shortcuts").await;
    page.press(Key::Escape.into()).await;
    page.wait_for("body", |_| true).await;
    let open = page.client.execute("return document.getElementById('shortcuts-dialog').open", vec![]).await.unwrap();
    assert_eq!(open, serde_json::json!(false));
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn new_messages_are_announced_and_badges_say_unread() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let open = app.conversation(&admin, ticket, "public").await;
    app.say(&carla, open, "My printer is on fire").await;
    let other = app.ticket(&admin, project, "Invoice twice", &[carla.id]).await;
    let other = app.conversation(&admin, other, "public").await;
    app.say(&carla, other, "I was billed twice").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // A badge reads "1 unread" (the word is for screen readers only).
    let badge = format!("#conversations li[data-id='{open}'] .badge");
    page.find(&badge).await;
    assert_eq!(page.content(&badge).await.as_deref(), Some("1 unread"));

    // The page's live connection is open before anything is said: what is said earlier arrives
    // with the page's first read, unannounced.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.services().metrics().sockets_open() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the page never connected");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    page.click(&format!("#conversations li[data-id='{open}'] button")).await;
    page.wait_for("#messages", |t| t.contains("My printer is on fire")).await;
    // In the open conversation: who wrote, and the words.
    app.say(&carla, open, "Now it smokes too").await;
    let said = page.wait_for_content("#announcer", |t| t.contains("Now it smokes too")).await;
    assert!(said.starts_with("New message from carla: "), "{said}");
    // Elsewhere: where it arrived.
    app.say(&carla, other, "And a third invoice came").await;
    let said = page.wait_for_content("#announcer", |t| t.contains("And a third invoice came")).await;
    assert!(said.starts_with("New message from carla in public talk: "), "{said}");
    page.close().await;
    app.stop().await;
}
