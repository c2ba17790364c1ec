//! R21–R27 through the real server: preferences and the messenger's views with unread counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::{json, Value};

fn view<'a>(views: &'a Value, name: &str) -> Option<&'a Value> {
    views.as_array().unwrap().iter().find(|v| v["view"] == name)
}

fn ids(page: &Value) -> Vec<i64> {
    page["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn r21_from_customers_section_hidden_when_turned_off() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let (_, views) = app.get(&mia, "/api/v1/views").await;
    assert!(view(&views, "open_with_customers").is_some());
    app.patch(&mia, &format!("/api/v1/users/{}/preferences", mia.id), json!({"show_from_customers": false})).await;
    let (_, views) = app.get(&mia, "/api/v1/views").await;
    assert!(views.as_array().unwrap().iter().all(|v| v["section"] == "my_conversations"), "{views}");
    assert_eq!(app.get(&mia, "/api/v1/views/open_with_customers").await.0, 404);
    app.stop().await;
}

#[tokio::test]
async fn r22_to_r25_preferences_are_stored_per_user_and_editable_by_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let path = format!("/api/v1/users/{}/preferences", mia.id);
    let changes = json!({"customer_messages": "none", "replies_to_customers": "all", "followed_internal": false,
        "email_assignment_changes": false, "email_new_members": false, "auto_accept_invitations": true, "sound": false});
    let (status, saved) = app.patch(&mia, &path, changes.clone()).await;
    assert_eq!(status, 200, "{saved}");
    let (_, read) = app.get(&mia, &path).await;
    for (k, v) in changes.as_object().unwrap() {
        assert_eq!(&read[k], v, "{k}");
    }
    let (_, off) = app.patch(&mia, &path, json!({"all_off": true})).await;
    assert_eq!((off["customer_messages"].as_str(), off["replies_to_customers"].as_str()), (Some("none"), Some("none")));
    assert_eq!(off["followed_internal"], false);
    let (status, err) = app.patch(&mia, &path, json!({"customer_messages": "sometimes"})).await;
    assert_eq!(status, 400, "{err}");
    app.stop().await;
}

#[tokio::test]
async fn r22_follower_who_wants_no_customer_messages_is_not_notified() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    app.patch(&mia, &format!("/api/v1/users/{}/preferences", mia.id), json!({"customer_messages": "none"})).await;
    let ticket = app.ticket(&admin, app.project(&admin, "P").await, "T", &[carla.id]).await;
    let follow = json!({"role": "follower", "party": {"kind": "user", "id": mia.id}});
    app.ok(&admin, &format!("/api/v1/items/{ticket}/people"), follow, 200).await;
    let c = app.conversation(&admin, ticket, "public").await;
    let posted = app.say(&carla, c, "hello").await;
    let entry = posted["audience"]["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["party"] == json!({"kind": "user", "id": mia.id}))
        .cloned();
    assert_eq!(entry.unwrap()["notify"], false);
    app.stop().await;
}

