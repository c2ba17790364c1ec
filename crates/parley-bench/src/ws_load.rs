//! `parley-ws-load`: realtime under load. It starts Parley as a separate process (this binary in
//! `--server` mode, so the server's memory is measured alone), opens N WebSocket connections as
//! customers (several tabs each), posts messages through the HTTP API and reports:
//! - post → receive latency p50/p99 over every delivery,
//! - deliveries per second,
//! - the server's resident memory per idle connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

#[derive(Parser)]
#[command(about = "Parley realtime load generator")]
struct Args {
    /// WebSocket connections to open.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Connections per customer (their tabs).
    #[arg(long, default_value_t = 5)]
    tabs: usize,
    /// Customers per ticket: each message reaches all their tabs.
    #[arg(long, default_value_t = 10)]
    per_ticket: usize,
    /// Messages to post.
    #[arg(long, default_value_t = 400)]
    messages: usize,
    /// Concurrent posting clients.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Internal: run the server on this data directory and port, printing `ready` when up.
    #[arg(long, hide = true)]
    server: Option<PathBuf>,
    #[arg(long, hide = true, default_value_t = 0)]
    port: u16,
}

const ADMIN: &str = "admin@load.example";
const PASSWORD: &str = "password-123";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(dir) = &args.server {
        return serve(dir.clone(), args.port).await;
    }
    run(args).await
}

async fn serve(dir: PathBuf, port: u16) -> anyhow::Result<()> {
    let mut config = parley::Config::with_data_dir(dir);
    config.listen = format!("127.0.0.1:{port}");
    config.admin_email = Some(ADMIN.into());
    config.admin_password = Some(PASSWORD.into());
    // Nothing falls due during the run: this measures pushes, not email.
    config.email_delay = Duration::from_secs(3600);
    // Replies go to customers at once: this measures the push path, not the send guard's wait.
    config.send_guard = Duration::ZERO;
    // A thousand customers log in from this one machine: abuse limits would (rightly) refuse them.
    config.rate_limits = false;
    let launched = parley::launch(&config).await?;
    println!("ready {}", launched.addr);
    launched.wait().await
}

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

