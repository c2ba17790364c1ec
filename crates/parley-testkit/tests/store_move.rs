//! `parley migrate-store`: a single node on SQLite moves to PostgreSQL and carries on. Every
//! message, delivery record, held reply and pending email job arrives with its id; the emails
//! still due go out exactly once (R14), held replies are released once (R33), and customers still
//! see only what they saw before. Runs with `--features postgres`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_store_postgres::scratch::{test_database_url, ScratchSchema};
use parley_testkit::*;
use serde_json::Value;
use std::time::Duration;

const GUARD_MS: i64 = 1_000;
const CARLA: &str = Desk::CARLA;

async fn messages(app: &TestApp, who: &Who, conversation: i64) -> Vec<(i64, String)> {
    let (status, list) = app.get(who, &format!("/api/v1/conversations/{conversation}/messages")).await;
    assert_eq!(status, 200, "{list}");
    list.as_array().unwrap().iter().map(|m| (m["id"].as_i64().unwrap(), m["body"].as_str().unwrap().into())).collect()
}

async fn deliveries(app: &TestApp, who: &Who, message: i64) -> Value {
    let (status, timeline) = app.get(who, &format!("/api/v1/messages/{message}/deliveries")).await;
    assert_eq!(status, 200, "{timeline}");
    timeline
}

#[tokio::test]
async fn r14_r33_a_move_to_postgres_keeps_every_message_record_and_pending_email() {
    let target = ScratchSchema::create(&test_database_url()).await.expect("PostgreSQL is reachable");
    let smtp = SmtpSink::start().await;
    let url = smtp.url();
    let mut app = spawn_app_with(move |c| {
        c.database_url = None;
        c.smtp_url = Some(url);
        c.send_guard = Some(Duration::from_millis(GUARD_MS as u64));
    })
    .await;
    let d = app.desk().await;
    let internal = app.conversation(&d.admin, d.ticket, "internal").await;
    let hello =
        app.say(&d.mia, d.public, "Hello Carla, the printer is on its way").await["message"]["id"].as_i64().unwrap();
    app.say(&d.mia, internal, "Internal: the courier is late").await;
    app.advance_ms(GUARD_MS);
    app.deliver().await;
    app.advance_ms(EMAIL_DELAY_MS);
    app.deliver().await;
    assert_eq!(smtp.mails_to(CARLA).len(), 1, "the first reply went out before the move");
    // The second reply is still held from Carla when the node stops; its email is not yet due.
    let held = app.say(&d.mia, d.public, "It arrives tomorrow").await["message"]["id"].as_i64().unwrap();
    let staff_before = messages(&app, &d.admin, d.public).await;
    let carla_before = messages(&app, &d.carla, d.public).await;
    let record_before = deliveries(&app, &d.admin, hello).await;
    assert_eq!(carla_before.len(), 1, "the held reply is not hers yet: {carla_before:?}");

    let sqlite = app.database();
    app.go_down().await;
    let moved = parley::store_move::move_to_postgres(&sqlite, None, &target.url()).await.expect("move");
    let rows = |table: &str| moved.tables.iter().find(|(t, _)| t == table).map(|(_, n)| *n);
    assert_eq!(rows("messages"), Some(3), "{:?}", moved.tables);
    app.come_back_on(target.url()).await;

    // Same people, same sessions, same ids; the customer still sees only what is hers.
    assert_eq!(messages(&app, &d.admin, d.public).await, staff_before);
    assert_eq!(messages(&app, &d.carla, d.public).await, carla_before);
    assert_eq!(deliveries(&app, &d.admin, hello).await, record_before);
    assert_eq!(app.get(&d.carla, &format!("/api/v1/conversations/{internal}/messages")).await.0, 404);
    let (_, found) = app.get(&d.admin, "/api/v1/search?q=courier").await;
    assert_eq!(found["messages"].as_array().map(Vec::len), Some(1), "moved messages are searchable: {found}");

    // The held reply is released once and emailed once; nothing sent before is sent again.
    app.advance_ms(GUARD_MS);
    assert_eq!(app.deliver().await.released, 1);
    assert!(messages(&app, &d.carla, d.public).await.iter().any(|(id, _)| *id == held));
    for _ in 0..3 {
        app.advance_ms(EMAIL_DELAY_MS);
        app.deliver().await;
    }
    let to_carla: Vec<String> = smtp.mails_to(CARLA).iter().map(|m| m.text()).collect();
    assert_eq!(to_carla.len(), 2, "exactly one more email: {to_carla:?}");
    assert!(to_carla[1].contains("It arrives tomorrow"));

    // New rows take ids after the moved ones.
    let next = app.say(&d.admin, d.public, "Anything else?").await["message"]["id"].as_i64().unwrap();
    assert!(next > held, "{next} follows {held}");

    // A second move into a database that holds data is refused and writes nothing.
    let before = messages(&app, &d.admin, d.public).await;
    let again = parley::store_move::move_to_postgres(&sqlite, None, &target.url()).await;
    let error = again.expect_err("the target is not empty").to_string();
    assert!(error.contains("already holds data"), "{error}");
    assert_eq!(messages(&app, &d.admin, d.public).await, before);
    app.stop().await;
}
