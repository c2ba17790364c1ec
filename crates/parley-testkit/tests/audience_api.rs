//! R8–R11 through the real server: the stored audience and the recipient preview.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::json;

#[tokio::test]
async fn r8_r9_public_message_reaches_followers_requesters_participants_not_the_author() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let dan = app.customer(&admin, "dan@client.example").await;
    let ticket = app.ticket(&admin, app.project(&admin, "P").await, "T", &[carla.id]).await;
    let follow = json!({"role": "follower", "party": {"kind": "user", "id": mia.id}});
    app.ok(&admin, &format!("/api/v1/items/{ticket}/people"), follow, 200).await;
    let c = app.conversation(&admin, ticket, "public").await;
    let add = json!({"role": "participant", "party": {"kind": "customer", "id": dan.id}});
    app.ok(&admin, &format!("/api/v1/conversations/{c}/people"), add, 200).await;

    let posted = app.say(&admin, c, "Hello all").await;
    let expected = vec![format!("customer:{}", carla.id), format!("customer:{}", dan.id), format!("user:{}", mia.id)];
    assert_eq!(parties(&posted["audience"]), expected);
    let id = posted["message"]["id"].as_i64().unwrap();
    let (_, stored) = app.get(&mia, &format!("/api/v1/messages/{id}/audience")).await;
    assert_eq!(parties(&stored), expected, "stored audience equals the computed one");
    let carla_entry = stored["recipients"].as_array().unwrap().iter().find(|r| r["party"]["id"] == carla.id).cloned();
    assert!(carla_entry.unwrap()["reasons"].as_array().unwrap().contains(&json!("requester")));
    app.stop().await;
}

#[tokio::test]
async fn r7_internal_message_audience_has_no_customer() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let ticket = app.ticket(&admin, app.project(&admin, "P").await, "T", &[carla.id]).await;
    let follow = json!({"role": "follower", "party": {"kind": "user", "id": mia.id}});
    app.ok(&admin, &format!("/api/v1/items/{ticket}/people"), follow, 200).await;
    let c = app.conversation(&admin, ticket, "internal").await;
    let posted = app.say(&admin, c, "staff only").await;
    assert_eq!(parties(&posted["audience"]), vec![format!("user:{}", mia.id)]);
    app.stop().await;
}

#[tokio::test]
async fn r10_mention_reaches_the_user_and_makes_them_follow() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let ticket = app.ticket(&admin, app.project(&admin, "P").await, "T", &[]).await;
    let c = app.conversation(&admin, ticket, "internal").await;
    let posted = app.say(&admin, c, "@mia can you look?").await;
    assert_eq!(parties(&posted["audience"]), vec![format!("user:{}", mia.id)]);
    let (_, conv) = app.get(&admin, &format!("/api/v1/conversations/{c}")).await;
    assert!(conv["followers"].as_array().unwrap().contains(&json!({"kind": "user", "id": mia.id})));
    // Followed now, Mia receives the next message without a mention.
    assert_eq!(parties(&app.say(&admin, c, "thanks").await["audience"]), vec![format!("user:{}", mia.id)]);
    app.stop().await;
}

#[tokio::test]
async fn r10_all_customer_messages_preference_adds_an_unfollowing_user() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lead = app.user(&admin, "lead@team.example").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let prefs = format!("/api/v1/users/{}/preferences", lead.id);
    app.patch(&lead, &prefs, json!({"customer_messages": "all"})).await;
    let ticket = app.ticket(&admin, app.project(&admin, "P").await, "T", &[carla.id]).await;
    let c = app.conversation(&admin, ticket, "public").await;
    let posted = app.say(&carla, c, "Any news?").await;
    let lead_entry = posted["audience"]["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["party"]["id"] == lead.id && r["party"]["kind"] == "user")
        .cloned();
    assert_eq!(lead_entry.unwrap()["reasons"], json!(["all_customer_messages"]));
    app.stop().await;
}

#[tokio::test]
async fn r11_recipient_preview_matches_the_audience_then_stored() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let bo = app.user(&admin, "bo@team.example").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let ticket = app.ticket(&admin, app.project(&admin, "P").await, "T", &[carla.id]).await;
    let follow = json!({"role": "follower", "party": {"kind": "user", "id": mia.id}});
    app.ok(&admin, &format!("/api/v1/items/{ticket}/people"), follow, 200).await;
    let c = app.conversation(&admin, ticket, "public").await;
    let draft = "Hi Carla, @bo will call you";
    let preview =
        app.ok(&admin, &format!("/api/v1/conversations/{c}/recipients-preview"), json!({"body": draft}), 200).await;
    let mut expected = vec![format!("customer:{}", carla.id), format!("user:{}", bo.id), format!("user:{}", mia.id)];
    expected.sort();
    assert_eq!(parties(&preview), expected);
    let posted = app.say(&admin, c, draft).await;
    assert_eq!(posted["audience"], preview);
    // Customers do not get the preview.
    let (status, _) =
        app.post(&carla, &format!("/api/v1/conversations/{c}/recipients-preview"), json!({"body": "x"})).await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn message_bodies_are_rendered_and_sanitized() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let ticket = app.ticket(&admin, app.project(&admin, "P").await, "T", &[]).await;
    let c = app.conversation(&admin, ticket, "public").await;
    let posted = app.say(&admin, c, "**bold** <script>alert(1)</script>").await;
    let html = posted["message"]["body_html"].as_str().unwrap();
    assert!(html.contains("<strong>bold</strong>") && !html.contains("<script"), "{html}");
    app.stop().await;
}
