//! R39 through the real server: logins, login links, visitors and their addresses are limited per
//! address and per client, answering 429 with `Retry-After`; lists of people come in pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::{json, Value};

/// Posts without a token; answers the status, the `Retry-After` header and the body.
async fn post_anonymous(app: &TestApp, path: &str, body: Value) -> (u16, Option<u64>, Value) {
    let res = app.client.post(format!("{}{path}", app.base)).json(&body).send().await.unwrap();
    let status = res.status().as_u16();
    let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let text = res.text().await.unwrap();
    (status, retry, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn r39_wrong_passwords_for_one_address_are_cut_off_with_retry_after() {
    let app = spawn_app().await;
    let wrong = json!({"email": ADMIN_EMAIL, "password": "guess-guess"});
    for n in 0..5 {
        let (status, _, _) = post_anonymous(&app, "/api/v1/auth/login", wrong.clone()).await;
        assert_eq!(status, 401, "try {n}");
    }
    let (status, retry, body) = post_anonymous(&app, "/api/v1/auth/login", wrong).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "{body}");
    assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "{retry:?}");
    // Even the right password waits: the address is what is being guessed.
    let right = json!({"email": ADMIN_EMAIL.to_uppercase(), "password": ADMIN_PASSWORD});
    assert_eq!(post_anonymous(&app, "/api/v1/auth/login", right).await.0, 429);
    // Customers' logins and login links alike.
    let customer = json!({"email": "carla@client.example", "password": "nope-nope"});
    for _ in 0..5 {
        post_anonymous(&app, "/api/v1/auth/customer-login", customer.clone()).await;
    }
    assert_eq!(post_anonymous(&app, "/api/v1/auth/customer-login", customer).await.0, 429);
    let link = json!({"email": "carla@client.example"});
    for _ in 0..3 {
        assert_eq!(post_anonymous(&app, "/api/v1/auth/customer-link", link.clone()).await.0, 202);
    }
    assert_eq!(post_anonymous(&app, "/api/v1/auth/customer-link", link).await.0, 429);
    app.stop().await;
}

#[tokio::test]
async fn r39_one_client_cannot_create_visitors_without_end() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(post_anonymous(&app, "/api/v1/widget/visitors", json!({})).await.0);
    }
    assert!(statuses[..20].iter().all(|s| *s == 200), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
    app.stop().await;
}

#[tokio::test]
async fn r39_one_address_gets_few_verification_codes() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let visitor = app.visitor().await;
        statuses.push(app.post(&visitor, "/api/v1/widget/contact", json!({"email": "vic@target.example"})).await.0);
    }
    assert_eq!(statuses, vec![200, 200, 200, 429], "an inbox is not flooded through the widget");
    app.stop().await;
}

#[tokio::test]
async fn r39_customers_are_listed_a_page_at_a_time() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for n in 0..7 {
        let body = json!({"email": format!("c{n}@client.example"), "name": format!("Customer {n}")});
        app.ok(&admin, "/api/v1/customers", body, 201).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/customers?limit=3&cursor={c}"),
            None => "/api/v1/customers?limit=3".into(),
        };
        let (status, page) = app.get(&admin, &path).await;
        assert_eq!(status, 200, "{page}");
        let names: Vec<String> =
            page["customers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
        assert!(names.len() <= 3);
        seen.extend(names);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).map(|n| format!("Customer {n}")).collect();
    assert_eq!(seen, expected);
    let (_, found) = app.get(&admin, "/api/v1/customers?q=c5@").await;
    assert_eq!(found["customers"].as_array().unwrap().len(), 1, "{found}");
    for bad in ["limit=0", "limit=201", "bogus=1"] {
        let (status, body) = app.get(&admin, &format!("/api/v1/customers?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // A well-formed query with a cursor this API never gave: 422.
    let (status, body) = app.get(&admin, "/api/v1/customers?cursor=not-a-cursor").await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("unknown_cursor")), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn r39_limits_are_settings_that_hold_and_reset_when_their_period_passes() {
    let app = spawn_app_with(|c| c.rate_limit = vec!["login.address=2/1m".into(), "visitor.client=1/10s".into()]).await;
    let wrong = json!({"email": ADMIN_EMAIL, "password": "guess-guess"});
    for _ in 0..2 {
        assert_eq!(post_anonymous(&app, "/api/v1/auth/login", wrong.clone()).await.0, 401);
    }
    let (status, retry, _) = post_anonymous(&app, "/api/v1/auth/login", wrong.clone()).await;
    assert_eq!((status, retry), (429, Some(60)), "the setting, not the default of 5");
    app.advance_ms(59_000);
    assert_eq!(post_anonymous(&app, "/api/v1/auth/login", wrong.clone()).await.0, 429, "not yet");
    app.advance_ms(1_000);
    assert_eq!(post_anonymous(&app, "/api/v1/auth/login", wrong).await.0, 401, "reset after a minute");

    assert_eq!(post_anonymous(&app, "/api/v1/widget/visitors", json!({})).await.0, 200);
    let (status, retry, _) = post_anonymous(&app, "/api/v1/widget/visitors", json!({})).await;
    assert_eq!((status, retry), (429, Some(10)));
    app.advance_ms(10_000);
    assert_eq!(post_anonymous(&app, "/api/v1/widget/visitors", json!({})).await.0, 200);
    app.stop().await;
}
