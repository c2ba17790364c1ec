//! R36 through the real server: an address a widget visitor types is a claim, not an identity.
//! It joins no organization and reaches nothing shared until its owner proves it with the emailed
//! code; then the chat moves to the customer who owns it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Carla of Client Ltd (client.example) asked for a ticket in a project shared with her
/// organization; its public conversation holds her invoice.
struct Shared {
    admin: Who,
    carla: Who,
    public: i64,
    ticket: i64,
}

async fn shared(app: &TestApp) -> Shared {
    let admin = app.admin().await;
    let org = app.ok(&admin, "/api/v1/organizations", json!({"name": "Client", "domain": "client.example"}), 201).await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Client projects").await;
    let share = json!({"role": "follower", "party": {"kind": "organization", "id": org["id"]}});
    app.ok(&admin, &format!("/api/v1/projects/{project}/people"), share, 200).await;
    let ticket = app.ticket(&admin, project, "Invoice", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&admin, public, "Carla, your invoice #4711 is attached").await;
    Shared { admin, carla, public, ticket }
}

fn reads_nothing_of(what: &str, (status, body): (u16, Value)) {
    assert_eq!(status, 404, "{what}: {body}");
    assert!(!body.to_string().contains("4711"), "{what}: {body}");
}

#[tokio::test]
async fn r36_an_unverified_address_joins_no_organization_and_reads_nothing_shared() {
    let (app, _smtp) = spawn_app_with_smtp().await;
    let s = shared(&app).await;
    for claimed in ["mallory@client.example", "carla@client.example"] {
        let v = app.visitor().await;
        let (status, me) = app.post(&v, "/api/v1/widget/contact", json!({"email": claimed})).await;
        assert_eq!(status, 200, "{me}");
        assert!(me["organization_id"].is_null() && me["email"].is_null(), "{claimed}: {me}");
        let (_, items) = app.get(&v, "/api/v1/me/items").await;
        assert_eq!(items, json!([]), "{claimed}");
        let c = format!("/api/v1/conversations/{}", s.public);
        reads_nothing_of("conversation", app.get(&v, &c).await);
        reads_nothing_of("messages", app.get(&v, &format!("{c}/messages")).await);
        reads_nothing_of("post", app.post(&v, &format!("{c}/messages"), json!({"body": "me too"})).await);
        reads_nothing_of("item", app.get(&v, &format!("/api/v1/items/{}", s.ticket)).await);
        let (_, views) = app.get(&v, "/api/v1/views/portal_open").await;
        assert_eq!(views["total"], 0, "{views}");
        // Nor does the claim open the portal.
        let link = json!({"email": claimed});
        app.call(Method::POST, None, "/api/v1/auth/customer-link", Some(link)).await;
    }
    let (_, messages) = app.get(&s.admin, &format!("/api/v1/conversations/{}/messages", s.public)).await;
    assert_eq!(messages.as_array().unwrap().len(), 1, "nothing was posted");
    app.stop().await;
}

#[tokio::test]
async fn r36_contact_answers_the_same_whether_the_address_is_known_or_not() {
    let (app, _smtp) = spawn_app_with_smtp().await;
    shared(&app).await;
    let shape = |v: &Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        (keys, v["email"].clone(), v["organization_id"].clone())
    };
    let (known_status, known) =
        app.post(&app.visitor().await, "/api/v1/widget/contact", json!({"email": "carla@client.example"})).await;
    let (unknown_status, unknown) =
        app.post(&app.visitor().await, "/api/v1/widget/contact", json!({"email": "nobody@client.example"})).await;
    assert_eq!((known_status, shape(&known)), (unknown_status, shape(&unknown)));
    app.stop().await;
}

#[tokio::test]
async fn r36_look_alike_addresses_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    for fake in ["carla\u{200B}@client.example", "c\u{0430}rla@client.example", "carla\u{202E}@client.example"] {
        let (status, body) = app.post(&v, "/api/v1/widget/contact", json!({"email": fake})).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_input")), "{fake:?}: {body}");
        let (status, _) = app.post(&admin, "/api/v1/customers", json!({"email": fake, "name": "Fake"})).await;
        assert_eq!(status, 400, "staff cannot create one either: {fake:?}");
    }
    let (_, me) = app.get(&v, "/api/v1/me").await;
    assert!(me["customer"]["unverified_email"].is_null(), "{me}");
    app.stop().await;
}

