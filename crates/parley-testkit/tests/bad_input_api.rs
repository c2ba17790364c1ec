//! Bad input gets a clear 4xx JSON error and writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use reqwest::Method;
use serde_json::{json, Value};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<none>")
}

#[tokio::test]
async fn malformed_and_invalid_requests_answer_4xx_json_and_write_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "P").await;
    let items = format!("/api/v1/projects/{project}/items");

    let cases = [
        (json!({"project_id": project, "kind": "ticket"}), 400, "invalid_json"),
        (json!({"project_id": project, "kind": "bug", "title": "x"}), 400, "invalid_json"),
        (json!({"project_id": project, "kind": "ticket", "title": "  "}), 400, "invalid_input"),
        (json!({"project_id": project, "kind": "ticket", "title": "x".repeat(201)}), 400, "invalid_input"),
        (json!({"project_id": project, "kind": "ticket", "title": "x", "extra": 1}), 400, "invalid_json"),
        (json!({"project_id": 999, "kind": "ticket", "title": "x"}), 404, "not_found"),
        (json!({"project_id": project, "kind": "ticket", "title": "x", "requester_ids": [999]}), 404, "not_found"),
    ];
    for (body, status, expected) in cases {
        let (got, answer) = app.post(&admin, "/api/v1/items", body.clone()).await;
        assert_eq!((got, code(&answer)), (status, expected), "{body} -> {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(app.get(&admin, &items).await.1, json!([]), "no item was written");

    // Not JSON at all, a wrong content type, and an oversized body.
    let raw = |body: &'static str, ctype: &'static str| {
        app.client
            .post(format!("{}/api/v1/items", app.base))
            .bearer_auth(&admin.token)
            .header("content-type", ctype)
            .body(body)
    };
    let res = raw("{not json", "application/json").send().await.unwrap();
    assert_eq!(res.status(), 400);
    let res = raw("{}", "text/plain").send().await.unwrap();
    assert_eq!(res.status(), 415);
    // A struct is never read from an array, and white space around an object is fine.
    let res = raw(r#"[1, "ticket", "x"]"#, "application/json").send().await.unwrap();
    assert_eq!(res.status(), 400);
    let padded = format!(" \n {} \n", json!({"project_id": project, "kind": "ticket", "title": "Padded"}));
    let res = app
        .client
        .post(format!("{}/api/v1/items", app.base))
        .bearer_auth(&admin.token)
        .header("content-type", "application/json")
        .body(padded)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let huge = json!({"project_id": project, "kind": "ticket", "title": "x".repeat(300_000)});
    let (status, answer) = app.post(&admin, "/api/v1/items", huge).await;
    assert_eq!((status, code(&answer)), (413, "payload_too_large"));

    // Ids that are not numbers, unknown endpoints and methods.
    let (status, answer) = app.get(&admin, "/api/v1/items/abc").await;
    assert_eq!((status, code(&answer)), (400, "invalid_path"));
    let (status, answer) = app.get(&admin, "/api/v1/nothing-here").await;
    assert_eq!((status, code(&answer)), (404, "not_found"));
    let (status, answer) = app.call(Method::PUT, Some(&admin), "/api/v1/items", Some(json!({}))).await;
    assert_eq!((status, code(&answer)), (405, "method_not_allowed"));
    let (status, answer) = app.call(Method::GET, None, "/api/v1/items/1", None).await;
    assert_eq!((status, code(&answer)), (401, "unauthenticated"));
    app.stop().await;
}

#[tokio::test]
async fn message_body_limits_and_duplicate_emails() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ticket = app.ticket(&admin, app.project(&admin, "P").await, "T", &[]).await;
    let c = app.conversation(&admin, ticket, "public").await;
    let path = format!("/api/v1/conversations/{c}/messages");
    for body in [String::new(), "x".repeat(50_001)] {
        let (status, answer) = app.post(&admin, &path, json!({"body": body})).await;
        assert_eq!((status, code(&answer)), (400, "invalid_input"));
    }
    assert_eq!(app.get(&admin, &path).await.1, json!([]));
    let (status, answer) = app.get(&admin, &format!("{path}?limit=500")).await;
    assert_eq!((status, code(&answer)), (400, "invalid_input"));

    app.customer(&admin, "carla@client.example").await;
    let dup = json!({"email": "CARLA@client.example", "name": "Carla again"});
    let (status, answer) = app.post(&admin, "/api/v1/customers", dup).await;
    assert_eq!((status, code(&answer)), (409, "already_exists"));
    let (status, answer) = app.post(&admin, "/api/v1/customers", json!({"email": "not-an-email", "name": "x"})).await;
    assert_eq!((status, code(&answer)), (400, "invalid_input"));
    let bad_login = json!({"email": "admin@example.com", "password": "wrong-password"});
    let (status, answer) = app.call(Method::POST, None, "/api/v1/auth/login", Some(bad_login)).await;
    assert_eq!((status, code(&answer)), (401, "bad_credentials"));
    app.stop().await;
}

#[tokio::test]
async fn customers_join_the_organization_of_their_email_domain() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let org =
        app.ok(&admin, "/api/v1/organizations", json!({"name": "Client Co", "domain": "client.example"}), 201).await;
    let carla =
        app.ok(&admin, "/api/v1/customers", json!({"email": "carla@client.example", "name": "Carla"}), 201).await;
    assert_eq!(carla["organization_id"], org["id"]);
    let dan = app.ok(&admin, "/api/v1/customers", json!({"email": "dan@other.example", "name": "Dan"}), 201).await;
    assert!(dan["organization_id"].is_null());
    app.stop().await;
}

