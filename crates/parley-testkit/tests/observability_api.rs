//! What an operator reads: every response names its request, so a client's report can be found
//! in the request log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;

#[tokio::test]
async fn every_answer_carries_its_own_request_id() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut ids = Vec::new();
    for path in ["/api/v1/views", "/api/v1/views", "/api/v1/no-such-route", "/"] {
        let res = app.client.get(format!("{}{path}", app.base)).bearer_auth(&admin.token).send().await.unwrap();
        let id = res.headers().get("x-request-id").expect("x-request-id").to_str().unwrap().to_string();
        assert!(id.len() > 8, "{id}");
        ids.push(id);
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    app.stop().await;
}

/// The value of the sample `name{labels}` in an OpenMetrics text, or 0 when it is absent.
fn sample(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_count_requests_posts_sockets_events_and_emails_on_their_own_listener() {
    let app = spawn_app_with(|c| c.metrics_listen = Some("127.0.0.1:0".into())).await;
    let url = app.metrics_url().expect("--metrics-listen set");
    let d = app.desk().await;
    let mut mia = app.socket(&d.mia).await;
    let posted = app.say(&d.carla, d.public, "The printer is on fire").await;
    mia.next_of("message", std::time::Duration::from_secs(5)).await.unwrap();
    // Mia sees it at once: her email is not needed.
    let seen = serde_json::json!({"message_ids": [posted["message"]["id"]]});
    app.ok(&d.mia, "/api/v1/messages/seen", seen, 200).await;
    app.get(&d.mia, "/api/v1/views/open_with_customers").await;

    let text = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    let route = r#"method="POST",route="/api/v1/conversations/{id}/messages",status="201""#;
    assert_eq!(sample(&text, &format!("parley_http_requests_total{{{route}}}")), 1.0, "{text}");
    assert_eq!(sample(&text, "parley_post_duration_seconds_count"), 1.0);
    assert_eq!(sample(&text, "parley_view_duration_seconds_count"), 1.0);
    assert_eq!(sample(&text, "parley_sockets_connected"), 1.0);
    assert!(sample(&text, r#"parley_events_pushed_total{kind="message"}"#) >= 1.0);
    assert_eq!(sample(&text, r#"parley_emails_total{outcome="suppressed",reason="seen"}"#), 1.0, "{text}");
    assert!(sample(&text, r#"parley_email_queue_depth{queue="jobs"}"#) >= 1.0);

    // Past the delay and unseen: the admin's email is sent; the queue has waited since it was due.
    app.advance_ms(EMAIL_DELAY_MS + 5_000);
    let text = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(sample(&text, r#"parley_email_queue_overdue_seconds{queue="jobs"}"#) >= 5.0, "{text}");
    while !app.deliver().await.is_idle() {}
    let text = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(sample(&text, r#"parley_emails_total{outcome="sent",reason=""}"#) >= 1.0, "{text}");
    assert_eq!(sample(&text, r#"parley_email_queue_depth{queue="jobs"}"#), 0.0);
    drop(mia);

    // An email the post itself decides against is counted with its reason, once.
    let path = format!("/api/v1/users/{}/preferences", d.mia.id);
    assert_eq!(app.patch(&d.mia, &path, serde_json::json!({"customer_messages": "none"})).await.0, 200);
    app.say(&d.carla, d.public, "Still on fire").await;
    let text = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(sample(&text, r#"parley_emails_total{outcome="suppressed",reason="preference"}"#), 1.0, "{text}");

    // Never on the public address.
    let public = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(public.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn a_stop_finishes_requests_under_way_and_closes_sockets_going_away() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let d = app.desk().await;
    let mut mia = app.socket(&d.mia).await;
    // A request under way: its headers are in, its body is still coming.
    let addr = app.base.strip_prefix("http://").unwrap().to_string();
    let mut under_way = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let body = serde_json::json!({"body": "Sent while the server stops"}).to_string();
    let head = format!(
        "POST /api/v1/conversations/{}/messages HTTP/1.1\r\nHost: parley\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        d.public,
        d.mia.token,
        body.len()
    );
    under_way.write_all(head.as_bytes()).await.unwrap();
    under_way.write_all(&body.as_bytes()[..5]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let stopping = tokio::spawn(app.stop());
    assert_eq!(mia.closed_with(std::time::Duration::from_secs(5)).await, Some(1001), "going away");
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err(), "no new connections once stopping");
    under_way.write_all(&body.as_bytes()[5..]).await.unwrap();
    let mut answer = String::new();
    under_way.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "the request under way was answered: {answer}");
    stopping.await.unwrap();
}
