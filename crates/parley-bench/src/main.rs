//! `parley-load`: measures, in one run on one disk,
//! 1. the SQLite ceiling: single-row commits per second with Parley's settings (WAL, NORMAL);
//! 2. the audience computation alone, with N followers per item;
//! 3. messages posted per second through the real HTTP API, with N followers per item;
//! 4. R40: the Markdown renderer on the bodies that once stalled the server, against a plain
//!    50,000-character paragraph (the ceiling: what any body of that length costs);
//! 5. email in: mails per second through the SMTP listener (read, route, post), as replies into
//!    the load conversation and as new requests from new customers.
//!
//! With `--large`, instead: the read side and posting on an empty install and on a large one
//! (`large.rs`), in the same run, next to the SQLite ceiling. With `--email-catchup`, instead:
//! whether every email goes out within the delay + 2 s at a given post rate (`email_catchup.rs`).
//! With `--attachments`, instead: file uploads, posts carrying files and fetches, next to the
//! disk's own rate for the same files (`attachments_load.rs`). With `--cluster`, instead: posting
//! through 1, 2 and 3 nodes on one PostgreSQL database, next to its insert rate
//! (`cluster_load.rs`). With `--automations`, instead: item status changes and posts with no
//! automations, five that do not fire and five that fire (`automations_load.rs`). With
//! `--webhooks`: posts with none, one and five webhooks listening, and how fast the queue drains
//! (`webhooks_load.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod attachments_load;
mod automations_load;
mod cluster_load;
mod email_catchup;
mod webhooks_load;
use parley_bench::large;

use clap::Parser;
use parley_domain::audience::{compute, AudienceInput};
use parley_domain::*;
use parley_testkit::{smtp_send, spawn_app_with, TestApp};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Parley load generator")]
struct Args {
    /// Messages to post through the API.
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Followers of the item the conversation hangs off.
    #[arg(long, default_value_t = 20)]
    followers: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Mails to deliver to the SMTP listener, of each kind (replies, new requests).
    #[arg(long, default_value_t = 500)]
    mails: usize,
    /// Run the server (and the ceiling probe) with SQLite's synchronous=FULL: every commit flushed
    /// to disk before it is acknowledged (`--sqlite-synchronous full`).
    #[arg(long)]
    full_sync: bool,
    /// Measure an empty and a large install instead (see `large.rs`).
    #[arg(long)]
    large: bool,
    /// Size of the large install: 1 is 100,000 conversations and 1,000,000 messages.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Requests per read figure.
    #[arg(long, default_value_t = 300)]
    read_rounds: usize,
    /// Measure whether the email worker keeps up instead (see `email_catchup.rs`).
    #[arg(long)]
    email_catchup: bool,
    /// Posts per second, with --email-catchup; 0 posts as fast as the server acknowledges, from
    /// --concurrency clients.
    #[arg(long, default_value_t = 240)]
    rate: usize,
    /// How long to post, with --email-catchup.
    #[arg(long, default_value_t = 20)]
    seconds: usize,
    /// Conversations the posts spread over, with --email-catchup; tickets, with --automations.
    #[arg(long, default_value_t = 500)]
    conversations: usize,
    /// The email delay, in milliseconds, with --email-catchup.
    #[arg(long, default_value_t = 3000)]
    delay_ms: u64,
    /// Seed the large install (at --scale) into this stopped install's database file instead, and
    /// stop: the next `parley serve` on it builds every inbox and serves a year of history.
    #[arg(long, value_name = "PARLEY_DB")]
    seed_into: Option<std::path::PathBuf>,
    /// Measure file uploads, posts with files and fetches instead (see `attachments_load.rs`).
    #[arg(long)]
    attachments: bool,
    /// Files to upload, with --attachments.
    #[arg(long, default_value_t = 1500)]
    files: usize,
    /// Size of each file in KiB, with --attachments.
    #[arg(long, default_value_t = 100)]
    file_kib: usize,
    /// Measure posting through 1, 2 and 3 nodes on PostgreSQL instead (see `cluster_load.rs`;
    /// needs PARLEY_TEST_STORE=postgres). Uses --messages, --concurrency and --followers.
    #[arg(long)]
    cluster: bool,
    /// Measure what automations cost instead (see `automations_load.rs`): --conversations
    /// tickets, changed by --concurrency clients.
    #[arg(long)]
    automations: bool,
    /// Measure what webhooks cost and how fast their queue drains instead (see
    /// `webhooks_load.rs`): --conversations posts per phase from --concurrency clients.
    #[arg(long)]
    webhooks: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    parley_testkit::leave_statements_unwatched();
    if let Some(db) = &args.seed_into {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
        let seeded = large::seed_file(db, now, args.scale).await?;
        println!(
            "{} conversations, {} messages seeded in {:.1} s",
            seeded.conversations, seeded.messages, seeded.seconds
        );
        return Ok(());
    }
    if args.large {
        return large_main(&args).await;
    }
    if args.cluster {
        println!("machine: {} cores; PostgreSQL on the same machine", num_cpus());
        let load =
            cluster_load::ClusterLoad { clients: args.concurrency, messages: args.messages, followers: args.followers };
        return cluster_load::run(load).await;
    }
    if args.automations {
        println!("machine: {} cores; data dir on the same disk for every figure", num_cpus());
        let probe = tempfile::tempdir()?;
        let ceiling = sqlite_commit_ceiling(probe.path(), 2000, false).await?;
        println!("sqlite single-row commits/s (WAL, synchronous=NORMAL): {ceiling:.0}");
        let changes = automations_load::Changes { count: args.conversations, clients: args.concurrency };
        return automations_load::run(changes).await;
    }
    if args.webhooks {
        println!("machine: {} cores; data dir on the same disk for every figure", num_cpus());
        let probe = tempfile::tempdir()?;
        let ceiling = sqlite_commit_ceiling(probe.path(), 2000, false).await?;
        println!("sqlite single-row commits/s (WAL, synchronous=NORMAL): {ceiling:.0}");
        let hooks = webhooks_load::Hooks { count: args.conversations, clients: args.concurrency };
        return webhooks_load::run(hooks).await;
    }
    if args.attachments {
        println!("machine: {} cores; data dir on the same disk for every figure", num_cpus());
        let files = attachments_load::Files { count: args.files, kib: args.file_kib, clients: args.concurrency };
        return attachments_load::run(files).await;
    }
    if args.email_catchup {
        let c = email_catchup::Catchup {
            rate: args.rate,
            clients: args.concurrency,
            seconds: args.seconds,
            conversations: args.conversations,
            delay: Duration::from_millis(args.delay_ms),
        };
        let probe = tempfile::tempdir()?;
        let ceiling = sqlite_commit_ceiling(probe.path(), 2000, false).await?;
        println!("sqlite single-row commits/s (WAL, synchronous=NORMAL): {ceiling:.0}");
        return email_catchup::run(c).await;
    }
    // Abuse limits would stop the many mails from one sender; they are proven elsewhere.
    let full_sync = args.full_sync;
    let app = spawn_app_with(|c| {
        c.rate_limits = false;
        if full_sync {
            c.sqlite_synchronous = parley::config::Synchronous::Full;
        }
    })
    .await;
    println!("machine: {} cores; data dir on the same disk for every figure", num_cpus());

