//! What customers see of the company, through the real server: a new request from the portal
//! opens a ticket in the project the company chose; the team is named to customers as the company
//! decides, and only for messages the customer may read (R7, R33); the welcome the portal and the
//! widget show needs no credential.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::json;
use std::time::Duration;

async fn item_count(app: &TestApp, admin: &Who, project: i64) -> usize {
    let (status, items) = app.get(admin, &format!("/api/v1/projects/{project}/items")).await;
    assert_eq!(status, 200, "{items}");
    items.as_array().unwrap().len()
}

#[tokio::test]
async fn r7_a_customer_opens_a_request_from_the_portal_as_a_ticket_in_the_companys_project() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let request = json!({"title": "Printer on fire", "body": "It smokes since this morning."});

    // Until the company chooses a project, the portal takes no requests, and nothing is written.
    let (status, body) = app.post(&carla, "/api/v1/me/requests", request.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("portal_requests_off")), "{body}");
    assert_eq!(item_count(&app, &admin, project).await, 0);
    let (_, welcome) = app.call(reqwest::Method::GET, None, "/api/v1/welcome", None).await;
    assert_eq!(welcome["portal_requests"], false);

    let (status, company) = app.patch(&admin, "/api/v1/company", json!({"portal_request_project_id": project})).await;
    assert_eq!((status, company["portal_request_project_id"].as_i64()), (200, Some(project)), "{company}");
    let (_, welcome) = app.call(reqwest::Method::GET, None, "/api/v1/welcome", None).await;
    assert_eq!(welcome["portal_requests"], true);

    // Bad input is refused whole: no ticket without its words.
    for bad in [
        json!({"title": "", "body": "x"}),
        json!({"title": "Fine", "body": "   "}),
        json!({"title": "a\nb", "body": "x"}),
    ] {
        let (status, body) = app.post(&carla, "/api/v1/me/requests", bad.clone()).await;
        assert_eq!(status, 400, "{bad} → {body}");
    }
    assert_eq!(item_count(&app, &admin, project).await, 0);

    let opened = app.ok(&carla, "/api/v1/me/requests", request, 201).await;
    let ticket = opened["item_id"].as_i64().unwrap();
    let conversation = opened["conversation"]["id"].as_i64().unwrap();
    assert_eq!(opened["conversation"]["visibility"], "public");
    assert_eq!(opened["conversation"]["subject"], "Printer on fire");

    // A ticket in the chosen project, Carla its requester; her words its first message, from the portal.
    let (_, item) = app.get(&admin, &format!("/api/v1/items/{ticket}")).await;
    assert_eq!((item["kind"].as_str(), item["project_id"].as_i64()), (Some("ticket"), Some(project)), "{item}");
    assert_eq!(item["requesters"], json!([carla.id]), "{item}");
    let (_, messages) = app.get(&admin, &format!("/api/v1/conversations/{conversation}/messages")).await;
    assert_eq!(messages[0]["body"], "It smokes since this morning.");
    assert_eq!(messages[0]["channel"], "portal");
    // She finds it among her requests.
    let (_, mine) = app.get(&carla, "/api/v1/me/items").await;
    assert!(mine.as_array().unwrap().iter().any(|i| i["id"].as_i64() == Some(ticket)), "{mine}");
}

#[tokio::test]
async fn only_a_customer_with_a_proven_address_opens_requests() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "Support").await;
    assert_eq!(app.patch(&admin, "/api/v1/company", json!({"portal_request_project_id": project})).await.0, 200);
    let member = app.user(&admin, "mo@team.example").await;
    let visitor = app.visitor().await;
    let request = json!({"title": "Hello", "body": "Hi"});

    for (who, expected) in [(&admin, 403), (&member, 403), (&visitor, 403)] {
        let (status, body) = app.post(who, "/api/v1/me/requests", request.clone()).await;
        assert_eq!(status, expected, "{body}");
    }
    let (status, _) = app.call(reqwest::Method::POST, None, "/api/v1/me/requests", Some(request)).await;
    assert_eq!(status, 401);
    assert_eq!(item_count(&app, &admin, project).await, 0);
    // A project that does not exist cannot be chosen.
    let (status, body) = app.patch(&admin, "/api/v1/company", json!({"portal_request_project_id": 999})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("unknown_project")), "{body}");
}

