//! Search through the real server (R7, R20, R33, R37): each asker finds exactly what they may
//! read — a customer their own public conversations and released messages, a member limited to a
//! project only that project's — with the matched words marked, and bad queries get a 400.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

struct World {
    app: TestApp,
    admin: Who,
    mia: Who,
    carla: Who,
    dan: Who,
    /// Conversations: public and internal on ticket A (project "Followed", Carla's), the same on
    /// ticket B (project "Other", Dan's).
    a_pub: i64,
    a_int: i64,
    b_pub: i64,
    b_int: i64,
    ticket_a: i64,
    ticket_b: i64,
}

async fn world() -> World {
    let app = spawn_app_with(|c| {
        c.send_guard = Some(Duration::from_secs(600));
        c.rate_limits = false;
    })
    .await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let path = format!("/api/v1/users/{}/preferences", mia.id);
    assert_eq!(app.patch(&admin, &path, json!({"scope": "followed_projects"})).await.0, 200);
    let followed = app.project(&admin, "Followed").await;
    let other = app.project(&admin, "Other").await;
    let body = json!({"role": "member", "party": {"kind": "user", "id": mia.id}});
    app.ok(&admin, &format!("/api/v1/projects/{followed}/people"), body, 200).await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let dan = app.customer(&admin, "dan@other.example").await;
    let ticket_a = app.ticket(&admin, followed, "Printer on fire", &[carla.id]).await;
    let ticket_b = app.ticket(&admin, other, "Printer jammed", &[dan.id]).await;
    let conversation = |item: i64, visibility: &str, subject: &str| {
        let body = json!({"subject": subject, "item_id": item, "visibility": visibility});
        let (app, admin) = (&app, &admin);
        async move { app.ok(admin, "/api/v1/conversations", body, 201).await["id"].as_i64().unwrap() }
    };
    let a_pub = conversation(ticket_a, "public", "Printer smoke").await;
    let a_int = conversation(ticket_a, "internal", "Printer vendor").await;
    let b_pub = conversation(ticket_b, "public", "Printer paper").await;
    let b_int = conversation(ticket_b, "internal", "Printer budget").await;
    app.say(&carla, a_pub, "The printer smokes since this morning").await;
    app.say(&admin, a_int, "Printer vendor contract says we replace it").await;
    app.say(&dan, b_pub, "Paper jam in the printer again").await;
    app.say(&admin, b_int, "Printer budget is spent for the year").await;
    World { app, admin, mia, carla, dan, a_pub, a_int, b_pub, b_int, ticket_a, ticket_b }
}

