//! R38 through the real server: when access ends — logout, a password change, a revoked token, a
//! role or scope change — the realtime connections opened with it close at once, with a close code
//! that says why (4001 session ended, 4003 access changed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::json;
use std::time::Duration;

const AT_ONCE: Duration = Duration::from_secs(1);
const QUIET: Duration = Duration::from_millis(300);
const SESSION_ENDED: u16 = 4001;
const ACCESS_CHANGED: u16 = 4003;

#[tokio::test]
async fn r38_logout_closes_the_sessions_open_sockets_and_only_those() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let mia_phone = app.login("mia@team.example", PASSWORD).await;
    let mut laptop = app.socket(&mia).await;
    let mut phone = app.socket(&mia_phone).await;
    assert_eq!(app.post(&mia, "/api/v1/auth/logout", json!({})).await.0, 204);
    assert_eq!(laptop.closed_with(AT_ONCE).await, Some(SESSION_ENDED));
    assert_eq!(phone.closed_with(QUIET).await, None, "her other session goes on");
    app.stop().await;
}

#[tokio::test]
async fn r38_a_password_change_ends_every_other_session() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let other = app.login("mia@team.example", PASSWORD).await;
    let mut here = app.socket(&mia).await;
    let mut there = app.socket(&other).await;
    let change = json!({"current_password": "wrong-password", "new_password": "a-new-password"});
    assert_eq!(app.post(&mia, "/api/v1/me/password", change).await.0, 401);
    assert_eq!(there.closed_with(QUIET).await, None, "a refused change ends nothing");
    let change = json!({"current_password": PASSWORD, "new_password": "a-new-password"});
    assert_eq!(app.post(&mia, "/api/v1/me/password", change).await.0, 204);
    assert_eq!(there.closed_with(AT_ONCE).await, Some(SESSION_ENDED));
    assert_eq!(app.get(&other, "/api/v1/me").await.0, 401);
    assert_eq!(here.closed_with(QUIET).await, None, "the session that changed it stays");
    assert_eq!(app.get(&mia, "/api/v1/me").await.0, 200);
    app.login("mia@team.example", "a-new-password").await;
    app.stop().await;
}

#[tokio::test]
async fn r38_revoking_an_api_token_closes_its_sockets() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app.ok(&admin, "/api/v1/me/tokens", json!({"name": "bot"}), 201).await;
    let token = Who { token: created["token"].as_str().unwrap().into(), id: admin.id };
    let mut socket = app.socket(&token).await;
    let mut session = app.socket(&admin).await;
    let id = created["api_token"]["id"].as_i64().unwrap();
    assert_eq!(app.delete(&admin, &format!("/api/v1/me/tokens/{id}")).await.0, 204);
    assert_eq!(socket.closed_with(AT_ONCE).await, Some(SESSION_ENDED));
    assert_eq!(session.closed_with(QUIET).await, None);
    app.stop().await;
}

#[tokio::test]
async fn r38_a_role_or_scope_change_closes_sockets_so_they_reconnect_with_the_new_access() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    assert_eq!(app.patch(&admin, &format!("/api/v1/users/{}", mia.id), json!({"role": "admin"})).await.0, 200);
    let mut socket = app.socket(&mia).await;
    assert_eq!(app.patch(&admin, &format!("/api/v1/users/{}", mia.id), json!({"role": "member"})).await.0, 200);
    assert_eq!(socket.closed_with(AT_ONCE).await, Some(ACCESS_CHANGED));
    let mut socket = app.socket(&mia).await;
    let scope = json!({"scope": "followed_projects"});
    assert_eq!(app.patch(&admin, &format!("/api/v1/users/{}/preferences", mia.id), scope).await.0, 200);
    assert_eq!(socket.closed_with(AT_ONCE).await, Some(ACCESS_CHANGED));
    // A change of something else leaves connections alone.
    let mut socket = app.socket(&mia).await;
    assert_eq!(app.patch(&mia, &format!("/api/v1/users/{}/preferences", mia.id), json!({"sound": false})).await.0, 200);
    assert_eq!(socket.closed_with(QUIET).await, None);
    app.stop().await;
}

#[tokio::test]
async fn the_last_admin_cannot_demote_themself() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (status, body) = app.patch(&admin, &format!("/api/v1/users/{}", admin.id), json!({"role": "member"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("last_admin")), "{body}");
    let (_, me) = app.get(&admin, "/api/v1/me").await;
    assert_eq!(me["user"]["role"], "admin");
    // With a second admin, one may step down.
    let ana = app.user(&admin, "ana@team.example").await;
    assert_eq!(app.patch(&admin, &format!("/api/v1/users/{}", ana.id), json!({"role": "admin"})).await.0, 200);
    assert_eq!(app.patch(&admin, &format!("/api/v1/users/{}", admin.id), json!({"role": "member"})).await.0, 200);
    app.stop().await;
}

#[tokio::test]
async fn r38_a_socket_closes_when_its_session_expires() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    // Half a second before the 30-day session runs out (on the app's clock), connect.
    app.advance_ms(30 * 24 * 3_600_000 - 500);
    let mut socket = app.socket(&admin).await;
    assert_eq!(socket.closed_with(Duration::from_secs(3)).await, Some(SESSION_ENDED));
    app.stop().await;
}
