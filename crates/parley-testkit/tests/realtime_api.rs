//! Realtime through a real WebSocket (R12, R13): who gets which message pushed, sound, counts,
//! seen receipts, several tabs and replay after a reconnect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);
/// Long enough for an event that is coming to arrive; used only to show that none does.
const QUIET: Duration = Duration::from_millis(300);

struct Desk {
    admin: Who,
    mia: Who,
    carla: Who,
    dan: Who,
    ticket: i64,
    public: i64,
}

async fn desk(app: &TestApp) -> Desk {
    let admin = app.admin().await;
    let mia = app.user(&admin, "mia@acme.test").await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let dan = app.customer(&admin, "dan@client.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id, dan.id]).await;
    let body = json!({"role": "assignee", "party": {"kind": "user", "id": mia.id}});
    app.ok(&admin, &format!("/api/v1/items/{ticket}/people"), body, 200).await;
    let public = app.conversation(&admin, ticket, "public").await;
    Desk { admin, mia, carla, dan, ticket, public }
}

fn body_of(event: &Value) -> &str {
    event["message"]["body"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn r12_internal_message_pushed_to_the_user_only_and_public_to_all_but_its_author() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let internal = app.conversation(&d.admin, d.ticket, "internal").await;
    let mut mia = app.socket(&d.mia).await;
    let mut carla = app.socket(&d.carla).await;
    let mut dan = app.socket(&d.dan).await;
    let mut author = app.socket(&d.admin).await;

    app.say(&d.admin, internal, "Internal: order a new printer").await;
    app.say(&d.admin, d.public, "Public: a technician comes tomorrow").await;

    let to_mia = [mia.next_of("message", WAIT).await.unwrap(), mia.next_of("message", WAIT).await.unwrap()];
    assert_eq!(body_of(&to_mia[0]), "Internal: order a new printer");
    assert_eq!(body_of(&to_mia[1]), "Public: a technician comes tomorrow");
    for customer in [&mut carla, &mut dan] {
        // The first message event a customer gets is the public one: the internal never came.
        let first = customer.next_of("message", WAIT).await.unwrap();
        assert_eq!(body_of(&first), "Public: a technician comes tomorrow", "{first}");
        assert_eq!(first["message"]["visibility"], "public");
        assert!(customer.all_of("message", QUIET).await.is_empty());
    }
    assert!(author.all_of("message", QUIET).await.is_empty(), "R9: not to its author");
    app.stop().await;
}

#[tokio::test]
async fn r12_every_tab_receives_with_counts_and_the_sound_preference() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let path = format!("/api/v1/users/{}/preferences", d.mia.id);
    assert_eq!(app.patch(&d.mia, &path, json!({"sound": false})).await.0, 200);
    let mut tab1 = app.socket(&d.carla).await;
    let mut tab2 = app.socket(&d.carla).await;
    let mut mia = app.socket(&d.mia).await;

    app.say(&d.admin, d.public, "Hello").await;
    for tab in [&mut tab1, &mut tab2] {
        // The message and the counts its write changed come on their own ways, in either order.
        let (mut message, mut counts) = (None, None);
        while message.is_none() || counts.is_none() {
            let event = tab.next(WAIT).await.expect("a message and its counts");
            match event["type"].as_str() {
                Some("message") => message = Some(event),
                Some("counts") => counts = Some(event),
                _ => {}
            }
        }
        let (event, counts) = (message.unwrap(), counts.unwrap());
        assert_eq!((body_of(&event), event["sound"].as_bool()), ("Hello", Some(true)));
        assert_eq!(event["subject"], "public talk");
        let views = counts["views"].as_array().unwrap();
        let open = views.iter().find(|v| v["view"] == "portal_open").unwrap();
        assert_eq!((open["total"].as_u64(), open["unread"].as_u64()), (Some(1), Some(1)), "{counts}");
        assert!(views.iter().all(|v| v["view"] != "portal_closed"), "only the views that changed: {counts}");
    }
    let event = mia.next_of("message", WAIT).await.unwrap();
    assert_eq!(event["sound"], false, "Mia turned sound off");
    app.stop().await;
}

#[tokio::test]
async fn r12_a_reconnecting_client_receives_what_it_missed() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let mut carla = app.socket(&d.carla).await;
    // Another tab of hers stays open: once it has both pushes, they were published (and kept
    // for replay), so the reconnect below never races the publishing.
    let mut other_tab = app.socket(&d.carla).await;
    app.say(&d.admin, d.public, "One").await;
    carla.next_of("message", WAIT).await.unwrap();
    carla.all_of("counts", QUIET).await;
    let last = carla.last_event_id.clone().unwrap();
    carla.close().await;

    app.say(&d.admin, d.public, "Two").await;
    app.say(&d.admin, d.public, "Three").await;
    let seen: Vec<String> = [
        other_tab.next_of("message", WAIT).await.unwrap(),
        other_tab.next_of("message", WAIT).await.unwrap(),
        other_tab.next_of("message", WAIT).await.unwrap(),
    ]
    .iter()
    .map(|e| body_of(e).to_string())
    .collect();
    assert_eq!(seen, ["One", "Two", "Three"]);
    let mut again = app.socket_after(&d.carla, Some(&last)).await;
    let missed = [again.next_of("message", WAIT).await.unwrap(), again.next_of("message", WAIT).await.unwrap()];
    assert_eq!([body_of(&missed[0]), body_of(&missed[1])], ["Two", "Three"]);

    let mut stale = app.socket_after(&d.carla, Some("1-1")).await;
    assert!(stale.next_of("resync", WAIT).await.is_some(), "an id from another run asks for a resync");
    app.stop().await;
}

