//! R1–R6 through the real server: visibility, defaults, independent conversations, linking, states.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::json;

#[tokio::test]
async fn r1_every_message_has_its_conversations_visibility() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ticket = app.ticket(&admin, app.project(&admin, "P").await, "T", &[]).await;
    for visibility in ["public", "internal"] {
        let c = app.conversation(&admin, ticket, visibility).await;
        let posted = app.say(&admin, c, "hello").await;
        assert_eq!(posted["message"]["visibility"], visibility);
    }
    // R2: the item holds both side by side.
    let (_, list) = app.get(&admin, &format!("/api/v1/items/{ticket}/conversations")).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn r3_new_conversation_takes_the_company_default_visibility() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let project = app.project(&admin, "P").await;
    let ticket = app.ticket(&admin, project, "T", &[]).await;
    let create = |body| app.ok(&admin, "/api/v1/conversations", body, 201);
    assert_eq!(create(json!({"subject": "a", "item_id": ticket})).await["visibility"], "public");
    let (status, _) = app.patch(&admin, "/api/v1/company", json!({"item_default_visibility": "internal"})).await;
    assert_eq!(status, 200);
    assert_eq!(create(json!({"subject": "b", "item_id": ticket})).await["visibility"], "internal");
    assert_eq!(create(json!({"subject": "c", "project_id": project})).await["visibility"], "public");
    // The creator can still pick the other tab.
    assert_eq!(
        create(json!({"subject": "d", "item_id": ticket, "visibility": "public"})).await["visibility"],
        "public"
    );
    // Only admins change the defaults.
    let mia = app.user(&admin, "mia@team.example").await;
    assert_eq!(app.patch(&mia, "/api/v1/company", json!({"project_default_visibility": "internal"})).await.0, 403);
    app.stop().await;
}

#[tokio::test]
async fn r4_conversation_with_users_refuses_a_customer() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let body = json!({"subject": "x", "start_as": "with_users",
        "participants": [{"kind": "user", "id": mia.id}, {"kind": "customer", "id": carla.id}]});
    let (status, err) = app.post(&admin, "/api/v1/conversations", body).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "customer_not_allowed");
    let body = json!({"subject": "x", "start_as": "with_users", "participants": [{"kind": "user", "id": mia.id}]});
    let c = app.ok(&admin, "/api/v1/conversations", body, 201).await;
    assert_eq!((c["visibility"].as_str(), c["link"].is_null()), (Some("internal"), true));
    let id = c["id"].as_i64().unwrap();
    let add = json!({"role": "participant", "party": {"kind": "customer", "id": carla.id}});
    assert_eq!(app.post(&admin, &format!("/api/v1/conversations/{id}/people"), add).await.0, 422);
    // Nothing of the refused conversation was written: the admin has exactly one.
    let (_, page) = app.get(&admin, "/api/v1/views/internal_sent").await;
    assert_eq!(page["total"], 1, "{page}");
    app.stop().await;
}

#[tokio::test]
async fn r4_customer_starts_an_independent_public_chat_with_themself() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let c = app.ok(&carla, "/api/v1/conversations", json!({"subject": "Help", "body": "My order is late"}), 201).await;
    assert_eq!(c["visibility"], "public");
    assert_eq!(c["participants"], json!([{"kind": "customer", "id": carla.id}]));
    assert_eq!(c["message_count"], 1);
    let (status, _) =
        app.post(&carla, "/api/v1/conversations", json!({"subject": "x", "visibility": "internal"})).await;
    assert_eq!(status, 422);
    // Staff see it among open conversations with customers, as unanswered.
    let (_, page) = app.get(&admin, "/api/v1/views/unanswered").await;
    assert_eq!(page["conversations"][0]["id"], c["id"]);
    app.stop().await;
}