#[tokio::test]
async fn openapi_document_lists_the_endpoints() {
    let app = spawn_app().await;
    let res = app.client.get(format!("{}/api/openapi.json", app.base)).send().await.unwrap();
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/v1/conversations/{id}/messages", "/api/v1/views/{view}", "/api/v1/auth/login"] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    app.stop().await;
}

/// JSON Schema's integers include `12.0`, so clients generated from the document may write ids and
/// numbers so: paths and queries take them like bodies do; a fraction is still a 400.
#[tokio::test]
async fn whole_numbers_written_as_decimals_are_taken_in_paths_and_queries() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer", &[]).await;
    let conversation = app.conversation(&admin, ticket, "public").await;
    app.say(&admin, conversation, "Hello").await;
    let (status, found) = app.get(&admin, &format!("/api/v1/conversations/{conversation}.0")).await;
    assert_eq!((status, found["id"].as_i64()), (200, Some(conversation)));
    let (status, list) =
        app.get(&admin, &format!("/api/v1/conversations/{conversation}.00/messages?after=0.0&limit=5.0")).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(1)), "{list}");
    let (status, _) = app.get(&admin, "/api/v1/customers?limit=20.0").await;
    assert_eq!(status, 200);
    for bad in [
        format!("/api/v1/conversations/{conversation}.5"),
        "/api/v1/conversations/1e3".into(),
        "/api/v1/conversations/.0".into(),
    ] {
        let (status, body) = app.get(&admin, &bad).await;
        assert_eq!((status, code(&body)), (400, "invalid_path"), "{bad}");
    }
    let (status, body) = app.get(&admin, &format!("/api/v1/conversations/{conversation}/messages?limit=5.5")).await;
    assert_eq!(status, 400, "{body}");
    app.stop().await;
}

/// The company's numbers (send guards, the routing cap) are whole numbers however JSON writes them;
/// a fraction is a 400 that changes nothing.
#[tokio::test]
async fn company_numbers_written_as_decimals_are_taken() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let patch = serde_json::json!({"chat_send_guard_ms": 452.0, "send_guard_ms": 2753, "routing_cap": 7.0});
    let (status, company) = app.patch(&admin, "/api/v1/company", patch).await;
    assert_eq!(status, 200, "{company}");
    assert_eq!(
        (company["chat_send_guard_ms"].as_i64(), company["send_guard_ms"].as_i64(), company["routing_cap"].as_i64()),
        (Some(452), Some(2753), Some(7))
    );
    let (status, body) = app.patch(&admin, "/api/v1/company", serde_json::json!({"routing_cap": 2.5})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app.patch(&admin, "/api/v1/company", serde_json::json!({"chat_send_guard_ms": 0.5})).await;
    assert_eq!(status, 400, "{body}");
    // `null` leaves the cap as it is, like leaving it out.
    let (status, company) = app.patch(&admin, "/api/v1/company", serde_json::json!({"routing_cap": null})).await;
    assert_eq!((status, company["routing_cap"].as_i64()), (200, Some(7)), "{company}");
    app.stop().await;
}