#[tokio::test]
async fn r26_a_reconnecting_tab_gets_fresh_counts_in_hello_and_no_stale_counts_replayed() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    // The first tab stays open, so Carla's counts keep being pushed (and kept for replay).
    let mut first = app.socket(&d.carla).await;
    let mut second = app.socket(&d.carla).await;
    app.say(&d.admin, d.public, "One").await;
    second.next_of("message", WAIT).await.unwrap();
    second.all_of("counts", QUIET).await;
    let last = second.last_event_id.clone().unwrap();
    second.close().await;

    first.all_of("counts", QUIET).await;
    app.say(&d.admin, d.public, "Two").await;
    // Pushes run in tasks of their own: the message is out before the state change is made, so
    // the replay has them in that order.
    first.next_of("message", WAIT).await.unwrap();
    app.ok(&d.admin, &format!("/api/v1/conversations/{}/state", d.public), json!({"action": "close"}), 200).await;
    let mut pushed = Vec::new();
    while let Some(event) = first.next(QUIET).await {
        pushed.push(event["type"].as_str().unwrap_or_default().to_string());
    }
    assert!(pushed.iter().any(|kind| kind == "state"), "the state change reached the open tab: {pushed:?}");
    assert!(pushed.iter().any(|kind| kind == "counts"), "counts were pushed while the tab was away: {pushed:?}");
    let mut again = Socket::connect(&app.base, &d.carla.token, Some(&last)).await.unwrap();
    let mut events = Vec::new();
    while let Some(event) = again.next(QUIET).await {
        events.push(event);
    }
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["hello", "message", "state"], "missed events replayed, missed counts not");
    let views = events[0]["views"].as_array().unwrap();
    let closed = views.iter().find(|v| v["view"] == "portal_closed").unwrap();
    assert_eq!(closed["total"], 1, "hello carries the counts as they are now: {closed}");
    app.stop().await;
}

