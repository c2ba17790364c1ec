//! Live-chat visitors through the real server: anonymous customers who may give an address, and
//! are emailed what they miss only then (R14, R15).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use reqwest::Method;
use serde_json::json;

async fn visitor(app: &TestApp) -> Who {
    let (status, session) = app.call(Method::POST, None, "/api/v1/widget/visitors", Some(json!({}))).await;
    assert_eq!(status, 200, "{session}");
    assert!(session["customer"]["email"].is_null());
    assert_eq!(session["customer"]["name"], "Visitor");
    Who { token: session["token"].as_str().unwrap().into(), id: session["customer"]["id"].as_i64().unwrap() }
}

async fn chat(app: &TestApp, who: &Who, first: &str) -> i64 {
    let conversation =
        app.ok(who, "/api/v1/conversations", json!({"subject": "Live chat", "visibility": "public"}), 201).await;
    let id = conversation["id"].as_i64().unwrap();
    let said = app
        .ok(who, &format!("/api/v1/conversations/{id}/messages"), json!({"body": first, "channel": "widget"}), 201)
        .await;
    assert_eq!(said["message"]["channel"], "widget");
    id
}

#[tokio::test]
async fn r15_a_visitor_is_emailed_missed_replies_only_once_they_gave_an_address() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let anonymous = visitor(&app).await;
    let known = visitor(&app).await;
    let first = chat(&app, &anonymous, "Hello from nowhere").await;
    let second = chat(&app, &known, "Hello, I am Vera").await;
    let (status, me) =
        app.post(&known, "/api/v1/widget/contact", json!({"email": "vera@shopper.example", "name": "Vera"})).await;
    assert_eq!(
        (status, me["unverified_email"].as_str(), me["name"].as_str()),
        (200, Some("vera@shopper.example"), Some("Vera"))
    );
    assert!(me["email"].is_null(), "unverified until proven: {me}");

    app.say(&admin, first, "Hi! How can we help?").await;
    app.say(&admin, second, "Hi Vera! How can we help?").await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    let replies: Vec<_> = smtp.mails().into_iter().filter(|m| !m.subject().starts_with("Your code")).collect();
    assert_eq!(replies.len(), 1, "only the visitor with an address");
    assert_eq!(replies[0].to, vec!["vera@shopper.example".to_string()], "even unverified: what she asked for");
    let (_, log) = app.get(&admin, "/api/v1/outgoing-emails").await;
    assert!(
        log.as_array().unwrap().iter().any(|e| e["status"] == "suppressed" && e["reason"] == "no_address"),
        "{log}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_visitor_address_is_checked_and_fixed_once_proven() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let admin = app.admin().await;
    let v = visitor(&app).await;
    assert_eq!(app.post(&v, "/api/v1/widget/contact", json!({"email": "nope"})).await.0, 400);
    assert_eq!(app.post(&v, "/api/v1/widget/contact", json!({"email": "vera@shopper.exmaple"})).await.0, 200);
    // A typo may be corrected while unverified; the new address gets the code.
    let (status, me) = app.post(&v, "/api/v1/widget/contact", json!({"email": "vera@shopper.example"})).await;
    assert_eq!((status, me["unverified_email"].as_str()), (200, Some("vera@shopper.example")));
    app.deliver().await;
    let code = smtp.verification_code("vera@shopper.example");
    let (status, answer) = app.post(&v, "/api/v1/widget/verify", json!({"code": code})).await;
    assert_eq!((status, answer["customer"]["email"].as_str()), (200, Some("vera@shopper.example")), "{answer}");
    let (status, body) = app.post(&v, "/api/v1/widget/contact", json!({"email": "other@shopper.example"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("contact_already_given")));
    assert_eq!(app.post(&admin, "/api/v1/widget/contact", json!({"email": "x@y.example"})).await.0, 403);
    let (status, _) = app.call(Method::POST, None, "/api/v1/widget/visitors", Some(json!({"name": ""}))).await;
    assert_eq!(status, 200, "an empty name means the default");
    let long = "x".repeat(500);
    let (status, _) = app.call(Method::POST, None, "/api/v1/widget/visitors", Some(json!({ "name": long }))).await;
    assert_eq!(status, 400);
    app.stop().await;
}
