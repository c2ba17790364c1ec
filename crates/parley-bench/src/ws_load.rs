//! `parley-ws-load`: realtime under load. It starts Parley as a separate process (this binary in
//! `--server` mode, so the server's memory is measured alone), opens N WebSocket connections as
//! customers (several tabs each), posts messages through the HTTP API and reports:
//! - the server's resident memory per idle connection,
//! - post → receive latency p50/p99 over every delivery,
//! - deliveries per second.
//!
//! Customers and their sessions are seeded straight into the database (a login hashes a password
//! on purpose slowly, and tens of thousands of them would measure that instead). Past about 28,000
//! connections one source address runs out of ephemeral ports, so connections come from several
//! loopback addresses (127.0.0.10, 127.0.0.11, …), 5,000 each. With `--large`, the install is
//! first seeded as `parley-load --large` seeds it (a year of a support desk) and the server
//! restarted on it, which builds every inbox.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use futures_util::StreamExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::Connection;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

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
    /// Connections being opened at a time.
    #[arg(long, default_value_t = 100)]
    opening: usize,
    /// Seed a large install first, at this scale (1: 100,000 conversations, 1,000,000 messages).
    #[arg(long)]
    large: Option<f64>,
    /// Internal: run the server on this data directory and port, printing `ready` when up.
    #[arg(long, hide = true)]
    server: Option<PathBuf>,
    #[arg(long, hide = true, default_value_t = 0)]
    port: u16,
}

const ADMIN: &str = "admin@load.example";
const PASSWORD: &str = "password-123";
/// Connections opened from one loopback source address: it has about 28,000 ephemeral ports, and
/// finding a free one slows down long before they run out.
const PER_SOURCE: usize = 5_000;

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
    config.send_guard = Some(Duration::ZERO);
    // Thousands of customers connect from this one machine: abuse limits would (rightly) refuse them.
    config.rate_limits = false;
    let launched = parley::launch(&config).await?;
    println!("ready {}", launched.addr);
    launched.wait().await
}

