//! A user an admin deactivates, through the real server: every session, API token and open
//! socket of theirs ends at once (R38), they cannot log in, they are in no audience (no push, no
//! email, no mention) and cannot be added anywhere, until reactivated. The last admin and oneself
//! cannot be deactivated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::json;
use std::time::Duration;

const AT_ONCE: Duration = Duration::from_secs(1);
const SESSION_ENDED: u16 = 4001;

async fn set_active(app: &TestApp, admin: &Who, user: i64, active: bool) -> (u16, serde_json::Value) {
    app.patch(admin, &format!("/api/v1/users/{user}"), json!({"active": active})).await
}

#[tokio::test]
async fn r38_deactivating_a_user_ends_their_sessions_tokens_and_sockets_and_logins() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let created = app.ok(&mia, "/api/v1/me/tokens", json!({"name": "script"}), 201).await;
    let token = Who { token: created["token"].as_str().unwrap().into(), id: mia.id };
    let mut socket = app.socket(&mia).await;
    let mut script_socket = app.socket(&token).await;

    let (status, user) = set_active(&app, &admin, mia.id, false).await;
    assert_eq!((status, user["active"].as_bool()), (200, Some(false)), "{user}");
    assert_eq!(socket.closed_with(AT_ONCE).await, Some(SESSION_ENDED));
    assert_eq!(script_socket.closed_with(AT_ONCE).await, Some(SESSION_ENDED));
    assert_eq!(app.get(&mia, "/api/v1/me").await.0, 401);
    assert_eq!(app.get(&token, "/api/v1/me").await.0, 401);
    // Told the same as a wrong password: nothing about the account.
    let (status, body) = app
        .call(
            reqwest::Method::POST,
            None,
            "/api/v1/auth/login",
            Some(json!({"email": "mia@team.example", "password": PASSWORD})),
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("bad_credentials")), "{body}");
    let (_, users) = app.get(&admin, "/api/v1/users").await;
    let listed = users.as_array().unwrap().iter().find(|u| u["id"].as_i64() == Some(mia.id)).unwrap().clone();
    assert_eq!(listed["active"], false);

    // Reactivated: she logs in again with her password; the token stays revoked.
    assert_eq!(set_active(&app, &admin, mia.id, true).await.0, 200);
    let again = app.login("mia@team.example", PASSWORD).await;
    assert_eq!(app.get(&again, "/api/v1/me").await.0, 200);
    assert_eq!(app.get(&token, "/api/v1/me").await.0, 401);
    app.stop().await;
}

#[tokio::test]
async fn a_deactivated_user_receives_nothing_and_cannot_be_mentioned_or_added() {
    let (app, smtp) = spawn_app_with_smtp().await;
    let d = app.desk().await;
    // Mia follows the ticket's customer thread.
    let follow = json!({"role": "follower", "party": {"kind": "user", "id": d.mia.id}});
    assert_eq!(app.post(&d.admin, &format!("/api/v1/conversations/{}/people", d.public), follow.clone()).await.0, 200);
    let posted = app.say(&d.carla, d.public, "Still broken").await;
    assert!(parties(&posted["audience"]).contains(&format!("user:{}", d.mia.id)), "{posted}");

    assert_eq!(set_active(&app, &d.admin, d.mia.id, false).await.0, 200);
    let posted = app.say(&d.carla, d.public, "Hello? Anyone?").await;
    assert!(!parties(&posted["audience"]).contains(&format!("user:{}", d.mia.id)), "{posted}");
    let mention = app.say(&d.admin, d.public, "@mia can you look?").await;
    assert!(!parties(&mention["audience"]).contains(&format!("user:{}", d.mia.id)), "{mention}");
    // Her pending email for the first message is not sent either: nobody writes to her any more.
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    assert!(smtp.mails_to(Desk::MIA).is_empty(), "a deactivated user got email");
    // She cannot be added anywhere.
    let (status, body) = app.post(&d.admin, &format!("/api/v1/items/{}/people", d.ticket), follow.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("user_deactivated")), "{body}");

    // Reactivated, she is back in the audience of what follows.
    assert_eq!(set_active(&app, &d.admin, d.mia.id, true).await.0, 200);
    let posted = app.say(&d.carla, d.public, "Found it").await;
    assert!(parties(&posted["audience"]).contains(&format!("user:{}", d.mia.id)), "{posted}");
    app.stop().await;
}

#[tokio::test]
async fn an_admin_cannot_deactivate_themself_nor_the_last_admin_and_members_cannot_deactivate() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let (status, body) = set_active(&app, &admin, admin.id, false).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("cannot_deactivate_self")), "{body}");
    assert_eq!(set_active(&app, &mia, admin.id, false).await.0, 403);
    // With a second admin, the first may be deactivated by them; then the second is the last.
    assert_eq!(app.patch(&admin, &format!("/api/v1/users/{}", mia.id), json!({"role": "admin"})).await.0, 200);
    let mia = app.login("mia@team.example", PASSWORD).await;
    assert_eq!(set_active(&app, &mia, admin.id, false).await.0, 200);
    let (status, body) = app.patch(&mia, &format!("/api/v1/users/{}", mia.id), json!({"role": "member"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("last_admin")), "{body}");
    app.stop().await;
}