#[tokio::test]
async fn r5_linking_makes_participants_followers_and_customers_requesters() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "P").await;
    let chat = app.ok(&carla, "/api/v1/conversations", json!({"subject": "Help", "body": "hi"}), 201).await;
    let id = chat["id"].as_i64().unwrap();
    let link = json!({"new_item": {"project_id": project, "kind": "ticket", "title": "From chat"}});
    let linked = app.ok(&admin, &format!("/api/v1/conversations/{id}/link"), link, 200).await;
    assert_eq!(linked["conversation"]["link"]["kind"], "item");
    assert_eq!(linked["item"]["requesters"], json!([carla.id]));
    assert!(linked["item"]["followers"].as_array().unwrap().contains(&json!({"kind": "customer", "id": carla.id})));
    // Linking twice is refused.
    let again = json!({"item_id": linked["item"]["id"]});
    let (status, err) = app.post(&admin, &format!("/api/v1/conversations/{id}/link"), again).await;
    assert_eq!((status, err["error"]["code"].as_str()), (409, Some("already_linked")));
    // Linking to an existing item: participants follow it.
    let ticket = app.ticket(&admin, project, "Existing", &[]).await;
    let mia = app.user(&admin, "mia@team.example").await;
    let body = json!({"subject": "x", "start_as": "with_users", "participants": [{"kind": "user", "id": mia.id}]});
    let other = app.ok(&admin, "/api/v1/conversations", body, 201).await["id"].as_i64().unwrap();
    let linked = app.ok(&admin, &format!("/api/v1/conversations/{other}/link"), json!({"item_id": ticket}), 200).await;
    assert!(linked["item"]["followers"].as_array().unwrap().contains(&json!({"kind": "user", "id": mia.id})));
    app.stop().await;
}

#[tokio::test]
async fn r6_locked_conversation_refuses_messages_with_409_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let ticket = app.ticket(&admin, app.project(&admin, "P").await, "T", &[carla.id]).await;
    let c = app.conversation(&admin, ticket, "public").await;
    app.say(&admin, c, "first").await;
    let state = format!("/api/v1/conversations/{c}/state");
    let (status, err) = app.post(&admin, &state, json!({"action": "lock"})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (409, Some("invalid_state_change")), "lock needs closed");
    assert_eq!(app.ok(&admin, &state, json!({"action": "close"}), 200).await["state"], "closed");
    assert_eq!(app.ok(&admin, &state, json!({"action": "lock"}), 200).await["state"], "locked");
    for who in [&admin, &carla] {
        let (status, err) =
            app.post(who, &format!("/api/v1/conversations/{c}/messages"), json!({"body": "more"})).await;
        assert_eq!(status, 409, "{err}");
        assert_eq!(err["error"]["code"], "conversation_locked");
    }
    let (_, msgs) = app.get(&admin, &format!("/api/v1/conversations/{c}/messages")).await;
    assert_eq!(msgs.as_array().unwrap().len(), 1);
    // A customer cannot change states.
    assert_eq!(app.post(&carla, &state, json!({"action": "unlock"})).await.0, 404);
    assert_eq!(app.ok(&admin, &state, json!({"action": "unlock"}), 200).await["state"], "closed");
    app.stop().await;
}

#[tokio::test]
async fn r6_new_message_from_any_channel_reopens_a_closed_conversation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let ticket = app.ticket(&admin, app.project(&admin, "P").await, "T", &[carla.id]).await;
    let c = app.conversation(&admin, ticket, "public").await;
    let state = format!("/api/v1/conversations/{c}/state");
    app.ok(&admin, &state, json!({"action": "close"}), 200).await;
    let path = format!("/api/v1/conversations/{c}/messages");
    app.ok(&carla, &path, json!({"body": "still broken", "channel": "widget"}), 201).await;
    let (_, conv) = app.get(&admin, &format!("/api/v1/conversations/{c}")).await;
    assert_eq!(conv["state"], "open");
    app.ok(&admin, &state, json!({"action": "close"}), 200).await;
    app.ok(&admin, &path, json!({"body": "fixed?", "channel": "api"}), 201).await;
    assert_eq!(app.get(&admin, &format!("/api/v1/conversations/{c}")).await.1["state"], "open");
    // A channel that is not the asker's is refused.
    assert_eq!(app.post(&carla, &path, json!({"body": "x", "channel": "app"})).await.0, 422);
    app.stop().await;
}