    let ceiling = sqlite_commit_ceiling(app.data_dir.path(), 2000, full_sync).await?;
    let mode = if full_sync { "FULL" } else { "NORMAL" };
    println!("sqlite single-row commits/s (WAL, synchronous={mode}): {ceiling:.0}");

    let (per_sec, per_call) = audience_rate(args.followers);
    println!("audience computations/s ({} followers): {per_sec:.0} ({per_call:?} each)", args.followers);

    markdown_figures();

    let admin = app.admin().await;
    let project = app.project(&admin, "Load").await;
    let ticket = app.ticket(&admin, project, "Load ticket", &[]).await;
    for i in 0..args.followers {
        let email = format!("follower{i}@load.example");
        let body = json!({"email": email, "name": format!("Follower {i}"), "password": "password-123"});
        let user = app.ok(&admin, "/api/v1/users", body, 201).await;
        let follow = json!({"role": "follower", "party": {"kind": "user", "id": user["id"]}});
        app.ok(&admin, &format!("/api/v1/items/{ticket}/people"), follow, 200).await;
    }
    let conversation = app.conversation(&admin, ticket, "public").await;
    // Email in: the requester answers by email (threading headers name one of Parley's emails),
    // and new customers write to the support address.
    let carla = app.customer(&admin, "carla@client.example").await;
    let requester = json!({"role": "requester", "party": {"kind": "customer", "id": carla.id}});
    app.ok(&admin, &format!("/api/v1/items/{ticket}/people"), requester, 200).await;
    app.say(&admin, conversation, "Please answer by email").await;
    app.advance_ms(parley_testkit::EMAIL_DELAY_MS);
    // One email to each follower and to Carla: rounds send a batch at a time.
    while !app.deliver().await.is_idle() {}
    // The Message-ID of the email Carla got (in the outbox folder): her replies name it.
    let thread = std::fs::read_dir(app.data_dir.path().join("outbox"))?
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .filter(|mail| mail.lines().any(|l| l.starts_with("To:") && l.contains("carla@client.example")))
        .find_map(|mail| mail.lines().find_map(|l| l.strip_prefix("Message-ID:").map(|v| v.trim().to_string())))
        .expect("the email to Carla");
    let reply = move |n: usize| {
        let raw = format!(
            "From: Carla <carla@client.example>\r\nTo: support@acme.test\r\nSubject: Re: Load\r\n\
             Message-ID: <load-r{n}@client.example>\r\nIn-Reply-To: {thread}\r\n\r\nReply {n}\r\n\r\n\
             On Mon, Acme wrote:\r\n> Please answer by email\r\n"
        );
        ("carla@client.example".to_string(), raw)
    };
    let request = |n: usize| {
        let from = format!("sender{n}@load.example");
        let raw = format!(
            "From: Sender {n} <{from}>\r\nTo: support@acme.test\r\nSubject: Request {n}\r\n\
             Message-ID: <load-n{n}@load.example>\r\n\r\nHello, request {n}.\r\n"
        );
        (from, raw)
    };
    let rate = mails_per_second(&app, args.mails, args.concurrency, Arc::new(reply)).await;
    all_logged_as(&app, &admin, args.mails, "posted").await;
    println!("SMTP replies: {} mails, {} clients: {rate:.0} mails/s", args.mails, args.concurrency);
    let rate = mails_per_second(&app, args.mails, args.concurrency, Arc::new(request)).await;
    all_logged_as(&app, &admin, args.mails, "started").await;
    println!("SMTP new requests: {} mails, {} clients: {rate:.0} mails/s", args.mails, args.concurrency);
    let (rate, p50, p99) = post_rate(&app, &admin, conversation, args.messages, args.concurrency).await?;
    println!(
        "HTTP posts: {} messages, {} followers, {} clients: {rate:.0} messages/s, p50 {p50:?}, p99 {p99:?}",
        args.messages, args.followers, args.concurrency
    );

