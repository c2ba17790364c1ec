//! parley-soak: a mixed workload against the real `parley` binary, which is killed with SIGKILL
//! and restarted at random moments; then what the clients were told is checked against what the
//! server kept and what reached the SMTP server (R14, R7, §12).
//!
//! ```text
//! cargo build --release -p parley -p parley-bench
//! target/release/parley-soak --kills 200        # the default; 1,000 for the long run
//! ```
//!
//! Workload: a member replies in every customer's public conversation and writes internal notes
//! beside it; each customer writes in their own conversation from the portal; a live-chat
//! visitor who gave an address chats; the member reports some customer messages seen, closes
//! and reopens conversations; every one of them keeps a WebSocket open. Customers never report
//! anything seen, so every staff reply is due to them by email.
//!
//! `SOAK_LOG=<file>` keeps the server's warnings (resends, journal recoveries); `SOAK_DUMP=<dir>`
//! writes every email the SMTP sink received.
//!
//! Checks: every acknowledged post is stored with its body; numbers in each conversation run 1..n
//! without a gap or a repeat; every reply due to a customer was emailed, and how many were emailed
//! more than once (per kill: at most the SMTP conversations under way at a kill, each again with
//! the first one's Message-ID); every email arrived within `--max-late-ms` (2 s) of its message
//! falling due, also right after a kill (R44: a restart takes back what the killed run held at
//! once); nothing internal reached a customer by email or socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use futures_util::StreamExt;
use parley_testkit::SmtpSink;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// How many times the server is killed.
    #[arg(long, default_value_t = 200)]
    kills: usize,
    /// The server binary (default: `parley` beside this one).
    #[arg(long)]
    parley: Option<PathBuf>,
    /// Customers, each with a ticket and its public and internal conversations.
    #[arg(long, default_value_t = 3)]
    customers: usize,
    /// Longest time between two kills, in milliseconds (each wait is random up to this).
    #[arg(long, default_value_t = 1500)]
    max_uptime_ms: u64,
    /// Random seed, for a repeatable run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The most an email may arrive after its message fell due (the email delay), also right
    /// after a kill.
    #[arg(long, default_value_t = 2000)]
    max_late_ms: u64,
}

const ADMIN: &str = "admin@soak.test";
const PASSWORD: &str = "soak-password-1";
const DELAY: &str = "800ms";
const DELAY_MS: u64 = 800;

/// A small xorshift generator: enough randomness for kill times, without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

struct Server {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    smtp: String,
    /// Where the server's warnings go (`SOAK_LOG`), for looking into a fault.
    log: Option<PathBuf>,
    child: Option<Child>,
}

impl Server {
    fn start(&mut self) {
        let child = Command::new(&self.bin)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port), "--smtp-listen", "off", "--data-dir"])
            .arg(&self.data)
            .args(["--base-url", &format!("http://127.0.0.1:{}", self.port)])
            .args(["--email-delay", DELAY, "--delivery-poll", "100ms", "--delivery-lease", "3s", "--send-guard", "0"])
            .args(["--smtp-url", &self.smtp, "--smtp-from", "Soak <support@soak.test>", "--rate-limits", "false"])
            .env("PARLEY_ADMIN_EMAIL", ADMIN)
            .env("PARLEY_ADMIN_PASSWORD", PASSWORD)
            .env("PARLEY_LOG", if self.log.is_some() { "warn" } else { "error" })
            .stderr(Stdio::null())
            .stdout(match &self.log {
                Some(path) => {
                    Stdio::from(std::fs::OpenOptions::new().create(true).append(true).open(path).expect("server log"))
                }
                None => Stdio::null(),
            })
            .spawn()
            .expect("start parley");
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        }
    }
}

/// What the clients were told.
#[derive(Default)]
struct Ledger {
    /// Acknowledged posts: message id → (conversation id, body).
    acked: BTreeMap<i64, (i64, String)>,
    /// When each acknowledgement arrived: an email is due one delay later.
    acked_at: BTreeMap<i64, Instant>,
    /// Frames received by each customer's socket.
    customer_frames: Vec<String>,
}

#[derive(Clone)]
struct Ctx {
    base: String,
    http: reqwest::Client,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    seq: Arc<AtomicU64>,
}

