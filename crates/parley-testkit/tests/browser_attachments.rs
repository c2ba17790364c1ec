//! Attachments in a real headless Chromium, in every channel: a customer sends a picture from the
//! portal, the agent sees it and answers with a document from the messenger, a visitor sends and
//! receives files in the widget (fetched with its token), and an internal file never reaches a
//! customer's page.
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::browser::{shop_page, Browser, Page};
use parley_testkit::*;
use serde_json::json;
use std::path::{Path, PathBuf};

/// A real 1×1 PNG, so the browser can draw it.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x04, 0x00, 0x00, 0x00, 0xb5, 0x1c, 0x0c, 0x02, 0x00, 0x00, 0x00, 0x0b, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0x00, 0x00, 0x00, 0x06, 0x00, 0x02, 0x30, 0x81, 0xd0, 0x2f, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A picture a customer might send (240×150).
const PRINTER: &[u8] = include_bytes!("fixtures/printer.png");

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Picks `path` in the page's file input and waits until the tray shows it uploaded.
async fn attach(page: &Page, path: &Path) {
    page.find("#attach-input").await.send_keys(&path.display().to_string()).await.expect("pick a file");
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    page.wait_for("#attach-tray", |t| t.contains(&name) && !t.contains("uploading")).await;
}

/// Whether every picture under the messages was drawn (fetched and decoded).
async fn pictures_drawn(page: &Page) -> (usize, bool) {
    let script = "const imgs = [...document.querySelectorAll('#messages ul.attachments img')];
        return [imgs.length, imgs.every(i => i.complete && i.naturalWidth > 0)];";
    let value = page.client.execute(script, vec![]).await.expect("script");
    (value[0].as_u64().unwrap() as usize, value[1].as_bool().unwrap())
}

async fn wait_for_pictures(page: &Page, count: usize) {
    for _ in 0..100 {
        if pictures_drawn(page).await == (count, true) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("expected {count} drawn pictures, found {:?}", pictures_drawn(page).await);
}

#[tokio::test]
async fn r7_files_go_both_ways_between_the_portal_and_the_messenger_and_internal_ones_stay_inside() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&admin, public, "Can you send a photo?").await;
    let internal = app.conversation(&admin, ticket, "internal").await;
    let (_, secret) = app.upload(&admin, internal, "salaries.txt", "text/plain", b"confidential").await;
    let body = json!({"body": "for us only", "attachments": [secret["id"]]});
    app.ok(&admin, &format!("/api/v1/conversations/{internal}/messages"), body, 201).await;
    let dir = tempfile::tempdir().unwrap();

    let browser = Browser::start().await;
    let portal = browser.session().await;
    portal.goto(&format!("{}/portal/c/{public}", app.base)).await;
    portal.fill("#email", "carla@client.example").await;
    portal.fill("#password", PASSWORD).await;
    portal.click("#password-form button[type=submit]").await;
    portal.wait_for("#messages", |t| t.contains("Can you send a photo?")).await;
    // A picture alone is a message.
    attach(&portal, &file(dir.path(), "printer.png", PRINTER)).await;
    portal.click("#send").await;
    wait_for_pictures(&portal, 1).await;
    assert!(portal.find("#attach-tray").await.attr("hidden").await.unwrap().is_some(), "the tray empties");

    let agent = browser.session().await;
    agent.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    agent.goto(&format!("{}/c/{public}", app.base)).await;
    wait_for_pictures(&agent, 1).await;
    agent.fill("#body", "Here is the manual").await;
    attach(&agent, &file(dir.path(), "manual.pdf", b"%PDF-1.7 the manual")).await;
    // A file can be taken out of the tray before sending.
    attach(&agent, &file(dir.path(), "wrong.txt", b"not this one")).await;
    agent.click("#attach-tray button[aria-label='Remove wrong.txt']").await;
    agent.wait_for("#attach-tray", |t| !t.contains("wrong.txt")).await;
    agent.click("#send").await;
    agent.wait_for("#messages li:last-child ul.attachments", |t| t.contains("manual.pdf")).await;
    agent.screenshot("attachments-messenger").await;

    // The customer gets the document live, as a download link that works with her session.
    portal.wait_for("#messages li:last-child ul.attachments", |t| t.contains("manual.pdf")).await;
    let fetched = portal
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const a = document.querySelector('#messages li:last-child ul.attachments a');
             fetch(a.href).then(r => r.text().then(t => done([r.status, a.getAttribute('download'), t])));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fetched, json!([200, "manual.pdf", "%PDF-1.7 the manual"]));
    let text = portal.text("body").await;
    assert!(!text.contains("salaries") && !text.contains("wrong.txt"), "{text}");
    let forbidden = portal
        .client
        .execute_async(
            &format!(
                "const done = arguments[arguments.length - 1];
                 fetch('/api/v1/attachments/{}').then(r => done(r.status));",
                secret["id"]
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(forbidden, json!(404), "an internal file is not there for a customer, even by its URL");
    portal.screenshot("attachments-portal").await;
    portal.close().await;
    agent.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_visitor_sends_a_file_first_and_sees_the_agents_picture_in_the_widget() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let shop = shop_page(&app.base).await;
    let dir = tempfile::tempdir().unwrap();

    let browser = Browser::start().await;
    let visitor = browser.session().await;
    visitor.goto(&shop).await;
    visitor.click("#parley-chat-button").await;
    visitor.find("#parley-chat-frame").await.enter_frame().await.expect("enter the chat frame");
    // The file comes before any word: it starts the chat.
    attach(&visitor, &file(dir.path(), "order.txt", b"order 123")).await;
    visitor.fill("#body", "My order, see the file").await;
    visitor.click("#send").await;
    visitor.wait_for("#messages", |t| t.contains("order.txt")).await;

    let (_, views) = app.get(&admin, "/api/v1/views/open_with_customers").await;
    let chat = views["conversations"][0]["id"].as_i64().unwrap_or_else(|| panic!("{views}"));
    let (_, messages) = app.get(&admin, &format!("/api/v1/conversations/{chat}/messages")).await;
    assert_eq!(messages[0]["attachments"][0]["name"], "order.txt");
    assert_eq!(messages[0]["channel"], "widget");
    let (status, picture) = app.upload(&admin, chat, "label.png", "image/png", PNG).await;
    assert_eq!(status, 201);
    let body = json!({"body": "Your label", "attachments": [picture["id"]]});
    app.ok(&admin, &format!("/api/v1/conversations/{chat}/messages"), body, 201).await;

    // The frame fetches the picture with its token and draws it.
    visitor.wait_for("#messages", |t| t.contains("Your label")).await;
    wait_for_pictures(&visitor, 1).await;
    visitor.client.enter_parent_frame().await.unwrap();
    visitor.screenshot("attachments-widget").await;
    visitor.close().await;
    app.stop().await;
}
