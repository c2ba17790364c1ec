//! R6 in the thread: every change of a conversation's state is kept with who made it and when,
//! and listed to whoever may see the conversation (404 for everyone else).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::json;

#[tokio::test]
async fn r6_each_state_change_is_listed_with_who_and_when_to_whoever_may_see_the_conversation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let dora = app.customer(&admin, "dora@other.example").await;
    let project = app.project(&admin, "Support").await;
    let ticket = app.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
    let public = app.conversation(&admin, ticket, "public").await;
    let internal = app.conversation(&admin, ticket, "internal").await;
    app.say(&carla, public, "Hello?").await;
    let path = format!("/api/v1/conversations/{public}/state-changes");
    let (status, none) = app.get(&admin, &path).await;
    assert_eq!((status, none), (200, json!([])), "nothing changed yet");

    for action in ["close", "lock", "unlock"] {
        app.advance_ms(1_000);
        let (status, body) =
            app.post(&admin, &format!("/api/v1/conversations/{public}/state"), json!({"action": action})).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    app.advance_ms(1_000);
    // A customer's message reopens the closed conversation: recorded with her as the one who did.
    app.say(&carla, public, "Still broken").await;

    let (status, changes) = app.get(&admin, &path).await;
    assert_eq!(status, 200, "{changes}");
    let changes = changes.as_array().unwrap();
    let seen: Vec<(&str, &str, i64)> = changes
        .iter()
        .map(|c| (c["state"].as_str().unwrap(), c["by"]["kind"].as_str().unwrap(), c["by"]["id"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("closed", "user", admin.id),
            ("locked", "user", admin.id),
            ("closed", "user", admin.id),
            ("open", "customer", carla.id)
        ]
    );
    let times: Vec<i64> = changes.iter().map(|c| c["at"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[1] - w[0] == 1_000), "each at its own time: {times:?}");

    // The customer of the conversation reads the same lines; nobody else learns anything.
    let (status, hers) = app.get(&carla, &path).await;
    assert_eq!((status, hers.as_array().map(Vec::len)), (200, Some(4)));
    let (status, body) = app.get(&dora, &path).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, _) = app.get(&carla, &format!("/api/v1/conversations/{internal}/state-changes")).await;
    assert_eq!(status, 404, "an internal conversation does not exist for a customer");
    let (status, _) = app.call(reqwest::Method::GET, None, &path, None).await;
    assert_eq!(status, 401);
    app.stop().await;
}