    app.stop().await;
    Ok(())
}

/// The read side and posting on an empty install, then on a large one, in one run.
async fn large_main(args: &Args) -> anyhow::Result<()> {
    println!("machine: {} cores; data dir on the same disk for every figure", num_cpus());
    let empty = spawn_app_with(|c| c.rate_limits = false).await;
    let ceiling = sqlite_commit_ceiling(empty.data_dir.path(), 2000, false).await?;
    println!("sqlite single-row commits/s (WAL, synchronous=NORMAL): {ceiling:.0}");
    let mut empty = Some(empty);
    for label in ["empty install", "large install"] {
        let app = match empty.take() {
            Some(app) => app,
            None => large::large_install(args.scale).await?,
        };
        let admin = app.admin().await;
        if label == "empty install" {
            // Pages as full as the large install's, so the two are compared page for page.
            large::fill_pages(&app, &admin, 40).await;
        }
        let conversation = large::busy_ticket(&app, &admin, args.followers, "l").await;
        large::read_figures(&app, &admin, label, args.read_rounds).await;
        let (rate, p50, p99) = post_rate(&app, &admin, conversation, args.messages, args.concurrency).await?;
        println!(
            "{label}: HTTP posts, {} followers, {} clients: {rate:.0} messages/s ({:.0}% of the ceiling), \
             p50 {p50:?}, p99 {p99:?}",
            args.followers,
            args.concurrency,
            rate / ceiling * 100.0
        );
        large::rebuild_figures(&app, &admin, conversation, label).await?;
        app.stop().await;
    }
    Ok(())
}

/// Posts `messages` to `conversation` as `who` from `concurrency` clients at once; answers
/// messages per second and the p50 and p99 of one post.
async fn post_rate(
    app: &TestApp,
    who: &parley_testkit::Who,
    conversation: i64,
    messages: usize,
    concurrency: usize,
) -> anyhow::Result<(f64, Duration, Duration)> {
    let url = Arc::new(format!("{}/api/v1/conversations/{conversation}/messages", app.base));
    let token = Arc::new(who.token.clone());
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (url, token, client) = (url.clone(), token.clone(), client.clone());
        let count = messages / concurrency + usize::from(worker < messages % concurrency);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            for n in 0..count {
                let t = Instant::now();
                let res = client
                    .post(url.as_str())
                    .bearer_auth(token.as_str())
                    .json(&json!({"body": format!("message {n} from worker {worker}")}))
                    .send()
                    .await
                    .expect("post");
                assert_eq!(res.status(), 201);
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await?);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    Ok((latencies.len() as f64 / elapsed.as_secs_f64(), pct(0.5), pct(0.99)))
}

