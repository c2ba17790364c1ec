//! Several nodes on one PostgreSQL database (R12, R38, R6): what happens through one node reaches
//! the realtime connections held by another. Each test starts two or three servers on the same
//! schema. Needs PostgreSQL: `PARLEY_TEST_STORE=postgres cargo test -p parley-testkit --features
//! postgres --test cluster_api`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

async fn cluster() -> (TestApp, TestApp, TestApp) {
    assert_eq!(test_store(), TestStore::Postgres, "run with PARLEY_TEST_STORE=postgres");
    let a = spawn_app().await;
    let (b, c) = (a.join_node().await, a.join_node().await);
    (a, b, c)
}

#[tokio::test]
async fn r12_a_message_posted_through_one_node_reaches_sockets_held_by_the_others() {
    let (a, b, c) = cluster().await;
    let d = a.desk().await;
    let mut carla_on_b = b.socket(&d.carla).await;
    let mut mia_on_c = c.socket(&d.mia).await;
    let internal = a.conversation(&d.admin, d.ticket, "internal").await;

    a.say(&d.admin, internal, "Internal: order a new printer").await;
    a.say(&d.admin, d.public, "A technician comes tomorrow").await;

    let mut bodies = Vec::new();
    for _ in 0..2 {
        let event = mia_on_c.next_of("message", WAIT).await.expect("both messages, on another node");
        bodies.push(event["message"]["body"].as_str().unwrap().to_owned());
    }
    assert!(bodies.contains(&"Internal: order a new printer".to_owned()), "{bodies:?}");
    assert!(bodies.contains(&"A technician comes tomorrow".to_owned()), "{bodies:?}");
    // Everything she is sent, until nothing more comes.
    let mut to_carla = Vec::new();
    while let Some(event) = carla_on_b.next(Duration::from_secs(1)).await {
        to_carla.push(event);
    }
    let messages: Vec<_> = to_carla.iter().filter(|e| e["type"] == "message").collect();
    assert_eq!(messages.len(), 1, "the public message only, never the internal one: {to_carla:?}");
    assert_eq!(messages[0]["message"]["body"], "A technician comes tomorrow");
    assert_eq!(messages[0]["message"]["number"], 1, "customers' own numbers");
    // The counts the post changed reach her on her node too.
    assert!(to_carla.iter().any(|e| e["type"] == "counts"), "counts from another node's write: {to_carla:?}");
}

#[tokio::test]
async fn r6_r13_a_state_change_and_seen_receipts_through_one_node_reach_another() {
    let (a, b, _c) = cluster().await;
    let d = a.desk().await;
    let message = a.say(&d.mia, d.public, "We are on it").await["message"]["id"].as_i64().unwrap();
    let mut mia_on_b = b.socket(&d.mia).await;
    a.ok(&d.carla, "/api/v1/messages/seen", json!({"message_ids": [message]}), 200).await;
    let seen = mia_on_b.next_of("seen", WAIT).await.expect("a seen receipt from another node");
    assert_eq!(seen["party"], json!({"kind": "customer", "id": d.carla.id}), "{seen}");
    a.ok(&d.admin, &format!("/api/v1/conversations/{}/state", d.public), json!({"action": "close"}), 200).await;
    let state = mia_on_b.next_of("state", WAIT).await.expect("a state change from another node");
    assert_eq!(state["state"], "closed", "{state}");
}

