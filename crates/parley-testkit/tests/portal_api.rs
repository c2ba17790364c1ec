//! The portal's emailed one-time login links through the real server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use reqwest::Method;
use serde_json::json;

fn token_in(text: &str) -> String {
    let start = text.find("token=").expect("a link") + "token=".len();
    text[start..].split(|c: char| c.is_whitespace() || c == '"').next().unwrap().to_string()
}

#[tokio::test]
async fn a_login_link_logs_a_customer_in_once() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    app.ok(&admin, "/api/v1/customers", json!({"email": "carla@client.example", "name": "Carla"}), 201).await;
    let ask = |email: &str| {
        let body = json!({ "email": email });
        let app = &app;
        async move { app.call(Method::POST, None, "/api/v1/auth/customer-link", Some(body)).await.0 }
    };
    assert_eq!(ask("carla@client.example").await, 202);
    assert_eq!(ask("nobody@client.example").await, 202, "the same answer for unknown addresses");
    assert_eq!(ask("not an email").await, 400);
    app.deliver().await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "only Carla gets a link");
    assert_eq!(mails[0].subject(), "Your login link");
    let token = token_in(&mails[0].text());
    // The admins' outgoing log shows the email, not the link in it (R44: it was never stored).
    let (_, log) = app.get(&admin, "/api/v1/outgoing-emails").await;
    let (_, logged) = app.get(&admin, &format!("/api/v1/outgoing-emails/{}", log[0]["email_id"])).await;
    assert!(logged["body_text"].as_str().unwrap().contains(parley_domain::sealed::SECRET_SLOT), "{logged}");
    assert!(!logged.to_string().contains(&token), "{logged}");

    let redeem = |token: String| {
        let app = &app;
        async move {
            app.call(Method::POST, None, "/api/v1/auth/customer-link/redeem", Some(json!({ "token": token }))).await
        }
    };
    let (status, session) = redeem(token.clone()).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["customer"]["email"], "carla@client.example");
    let who = Who { token: session["token"].as_str().unwrap().into(), id: session["customer"]["id"].as_i64().unwrap() };
    assert_eq!(app.get(&who, "/api/v1/me").await.0, 200);
    assert_eq!(redeem(token).await.0, 401, "used once");
    assert_eq!(redeem("pl_forged".into()).await.0, 401);
    app.stop().await;
}

#[tokio::test]
async fn login_links_expire_and_are_throttled() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    app.ok(&admin, "/api/v1/customers", json!({"email": "carla@client.example", "name": "Carla"}), 201).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let body = json!({"email": "Carla@client.example"});
        statuses.push(app.call(Method::POST, None, "/api/v1/auth/customer-link", Some(body)).await.0);
    }
    assert_eq!(statuses, vec![202, 202, 202, 429, 429], "R39: limited per address");
    app.deliver().await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 3, "at most three links in ten minutes");
    app.advance_ms(15 * 60_000);
    let token = token_in(&mails[0].text());
    let (status, _) =
        app.call(Method::POST, None, "/api/v1/auth/customer-link/redeem", Some(json!({ "token": token }))).await;
    assert_eq!(status, 401, "expired after 15 minutes");
    app.stop().await;
}