/// The latest `count` mails (up to 500) of the incoming log all did `status`: none was lost.
async fn all_logged_as(app: &TestApp, admin: &parley_testkit::Who, count: usize, status: &str) {
    let limit = count.min(500);
    let (_, log) = app.get(admin, &format!("/api/v1/incoming-emails?limit={limit}")).await;
    let log = log.as_array().expect("the incoming log");
    assert_eq!(log.len(), limit);
    assert!(log.iter().all(|m| m["status"] == status), "not all {status}: {:?}", log.first());
}

/// Delivers `count` mails made by `make` (sender, raw) to the SMTP listener from `clients` clients
/// at once, each mail over its own connection as an MTA would; answers mails per second.
async fn mails_per_second(
    app: &TestApp,
    count: usize,
    clients: usize,
    make: Arc<dyn Fn(usize) -> (String, String) + Send + Sync>,
) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (make, addr) = (make.clone(), app.smtp_in);
        tasks.push(tokio::spawn(async move {
            for n in (client..count).step_by(clients) {
                let (from, raw) = make(n);
                let answer = smtp_send(addr, &from, &["support@acme.test"], raw.as_bytes()).await.expect("accepted");
                assert!(answer.starts_with("250"), "{answer}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    count as f64 / started.elapsed().as_secs_f64()
}

/// R40: each pathological body's render time (best of 5) next to a plain one of the same length.
fn markdown_figures() {
    let n = 50_000;
    let shapes: Vec<(&str, String)> = vec![
        ("plain paragraph (ceiling)", "word ".repeat(n / 5)),
        ("50,000 nested quotes", ">".repeat(n)),
        ("nested ordered lists", "1. ".repeat(n / 3)),
        ("quotes in lists", "> - ".repeat(n / 4)),
        ("nested emphasis", "**_".repeat(n / 3)),
        ("table of 8,333 columns", format!("{}\n{}\n{}", "|a".repeat(n / 6), "|-".repeat(n / 6), "|b".repeat(n / 6))),
        ("raw HTML", "<div>".repeat(n / 5)),
    ];
    for (name, body) in shapes {
        let mut best = Duration::MAX;
        let mut size = 0;
        for _ in 0..5 {
            let t = Instant::now();
            size = std::hint::black_box(markdown::render(&body)).len();
            best = best.min(t.elapsed());
        }
        println!("markdown {name}: {best:?}, {size} bytes of HTML");
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Single-row INSERT commits, one after another, with the settings Parley uses.
async fn sqlite_commit_ceiling(dir: &std::path::Path, commits: usize, full_sync: bool) -> anyhow::Result<f64> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
    let options = SqliteConnectOptions::new()
        .filename(dir.join("ceiling.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(if full_sync { SqliteSynchronous::Full } else { SqliteSynchronous::Normal });
    let pool = SqlitePoolOptions::new().max_connections(1).test_before_acquire(false).connect_with(options).await?;
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)").execute(&pool).await?;
    let started = Instant::now();
    for i in 0..commits {
        sqlx::query("INSERT INTO t (body) VALUES (?)").bind(format!("row {i}")).execute(&pool).await?;
    }
    Ok(commits as f64 / started.elapsed().as_secs_f64())
}

/// The audience rule alone over an item with `followers` users and customers.
fn audience_rate(followers: usize) -> (f64, Duration) {
    let item_followers: Vec<Party> = (0..followers as i64)
        .map(|i| if i % 4 == 0 { Party::Customer(CustomerId(i)) } else { Party::User(UserId(i)) })
        .collect();
    let profiles = (0..followers as i64)
        .map(|i| UserProfile {
            id: UserId(i),
            active: true,
            preferences: Preferences::default(),
            followed_projects: vec![ProjectId(1)],
        })
        .collect();
    let input = AudienceInput {
        visibility: Visibility::Public,
        project_id: Some(ProjectId(1)),
        author: Author::User(UserId(1)),
        item_followers,
        requesters: vec![CustomerId(1000)],
        conversation_followers: vec![Party::User(UserId(2000))],
        participants: vec![Party::User(UserId(1))],
        taking_part: vec![UserId(1), UserId(3)],
        mentioned: vec![],
        routed: vec![],
        fallback: vec![],
        profiles,
    };
    let rounds = 100_000;
    let started = Instant::now();
    let mut total = 0;
    for _ in 0..rounds {
        total += std::hint::black_box(compute(std::hint::black_box(&input))).recipients.len();
    }
    let elapsed = started.elapsed();
    assert!(total > 0);
    (rounds as f64 / elapsed.as_secs_f64(), elapsed / rounds)
}