/// Both this process and the server (which inherits it) hold one file per connection.
fn allow_open_files(connections: usize) -> anyhow::Result<()> {
    let want = (connections + 1_000) as u64;
    let (soft, hard) = rlimit::Resource::NOFILE.get()?;
    if soft < want {
        rlimit::Resource::NOFILE.set(want, hard.max(want)).map_err(|e| {
            anyhow::anyhow!(
                "{connections} connections need {want} open files, and this process may have only {hard} \
                     (raising that takes CAP_SYS_RESOURCE: {e}); open at most {} here",
                hard.saturating_sub(1_000)
            )
        })?;
    }
    Ok(())
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
async fn start_server(dir: &Path, port: u16) -> anyhow::Result<tokio::process::Child> {
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

async fn stop_server(mut server: tokio::process::Child) -> anyhow::Result<()> {
    server.kill().await?;
    server.wait().await?;
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Seeds `count` customers, each with a session a day long, and returns (id, token) of each.
async fn seed_customers(db: &Path, count: usize) -> anyhow::Result<Vec<(i64, String)>> {
    let options = SqliteConnectOptions::new()
        .filename(db)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(30));
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    let mut tx = conn.begin().await?;
    let now = now_ms();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO customers (email, name, created_at)
         SELECT 'customer' || i || '@load.example', 'Customer ' || i, ? FROM n",
    )
    .bind(count as i64)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM customers WHERE email LIKE 'customer%@load.example' ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
    let mut seeded = Vec::with_capacity(ids.len());
    for id in ids {
        // A session token as Parley issues them (prefix `ps_`); Parley keeps only its hash.
        let token = format!("ps_load{id}x{now}");
        let hash: String = Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        sqlx::query("INSERT INTO sessions (token_hash, party_kind, party_id, expires_at) VALUES (?, 'customer', ?, ?)")
            .bind(hash)
            .bind(id)
            .bind(now + 86_400_000)
            .execute(&mut *tx)
            .await?;
        seeded.push((id, token));
    }
    tx.commit().await?;
    Ok(seeded)
}

/// What every connection records: hellos received, and each message's delivery latency.
#[derive(Default)]
struct Tally {
    hellos: AtomicUsize,
    sent_at: Mutex<HashMap<u64, Instant>>,
    latencies: Mutex<Vec<Duration>>,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Opens one connection from `source`, as small on this side as the server's.
async fn open(server: SocketAddr, source: Ipv4Addr, url: &str) -> anyhow::Result<Socket> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (socket, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(socket)
}

/// Reads a connection until it closes, recording its hello and every `seq N` message.
async fn read(socket: Socket, tally: Arc<Tally>) {
    let (_, mut read) = socket.split();
    while let Some(Ok(frame)) = read.next().await {
        let Ok(text) = frame.into_text() else { continue };
        let event: Value = serde_json::from_str(&text).unwrap_or_default();
        match event["type"].as_str() {
            Some("hello") => {
                tally.hellos.fetch_add(1, Ordering::Relaxed);
            }
            Some("message") => {
                let seq: Option<u64> =
                    event["message"]["body"].as_str().and_then(|b| b.strip_prefix("seq ")?.parse().ok());
                let start = seq.and_then(|s| tally.sent_at.lock().unwrap().get(&s).copied());
                if let Some(start) = start {
                    tally.latencies.lock().unwrap().push(start.elapsed());
                }
            }
            _ => {}
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    allow_open_files(args.connections)?;
    let data = tempfile::tempdir()?;
    let db = data.path().join("parley.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = start_server(data.path(), port).await?;
    if let Some(scale) = args.large {
        stop_server(server).await?;
        let seeded = parley_bench::large::seed_file(&db, now_ms(), scale).await?;
        println!(
            "large install: {} conversations, {} messages seeded in {:.1} s",
            seeded.conversations, seeded.messages, seeded.seconds
        );
        let t = Instant::now();
        server = start_server(data.path(), port).await?;
        println!("large install: every inbox built at start-up in {:.1} s", t.elapsed().as_secs_f64());
    }
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let login = post(&client, &base, None, "/api/v1/auth/login", json!({"email": ADMIN, "password": PASSWORD})).await;
    let admin = login["token"].as_str().unwrap().to_string();
    let project = post(&client, &base, Some(&admin), "/api/v1/projects", json!({"name": "Load"})).await;

    // Customers with their sessions, and tickets grouping them.
    let customers = seed_customers(&db, args.connections.div_ceil(args.tabs)).await?;
    let groups: Vec<Vec<i64>> = customers.chunks(args.per_ticket).map(|g| g.iter().map(|c| c.0).collect()).collect();
    let conversations: Vec<i64> = futures_util::stream::iter(groups)
        .map(|group| {
            let (client, base, admin, project_id) =
                (client.clone(), base.clone(), admin.clone(), project["id"].clone());
            async move {
                let body = json!({"project_id": project_id, "kind": "ticket", "title": "Load", "requester_ids": group});
                let ticket = post(&client, &base, Some(&admin), "/api/v1/items", body).await;
                let body = json!({"subject": "Load", "item_id": ticket["id"], "visibility": "public"});
                post(&client, &base, Some(&admin), "/api/v1/conversations", body).await["id"].as_i64().unwrap()
            }
        })
        .buffered(8)
        .collect()
        .await;
    // A fresh server process on the same database (sessions survive) gives a clean baseline for
    // memory per connection.
    stop_server(server).await?;
    let mut server = start_server(data.path(), port).await?;
    let pid = server.id().expect("pid");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = resident_kib(pid);

    // Connections, each read by its own task, spread over as many source addresses as they need.
    let tally = Arc::new(Tally::default());
    let sources = args.connections.div_ceil(PER_SOURCE);
    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    let opening = Instant::now();
    let readers: Vec<_> = futures_util::stream::iter(0..args.connections)
        .map(|n| {
            let url = format!("ws://127.0.0.1:{port}/api/v1/realtime?access_token={}", customers[n / args.tabs].1);
            let source = Ipv4Addr::new(127, 0, 0, 10 + (n / PER_SOURCE) as u8);
            async move { open(address, source, &url).await }
        })
        .buffer_unordered(args.opening)
        .map(|socket| socket.map(|socket| tokio::spawn(read(socket, tally.clone()))))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let opened_in = opening.elapsed();
    let deadline = Instant::now() + Duration::from_secs(60);
    while tally.hellos.load(Ordering::Relaxed) < args.connections && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = resident_kib(pid);
    let per_connection = (after.saturating_sub(before)) as f64 * 1024.0 / args.connections as f64;

    let recipients_per_message = args.per_ticket * args.tabs;
    let expected = args.messages * recipients_per_message;
    let started = Instant::now();
    let posters = (0..args.concurrency).map(|worker| {
        let (client, base, admin, tally, conversations) =
            (client.clone(), base.clone(), admin.clone(), tally.clone(), conversations.clone());
        let count = args.messages / args.concurrency + usize::from(worker < args.messages % args.concurrency);
        tokio::spawn(async move {
            for k in 0..count {
                let seq = (k * args.concurrency + worker) as u64;
                let conversation = conversations[seq as usize % conversations.len()];
                tally.sent_at.lock().unwrap().insert(seq, Instant::now());
                let path = format!("/api/v1/conversations/{conversation}/messages");
                post(&client, &base, Some(&admin), &path, json!({"body": format!("seq {seq}")})).await;
            }
        })
    });
    futures_util::future::join_all(posters).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while tally.latencies.lock().unwrap().len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    let mut got = tally.latencies.lock().unwrap().clone();
    got.sort();
    let pct = |p: f64| got.get(((got.len().max(1) - 1) as f64 * p) as usize).copied().unwrap_or_default();
    println!("machine: {} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    println!(
        "websocket connections: {} ({} customers x {} tabs, from {sources} source addresses) opened in {:.1?}, \
         {} greeted",
        args.connections,
        customers.len(),
        args.tabs,
        opened_in,
        tally.hellos.load(Ordering::Relaxed)
    );
    println!(
        "server RSS {before} KiB before, {after} KiB after: {:.1} KiB per idle connection",
        per_connection / 1024.0
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
    anyhow::ensure!(tally.hellos.load(Ordering::Relaxed) == args.connections, "not every connection was greeted");
    anyhow::ensure!(got.len() == expected, "lost deliveries: {} of {expected}", got.len());
    Ok(())
}
