//! `parley-load --webhooks`: what webhooks (§10) cost and how fast their queue drains, through the
//! real HTTP API and a real receiver on the same machine. Posts with no webhook, with one and with
//! five listening (each post queues one delivery per webhook before it answers); how fast the
//! worker sends what the posts queued; and how fast a backlog of due retries drains. The receiver's own ceiling — signed-size POSTs from 16 clients, no Parley in between — is
//! measured in the same run.

use crate::attachments_load::spread;
use crate::automations_load::post_rate;
use parley_testkit::{spawn_app_with, TestApp, WebhookSink, Who};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub struct Hooks {
    /// Conversations, each posted into once per phase.
    pub count: usize,
    pub clients: usize,
}

/// How long a drain may take before the run gives up on it.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

pub async fn run(h: Hooks) -> anyhow::Result<()> {
    let app = spawn_app_with(|c| c.rate_limits = false).await;
    let admin = app.admin().await;
    let project = app.project(&admin, "Load").await;
    let ticket = app.ticket(&admin, project, "Webhooks", &[]).await;
    let mut conversations = Vec::with_capacity(h.count);
    for _ in 0..h.count {
        conversations.push(app.conversation(&admin, ticket, "public").await);
    }
    let sink = WebhookSink::start().await;
    let client = reqwest::Client::new();
    println!("receiver ceiling: {:.0} POSTs/s from 16 clients", receiver_ceiling(&client, &sink, 2000).await);

    let (rate, p50, p99) = post_rate(&app, &admin, &client, &conversations, h.clients).await;
    println!("posts, no webhooks: {rate:.0} posts/s, p50 {p50:?}, p99 {p99:?}");

    for listening in [1, 5] {
        let ids = make_webhooks(&app, &admin, &sink, listening).await;
        let before = sink.count();
        let started = Instant::now();
        let (rate, p50, p99) = post_rate(&app, &admin, &client, &conversations, h.clients).await;
        println!("posts, {listening} webhook(s) listening: {rate:.0} posts/s, p50 {p50:?}, p99 {p99:?}");
        let expected = before + h.count * listening;
        let drained = drain(&sink, expected).await;
        println!(
            "  deliveries sent while posting and after: {} in {:.2} s from the first post: {:.0} deliveries/s",
            h.count * listening,
            started.elapsed().as_secs_f64(),
            (h.count * listening) as f64 / started.elapsed().as_secs_f64()
        );
        anyhow::ensure!(drained, "the queue did not drain within {DRAIN_LIMIT:?}");
        for id in ids {
            app.delete(&admin, &format!("/api/v1/webhooks/{id}")).await;
        }
    }

    // A backlog: every first try answered 503, so each delivery waits 5 s for its second; the
    // clock moves on, and rounds of the worker's own sending function drain the queue. The
    // server's worker may claim some of them itself: the backlog is drained when the receiver
    // has every second try, whoever sent it.
    let id = make_webhooks(&app, &admin, &sink, 1).await[0];
    sink.answer(&vec![503; h.count]);
    let before = sink.count();
    post_rate(&app, &admin, &client, &conversations, h.clients).await;
    anyhow::ensure!(drain(&sink, before + h.count).await, "the first tries did not come");
    // The receiver has every first try; the worker records each once its answer is in. Only when
    // all are recorded does the clock move on: a try recorded after it moved would fall due 5 s
    // after the new time, which the frozen clock never reaches.
    let waiting = Instant::now();
    loop {
        let retrying = first_tries_recorded(&app, &admin, id).await;
        if retrying >= h.count {
            break;
        }
        anyhow::ensure!(waiting.elapsed() < DRAIN_LIMIT, "only {retrying} first tries were recorded");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    app.advance_ms(5_000);
    let started = Instant::now();
    while sink.count() < before + 2 * h.count && started.elapsed() < DRAIN_LIMIT {
        if app.send_webhooks().await == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "backlog of {} due retries drained in {seconds:.2} s: {:.0} deliveries/s",
        h.count,
        h.count as f64 / seconds
    );
    anyhow::ensure!(drain(&sink, before + 2 * h.count).await, "the backlog did not drain");
    let (_, log) = app.get(&admin, &format!("/api/v1/webhooks/{id}/deliveries?limit=100")).await;
    let delivered =
        log.as_array().map_or(0, |l| l.iter().filter(|d| d["state"] == "delivered" && d["tries"] == 2).count());
    println!("  of the latest 100 in its log, delivered on the second try: {delivered}");
    app.stop().await;
    Ok(())
}

async fn make_webhooks(app: &TestApp, admin: &Who, sink: &WebhookSink, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in 0..count {
        let body = json!({"name": format!("Hook {n}"), "url": sink.url(), "events": ["message_created"]});
        let made: Value = app.ok(admin, "/api/v1/webhooks", body, 201).await;
        ids.push(made["id"].as_i64().expect("id"));
    }
    ids
}

/// Waits until the receiver got `total` requests; `false` if it did not within the limit.
/// How many of webhook `id`'s deliveries have had one try recorded, read a page at a time.
async fn first_tries_recorded(app: &TestApp, admin: &Who, id: i64) -> usize {
    let (mut count, mut before) = (0, String::new());
    loop {
        let (_, page) = app.get(admin, &format!("/api/v1/webhooks/{id}/deliveries?limit=100{before}")).await;
        let page = page.as_array().cloned().unwrap_or_default();
        count += page.iter().filter(|d| d["tries"] == 1).count();
        match page.last().and_then(|d| d["id"].as_i64()) {
            Some(last) if page.len() == 100 => before = format!("&before={last}"),
            _ => return count,
        }
    }
}

async fn drain(sink: &WebhookSink, total: usize) -> bool {
    let started = Instant::now();
    while sink.count() < total && started.elapsed() < DRAIN_LIMIT {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sink.count() >= total
}

/// POSTs to the receiver straight, 16 at a time: what the receiver and the loopback take.
async fn receiver_ceiling(client: &reqwest::Client, sink: &WebhookSink, count: usize) -> f64 {
    let body = json!({"type": "message_created", "timestamp": 0, "data": {"message": {"body": "x".repeat(200)}}});
    let started = Instant::now();
    spread(count, 16, |_| {
        let (client, url, body) = (client.clone(), sink.url(), body.to_string());
        async move {
            let res = client.post(url).header("content-type", "application/json").body(body).send().await;
            assert!(res.expect("receiver").status().is_success());
        }
    })
    .await;
    count as f64 / started.elapsed().as_secs_f64()
}