async fn search(app: &TestApp, who: &Who, q: &str) -> Value {
    let (status, body) = app.get(who, &format!("/api/v1/search?q={q}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn ids(found: &Value, kind: &str, field: &str) -> BTreeSet<i64> {
    found[kind].as_array().unwrap().iter().map(|h| h[field].as_i64().unwrap()).collect()
}

/// The words a hit's excerpt marks as matched.
fn marked(hit: &Value) -> Vec<&str> {
    let parts = hit["excerpt"].as_array().unwrap();
    parts.iter().filter(|s| s["hit"] == true).map(|s| s["text"].as_str().unwrap()).collect()
}

fn conversation_ids(found: &Value) -> BTreeSet<i64> {
    found["conversations"].as_array().unwrap().iter().map(|h| h["conversation"]["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn r7_r20_r37_each_asker_finds_exactly_what_they_may_read() {
    let w = world().await;
    let app = &w.app;
    // A staff reply still inside the send guard (R33), and one taken back.
    app.say(&w.admin, w.a_pub, "A new printer arrives on Monday").await;
    let undone = app.say(&w.admin, w.a_pub, "Printer mistake, ignore").await["message"]["id"].as_i64().unwrap();
    assert_eq!(app.post(&w.admin, &format!("/api/v1/messages/{undone}/undo"), json!({})).await.0, 200);

    let all = BTreeSet::from([w.a_pub, w.a_int, w.b_pub, w.b_int]);
    let found = search(app, &w.admin, "printer").await;
    assert_eq!(conversation_ids(&found), all);
    assert_eq!(ids(&found, "messages", "conversation_id"), all);
    assert_eq!(found["messages"].as_array().unwrap().len(), 5, "the undone one is gone: {found}");
    assert_eq!(ids(&found, "items", "id"), BTreeSet::from([w.ticket_a, w.ticket_b]));

    // Mia's scope is the project of ticket A.
    let found = search(app, &w.mia, "printer").await;
    assert_eq!(conversation_ids(&found), BTreeSet::from([w.a_pub, w.a_int]));
    assert_eq!(ids(&found, "messages", "conversation_id"), BTreeSet::from([w.a_pub, w.a_int]));
    assert_eq!(ids(&found, "items", "id"), BTreeSet::from([w.ticket_a]));

    // Carla: her public conversation, her own message, her ticket; not the held reply, nothing
    // internal, no customers.
    let found = search(app, &w.carla, "printer").await;
    assert_eq!(conversation_ids(&found), BTreeSet::from([w.a_pub]));
    assert_eq!(ids(&found, "messages", "conversation_id"), BTreeSet::from([w.a_pub]));
    assert_eq!(found["messages"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(ids(&found, "items", "id"), BTreeSet::from([w.ticket_a]));
    assert_eq!(found["customers"], json!([]));
    let text = found.to_string().to_lowercase();
    for secret in ["vendor", "budget", "jam", "monday", "mistake", "dan@"] {
        assert!(!text.contains(secret), "Carla's search shows {secret:?}: {found}");
    }
    let found = search(app, &w.dan, "printer").await;
    assert_eq!(conversation_ids(&found), BTreeSet::from([w.b_pub]));
    assert_eq!(ids(&found, "items", "id"), BTreeSet::from([w.ticket_b]));

    // Once the guard has passed, the reply is Carla's to find.
    app.advance_ms(601_000);
    let found = search(app, &w.carla, "monday").await;
    assert_eq!(ids(&found, "messages", "conversation_id"), BTreeSet::from([w.a_pub]));
    w.app.stop().await;
}

#[tokio::test]
async fn search_marks_the_matched_words_and_follows_the_typing() {
    let w = world().await;
    let app = &w.app;
    let found = search(app, &w.admin, "vendor%20contr").await;
    assert_eq!(found["terms"], json!(["vendor", "contr"]));
    let hit = &found["messages"][0];
    assert_eq!(hit["conversation_id"], w.a_int);
    assert_eq!(hit["subject"], "Printer vendor");
    assert_eq!(marked(hit), vec!["vendor", "contract"], "{hit}");
    let whole: String = hit["excerpt"].as_array().unwrap().iter().map(|s| s["text"].as_str().unwrap()).collect();
    assert_eq!(whole, "Printer vendor contract says we replace it");
    // Staff find customers by name or address; words typed as search syntax are only words.
    let found = search(app, &w.mia, "carla").await;
    assert_eq!(found["customers"][0]["email"], "carla@client.example");
    let found = search(app, &w.admin, "printer%20OR%20NOT%20NEAR(\"x\")").await;
    assert_eq!(found["messages"], json!([]), "every word must match, operators included: {found}");
    w.app.stop().await;
}

#[tokio::test]
async fn search_refuses_bad_queries_with_a_clear_error_and_finds_nothing_without_words() {
    let w = world().await;
    let long = "x".repeat(201);
    for path in [
        "/api/v1/search".to_string(),
        "/api/v1/search?q=".to_string(),
        format!("/api/v1/search?q={long}"),
        "/api/v1/search?q=printer&limit=0".to_string(),
        "/api/v1/search?q=printer&limit=51".to_string(),
        "/api/v1/search?q=printer&limit=many".to_string(),
    ] {
        let (status, body) = w.app.get(&w.admin, &path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{path}: {body}");
    }
    // Only punctuation, spaces or symbols: no words, so nothing is found.
    for q in ["%22*()", "%20%20", "%F2%82%AD%9F"] {
        let found = search(&w.app, &w.admin, q).await;
        assert_eq!(found["terms"], json!([]), "{q}: {found}");
        assert_eq!((found["messages"].as_array().unwrap().len(), found["items"].as_array().unwrap().len()), (0, 0));
    }
    w.app.stop().await;
}

/// A live-chat visitor has a name and no address yet: staff find them by name all the same.
#[tokio::test]
async fn r37_staff_find_a_visitor_without_an_address_by_name() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (status, session) =
        app.call(reqwest::Method::POST, None, "/api/v1/widget/visitors", Some(json!({"name": "Zoltan Quill"}))).await;
    assert_eq!(status, 200, "{session}");
    let found = search(&app, &admin, "zoltan").await;
    let hits = found["customers"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{found}");
    assert_eq!(hits[0]["id"], session["customer"]["id"], "{found}");
}

/// Accents and other diacritics are ignored both ways: "cafe" finds "café", "FERMÉ" finds
/// "fermé", and the excerpt marks the word as it was written.
#[tokio::test]
async fn search_ignores_diacritics_in_texts_and_queries() {
    let w = world().await;
    let app = &w.app;
    let body = json!({"subject": "Crème brûlée order", "item_id": w.ticket_a, "visibility": "public"});
    let dessert = app.ok(&w.admin, "/api/v1/conversations", body, 201).await["id"].as_i64().unwrap();
    app.say(&w.carla, dessert, "Le café de Zürich est fermé").await;
    let body = json!({"email": "jose@client.example", "name": "José Núñez"});
    let jose = app.ok(&w.admin, "/api/v1/customers", body, 201).await["id"].as_i64().unwrap();

    for q in ["cafe", "zurich", "FERM%C3%89", "caf%C3%A9%20zur"] {
        let found = search(app, &w.admin, q).await;
        assert_eq!(ids(&found, "messages", "conversation_id"), BTreeSet::from([dessert]), "{q}: {found}");
    }
    let found = search(app, &w.admin, "cafe").await;
    assert_eq!(marked(&found["messages"][0]), vec!["café"], "{found}");
    let found = search(app, &w.carla, "creme%20brulee").await;
    assert_eq!(conversation_ids(&found), BTreeSet::from([dessert]), "{found}");
    let found = search(app, &w.admin, "nunez").await;
    assert_eq!(ids(&found, "customers", "id"), BTreeSet::from([jose]), "{found}");
    w.app.stop().await;
}
