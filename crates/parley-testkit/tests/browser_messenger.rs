//! The messenger in a real headless Chromium (run by `.ci/run` with `--features browser`): new
//! messages arrive live, the message box makes the audience unmistakable, a locked conversation
//! cannot be written to.
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::browser::Browser;
use parley_testkit::*;
use serde_json::json;

async fn messages_seen_by(app: &TestApp, who: &Who, conversation: i64) -> Vec<String> {
    let (status, list) = app.get(who, &format!("/api/v1/conversations/{conversation}/messages")).await;
    if status == 404 {
        return Vec::new();
    }
    list.as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn r12_messenger_shows_a_customer_message_live_and_replies_to_the_customer() {
    let app = spawn_app().await;
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
    assert!(page.text("#linked").await.contains("Ticket #"), "the linked item is shown");
    assert!(page.text("#composer-kind").await.contains("Customer reply"));
    page.wait_for("#preview", |t| t.contains("carla (customer)")).await;

    // A new customer message arrives live, with its number highlighted.
    app.say(&carla, public, "Is anyone there?").await;
    page.wait_for("#messages li.fresh", |t| t.contains("Is anyone there?")).await;
    assert!(page.text("#messages li.fresh .number").await.contains("#2"));
    page.wait_for(&format!("#conversations li.fresh[data-id='{public}']"), |_| true).await;

    page.fill("#body", "Yes, a technician is on the way").await;
    page.click("#send").await;
    page.wait_for("#messages", |t| t.contains("Yes, a technician is on the way")).await;
    let seen = messages_seen_by(&app, &carla, public).await;
    assert_eq!(seen.last().map(String::as_str), Some("Yes, a technician is on the way"));
    page.screenshot("messenger").await;
    // R42: the away switch in the top bar; colleagues see it in the users list.
    page.click("#away").await;
    page.wait_for("#away", |t| t == "Away").await;
    let (_, users) = app.get(&admin, "/api/v1/users").await;
    assert_eq!(users[0]["away"], true, "{users}");
    page.click("#away").await;
    page.wait_for("#away", |t| t == "Available").await;
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r7_an_internal_message_from_the_messenger_never_reaches_the_customer() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let internal = app.conversation(&admin, ticket, "internal").await;
    app.say(&admin, internal, "Let us discuss").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/c/{internal}", app.base)).await;
    page.wait_for("#composer-kind", |t| t.contains("Internal message")).await;
    page.wait_for("#preview", |t| t.contains("Will reach")).await;
    assert!(!page.text("#preview").await.contains("(customer)"));
    page.fill("#body", "The customer must not read this").await;
    page.click("#send").await;
    page.wait_for("#messages", |t| t.contains("The customer must not read this")).await;
    assert!(messages_seen_by(&app, &carla, internal).await.is_empty());
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r6_a_locked_conversation_cannot_be_written_to_and_says_why() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&carla, public, "Hello?").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/c/{public}", app.base)).await;
    page.click("#state-actions button[data-action='close']").await;
    page.click("#state-actions button[data-action='lock']").await;
    page.wait_for("#locked-reason", |t| t.contains("locked")).await;
    assert!(!page.find("#send").await.is_enabled().await.unwrap());
    assert!(!page.find("#body").await.is_enabled().await.unwrap());
    let (status, body) =
        app.post(&carla, &format!("/api/v1/conversations/{public}/messages"), json!({"body": "hi"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conversation_locked")));
    page.click("#state-actions button[data-action='unlock']").await;
    page.wait_for("#state-actions", |t| t.contains("closed")).await;
    assert!(page.find("#send").await.is_enabled().await.unwrap());
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn the_messenger_asks_for_a_login_first() {
    let app = spawn_app().await;
    let browser = Browser::start().await;
    let page = browser.session().await;
    page.goto(&format!("{}/c/1", app.base)).await;
    page.find("#login-form").await;
    assert!(page.client.current_url().await.unwrap().as_str().contains("/login?next=/c/1"));
    page.fill("#email", ADMIN_EMAIL).await;
    page.fill("#password", "wrong-password").await;
    page.click("#login-form button[type=submit]").await;
    page.wait_for("#login-error", |t| !t.is_empty()).await;
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r4_r5_a_conversation_with_users_started_from_add_then_made_a_ticket() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.click("#add").await;
    page.fill("#add-subject", "Printer budget").await;
    page.fill("#add-filter", "@mi").await;
    page.click(&format!("#add-people input[value='user:{}']", mia.id)).await;
    assert!(
        !page.text("#add-people").await.contains("carla"),
        "customers cannot be added to a conversation with users"
    );
    page.fill("#add-body", "Shall we buy a new one?").await;
    page.click("#add-start").await;
    page.wait_for("#subject", |t| t.contains("Printer budget")).await;
    page.wait_for("#composer-kind", |t| t.contains("Internal message")).await;
    page.wait_for("#messages", |t| t.contains("Shall we buy a new one?")).await;
    assert!(page.text("#linked").await.contains("No linked item"));

    page.click("#link-open").await;
    page.fill("#link-item-title", "Buy a printer").await;
    page.click("#link-submit").await;
    page.wait_for("#linked", |t| t.contains("Ticket #") && t.contains("Buy a printer")).await;
    let (_, items) = app.get(&admin, &format!("/api/v1/projects/{project}/items")).await;
    let ticket = &items.as_array().unwrap()[0];
    let mia_follows = ticket["followers"].as_array().unwrap().iter().any(|f| f["kind"] == "user" && f["id"] == mia.id);
    assert!(mia_follows, "R5: participants follow the new item: {ticket}");
    assert!(carla.id > 0);
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r17_a_message_written_by_email_shows_so_with_its_original() {
    let app = spawn_app().await;
    let raw = "From: Dana <dana@client.example>\r\nTo: support@acme.test\r\nSubject: Cannot log in\r\n\r\n\
               My password stopped working.\r\n\r\n-- \r\nDana\r\n";
    smtp_send(app.smtp_in, "dana@client.example", &["support@acme.test"], raw.as_bytes()).await.expect("accepted");
    let admin = app.admin().await;
    let (_, log) = app.get(&admin, "/api/v1/incoming-emails").await;
    let conversation = log[0]["conversation_id"].as_i64().unwrap();

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/c/{conversation}", app.base)).await;
    page.wait_for("#messages", |t| t.contains("My password stopped working.") && t.contains("by email")).await;
    let link = page.find("#messages a.tag.email").await.attr("href").await.unwrap().unwrap();
    let original = page.client.execute_async(
        "const done = arguments[arguments.length - 1]; fetch(arguments[0]).then(r => r.text()).then(done);",
        vec![json!(link)],
    );
    let original = original.await.unwrap();
    assert!(original.as_str().unwrap().contains("-- \r\nDana"), "the original keeps what the message left out");
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r26_the_messenger_reads_a_long_view_a_page_at_a_time() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Busy ticket", &[]).await;
    for n in 0..52 {
        let body = json!({"subject": format!("Question {n:02}"), "item_id": ticket, "visibility": "public"});
        app.ok(&admin, "/api/v1/conversations", body, 201).await;
        app.advance_ms(1000);
    }
    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // The first page holds the 50 newest; the oldest two come with "Show older".
    page.wait_for("#conversations", |t| t.contains("Question 51") && t.contains("Question 02")).await;
    assert!(!page.text("#conversations").await.contains("Question 01"));
    page.click("#older").await;
    page.wait_for("#conversations", |t| t.contains("Question 00") && t.contains("Question 01")).await;
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r7_the_search_box_finds_a_message_marks_the_words_and_opens_its_conversation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&carla, public, "The toner cartridge leaks everywhere").await;
    let other = app.conversation(&admin, ticket, "internal").await;
    app.say(&admin, other, "Nothing to see here").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    page.goto(&format!("{}/c/{other}", app.base)).await;
    page.wait_for("#messages", |t| t.contains("Nothing to see here")).await;
    page.fill("#search-q", "toner cart").await;
    page.wait_for("#search-results", |t| t.to_lowercase().contains("messages") && t.contains("leaks everywhere")).await;
    let marked = page.text("#search-results mark").await;
    assert!(marked == "toner" || marked == "cartridge", "{marked}");
    page.screenshot("search").await;
    page.click(&format!("#search-results a[href='/c/{public}']")).await;
    page.wait_for("#subject", |t| t == "public talk").await;
    page.wait_for("#messages", |t| t.contains("The toner cartridge leaks everywhere")).await;
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r26_a_row_names_the_customer_the_latest_words_and_the_assignee_and_the_list_filters_by_assignment() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let printer = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let body = json!({"role": "assignee", "party": {"kind": "user", "id": admin.id}});
    app.ok(&admin, &format!("/api/v1/items/{printer}/people"), body, 200).await;
    let mine = app.conversation(&admin, printer, "public").await;
    app.say(&carla, mine, "The printer is **on fire**").await;
    let scanner = app.ticket(&admin, project, "Scanner jams", &[carla.id]).await;
    let nobodys = app.conversation(&admin, scanner, "public").await;
    app.say(&carla, nobodys, "The scanner jams again").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let row =
        page.wait_for(&format!("#conversations li[data-id='{mine}']"), |t| t.contains("The printer is on fire")).await;
    assert!(row.contains("carla: The printer is on fire"), "who wrote the latest words: {row}");
    assert!(row.contains("→ Administrator"), "the assignee: {row}");
    assert!(row.contains("now"), "a relative time: {row}");
    let other = page.text(&format!("#conversations li[data-id='{nobodys}']")).await;
    assert!(other.contains("unassigned") && other.contains("carla: The scanner jams again"), "{other}");
    page.screenshot("list-rows").await;

    page.find("#list-filter").await.select_by_value("assigned_to_me").await.unwrap();
    page.wait_for("#conversations", |t| t.contains("printer") && !t.contains("scanner")).await;
    page.find("#list-filter").await.select_by_value("unassigned").await.unwrap();
    page.wait_for("#conversations", |t| t.contains("scanner") && !t.contains("printer")).await;
    page.find("#list-filter").await.select_by_value("").await.unwrap();
    page.wait_for("#conversations", |t| t.contains("scanner") && t.contains("printer")).await;
    page.close().await;
    app.stop().await;
}

/// R43: a message that arrives while the messenger's tab is in the background is not seen, and is
/// seen once the tab is in front again with the message in view.
#[tokio::test]
async fn r43_the_messenger_sees_a_message_only_in_a_visible_tab() {
    let app = spawn_app().await;
    let desk = app.desk().await;
    let browser = Browser::start().await;
    let page = browser.session().await;
    page.login(&app.base, Desk::MIA, PASSWORD).await;
    page.goto(&format!("{}/c/{}", app.base, desk.public)).await;
    page.wait_for("#subject", |t| !t.is_empty()).await;
    let messenger = page.client.window().await.unwrap();
    let behind = page.client.new_window(true).await.unwrap();
    page.client.switch_to_window(behind.handle).await.unwrap();

    let said = app.say(&desk.carla, desk.public, "Anyone there?").await;
    let message = said["message"]["id"].as_i64().unwrap();
    let mia = ("user", desk.mia.id);
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    assert_eq!(app.seen_at(&desk.admin, desk.public, message, mia).await, None, "pushed to a hidden tab: not seen");

    page.client.switch_to_window(messenger).await.unwrap();
    page.wait_for("#messages", |t| t.contains("Anyone there?")).await;
    app.until_seen(&desk.admin, desk.public, message, mia).await;
    page.close().await;
    app.stop().await;
}