#[tokio::test]
async fn r13_seen_over_the_socket_reaches_staff_and_the_timeline_records_push_and_seen() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let mut carla = app.socket(&d.carla).await;
    let mut admin = app.socket(&d.admin).await;
    let said = app.say(&d.admin, d.public, "Hello").await;
    let id = said["message"]["id"].as_i64().unwrap();
    carla.next_of("message", WAIT).await.unwrap();
    carla.send_json(json!({"type": "seen", "message_ids": [id]})).await;

    let seen = admin.next_of("seen", WAIT).await.unwrap();
    assert_eq!(seen["party"], json!({"kind": "customer", "id": d.carla.id}));
    assert_eq!(seen["receipts"][0]["message_id"], id);
    let (_, timeline) = app.get(&d.admin, &format!("/api/v1/messages/{id}/deliveries")).await;
    let record = timeline.as_array().unwrap().iter().find(|r| r["party"]["id"] == d.carla.id).unwrap();
    assert!(record["pushed_at"].is_i64() && record["seen_at"].is_i64(), "{record}");
    let dan = timeline.as_array().unwrap().iter().find(|r| r["party"]["id"] == d.dan.id).unwrap();
    assert!(dan["pushed_at"].is_null(), "Dan was not connected");
    // A customer never learns who else saw a message.
    let mut dan_socket = app.socket(&d.dan).await;
    app.post(&d.mia, "/api/v1/messages/seen", json!({"message_ids": [id]})).await;
    assert!(dan_socket.all_of("seen", QUIET).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn r6_state_changes_are_pushed_to_the_conversations_people() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let mut carla = app.socket(&d.carla).await;
    let mut mia = app.socket(&d.mia).await;
    app.ok(&d.admin, &format!("/api/v1/conversations/{}/state", d.public), json!({"action": "close"}), 200).await;
    for socket in [&mut carla, &mut mia] {
        let event = socket.next_of("state", WAIT).await.unwrap();
        assert_eq!((event["conversation_id"].as_i64(), event["state"].as_str()), (Some(d.public), Some("closed")));
    }
    let internal = app.conversation(&d.admin, d.ticket, "internal").await;
    app.ok(&d.admin, &format!("/api/v1/conversations/{internal}/state"), json!({"action": "close"}), 200).await;
    assert_eq!(mia.next_of("state", WAIT).await.unwrap()["conversation_id"], internal);
    assert!(carla.all_of("state", QUIET).await.is_empty(), "R7: nothing about an internal conversation");
    app.stop().await;
}

#[tokio::test]
async fn realtime_requires_authentication() {
    let app = spawn_app().await;
    let refused = Socket::connect(&app.base, "", None).await.err().unwrap();
    assert_eq!(refused.0, Some(401));
    let refused = Socket::connect(&app.base, "ps_not-a-session", None).await.err().unwrap();
    assert_eq!(refused.0, Some(401));
    app.stop().await;
}

/// The counts a connection holds, with each `counts` event applied over `hello`'s.
fn apply(held: &mut Vec<Value>, counts: &Value) {
    for changed in counts["views"].as_array().unwrap() {
        match held.iter_mut().find(|v| v["view"] == changed["view"]) {
            Some(v) => *v = changed.clone(),
            None => held.push(changed.clone()),
        }
    }
}

fn count_of(held: &[Value], view: &str) -> (i64, i64) {
    held.iter()
        .find(|v| v["view"] == view)
        .map_or((0, 0), |v| (v["total"].as_i64().unwrap(), v["unread"].as_i64().unwrap()))
}

#[tokio::test]
async fn r26_every_write_that_moves_a_conversation_pushes_the_counts_it_changed() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let mut carla = Socket::connect(&app.base, &d.carla.token, None).await.unwrap();
    let mut held = carla.next_of("hello", WAIT).await.unwrap()["views"].as_array().unwrap().clone();
    assert_eq!(count_of(&held, "portal_open"), (1, 0));

    // A new conversation on her ticket: no message yet, but it is hers to see.
    let second = app.conversation(&d.admin, d.ticket, "public").await;
    apply(&mut held, &carla.next_of("counts", WAIT).await.unwrap());
    assert_eq!(count_of(&held, "portal_open"), (2, 0));

    app.say(&d.admin, second, "We are on it").await;
    apply(&mut held, &carla.next_of("counts", WAIT).await.unwrap());
    assert_eq!(count_of(&held, "portal_open"), (2, 1));

    app.ok(&d.admin, &format!("/api/v1/conversations/{second}/state"), json!({"action": "close"}), 200).await;
    let counts = carla.next_of("counts", WAIT).await.unwrap();
    apply(&mut held, &counts);
    assert_eq!((count_of(&held, "portal_open"), count_of(&held, "portal_closed")), ((1, 0), (1, 1)), "{counts}");
    // What the connection holds is what a fresh read says.
    let fresh: Vec<Value> = app.get(&d.carla, "/api/v1/views").await.1.as_array().unwrap().clone();
    for view in ["portal_open", "portal_closed"] {
        assert_eq!(count_of(&held, view), count_of(&fresh, view), "{view}");
    }
    app.stop().await;
}
