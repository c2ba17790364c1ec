//! What a list row says about each conversation (R26–R28): the customer, the latest words the
//! asker may read and who wrote them, the assignee; and the "assigned to me" / "unassigned"
//! filters. Through the real HTTP server on a real SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::{json, Value};
use std::time::Duration;

/// The row of `conversation` in a page of `view` (with `query` appended), if it is there.
async fn row(app: &TestApp, who: &Who, view: &str, query: &str, conversation: i64) -> Option<Value> {
    let (status, page) = app.get(who, &format!("/api/v1/views/{view}?limit=100{query}")).await;
    assert_eq!(status, 200, "{page}");
    page["conversations"].as_array().unwrap().iter().find(|c| c["id"] == conversation).cloned()
}

async fn listed(app: &TestApp, who: &Who, view: &str, query: &str) -> Vec<i64> {
    let (status, page) = app.get(who, &format!("/api/v1/views/{view}?limit=100{query}")).await;
    assert_eq!(status, 200, "{page}");
    let mut ids: Vec<i64> =
        page["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn r26_a_row_shows_the_customer_the_latest_words_who_wrote_them_and_the_assignee() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&carla, public, "**My printer** is on fire,\nplease _hurry_").await;
    app.ok(
        &admin,
        &format!("/api/v1/items/{ticket}/people"),
        json!({"role": "assignee", "party": {"kind": "user", "id": mia.id}}),
        200,
    )
    .await;

    let r = row(&app, &admin, "open_with_customers", "", public).await.expect("listed");
    assert_eq!(r["customers"], json!([{"id": carla.id, "name": "carla"}]));
    assert_eq!(r["last_message"]["author"], json!({"kind": "customer", "id": carla.id}));
    assert_eq!(r["last_message"]["excerpt"], "My printer is on fire, please hurry");
    assert_eq!(r["assignees"], json!([mia.id]));

    // The reply is now the latest, by a user; a long one is cut at a word.
    let long = format!("We are on it. {}", "The technician brings a new fuser unit tomorrow morning. ".repeat(4));
    app.say(&admin, public, &long).await;
    let r = row(&app, &admin, "open_with_customers", "", public).await.expect("listed");
    assert_eq!(r["last_message"]["author"], json!({"kind": "user", "id": admin.id}));
    let excerpt = r["last_message"]["excerpt"].as_str().unwrap();
    assert!(excerpt.starts_with("We are on it. The technician") && excerpt.ends_with('…'), "{excerpt}");
    assert!(excerpt.chars().count() <= 120, "{excerpt}");

    // An internal conversation on the ticket names its customer to staff too; a new one has no
    // latest message.
    let internal = app.conversation(&admin, ticket, "internal").await;
    let r = row(&app, &admin, "internal_sent", "", internal).await.expect("started by the admin");
    assert_eq!(r["last_message"], Value::Null, "nothing written yet");
    app.say(&mia, internal, "Warranty covers it").await;
    let r = row(&app, &admin, "internal_inbox", "", internal).await.expect("listed for the admin");
    assert_eq!(r["customers"], json!([{"id": carla.id, "name": "carla"}]));
    assert_eq!(r["last_message"]["excerpt"], "Warranty covers it");
    app.stop().await;
}

/// R7, R33: a customer's row shows the latest words *they* may read: never an internal message,
/// nor a reply still held by the send guard, nor one made internal within it; and nothing of who
/// else the conversation is with or who works on it.
#[tokio::test]
async fn r7_r33_a_customers_row_never_shows_internal_or_held_words_nor_the_assignees() {
    let app = spawn_app_with(|c| c.send_guard = Some(Duration::from_secs(600))).await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    app.say(&carla, public, "Hello?").await;
    app.ok(
        &admin,
        &format!("/api/v1/items/{ticket}/people"),
        json!({"role": "assignee", "party": {"kind": "user", "id": admin.id}}),
        200,
    )
    .await;

    let held = app.say(&admin, public, "Draft answer with an internal price").await;
    let r = row(&app, &carla, "portal_open", "", public).await.expect("listed");
    assert_eq!(r["last_message"]["excerpt"], "Hello?", "a held reply is not shown yet");
    assert_eq!(r["customers"], json!([]));
    assert_eq!(r["assignees"], json!([]));
    let staff = row(&app, &admin, "open_with_customers", "", public).await.expect("listed");
    assert_eq!(staff["last_message"]["excerpt"], "Draft answer with an internal price", "staff see it at once");

    let id = held["message"]["id"].as_i64().unwrap();
    app.ok(&admin, &format!("/api/v1/messages/{id}/make-internal"), json!({}), 200).await;
    app.advance_ms(601_000);
    let r = row(&app, &carla, "portal_open", "", public).await.expect("listed");
    assert_eq!(r["last_message"]["excerpt"], "Hello?", "made internal, it never reaches her");

    app.say(&admin, public, "A technician is on the way").await;
    app.advance_ms(601_000);
    let r = row(&app, &carla, "portal_open", "", public).await.expect("listed");
    assert_eq!(r["last_message"]["excerpt"], "A technician is on the way", "released, it is hers to read");
    assert_eq!(r["last_message"]["author"], json!({"kind": "user", "id": admin.id}));
    app.stop().await;
}

#[tokio::test]
async fn r26_assigned_to_me_and_unassigned_filter_a_view_and_are_for_staff_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "Support").await;
    let assign = |ticket: i64, user: i64| {
        let app = &app;
        let admin = &admin;
        async move {
            let body = json!({"role": "assignee", "party": {"kind": "user", "id": user}});
            app.ok(admin, &format!("/api/v1/items/{ticket}/people"), body, 200).await;
        }
    };
    let mine = app.ticket(&admin, project, "Mine", &[carla.id]).await;
    assign(mine, admin.id).await;
    let hers = app.ticket(&admin, project, "Hers", &[carla.id]).await;
    assign(hers, mia.id).await;
    let both = app.ticket(&admin, project, "Both", &[carla.id]).await;
    assign(both, admin.id).await;
    assign(both, mia.id).await;
    let nobodys = app.ticket(&admin, project, "Nobody's", &[carla.id]).await;
    let mut on = Vec::new();
    for ticket in [mine, hers, both, nobodys] {
        let c = app.conversation(&admin, ticket, "public").await;
        app.say(&carla, c, "Help").await;
        on.push(c);
    }
    let chat = app.ok(&carla, "/api/v1/conversations", json!({"subject": "A question", "body": "Anyone?"}), 201).await
        ["id"]
        .as_i64()
        .unwrap();
    let [mine, hers, both, nobodys] = on[..] else { unreachable!() };

    let view = "open_with_customers";
    assert_eq!(listed(&app, &admin, view, "").await, vec![mine, hers, both, nobodys, chat]);
    assert_eq!(listed(&app, &admin, view, "&filter=assigned_to_me").await, vec![mine, both]);
    assert_eq!(listed(&app, &mia, view, "&filter=assigned_to_me").await, vec![hers, both]);
    assert_eq!(listed(&app, &admin, view, "&filter=unassigned").await, vec![nobodys, chat]);
    // A filtered page pages on with its cursor, still filtered.
    let (_, first) = app.get(&admin, &format!("/api/v1/views/{view}?limit=1&filter=unassigned")).await;
    assert_eq!(first["conversations"].as_array().unwrap().len(), 1);
    let next = first["next"].as_str().expect("a next page");
    let (_, second) = app.get(&admin, &format!("/api/v1/views/{view}?limit=1&filter=unassigned&before={next}")).await;
    let seen: Vec<i64> = [&first, &second].iter().map(|p| p["conversations"][0]["id"].as_i64().unwrap()).collect();
    assert_eq!(seen, vec![chat, nobodys]);
    // Unassigning moves the conversation between the filters.
    let (status, _) = app.delete(&admin, &format!("/api/v1/items/{mine}/people/assignee/user/{}", admin.id)).await;
    assert_eq!(status, 200);
    assert_eq!(listed(&app, &admin, view, "&filter=assigned_to_me").await, vec![both]);
    assert_eq!(listed(&app, &admin, view, "&filter=unassigned").await, vec![mine, nobodys, chat]);

    // Customers have no assignment to filter by; an unknown filter is refused.
    let (status, body) = app.get(&carla, "/api/v1/views/portal_open?filter=unassigned").await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("filter_for_staff")), "{body}");
    let (status, body) = app.get(&admin, &format!("/api/v1/views/{view}?filter=everyone")).await;
    assert_eq!(status, 400, "{body}");
    app.stop().await;
}