async fn post(client: &reqwest::Client, base: &str, token: Option<&str>, path: &str, body: Value) -> Value {
    let mut req = client.post(format!("{base}{path}")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request");
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.expect("json")
}

/// Starts this binary in server mode and waits until it listens.
async fn start_server(dir: &std::path::Path, port: u16) -> anyhow::Result<tokio::process::Child> {
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("--server").arg(dir).args(["--port", &port.to_string()]);
    command.env("PARLEY_LOG", "warn").stdout(Stdio::piped());
    let mut server = tokio::process::Command::from(command).spawn()?;
    let mut lines = tokio::io::BufReader::new(server.stdout.take().expect("stdout")).lines();
    while let Some(line) = lines.next_line().await? {
        if line.starts_with("ready") {
            return Ok(server);
        }
    }
    anyhow::bail!("the server did not start")
}

async fn run(args: Args) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = start_server(data.path(), port).await?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let login = post(&client, &base, None, "/api/v1/auth/login", json!({"email": ADMIN, "password": PASSWORD})).await;
    let admin = login["token"].as_str().unwrap().to_string();
    let project = post(&client, &base, Some(&admin), "/api/v1/projects", json!({"name": "Load"})).await;

    // Customers, their logins, and tickets grouping them.
    let customers = args.connections.div_ceil(args.tabs);
    let mut tokens = Vec::with_capacity(customers);
    let mut ids = Vec::with_capacity(customers);
    for i in 0..customers {
        let email = format!("customer{i}@load.example");
        let c = post(
            &client,
            &base,
            Some(&admin),
            "/api/v1/customers",
            json!({"email": email, "name": format!("Customer {i}"), "password": PASSWORD}),
        )
        .await;
        ids.push(c["id"].as_i64().unwrap());
    }
    let logins = futures_util::future::join_all((0..customers).map(|i| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let email = format!("customer{i}@load.example");
            post(&client, &base, None, "/api/v1/auth/customer-login", json!({"email": email, "password": PASSWORD}))
                .await
        }
    }))
    .await;
    tokens.extend(logins.iter().map(|l| l["token"].as_str().unwrap().to_string()));
    let mut conversations = Vec::new();
    for group in ids.chunks(args.per_ticket) {
        let body = json!({"project_id": project["id"], "kind": "ticket", "title": "Load", "requester_ids": group});
        let ticket = post(&client, &base, Some(&admin), "/api/v1/items", body).await;
        let body = json!({"subject": "Load", "item_id": ticket["id"], "visibility": "public"});
        conversations
            .push(post(&client, &base, Some(&admin), "/api/v1/conversations", body).await["id"].as_i64().unwrap());
    }
    // Logins leave the allocator holding their password-hashing memory; a fresh server process on
    // the same database (sessions survive) gives a clean baseline for memory per connection.
    server.kill().await?;
    server.wait().await?;
    let mut server = start_server(data.path(), port).await?;
    let pid = server.id().expect("pid");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = resident_kib(pid);

    // Connections: each records, per message sequence number, when it arrived.
    let sent_at: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let ws_base = base.replacen("http://", "ws://", 1);
    let mut sockets = Vec::with_capacity(args.connections);
    for n in 0..args.connections {
        let url = format!("{ws_base}/api/v1/realtime?access_token={}", tokens[n / args.tabs]);
        let (socket, _) = tokio_tungstenite::connect_async(url).await?;
        sockets.push(socket);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = resident_kib(pid);
    let per_connection = (after.saturating_sub(before)) as f64 * 1024.0 / args.connections as f64;

    let mut readers = Vec::new();
    for socket in sockets {
        let (sent_at, latencies) = (sent_at.clone(), latencies.clone());
        readers.push(tokio::spawn(async move {
            let (_, mut read) = socket.split();
            while let Some(Ok(frame)) = read.next().await {
                let Ok(text) = frame.into_text() else { continue };
                let event: Value = serde_json::from_str(&text).unwrap_or_default();
                if event["type"] != "message" {
                    continue;
                }
                let seq: Option<u64> =
                    event["message"]["body"].as_str().and_then(|b| b.strip_prefix("seq ")?.parse().ok());
                let start = seq.and_then(|s| sent_at.lock().unwrap().get(&s).copied());
                if let Some(start) = start {
                    latencies.lock().unwrap().push(start.elapsed());
                }
            }
        }));
    }

    let recipients_per_message = args.per_ticket * args.tabs;
    let expected = args.messages * recipients_per_message;
    let started = Instant::now();
    let posters = (0..args.concurrency).map(|worker| {
        let (client, base, admin, sent_at, conversations) =
            (client.clone(), base.clone(), admin.clone(), sent_at.clone(), conversations.clone());
        let count = args.messages / args.concurrency + usize::from(worker < args.messages % args.concurrency);
        tokio::spawn(async move {
            for k in 0..count {
                let seq = (k * args.concurrency + worker) as u64;
                let conversation = conversations[seq as usize % conversations.len()];
                sent_at.lock().unwrap().insert(seq, Instant::now());
                let path = format!("/api/v1/conversations/{conversation}/messages");
                post(&client, &base, Some(&admin), &path, json!({"body": format!("seq {seq}")})).await;
            }
        })
    });
    futures_util::future::join_all(posters).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while latencies.lock().unwrap().len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    let mut got = latencies.lock().unwrap().clone();
    got.sort();
    let pct = |p: f64| got.get(((got.len().max(1) - 1) as f64 * p) as usize).copied().unwrap_or_default();
    println!("machine: {} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    println!(
        "websocket connections: {} ({} customers x {} tabs); server RSS {} KiB before, {} KiB after: {:.1} KiB per idle connection",
        args.connections, customers, args.tabs, before, after, per_connection / 1024.0
    );
    println!(
        "messages: {} posted by {} clients, each to {} connections: {}/{} deliveries in {:.2?} = {:.0} deliveries/s",
        args.messages,
        args.concurrency,
        recipients_per_message,
        got.len(),
        expected,
        elapsed,
        got.len() as f64 / elapsed.as_secs_f64()
    );
    println!("post -> receive latency: p50 {:?}, p99 {:?}, max {:?}", pct(0.5), pct(0.99), pct(1.0));
    for r in readers {
        r.abort();
    }
    server.kill().await?;
    anyhow::ensure!(got.len() == expected, "lost deliveries: {} of {expected}", got.len());
    Ok(())
}