#[tokio::test]
async fn r26_from_customers_open_unanswered_and_closed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let ticket = app.ticket(&admin, app.project(&admin, "P").await, "T", &[carla.id]).await;
    let asked = app.conversation(&admin, ticket, "public").await;
    let answered = app.conversation(&admin, ticket, "public").await;
    let closed = app.conversation(&admin, ticket, "public").await;
    let internal = app.conversation(&admin, ticket, "internal").await;
    // The clock is the test's: each step happens a second after the one before.
    for (who, conversation, body) in [
        (&carla, answered, "question"),
        (&admin, answered, "answer"),
        (&carla, asked, "question"),
        (&admin, internal, "note"),
    ] {
        app.clock.advance_ms(1000);
        app.say(who, conversation, body).await;
    }
    app.ok(&admin, &format!("/api/v1/conversations/{closed}/state"), json!({"action": "close"}), 200).await;

    let (_, open) = app.get(&admin, "/api/v1/views/open_with_customers").await;
    assert_eq!(ids(&open), vec![asked, answered], "latest activity first");
    let (_, unanswered) = app.get(&admin, "/api/v1/views/unanswered").await;
    assert_eq!(ids(&unanswered), vec![asked]);
    let (_, closed_view) = app.get(&admin, "/api/v1/views/closed_with_customers").await;
    assert_eq!(ids(&closed_view), vec![closed]);
    // Unread: the admin has not read Carla's question in `asked`.
    let (_, views) = app.get(&admin, "/api/v1/views").await;
    assert_eq!(view(&views, "unanswered").unwrap()["unread"], 1);
    assert_eq!(unanswered["conversations"][0]["unread"], 1);
    app.ok(&admin, &format!("/api/v1/conversations/{asked}/read"), json!({"up_to": 1}), 200).await;
    let (_, views) = app.get(&admin, "/api/v1/views").await;
    assert_eq!(view(&views, "unanswered").unwrap()["unread"], 0);
    // New activity moves a conversation to the top.
    app.clock.advance_ms(1000);
    app.say(&carla, answered, "and another").await;
    let (_, open) = app.get(&admin, "/api/v1/views/open_with_customers").await;
    assert_eq!(ids(&open), vec![answered, asked]);
    // Pages follow a cursor: the next page holds what is older than the last row.
    let (_, page1) = app.get(&admin, "/api/v1/views/open_with_customers?limit=1").await;
    assert_eq!((ids(&page1), page1["total"].as_i64()), (vec![answered], Some(2)));
    let next = page1["next"].as_str().unwrap().to_string();
    let (_, page2) = app.get(&admin, &format!("/api/v1/views/open_with_customers?limit=1&before={next}")).await;
    assert_eq!((ids(&page2), page2["next"].clone()), (vec![asked], Value::Null));
    assert_eq!(app.get(&admin, "/api/v1/views/open_with_customers?limit=0").await.0, 400);
    let (status, err) = app.get(&admin, "/api/v1/views/open_with_customers?before=yesterday").await;
    assert_eq!((status, err["error"]["code"].as_str()), (400, Some("invalid_input")), "{err}");
    app.stop().await;
}

#[tokio::test]
async fn r27_my_conversations_customer_replies_internal_inbox_sent_and_closed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@team.example").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let project = app.project(&admin, "P").await;
    let followed = app.ticket(&admin, project, "Mine", &[carla.id]).await;
    let follow = json!({"role": "follower", "party": {"kind": "user", "id": mia.id}});
    app.ok(&admin, &format!("/api/v1/items/{followed}/people"), follow, 200).await;
    let not_followed = app.ticket(&admin, project, "Other", &[carla.id]).await;
    let replies = app.conversation(&admin, followed, "public").await;
    app.conversation(&admin, not_followed, "public").await;
    let to_mia = app.conversation(&admin, followed, "internal").await;
    app.say(&admin, to_mia, "Mia, a note for you").await;
    let body = json!({"subject": "Mine", "start_as": "with_users", "body": "my own thread"});
    let sent = app.ok(&mia, "/api/v1/conversations", body, 201).await["id"].as_i64().unwrap();

    let (_, page) = app.get(&mia, "/api/v1/views/customer_replies").await;
    assert_eq!(ids(&page), vec![replies]);
    let (_, page) = app.get(&mia, "/api/v1/views/internal_inbox").await;
    assert_eq!(ids(&page), vec![to_mia]);
    let (_, page) = app.get(&mia, "/api/v1/views/internal_sent").await;
    assert_eq!(ids(&page), vec![sent]);
    let (_, views) = app.get(&mia, "/api/v1/views").await;
    assert_eq!(view(&views, "internal_inbox").unwrap()["unread"], 1);
    assert_eq!(view(&views, "internal_sent").unwrap()["unread"], 0, "own messages are read");
    app.ok(&admin, &format!("/api/v1/conversations/{to_mia}/state"), json!({"action": "close"}), 200).await;
    let (_, page) = app.get(&mia, "/api/v1/views/all_closed").await;
    assert_eq!(ids(&page), vec![to_mia]);
    app.stop().await;
}
