//! Saved replies through the real server: the team shares them, their author or an admin changes
//! them, customers never see them, and a reply is filled only for a conversation its asker may
//! see (R7, R20).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::json;

#[tokio::test]
async fn saved_replies_are_the_teams_and_are_filled_for_the_conversation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia.wong@acme.test").await;
    app.patch(&admin, &format!("/api/v1/users/{}", mia.id), json!({"name": "Mia Wong"})).await;
    let lena = app.user(&admin, "lena@acme.test").await;
    let (status, _) = app
        .patch(&admin, &format!("/api/v1/users/{}/preferences", lena.id), json!({"scope": "followed_projects"}))
        .await;
    assert_eq!(status, 200);
    app.ok(
        &admin,
        "/api/v1/customers",
        json!({"email": "carla@client.example", "name": "Carla Diaz", "password": PASSWORD}),
        201,
    )
    .await;
    let carla = app.login_at("/api/v1/auth/customer-login", "carla@client.example", PASSWORD).await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;

    let body = "Hello {{customer.first_name}}, {{item}} is fixed.\n\n{{agent.first_name}}";
    let reply = app.ok(&mia, "/api/v1/saved-replies", json!({"title": "Fixed", "body": body}), 201).await;
    let id = reply["id"].as_i64().unwrap();
    assert_eq!(reply["created_by"], mia.id);

    // Everyone on the team lists and uses it; customers do not know it exists.
    for who in [&admin, &lena] {
        let (status, list) = app.get(who, "/api/v1/saved-replies").await;
        assert_eq!((status, list[0]["title"].as_str()), (200, Some("Fixed")));
    }
    let (status, _) = app.get(&carla, "/api/v1/saved-replies").await;
    assert_eq!(status, 404);
    let fill = format!("/api/v1/saved-replies/{id}/fill");
    let (status, filled) = app.post(&mia, &fill, json!({"conversation_id": public})).await;
    assert_eq!(status, 200, "{filled}");
    assert_eq!(filled["body"], format!("Hello Carla, Ticket #{ticket} is fixed.\n\nMia"));
    let (status, _) = app.post(&lena, &fill, json!({"conversation_id": public})).await;
    assert_eq!(status, 404, "not for a conversation outside her scope");
    let (status, _) = app.post(&carla, &fill, json!({"conversation_id": public})).await;
    assert_eq!(status, 404);

    // Its author or an admin changes it; another user may not.
    let path = format!("/api/v1/saved-replies/{id}");
    let edit = json!({"title": "Fixed now", "body": "Done, {{customer.name}}."});
    let (status, body) = app.call(reqwest::Method::PUT, Some(&lena), &path, Some(edit.clone())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")));
    let (status, changed) = app.call(reqwest::Method::PUT, Some(&admin), &path, Some(edit)).await;
    assert_eq!((status, changed["title"].as_str()), (200, Some("Fixed now")));
    let (_, filled) = app.post(&admin, &fill, json!({"conversation_id": public})).await;
    assert_eq!(filled["body"], "Done, Carla Diaz.");
    assert_eq!(app.delete(&lena, &path).await.0, 403);
    assert_eq!(app.delete(&mia, &path).await.0, 204);
    assert_eq!(app.get(&mia, "/api/v1/saved-replies").await.1, json!([]));
    assert_eq!(app.delete(&mia, &path).await.0, 404);
    app.stop().await;
}

#[tokio::test]
async fn a_saved_reply_with_an_unknown_variable_or_a_taken_title_is_refused_and_nothing_is_kept() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.ok(&admin, "/api/v1/saved-replies", json!({"title": "Refund", "body": "On its way."}), 201).await;
    for (body, status, code) in [
        (json!({"title": "Hi", "body": "Hi {{customer.nickname}}"}), 422, "unknown_variable"),
        (json!({"title": "REFUND", "body": "Again"}), 409, "title_taken"),
        (json!({"title": "", "body": "x"}), 400, "invalid_input"),
        (json!({"title": "x", "body": " "}), 400, "invalid_input"),
    ] {
        let (got, answer) = app.post(&admin, "/api/v1/saved-replies", body).await;
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{answer}");
    }
    let (_, answer) =
        app.post(&admin, "/api/v1/saved-replies", json!({"title": "Hi", "body": "Hi {{customer.nickname}}"})).await;
    assert!(answer["error"]["message"].as_str().unwrap().contains("customer.nickname"), "{answer}");
    let (_, list) = app.get(&admin, "/api/v1/saved-replies").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    app.stop().await;
}