impl Ctx {
    async fn post(&self, token: &str, path: &str, body: Value) -> Option<Value> {
        let res = self.http.post(format!("{}{path}", self.base)).bearer_auth(token).json(&body).send().await.ok()?;
        if !res.status().is_success() {
            return None;
        }
        res.json().await.ok()
    }

    async fn get(&self, token: &str, path: &str) -> Option<Value> {
        let res = self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.ok()?;
        res.status().is_success().then_some(())?;
        res.json().await.ok()
    }

    fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Posts `body` and records it if the server acknowledged it.
    async fn say(&self, token: &str, conversation: i64, body: String, channel: &str) {
        let path = format!("/api/v1/conversations/{conversation}/messages");
        if let Some(answer) = self.post(token, &path, json!({"body": body, "channel": channel})).await {
            if let Some(id) = answer["message"]["id"].as_i64() {
                let mut ledger = self.ledger.lock().unwrap();
                ledger.acked.insert(id, (conversation, body));
                ledger.acked_at.insert(id, Instant::now());
            }
        }
    }
}

async fn login(ctx: &Ctx, path: &str, email: &str, password: &str) -> String {
    login_with_id(ctx, path, email, password).await.0
}

async fn login_with_id(ctx: &Ctx, path: &str, email: &str, password: &str) -> (String, i64) {
    let body = json!({"email": email, "password": password});
    let answer = ctx.post("", path, body).await.expect("login");
    let id = answer.get("user").or_else(|| answer.get("customer")).and_then(|p| p["id"].as_i64()).unwrap_or(0);
    (answer["token"].as_str().unwrap().to_string(), id)
}

async fn wait_ready(ctx: &Ctx) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let probe = ctx.http.get(format!("{}/api/openapi.json", ctx.base)).send().await;
        if probe.is_ok_and(|r| r.status().is_success()) {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("parley did not come back");
}

/// Keeps a socket open as `token`, reconnecting after each kill; customers' frames are kept.
async fn listen(ctx: Ctx, token: String, customer: bool) {
    let url = format!("{}/api/v1/realtime?access_token={token}", ctx.base.replacen("http://", "ws://", 1));
    while !ctx.stop.load(Ordering::Relaxed) {
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(url.as_str()).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        while let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_millis(500), socket.next()).await {
            if customer {
                if let Ok(text) = frame.to_text() {
                    ctx.ledger.lock().unwrap().customer_frames.push(text.to_string());
                }
            }
            if ctx.stop.load(Ordering::Relaxed) {
                return;
            }
        }
    }
}

struct World {
    member: String,
    /// Per customer: token, address, the conversation staff reply in, the internal one beside it,
    /// and one the customer writes in (writing marks what came before read, R9).
    customers: Vec<(String, String, i64, i64, i64)>,
    visitor: (String, i64),
}

async fn seed(ctx: &Ctx, customers: usize) -> World {
    let admin = login(ctx, "/api/v1/auth/login", ADMIN, PASSWORD).await;
    ctx.post(&admin, "/api/v1/users", json!({"email": "mo@soak.test", "name": "Mo", "password": PASSWORD})).await;
    let (member, member_id) = login_with_id(ctx, "/api/v1/auth/login", "mo@soak.test", PASSWORD).await;
    let project = ctx.post(&admin, "/api/v1/projects", json!({"name": "Support"})).await.unwrap()["id"].clone();
    let mut list = Vec::new();
    for n in 0..customers {
        let address = format!("customer{n}@client.test");
        let body = json!({"email": address, "name": format!("Customer {n}"), "password": PASSWORD});
        let customer = ctx.post(&admin, "/api/v1/customers", body).await.unwrap();
        let body = json!({"project_id": project, "kind": "ticket", "title": format!("Ticket {n}"), "requester_ids": [customer["id"]]});
        let item = ctx.post(&admin, "/api/v1/items", body).await.unwrap()["id"].clone();
        let mut ids = Vec::new();
        for (subject, visibility) in [("replies", "public"), ("notes", "internal"), ("questions", "public")] {
            let body = json!({"subject": format!("{subject} {n}"), "item_id": item, "visibility": visibility});
            ids.push(ctx.post(&member, "/api/v1/conversations", body).await.unwrap()["id"].as_i64().unwrap());
        }
        let token = login(ctx, "/api/v1/auth/customer-login", &address, PASSWORD).await;
        list.push((token, address, ids[0], ids[1], ids[2]));
    }
    let visitor =
        ctx.post("", "/api/v1/widget/visitors", json!({})).await.unwrap()["token"].as_str().unwrap().to_string();
    ctx.post(&visitor, "/api/v1/widget/contact", json!({"email": "visitor@shopper.test"})).await.unwrap();
    let chat =
        ctx.post(&visitor, "/api/v1/conversations", json!({"subject": "Chat", "visibility": "public"})).await.unwrap();
    ctx.post(
        &member,
        &format!("/api/v1/conversations/{}/people", chat["id"]),
        json!({"role": "participant", "party": {"kind": "user", "id": member_id}}),
    )
    .await;
    World { member, customers: list, visitor: (visitor, chat["id"].as_i64().unwrap()) }
}