#[tokio::test]
async fn r38_logging_out_through_one_node_closes_the_socket_held_by_another() {
    let (a, b, _c) = cluster().await;
    let admin = a.admin().await;
    let mia = a.user(&admin, "mia@acme.test").await;
    let mut on_b = b.socket(&mia).await;
    let (status, _) = a.post(&mia, "/api/v1/auth/logout", json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(on_b.closed_with(WAIT).await, Some(4001), "session ended, on the other node too");
}

#[tokio::test]
async fn r12_a_client_reconnecting_to_another_node_is_told_to_resync() {
    let (a, b, _c) = cluster().await;
    let d = a.desk().await;
    let mut on_a = a.socket(&d.mia).await;
    a.say(&d.carla, d.public, "Still burning").await;
    let event = on_a.next_of("message", WAIT).await.unwrap();
    let last = event["id"].as_str().unwrap().to_owned();
    on_a.close().await;
    let on_b = Socket::connect(&b.base, &d.mia.token, Some(&last)).await.expect("socket");
    let mut on_b = on_b;
    let first = on_b.next(WAIT).await.expect("an event");
    let first = if first["type"] == "hello" { on_b.next(WAIT).await.expect("after hello") } else { first };
    assert_eq!(first["type"], "resync", "ids of another node are not known here: {first}");
}

#[tokio::test]
async fn r43_r42_a_conversation_open_on_one_node_and_a_new_chat_reach_screens_on_another() {
    let (a, b, _c) = cluster().await;
    let d = a.desk().await;
    // Ben is in no audience of the ticket's conversation, but has it open on node B.
    let ben = a.user(&d.admin, "ben@acme.test").await;
    let mut ben_on_b = b.socket(&ben).await;
    ben_on_b.send_json(json!({"type": "looking", "conversation_id": d.public, "visible": true})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    a.say(&d.carla, d.public, "Posted through node A").await;
    let event = ben_on_b.next_of("message", WAIT).await.expect("on his screen, through another node");
    assert_eq!(
        (event["message"]["body"].as_str(), event["sound"].as_bool()),
        (Some("Posted through node A"), Some(false))
    );
    // A visitor's new chat through node A arrives in the list of Mia, connected to node B; she is
    // away, so it is not routed to her and she is not notified, but her list is right.
    let away = a.call(reqwest::Method::PUT, Some(&d.mia), "/api/v1/me/away", Some(json!({"away": true}))).await;
    assert_eq!(away.0, 200, "{away:?}");
    let mut mia_on_b = b.socket(&d.mia).await;
    let (_, session) = a.call(reqwest::Method::POST, None, "/api/v1/widget/visitors", Some(json!({}))).await;
    let vera =
        Who { token: session["token"].as_str().unwrap().into(), id: session["customer"]["id"].as_i64().unwrap() };
    let chat = a.ok(&vera, "/api/v1/conversations", json!({"subject": "Live chat", "visibility": "public"}), 201).await;
    let id = chat["id"].as_i64().unwrap();
    a.ok(&vera, &format!("/api/v1/conversations/{id}/messages"), json!({"body": "Hi there", "channel": "widget"}), 201)
        .await;
    let event = mia_on_b.next_of("message", WAIT).await.expect("a new chat, live on another node");
    assert_eq!((event["message"]["conversation_id"].as_i64(), event["sound"].as_bool()), (Some(id), Some(false)));
}

#[tokio::test]
async fn r42_two_nodes_routing_at_once_never_break_a_cap() {
    let (a, b, _c) = cluster().await;
    let admin = a.admin().await;
    a.patch(&admin, "/api/v1/company", json!({"routing_cap": 2})).await;
    let (ben, cy) = (a.user(&admin, "ben@acme.test").await, a.user(&admin, "cy@acme.test").await);
    let _sockets = [a.socket(&ben).await, b.socket(&cy).await];
    for who in [&ben, &cy] {
        let mut available = false;
        for _ in 0..100 {
            available = a.get(&admin, &format!("/api/v1/users/{}", who.id)).await.1["available"] == true;
            if available {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(available, "user {} connected", who.id);
    }
    // Twelve visitors open chats at once, half through each node.
    let chats = (0..12).map(|n| {
        let node = if n % 2 == 0 { &a } else { &b };
        async move {
            let (_, session) = node.call(reqwest::Method::POST, None, "/api/v1/widget/visitors", Some(json!({}))).await;
            let vera = Who {
                token: session["token"].as_str().unwrap().into(),
                id: session["customer"]["id"].as_i64().unwrap(),
            };
            let chat =
                node.ok(&vera, "/api/v1/conversations", json!({"subject": "Chat", "visibility": "public"}), 201).await;
            let id = chat["id"].as_i64().unwrap();
            let path = format!("/api/v1/conversations/{id}/messages");
            node.ok(&vera, &path, json!({"body": format!("Question {n}"), "channel": "widget"}), 201).await;
            id
        }
    });
    let ids = futures_util::future::join_all(chats).await;
    let mut held = std::collections::BTreeMap::new();
    for id in ids {
        let (_, c) = a.get(&admin, &format!("/api/v1/conversations/{id}")).await;
        for user in c["assignees"].as_array().unwrap() {
            *held.entry(user.as_i64().unwrap()).or_insert(0) += 1;
        }
    }
    assert_eq!(held, [(ben.id, 2), (cy.id, 2)].into_iter().collect(), "each holds the cap, no more");
}
