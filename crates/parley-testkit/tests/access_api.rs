//! R7 and R20 through the real server: what someone may not see does not exist for them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::json;

#[tokio::test]
async fn r7_customer_gets_404_on_every_read_path_of_an_internal_conversation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer", &[carla.id]).await;
    let internal = app.conversation(&admin, ticket, "internal").await;
    let said = app.say(&admin, internal, "Between us: the printer is a lost cause").await;
    let message = said["message"]["id"].as_i64().unwrap();

    let c = format!("/api/v1/conversations/{internal}");
    for (status, body) in [
        app.get(&carla, &c).await,
        app.get(&carla, &format!("{c}/messages")).await,
        app.post(&carla, &format!("{c}/messages"), json!({"body": "hello?"})).await,
        app.post(&carla, &format!("{c}/recipients-preview"), json!({"body": "x"})).await,
        app.post(&carla, &format!("{c}/read"), json!({"up_to": 1})).await,
        app.post(&carla, &format!("{c}/state"), json!({"action": "close"})).await,
        app.post(
            &carla,
            &format!("{c}/people"),
            json!({"role": "follower", "party": {"kind": "customer", "id": carla.id}}),
        )
        .await,
        app.get(&carla, &format!("/api/v1/messages/{message}/audience")).await,
    ] {
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["code"], "not_found");
        assert!(!body.to_string().contains("lost cause"));
    }
    // Nor does it appear in lists or counts.
    let (_, list) = app.get(&carla, &format!("/api/v1/items/{ticket}/conversations")).await;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    for view in ["portal_open", "portal_closed"] {
        let (_, page) = app.get(&carla, &format!("/api/v1/views/{view}")).await;
        assert_eq!(page["total"], 0, "{page}");
    }
    let (_, views) = app.get(&carla, "/api/v1/views").await;
    assert!(views.as_array().unwrap().iter().all(|v| v["total"] == 0 && v["unread"] == 0), "{views}");
    // Nothing was written by the refused post.
    let (_, msgs) = app.get(&admin, &format!("{c}/messages")).await;
    assert_eq!(msgs.as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn r7_customer_sees_the_public_conversation_of_their_ticket() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&admin, public, "We are on it").await;
    let (status, msgs) = app.get(&carla, &format!("/api/v1/conversations/{public}/messages")).await;
    assert_eq!(status, 200);
    assert_eq!(msgs[0]["body"], "We are on it");
    let (_, list) = app.get(&carla, &format!("/api/v1/items/{ticket}/conversations")).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // Another customer with no relation to it gets 404.
    let dan = app.customer(&admin, "dan@elsewhere.example").await;
    assert_eq!(app.get(&dan, &format!("/api/v1/conversations/{public}")).await.0, 404);
    app.stop().await;
}

#[tokio::test]
async fn r20_member_limited_to_followed_projects_gets_404_outside_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let (status, _) = app
        .patch(&admin, &format!("/api/v1/users/{}/preferences", mia.id), json!({"scope": "followed_projects"}))
        .await;
    assert_eq!(status, 200);
    let followed = app.project(&admin, "Followed").await;
    let other = app.project(&admin, "Other").await;
    app.ok(
        &admin,
        &format!("/api/v1/projects/{followed}/people"),
        json!({"role": "follower", "party": {"kind": "user", "id": mia.id}}),
        200,
    )
    .await;
    let inside = app.conversation(&admin, app.ticket(&admin, followed, "In", &[]).await, "public").await;
    let other_ticket = app.ticket(&admin, other, "Out", &[]).await;
    let outside = app.conversation(&admin, other_ticket, "public").await;

    assert_eq!(app.get(&mia, &format!("/api/v1/conversations/{inside}")).await.0, 200);
    for path in [format!("/api/v1/conversations/{outside}"), format!("/api/v1/conversations/{outside}/messages")] {
        let (status, body) = app.get(&mia, &path).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _) = app.post(&mia, &format!("/api/v1/conversations/{outside}/messages"), json!({"body": "hi"})).await;
    assert_eq!(status, 404);
    // Starting a conversation on an item outside the scope is refused the same way.
    let body = json!({"subject": "x", "item_id": other_ticket});
    assert_eq!(app.post(&mia, "/api/v1/conversations", body).await.0, 404);
    // The views list only what is in scope.
    let (_, page) = app.get(&mia, "/api/v1/views/open_with_customers").await;
    let ids: Vec<i64> = page["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![inside]);
    app.stop().await;
}

#[tokio::test]
async fn r20_scope_is_changed_only_by_an_admin() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let path = format!("/api/v1/users/{}/preferences", mia.id);
    let (status, body) = app.patch(&mia, &path, json!({"scope": "followed_projects"})).await;
    assert_eq!(status, 403, "{body}");
    let (_, prefs) = app.get(&mia, &path).await;
    assert_eq!(prefs["scope"], "all_projects");
    // Another member cannot read or change Mia's preferences at all.
    let bo = app.user(&admin, "bo@team.example").await;
    assert_eq!(app.patch(&bo, &path, json!({"sound": false})).await.0, 403);
    app.stop().await;
}