/// The workload, until `stop`.
fn spawn_workload(ctx: &Ctx, world: &World) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    // The member: replies, internal notes, seen reports, closing and reopening.
    let (c, member, convs) = (ctx.clone(), world.member.clone(), world.customers.clone());
    let chat = world.visitor.1;
    tasks.push(tokio::spawn(async move {
        let mut round = 0u64;
        while !c.stop.load(Ordering::Relaxed) {
            for (_, _, public, internal, _) in &convs {
                let n = c.next();
                c.say(&member, *public, format!("reply-{n} from the team"), "app").await;
                c.say(&member, *internal, format!("int-{n} between us"), "app").await;
                if round.is_multiple_of(5) {
                    let path = format!("/api/v1/conversations/{public}/messages?limit=200");
                    if let Some(list) = c.get(&member, &path).await {
                        let ids: Vec<i64> =
                            list.as_array().into_iter().flatten().filter_map(|m| m["id"].as_i64()).collect();
                        c.post(&member, "/api/v1/messages/seen", json!({"message_ids": ids})).await;
                    }
                }
                if round.is_multiple_of(7) {
                    c.post(&member, &format!("/api/v1/conversations/{public}/state"), json!({"action": "close"})).await;
                }
            }
            let n = c.next();
            c.say(&member, chat, format!("reply-{n} in the chat"), "app").await;
            round += 1;
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    }));
    for (token, _, _, _, own) in world.customers.clone() {
        let c = ctx.clone();
        tasks.push(tokio::spawn(async move {
            while !c.stop.load(Ordering::Relaxed) {
                let n = c.next();
                c.say(&token, own, format!("cust-{n} from the portal"), "portal").await;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }));
    }
    let (c, (visitor, chat)) = (ctx.clone(), world.visitor.clone());
    tasks.push(tokio::spawn(async move {
        while !c.stop.load(Ordering::Relaxed) {
            let n = c.next();
            c.say(&visitor, chat, format!("vis-{n} from the widget"), "widget").await;
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }));
    for (token, ..) in &world.customers {
        tasks.push(tokio::spawn(listen(ctx.clone(), token.clone(), true)));
    }
    tasks.push(tokio::spawn(listen(ctx.clone(), world.visitor.0.clone(), true)));
    tasks.push(tokio::spawn(listen(ctx.clone(), world.member.clone(), false)));
    tasks
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = args.parley.clone().unwrap_or_else(|| std::env::current_exe().unwrap().with_file_name("parley"));
    anyhow::ensure!(bin.exists(), "no server binary at {}: cargo build --release -p parley", bin.display());
    let smtp = SmtpSink::start().await;
    let data = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = Server {
        bin,
        data: data.path().to_path_buf(),
        port,
        smtp: smtp.url(),
        log: std::env::var_os("SOAK_LOG").map(PathBuf::from),
        child: None,
    };
    let ctx = Ctx {
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?,
        ledger: Arc::default(),
        stop: Arc::default(),
        seq: Arc::default(),
    };
    server.start();
    wait_ready(&ctx).await;
    let world = seed(&ctx, args.customers).await;
    let tasks = spawn_workload(&ctx, &world);

    let started = Instant::now();
    let mut rng = Rng(args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut restarts = Duration::ZERO;
    let mut kills = Vec::with_capacity(args.kills);
    for kill in 0..args.kills {
        tokio::time::sleep(Duration::from_millis(100 + rng.below(args.max_uptime_ms))).await;
        kills.push(Instant::now());
        server.kill();
        server.start();
        restarts += wait_ready(&ctx).await;
        if (kill + 1) % 25 == 0 {
            let acked = ctx.ledger.lock().unwrap().acked.len();
            println!("  {} kills, {acked} acknowledged posts, {:.0?}", kill + 1, started.elapsed());
        }
    }
    ctx.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await?;
    }
    let soak_time = started.elapsed();

    // Let every due email go out: the delay, a lease left by the last kill, and sending.
    // Done when nothing new arrived for 6 s; a server that keeps sending (a fault) is cut off at 90 s.
    let (draining, mut quiet_since) = (Instant::now(), Instant::now());
    let mut last = smtp.mails().len();
    while quiet_since.elapsed() < Duration::from_secs(6) && draining.elapsed() < Duration::from_secs(90) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = smtp.mails().len();
        if now != last {
            (last, quiet_since) = (now, Instant::now());
        }
    }

    let report = check(&ctx, &world, &smtp, &kills, Duration::from_millis(args.max_late_ms)).await;
    server.kill();
    let ledger = ctx.ledger.lock().unwrap();
    println!(
        "parley-soak: {} kills over {soak_time:.1?} (mean restart to ready {:.0?})",
        args.kills,
        restarts / args.kills.max(1) as u32
    );
    println!("  acknowledged posts: {}; emails received: {}", ledger.acked.len(), smtp.mails().len());
    println!("  lost (acknowledged, not stored): {}", report.lost);
    println!("  numbering faults (gaps or repeats): {}", report.numbering);
    println!(
        "  replies due to customers: {}, emailed: {}, never emailed: {}",
        report.due,
        report.due - report.missing,
        report.missing
    );
    println!(
        "  emailed more than once: {} messages in {} emails ({:.3} emails per kill; {} of them with the Message-ID of the first, which mail clients fold)",
        report.duplicate_messages,
        report.duplicate_emails,
        report.duplicate_emails as f64 / args.kills.max(1) as f64,
        report.same_message_id
    );
    println!(
        "  after falling due, emails arrived within {:.0?} (p99 {:.0?}); of the {} due within {:.0?} of a kill, within {:.0?}; later than {} ms: {}",
        report.latest,
        report.p99,
        report.near_kill,
        NEAR_KILL,
        report.latest_near_kill,
        args.max_late_ms,
        report.late
    );
    println!(
        "  internal words that reached a customer: {} by email, {} by socket",
        report.internal_emails, report.internal_frames
    );
    let ok = report.lost == 0
        && report.numbering == 0
        && report.missing == 0
        && report.internal_emails == 0
        && report.internal_frames == 0
        && report.latest <= Duration::from_millis(args.max_late_ms)
        // A kill can cut off every SMTP conversation under way after the server stored the email
        // and before its "250" reached Parley: those go again, with the first one's Message-ID,
        // so mail clients show one.
        && report.same_message_id == report.duplicate_emails
        && report.duplicate_emails <= args.kills * parley_mail::SMTP_CONNECTIONS;
    anyhow::ensure!(ok, "the soak found faults (above)");
    Ok(())
}

#[derive(Default)]
struct Report {
    lost: usize,
    numbering: usize,
    due: usize,
    missing: usize,
    duplicate_messages: usize,
    duplicate_emails: usize,
    same_message_id: usize,
    internal_emails: usize,
    internal_frames: usize,
    /// How long after falling due (acknowledged + the delay) the latest email arrived.
    latest: Duration,
    p99: Duration,
    /// Replies that fell due while a kill could touch them (see [`NEAR_KILL`]).
    near_kill: usize,
    latest_near_kill: Duration,
    /// Replies whose email came later than `--max-late-ms` after falling due.
    late: usize,
}

/// A reply counts as due near a kill when a kill came between its acknowledgement and this long
/// after it fell due: the killed run may have held its job or its email.
const NEAR_KILL: Duration = Duration::from_secs(2);

async fn check(ctx: &Ctx, world: &World, smtp: &SmtpSink, kills: &[Instant], max_late: Duration) -> Report {
    let mut report = Report::default();
    let admin = login(ctx, "/api/v1/auth/login", ADMIN, PASSWORD).await;
    let ledger = ctx.ledger.lock().unwrap().acked.clone();
    let conversations: BTreeSet<i64> = ledger.values().map(|(c, _)| *c).collect();
    let mut stored: BTreeMap<i64, String> = BTreeMap::new();
    for conversation in conversations {
        let (mut after, mut numbers) = (0, Vec::new());
        loop {
            let path = format!("/api/v1/conversations/{conversation}/messages?after={after}&limit=200");
            let page = ctx.get(&admin, &path).await.expect("messages");
            let page = page.as_array().cloned().unwrap_or_default();
            for m in &page {
                stored.insert(m["id"].as_i64().unwrap(), m["body"].as_str().unwrap_or_default().to_string());
                numbers.push(m["number"].as_i64().unwrap());
            }
            match page.last() {
                Some(last) if page.len() == 200 => after = last["number"].as_i64().unwrap(),
                _ => break,
            }
        }
        let expected: Vec<i64> = (1..=numbers.len() as i64).collect();
        if numbers != expected {
            report.numbering += 1;
            eprintln!("conversation {conversation}: numbers are not 1..{}", numbers.len());
        }
    }
    for (id, (_, body)) in &ledger {
        if stored.get(id) != Some(body) {
            report.lost += 1;
            eprintln!("acknowledged message {id} is not stored as sent");
        }
    }

    // Emails: each reply due to a customer is in exactly one email to them (R14, R34).
    let mut public_of: BTreeMap<i64, &str> = BTreeMap::new();
    for (_, address, public, _, _) in &world.customers {
        public_of.insert(*public, address);
    }
    let mails = smtp.mails();
    if let Ok(dir) = std::env::var("SOAK_DUMP") {
        for (n, mail) in mails.iter().enumerate() {
            let _ = std::fs::write(format!("{dir}/{n}.eml"), &mail.raw);
        }
    }
    let mut emailed: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for mail in &mails {
        let text = mail.text();
        let message_id = mail.header("Message-ID").unwrap_or_default();
        for to in &mail.to {
            for word in text.split_whitespace().filter(|w| w.starts_with("reply-") || w.starts_with("int-")) {
                if word.starts_with("int-") && !to.ends_with("@soak.test") {
                    report.internal_emails += 1;
                }
                emailed.entry((to.clone(), word.to_string())).or_default().push(message_id.clone());
            }
        }
    }
    // When each (recipient, reply) first arrived.
    let mut first_at: BTreeMap<(String, String), Instant> = BTreeMap::new();
    for mail in &mails {
        let text = mail.text();
        for to in &mail.to {
            for word in text.split_whitespace().filter(|w| w.starts_with("reply-")) {
                let at = first_at.entry((to.clone(), word.to_string())).or_insert(mail.received_at);
                *at = (*at).min(mail.received_at);
            }
        }
    }
    let acked_at = ctx.ledger.lock().unwrap().acked_at.clone();
    let (mut lateness, mut late_near_kill) = (Vec::new(), Vec::new());
    for (id, (conversation, body)) in &ledger {
        let Some(address) = public_of.get(conversation) else { continue };
        let Some(word) = body.split_whitespace().next().filter(|w| w.starts_with("reply-")) else { continue };
        report.due += 1;
        let key = (address.to_string(), word.to_string());
        if !emailed.contains_key(&key) {
            report.missing += 1;
        }
        let (Some(arrived), Some(acked)) = (first_at.get(&key), acked_at.get(id)) else { continue };
        let due = *acked + Duration::from_millis(DELAY_MS);
        let late = arrived.saturating_duration_since(due);
        lateness.push(late);
        if kills.iter().any(|k| *k >= *acked && *k <= due + NEAR_KILL) {
            late_near_kill.push(late);
        }
    }
    lateness.sort();
    report.latest = lateness.last().copied().unwrap_or_default();
    report.p99 = lateness.get(lateness.len() * 99 / 100).copied().unwrap_or(report.latest);
    report.near_kill = late_near_kill.len();
    report.latest_near_kill = late_near_kill.iter().max().copied().unwrap_or_default();
    report.late = lateness.iter().filter(|l| **l > max_late).count();
    let mut duplicate_emails: BTreeSet<(String, String)> = BTreeSet::new();
    for ((to, _), ids) in &emailed {
        if ids.len() > 1 {
            report.duplicate_messages += 1;
            for id in &ids[1..] {
                if duplicate_emails.insert((to.clone(), id.clone())) && *id == ids[0] {
                    report.same_message_id += 1;
                }
            }
        }
    }
    report.duplicate_emails = duplicate_emails.len();
    let frames = ctx.ledger.lock().unwrap().customer_frames.clone();
    report.internal_frames = frames.iter().filter(|f| f.contains("int-")).count();
    report
}