#[tokio::test]
async fn r7_r33_customers_see_the_team_by_name_or_by_the_companys_display_name_and_only_for_what_they_may_read() {
    let app = spawn_app_with(|c| c.send_guard = Some(Duration::from_secs(30))).await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let dan = app.customer(&admin, "dan@other.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    let hers = app.say(&carla, public, "It smokes").await["message"]["id"].as_i64().unwrap();
    let reply = app.say(&admin, public, "A technician comes at 3 pm").await["message"]["id"].as_i64().unwrap();
    let author = |id: i64| format!("/api/v1/messages/{id}/author");

    // Held by the send guard: Carla cannot know it exists yet.
    let (status, _) = app.get(&carla, &author(reply)).await;
    assert_eq!(status, 404);
    app.advance_ms(31_000);
    let (status, shown) = app.get(&carla, &author(reply)).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!((shown["name"].as_str(), shown["staff"].as_bool()), (Some("Administrator"), Some(true)), "{shown}");
    let (_, shown) = app.get(&carla, &author(hers)).await;
    assert_eq!((shown["name"].as_str(), shown["staff"].as_bool()), (Some("carla"), Some(false)), "{shown}");

    // With a display name, the whole team goes by it to customers; staff still see who wrote.
    assert_eq!(app.patch(&admin, "/api/v1/company", json!({"staff_display_name": "ACME Support"})).await.0, 200);
    let (_, shown) = app.get(&carla, &author(reply)).await;
    assert_eq!(shown["name"], "ACME Support");
    let (_, shown) = app.get(&admin, &author(reply)).await;
    assert_eq!(shown["name"], "Administrator");
    // Blank: back to each by their own name.
    assert_eq!(app.patch(&admin, "/api/v1/company", json!({"staff_display_name": " "})).await.0, 200);
    let (_, shown) = app.get(&carla, &author(reply)).await;
    assert_eq!(shown["name"], "Administrator");

    // An internal note in her conversation, an undone reply, and someone else's conversation: 404.
    let (status, body) = app
        .post(&admin, &format!("/api/v1/conversations/{public}/messages"), json!({"body": "Sorry, wrong customer"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let undone = body["message"]["id"].as_i64().unwrap();
    assert_eq!(app.post(&admin, &format!("/api/v1/messages/{undone}/undo"), json!({})).await.0, 200);
    let internal = app.conversation(&admin, ticket, "internal").await;
    let note = app.say(&admin, internal, "Under warranty").await["message"]["id"].as_i64().unwrap();
    app.advance_ms(31_000);
    for id in [undone, note] {
        let (status, body) = app.get(&carla, &author(id)).await;
        assert_eq!(status, 404, "message {id}: {body}");
    }
    for id in [hers, reply] {
        let (status, _) = app.get(&dan, &author(id)).await;
        assert_eq!(status, 404, "dan and message {id}");
    }
    let (status, _) = app.get(&carla, &author(999_999)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_welcome_needs_no_credential_and_admins_write_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (status, welcome) = app.call(reqwest::Method::GET, None, "/api/v1/welcome", None).await;
    assert_eq!(status, 200);
    assert!(welcome["greeting"].as_str().unwrap().starts_with("Hi!"), "{welcome}");
    assert_eq!(welcome["reply_time"], "We usually reply within a few minutes.");

    let change = json!({"widget_greeting": "Hello from ACME!\nAsk about orders.", "widget_reply_time": "We reply within an hour."});
    assert_eq!(app.patch(&admin, "/api/v1/company", change).await.0, 200);
    let (_, welcome) = app.call(reqwest::Method::GET, None, "/api/v1/welcome", None).await;
    assert_eq!(welcome["greeting"], "Hello from ACME!\nAsk about orders.");
    assert_eq!(welcome["reply_time"], "We reply within an hour.");
    // No promise at all is allowed; an empty greeting, a member, or a multi-line promise is not.
    assert_eq!(app.patch(&admin, "/api/v1/company", json!({"widget_reply_time": ""})).await.0, 200);
    let (_, welcome) = app.call(reqwest::Method::GET, None, "/api/v1/welcome", None).await;
    assert_eq!(welcome["reply_time"], "");
    assert_eq!(app.patch(&admin, "/api/v1/company", json!({"widget_greeting": "  "})).await.0, 400);
    assert_eq!(app.patch(&admin, "/api/v1/company", json!({"widget_reply_time": "a\nb"})).await.0, 400);
    let member = app.user(&admin, "mo@team.example").await;
    assert_eq!(app.patch(&member, "/api/v1/company", json!({"widget_greeting": "Hi"})).await.0, 403);
    let (_, welcome) = app.call(reqwest::Method::GET, None, "/api/v1/welcome", None).await;
    assert_eq!(welcome["greeting"], "Hello from ACME!\nAsk about orders.");
}
