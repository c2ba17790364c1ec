//! R37 through the real server: a member limited to followed projects finds nothing outside them
//! on any route, cannot step into them, and only admins change who belongs to a project.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::{json, Value};

/// Mia, limited to the "Followed" project; "Other" holds a ticket with an internal conversation.
struct World {
    app: TestApp,
    admin: Who,
    mia: Who,
    followed: i64,
    other: i64,
    other_ticket: i64,
    internal: i64,
}

async fn world() -> World {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let path = format!("/api/v1/users/{}/preferences", mia.id);
    assert_eq!(app.patch(&admin, &path, json!({"scope": "followed_projects"})).await.0, 200);
    let followed = app.project(&admin, "Followed").await;
    let other = app.project(&admin, "Other").await;
    let body = json!({"role": "member", "party": {"kind": "user", "id": mia.id}});
    app.ok(&admin, &format!("/api/v1/projects/{followed}/people"), body, 200).await;
    let other_ticket = app.ticket(&admin, other, "Salary review", &[]).await;
    let internal = app.conversation(&admin, other_ticket, "internal").await;
    app.say(&admin, internal, "Confidential: the numbers").await;
    World { app, admin, mia, followed, other, other_ticket, internal }
}

fn assert_not_found(what: &str, (status, body): (u16, Value)) {
    assert_eq!(status, 404, "{what}: {body}");
    assert_eq!(body["error"]["code"], "not_found", "{what}: {body}");
}

#[tokio::test]
async fn r37_limited_member_cannot_follow_an_item_outside_their_scope() {
    let w = world().await;
    let (app, mia) = (&w.app, &w.mia);
    let me = json!({"role": "follower", "party": {"kind": "user", "id": mia.id}});
    assert_not_found("add self", app.post(mia, &format!("/api/v1/items/{}/people", w.other_ticket), me).await);
    let assign = json!({"role": "assignee", "party": {"kind": "user", "id": mia.id}});
    assert_not_found("assign self", app.post(mia, &format!("/api/v1/items/{}/people", w.other_ticket), assign).await);
    assert_not_found("conversation", app.get(mia, &format!("/api/v1/conversations/{}", w.internal)).await);
    // Nothing was written: the item's people are as they were.
    let (_, item) = app.get(&w.admin, &format!("/api/v1/items/{}", w.other_ticket)).await;
    assert_eq!(item["assignees"], json!([]), "{item}");
    assert_eq!(item["followers"].as_array().unwrap().len(), 1, "only the creator: {item}");
    w.app.stop().await;
}

#[tokio::test]
async fn r37_projects_items_and_lists_outside_the_scope_do_not_exist() {
    let w = world().await;
    let (app, mia, other, ticket) = (&w.app, &w.mia, w.other, w.other_ticket);
    let (_, projects) = app.get(mia, "/api/v1/projects").await;
    let ids: Vec<i64> = projects.as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![w.followed], "{projects}");
    assert_not_found("project", app.get(mia, &format!("/api/v1/projects/{other}")).await);
    assert_not_found("project items", app.get(mia, &format!("/api/v1/projects/{other}/items")).await);
    assert_not_found("item", app.get(mia, &format!("/api/v1/items/{ticket}")).await);
    assert_not_found("item conversations", app.get(mia, &format!("/api/v1/items/{ticket}/conversations")).await);
    assert_not_found("rename", app.patch(mia, &format!("/api/v1/items/{ticket}"), json!({"title": "Mine"})).await);
    assert_not_found("close", app.patch(mia, &format!("/api/v1/items/{ticket}"), json!({"status": "closed"})).await);
    let new_item = json!({"project_id": other, "kind": "ticket", "title": "Sneaky"});
    assert_not_found("new item", app.post(mia, "/api/v1/items", new_item).await);
    let conv = json!({"subject": "x", "project_id": other});
    let (status, _) = app.post(mia, "/api/v1/conversations", conv).await;
    assert!(status == 404 || status == 400, "{status}");
    // Linking a chat of hers to the item outside her scope is refused the same way.
    let chat = json!({"subject": "Chat", "start_as": "with_users"});
    let chat = app.ok(mia, "/api/v1/conversations", chat, 201).await["id"].as_i64().unwrap();
    let link = json!({"item_id": ticket});
    assert_not_found("link", app.post(mia, &format!("/api/v1/conversations/{chat}/link"), link).await);
    // The ticket is untouched.
    let (_, item) = app.get(&w.admin, &format!("/api/v1/items/{ticket}")).await;
    assert_eq!((item["title"].as_str(), item["status"].as_str()), (Some("Salary review"), Some("open")));
    // Inside her scope everything works.
    assert_eq!(app.get(mia, &format!("/api/v1/projects/{}/items", w.followed)).await.0, 200);
    let mine = json!({"project_id": w.followed, "kind": "task", "title": "Fine"});
    app.ok(mia, "/api/v1/items", mine, 201).await;
    w.app.stop().await;
}

#[tokio::test]
async fn r37_only_admins_change_a_projects_members_followers_and_sharing() {
    let w = world().await;
    let (app, admin, mia) = (&w.app, &w.admin, &w.mia);
    let org = app.ok(admin, "/api/v1/organizations", json!({"name": "B", "domain": "b.example"}), 201).await;
    let people = |p: i64| format!("/api/v1/projects/{p}/people");
    // Outside her scope: not found, whatever she tries.
    let join = json!({"role": "member", "party": {"kind": "user", "id": mia.id}});
    assert_not_found("join other", app.post(mia, &people(w.other), join.clone()).await);
    // Inside it, a member is not an admin: forbidden.
    let share = json!({"role": "follower", "party": {"kind": "organization", "id": org["id"]}});
    let (status, body) = app.post(mia, &people(w.followed), share).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = app.delete(mia, &format!("{}/member/user/{}", people(w.followed), admin.id)).await;
    assert_eq!(status, 403, "{body}");
    // A member with scope "all projects" is not an admin either.
    let bo = app.user(admin, "bo@team.example").await;
    let (status, body) =
        app.post(&bo, &people(w.other), json!({"role": "member", "party": {"kind": "user", "id": bo.id}})).await;
    assert_eq!(status, 403, "{body}");
    // Nothing changed.
    let (_, project) = app.get(admin, &format!("/api/v1/projects/{}", w.followed)).await;
    assert_eq!(project["follower_organizations"], json!([]), "{project}");
    assert!(project["member_users"].as_array().unwrap().contains(&json!(admin.id)), "{project}");
    let (_, project) = app.get(admin, &format!("/api/v1/projects/{}", w.other)).await;
    assert!(!project["member_users"].as_array().unwrap().contains(&json!(bo.id)), "{project}");
    // The admin does it.
    app.ok(admin, &people(w.other), join, 200).await;
    assert_eq!(app.get(mia, &format!("/api/v1/items/{}", w.other_ticket)).await.0, 200);
    w.app.stop().await;
}
