//! R40 through the real server: no message body can make a request take long, store a lot, or
//! hold up other requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::*;
use serde_json::json;
use std::time::{Duration, Instant};

/// The bodies that stalled the server before rendering was bounded: each within the length limit.
fn pathological() -> Vec<(&'static str, String)> {
    let n = 50_000;
    vec![
        ("nested quotes", ">".repeat(n)),
        ("spaced quotes", "> ".repeat(n / 2)),
        ("nested ordered lists", "1. ".repeat(n / 3)),
        ("quotes in lists", "> - ".repeat(n / 4)),
        ("nested emphasis", "**_".repeat(n / 3)),
        ("links", "[a](".repeat(n / 4)),
        ("table", format!("{}\n{}\n{}", "|a".repeat(n / 6), "|-".repeat(n / 6), "|b".repeat(n / 6))),
        ("raw html", "<div>".repeat(n / 5)),
        ("escapes", "&".repeat(n)),
    ]
}

/// Generous bounds for an unoptimized build on a small machine: before, these took 20–60 s.
const ONE_POST: Duration = Duration::from_secs(3);
const OTHERS_WAIT_AT_MOST: Duration = Duration::from_secs(1);

#[tokio::test]
async fn r40_pathological_markdown_renders_fast_and_small() {
    let app = spawn_app().await;
    let visitor = app.visitor().await;
    let chat = app.ok(&visitor, "/api/v1/conversations", json!({"subject": "Chat", "visibility": "public"}), 201).await;
    let path = format!("/api/v1/conversations/{}/messages", chat["id"]);
    for (shape, body) in pathological() {
        let started = Instant::now();
        let said = app.ok(&visitor, &path, json!({"body": body}), 201).await;
        let took = started.elapsed();
        assert!(took < ONE_POST, "{shape}: {took:?}");
        let html = said["message"]["body_html"].as_str().unwrap();
        assert!(html.len() <= parley_domain::markdown::MAX_HTML_BYTES, "{shape}: {} bytes", html.len());
        assert!(!html.contains("<div"), "{shape}: raw HTML is text");
    }
    app.stop().await;
}

#[tokio::test]
async fn r40_a_heavy_post_does_not_delay_other_requests() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let visitor = app.visitor().await;
    let chat = app.ok(&visitor, "/api/v1/conversations", json!({"subject": "Chat", "visibility": "public"}), 201).await;
    let path = format!("/api/v1/conversations/{}/messages", chat["id"]);
    let heavy = ">".repeat(50_000);
    let posts = two_posts(&app, &visitor, &path, &heavy);
    let probe = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = Instant::now();
        let (status, _) = app.get(&admin, "/api/v1/me").await;
        (status, started.elapsed())
    };
    let ((a, b), (status, took)) = tokio::join!(posts, probe);
    assert_eq!((a, b, status), (201, 201, 200));
    assert!(took < OTHERS_WAIT_AT_MOST, "GET /me waited {took:?}");
    app.stop().await;
}

async fn two_posts(app: &TestApp, who: &Who, path: &str, body: &str) -> (u16, u16) {
    let one = app.post(who, path, json!({"body": body}));
    let two = app.post(who, path, json!({"body": body}));
    let ((a, _), (b, _)) = tokio::join!(one, two);
    (a, b)
}

/// R40 for sockets: one person holds at most `MAX_SOCKETS_PER_PERSON` realtime connections; the
/// next is refused with 429 and another person is still let in; closing one frees its place.
#[tokio::test]
async fn r40_a_person_holds_a_bounded_number_of_sockets() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let carla = app.customer(&admin, "carla@client.example").await;
    let mut open = Vec::new();
    for _ in 0..parley_app::MAX_SOCKETS_PER_PERSON {
        open.push(app.socket(&carla).await);
    }
    let refused = Socket::connect(&app.base, &carla.token, None).await.err();
    assert_eq!(refused.map(|r| r.0), Some(Some(429)));
    app.socket(&admin).await;
    open.pop().unwrap().close().await;
    let mut again = None;
    for _ in 0..50 {
        if let Ok(socket) = Socket::connect(&app.base, &carla.token, None).await {
            again = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "a closed connection frees its place");
    app.stop().await;
}

/// R40 for templates: an admin's template that would render a huge email (a string repeated, a
/// literal in nested loops) is refused with 422 and why, quickly, and other requests go on.
#[tokio::test]
async fn r40_a_template_cannot_render_a_huge_email() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let huge = [
        r#"{{ "x" * 100000000 }}"#,
        "{% for i in range(100000) %}{% for j in range(100000) %}0123456789{% endfor %}{% endfor %}",
        "{% for i in range(2000) %}{{ recipient.name * 1000 }}{% endfor %}",
    ];
    for body in huge {
        let edit = json!({"subject": "Hello", "body_text": body, "body_html": "<p>Hello</p>"});
        let started = Instant::now();
        let (status, answer) = app.post(&admin, "/api/v1/templates/new_message/preview", edit).await;
        assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("invalid_template")), "{body}: {answer}");
        assert!(started.elapsed() < Duration::from_secs(5), "{body}: {:?}", started.elapsed());
        let (status, _) = app.get(&admin, "/healthz").await;
        assert_eq!(status, 200);
    }
    let (status, answer) = app
        .post(
            &admin,
            "/api/v1/templates/new_message/preview",
            json!({
        "subject": "Hello", "body_text": r#"{{ "x" * 2000000 }}"#, "body_html": "<p>Hello</p>"}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(answer["error"]["message"].as_str().unwrap().contains("larger than 1 MB"), "{answer}");
    app.stop().await;
}