#[tokio::test]
async fn r36_proving_the_address_moves_the_chat_to_the_customer_who_owns_it() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let s = shared(&app).await;
    let v = app.visitor().await;
    let chat = app.ok(&v, "/api/v1/conversations", json!({"subject": "Chat", "visibility": "public"}), 201).await;
    let chat = chat["id"].as_i64().unwrap();
    app.ok(&v, &format!("/api/v1/conversations/{chat}/messages"), json!({"body": "It is me, Carla"}), 201).await;
    app.ok(&v, "/api/v1/widget/contact", json!({"email": "Carla@Client.example"}), 200).await;
    app.deliver().await;
    let code = smtp.verification_code("carla@client.example");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (status, body) = app.post(&v, "/api/v1/widget/verify", json!({"code": wrong})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("invalid_code")));

    let (status, answer) = app.post(&v, "/api/v1/widget/verify", json!({"code": code})).await;
    assert_eq!((status, answer["customer"]["id"].as_i64()), (200, Some(s.carla.id)), "{answer}");
    let now_carla = Who { token: answer["session"]["token"].as_str().unwrap().into(), id: s.carla.id };
    assert_eq!(app.get(&v, "/api/v1/me").await.0, 401, "the visitor's session has ended");
    // The chat is Carla's now, with her earlier history.
    let (status, messages) = app.get(&now_carla, &format!("/api/v1/conversations/{chat}/messages")).await;
    assert_eq!(status, 200);
    assert_eq!(messages[0]["author"], json!({"kind": "customer", "id": s.carla.id}));
    assert_eq!(app.get(&now_carla, &format!("/api/v1/conversations/{}", s.public)).await.0, 200);
    let (_, mine) = app.get(&s.carla, "/api/v1/views/portal_open").await;
    let ids: Vec<i64> = mine["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert!(ids.contains(&chat) && ids.contains(&s.public), "{mine}");
    app.stop().await;
}

#[tokio::test]
async fn r36_a_new_address_once_proven_joins_its_organization() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let s = shared(&app).await;
    let v = app.visitor().await;
    app.ok(&v, "/api/v1/widget/contact", json!({"email": "dora@client.example"}), 200).await;
    app.deliver().await;
    let (status, answer) =
        app.post(&v, "/api/v1/widget/verify", json!({"code": smtp.verification_code("dora@client.example")})).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["session"].is_null(), "the visitor became the customer: same session");
    assert_eq!(answer["customer"]["email"], "dora@client.example");
    assert!(answer["customer"]["organization_id"].is_i64(), "{answer}");
    assert_eq!(
        app.get(&v, &format!("/api/v1/conversations/{}", s.public)).await.0,
        200,
        "shared with her organization"
    );
    app.stop().await;
}

#[tokio::test]
async fn r36_a_code_is_single_use_short_lived_and_allows_few_tries() {
    let (app, smtp) = spawn_app_with_smtp().await;
    shared(&app).await;
    let try_code = |v: &Who, code: &str| {
        let (v, code) = (v.clone(), code.to_string());
        let app = &app;
        async move { app.post(&v, "/api/v1/widget/verify", json!({"code": code})).await.0 }
    };
    // Five wrong tries use the code up.
    let v = app.visitor().await;
    app.ok(&v, "/api/v1/widget/contact", json!({"email": "eve@client.example"}), 200).await;
    app.deliver().await;
    let code = smtp.verification_code("eve@client.example");
    let wrong = if code == "123456" { "654321" } else { "123456" };
    for _ in 0..5 {
        assert_eq!(try_code(&v, wrong).await, 422);
    }
    assert_eq!(try_code(&v, &code).await, 422, "too many tries");
    // Expired after 15 minutes.
    let v = app.visitor().await;
    app.ok(&v, "/api/v1/widget/contact", json!({"email": "fay@client.example"}), 200).await;
    app.deliver().await;
    let code = smtp.verification_code("fay@client.example");
    app.advance_ms(15 * 60_000);
    assert_eq!(try_code(&v, &code).await, 422, "expired");
    assert_eq!(try_code(&v, "12x").await, 400);
    app.stop().await;
}

#[tokio::test]
async fn r36_an_unverified_claim_never_blocks_staff_from_creating_the_customer() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.visitor().await;
    app.ok(&v, "/api/v1/widget/contact", json!({"email": "gus@client.example"}), 200).await;
    let (status, body) =
        app.post(&admin, "/api/v1/customers", json!({"email": "gus@client.example", "name": "Gus"})).await;
    assert_eq!(status, 201, "{body}");
    app.stop().await;
}
