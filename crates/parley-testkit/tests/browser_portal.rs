//! The customer portal in a real headless Chromium: a customer sees their requests and public
//! conversations and replies there; nothing internal appears, neither on the page nor in any
//! response the page received.
#![cfg(feature = "browser")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::browser::{Browser, Page};
use parley_testkit::*;
use serde_json::{json, Value};

const SECRET: &str = "SECRET-internal-remark";

/// Every API response the page loaded, fetched again with the page's own cookies.
async fn responses_seen_by(page: &Page) -> Vec<(String, String)> {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const urls = [...new Set(performance.getEntriesByType('resource').map(e => e.name)
            .filter(u => u.includes('/api/v1/') && !u.includes('/realtime')))];
        Promise.all(urls.map(u => fetch(u, { credentials: 'same-origin' }).then(r => r.text())))
            .then(bodies => done(urls.map((u, i) => [u, bodies[i]])));
    "#;
    let value = page.client.execute_async(script, vec![]).await.expect("script");
    serde_json::from_value(value).expect("pairs")
}

#[tokio::test]
async fn r7_the_portal_shows_public_conversations_and_never_anything_internal() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&admin, public, "We are on it").await;
    let internal = app.conversation(&admin, ticket, "internal").await;
    app.say(&admin, internal, SECRET).await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.goto(&format!("{}/portal", app.base)).await;
    page.fill("#email", "carla@client.example").await;
    page.fill("#password", PASSWORD).await;
    page.click("#password-form button[type=submit]").await;
    page.wait_for("#items", |t| t.contains("Printer on fire")).await;
    page.click(&format!("#conversations li[data-id='{public}'] button")).await;
    page.wait_for("#messages", |t| t.contains("We are on it")).await;
    assert!(page
        .client
        .find(fantoccini::Locator::Css(&format!("#conversations li[data-id='{internal}']")))
        .await
        .is_err());

    // Replying from the portal, and a live answer.
    page.fill("#body", "Thanks, see you tomorrow").await;
    page.click("#send").await;
    page.wait_for("#messages", |t| t.contains("Thanks, see you tomorrow")).await;
    let (_, messages) = app.get(&admin, &format!("/api/v1/conversations/{public}/messages")).await;
    let last = messages.as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["body"].as_str(), last["channel"].as_str()), (Some("Thanks, see you tomorrow"), Some("portal")));
    app.say(&admin, public, "Great, see you").await;
    app.say(&admin, internal, &format!("{SECRET} again")).await;
    page.wait_for("#messages", |t| t.contains("Great, see you")).await;

    let text = page.text("body").await;
    assert!(!text.contains(SECRET) && !text.contains("internal talk"), "{text}");
    let responses = responses_seen_by(&page).await;
    assert!(responses.len() >= 4, "{responses:?}");
    for (url, body) in &responses {
        assert!(!body.contains(SECRET) && !body.contains("internal talk"), "{url} answered {body}");
    }
    page.screenshot("portal").await;

    // Locked: the portal can no longer send either.
    let state = format!("/api/v1/conversations/{public}/state");
    app.ok(&admin, &state, json!({"action": "close"}), 200).await;
    app.ok(&admin, &state, json!({"action": "lock"}), 200).await;
    page.wait_for("#locked-reason", |t| t.contains("locked")).await;
    assert!(!page.find("#send").await.is_enabled().await.unwrap());
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_customer_without_a_password_logs_in_with_an_emailed_link() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    app.ok(&admin, "/api/v1/customers", json!({"email": "dan@client.example", "name": "Dan"}), 201).await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.goto(&format!("{}/portal", app.base)).await;
    page.fill("#link-email", "dan@client.example").await;
    page.click("#link-form button[type=submit]").await;
    page.wait_for("#link-status", |t| t.contains("on its way")).await;
    app.deliver().await;

    let (_, log) = app.get(&admin, "/api/v1/outgoing-emails").await;
    let entry: &Value = log.as_array().unwrap().iter().find(|e| e["to_address"] == "dan@client.example").unwrap();
    let (_, email) = app.get(&admin, &format!("/api/v1/outgoing-emails/{}", entry["email_id"])).await;
    let stored = email["body_text"].as_str().unwrap();
    assert!(stored.contains(parley_domain::sealed::SECRET_SLOT), "admins never see the link: {stored}");
    let text = smtp.mails_to("dan@client.example").pop().expect("the email").text();
    let link = text.lines().find(|l| l.contains("/portal/login?token=")).unwrap().trim().to_string();
    page.goto(&link).await;
    page.click("#redeem").await;
    page.wait_for("#me", |t| t.contains("Dan")).await;
    // The link worked once.
    let second = browser.session().await;
    second.goto(&link).await;
    second.click("#redeem").await;
    second.wait_for("#redeem-error", |t| t.contains("no longer valid")).await;
    second.close().await;
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_customers_email_links_to_that_conversation_in_the_portal() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&admin, public, "We replaced the fuser").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let mail = smtp.mails_to("carla@client.example").pop().expect("an email to Carla");
    assert!(mail.subject().starts_with(&format!("[Ticket #{ticket}] ")), "{}", mail.subject());
    let link = format!("{}/portal/c/{public}", app.base);
    assert!(mail.text().contains(&link), "{}", mail.text());

    // Opened before logging in: the portal asks her to, then shows that conversation.
    let browser = Browser::start().await;
    let page = browser.session().await;
    page.goto(&link).await;
    page.fill("#email", "carla@client.example").await;
    page.fill("#password", PASSWORD).await;
    page.click("#password-form button[type=submit]").await;
    page.wait_for("#messages", |t| t.contains("We replaced the fuser")).await;
    assert_eq!(page.text("#subject").await, "public talk");

    // Someone else's conversation does not open for her.
    let other = app.customer(&admin, "dan@other.example").await;
    let theirs = app.ticket(&admin, project, "Not Carla's", &[other.id]).await;
    let theirs = app.conversation(&admin, theirs, "public").await;
    page.goto(&format!("{}/portal/c/{theirs}", app.base)).await;
    page.wait_for("#empty", |t| t.contains("not one of yours")).await;
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_login_link_asked_for_on_a_conversations_page_leads_back_to_it() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let erin = app.ok(&admin, "/api/v1/customers", json!({"email": "erin@client.example", "name": "Erin"}), 201).await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Scanner", &[erin["id"].as_i64().unwrap()]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&admin, public, "Which scanner model?").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.goto(&format!("{}/portal/c/{public}", app.base)).await;
    page.fill("#link-email", "erin@client.example").await;
    page.click("#link-form button[type=submit]").await;
    page.wait_for("#link-status", |t| t.contains("on its way")).await;
    app.deliver().await;
    let text = smtp.mails_to("erin@client.example").pop().expect("the link").text();
    let link = text.lines().find(|l| l.contains("/portal/login?token=")).unwrap().trim().to_string();
    assert!(link.ends_with(&format!("&conversation={public}")), "{link}");
    page.goto(&link).await;
    page.click("#redeem").await;
    page.wait_for("#messages", |t| t.contains("Which scanner model?")).await;
    assert!(page.client.current_url().await.unwrap().as_str().ends_with(&format!("/portal/c/{public}")));
    page.close().await;
    app.stop().await;
}

#[tokio::test]
async fn r7_the_portal_search_finds_only_the_customers_own_public_words() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&admin, public, "Your printer gets a new fuser").await;
    let internal = app.conversation(&admin, ticket, "internal").await;
    app.say(&admin, internal, "The printer fuser costs too much").await;

    let browser = Browser::start().await;
    let page = browser.session().await;
    page.goto(&format!("{}/portal", app.base)).await;
    page.fill("#email", "carla@client.example").await;
    page.fill("#password", PASSWORD).await;
    page.click("#password-form button[type=submit]").await;
    page.wait_for("#items", |t| t.contains("Printer on fire")).await;
    page.fill("#search-q", "fuser").await;
    page.wait_for("#search-results", |t| t.contains("gets a new fuser")).await;
    assert!(!page.text("#search-results").await.contains("costs too much"));
    page.click(&format!("#search-results a[href='/portal/c/{public}']")).await;
    page.wait_for("#messages", |t| t.contains("Your printer gets a new fuser")).await;
    page.close().await;
    app.stop().await;
}