#[tokio::test]
async fn api_tokens_authenticate_and_logout_ends_a_session() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app.ok(&admin, "/api/v1/me/tokens", json!({"name": "ci"}), 201).await;
    let token = Who { token: created["token"].as_str().unwrap().to_string(), id: admin.id };
    let (status, me) = app.get(&token, "/api/v1/me").await;
    assert_eq!((status, me["kind"].as_str()), (200, Some("user")));
    let (status, _) = app.post(&admin, "/api/v1/auth/logout", json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(app.get(&admin, "/api/v1/me").await.0, 401);
    let id = created["api_token"]["id"].as_i64().unwrap();
    assert_eq!(app.delete(&token, &format!("/api/v1/me/tokens/{id}")).await.0, 204);
    assert_eq!(app.get(&token, "/api/v1/me").await.0, 401);
    let nobody = Who { token: "ps_forged".into(), id: 0 };
    assert_eq!(app.get(&nobody, "/api/v1/me").await.0, 401);
    app.stop().await;
}

#[tokio::test]
async fn r2_portal_item_list_holds_a_customers_items_and_no_others() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let org = app.ok(&admin, "/api/v1/organizations", json!({"name": "Client", "domain": "client.example"}), 201).await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let dan = app.customer(&admin, "dan@elsewhere.example").await;
    let support = app.project(&admin, "Support").await;
    let shared = app.project(&admin, "Shared roadmap").await;
    let printer = app.ticket(&admin, support, "Printer", &[dan.id]).await;
    let roadmap = app.ticket(&admin, shared, "Roadmap", &[]).await;
    let body = json!({"role": "follower", "party": {"kind": "organization", "id": org["id"]}});
    app.ok(&admin, &format!("/api/v1/projects/{shared}/people"), body, 200).await;

    let ids =
        |v: serde_json::Value| v.as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect::<Vec<_>>();
    let (status, mine) = app.get(&carla, "/api/v1/me/items").await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(ids(mine), vec![roadmap], "through her organization following the project");
    assert_eq!(ids(app.get(&dan, "/api/v1/me/items").await.1), vec![printer]);
    assert_eq!(app.get(&carla, &format!("/api/v1/items/{roadmap}")).await.0, 200);
    assert_eq!(app.get(&carla, &format!("/api/v1/items/{printer}")).await.0, 404);
    assert_eq!(app.get(&admin, "/api/v1/me/items").await.0, 403);
    app.stop().await;
}

/// The routes the trust rules added (R36, R38, R39), each asked by everyone it is not for: no
/// token, a visitor, a customer, staff, an API token. Each gets the refusal the access rule says.
#[tokio::test]
async fn r36_r38_r39_new_routes_refuse_everyone_they_are_not_for() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let visitor = app.visitor().await;
    let api = app.ok(&admin, "/api/v1/me/tokens", json!({"name": "ci"}), 201).await;
    let api = Who { token: api["token"].as_str().unwrap().into(), id: admin.id };
    let nobody = Who { token: String::new(), id: 0 };
    let contact = json!({"email": "someone@client.example"});
    let code = json!({"code": "123456"});
    let password = json!({"current_password": PASSWORD, "new_password": "another-password"});
    let admin_password = json!({"current_password": ADMIN_PASSWORD, "new_password": "another-password"});

    let cases: Vec<(&str, (u16, serde_json::Value), u16, &str)> = vec![
        (
            "contact, no token",
            app.post(&nobody, "/api/v1/widget/contact", contact.clone()).await,
            401,
            "unauthenticated",
        ),
        ("verify, no token", app.post(&nobody, "/api/v1/widget/verify", code.clone()).await, 401, "unauthenticated"),
        (
            "password, no token",
            app.post(&nobody, "/api/v1/me/password", password.clone()).await,
            401,
            "unauthenticated",
        ),
        ("customers, no token", app.get(&nobody, "/api/v1/customers").await, 401, "unauthenticated"),
        ("contact, staff", app.post(&admin, "/api/v1/widget/contact", contact.clone()).await, 403, "forbidden"),
        ("verify, staff", app.post(&admin, "/api/v1/widget/verify", code.clone()).await, 403, "forbidden"),
        (
            "contact, verified customer",
            app.post(&carla, "/api/v1/widget/contact", contact).await,
            409,
            "contact_already_given",
        ),
        ("verify, nothing to prove", app.post(&carla, "/api/v1/widget/verify", code).await, 422, "invalid_code"),
        ("customers, customer", app.get(&carla, "/api/v1/customers").await, 404, "not_found"),
        ("customers, visitor", app.get(&visitor, "/api/v1/customers").await, 404, "not_found"),
        ("password, visitor", app.post(&visitor, "/api/v1/me/password", password.clone()).await, 403, "forbidden"),
        ("password, API token", app.post(&api, "/api/v1/me/password", admin_password).await, 403, "forbidden"),
    ];
    for (what, (status, body), expected, code) in cases {
        assert_eq!((status, body["error"]["code"].as_str()), (expected, Some(code)), "{what}: {body}");
    }
    // A customer with a password may change it.
    assert_eq!(app.post(&carla, "/api/v1/me/password", password).await.0, 204);
    app.stop().await;
}
