//! The large install: a year of a support desk seeded straight into the database, then Parley
//! restarted on it (which builds every inbox, as an upgrade would), and the read side and posting
//! measured there next to an empty install in the same run.
//!
//! At `--scale 1`: 200 agents (20 see all projects; 180 see the 2 of 20 projects they belong to),
//! 50,000 customers, 50,000 tickets each with its public conversation, 25,000 internal
//! conversations on tickets, 25,000 live chats — 100,000 conversations of 10 messages each.

use parley_domain::preferences::Scope;
use parley_testkit::{spawn_app_with, TestApp, Who};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use std::path::Path;
use std::time::{Duration, Instant};

/// Conversations start five minutes apart: 100,000 of them span a year.
const STEP_MS: i64 = 300_000;

/// What was seeded.
pub struct Seeded {
    pub conversations: i64,
    pub messages: i64,
    pub seconds: f64,
}

/// Seeds the install of `app` (which must have only its first admin) at `scale`.
pub async fn seed(app: &TestApp, scale: f64) -> anyhow::Result<Seeded> {
    let now = parley_app::Clock::now_ms(app.clock.as_ref());
    seed_file(&app.data_dir.path().join("parley.db"), now, scale).await
}

/// Seeds the database at `db` (an install with only its first admin, not running) at `scale`, its
/// last conversation a day before `now` (ms).
pub async fn seed_file(db: &Path, now: i64, scale: f64) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let tickets = ((50_000.0 * scale) as i64).max(2) / 2 * 2;
    let customers = ((50_000.0 * scale) as i64).max(1);
    let conversations = tickets * 2;
    let t0 = now - conversations * STEP_MS - 86_400_000;
    let options = SqliteConnectOptions::new()
        .filename(db)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    for (what, template) in seed_statements() {
        let t = Instant::now();
        let sql = template
            .replace("{t0}", &t0.to_string())
            .replace("{tickets}", &tickets.to_string())
            .replace("{customers}", &customers.to_string())
            .replace("{all}", Scope::AllProjects.as_str())
            .replace("{followed}", Scope::FollowedProjects.as_str());
        sqlx::query(&sql).execute(&mut *tx).await.map_err(|e| anyhow::anyhow!("seeding {what}: {e}"))?;
        eprintln!("  seeded {what} in {:.1?}", t.elapsed());
    }
    sqlx::query("UPDATE inbox_built SET built = FALSE").execute(&mut *tx).await?;
    tx.commit().await?;
    let messages = count(&mut conn, "SELECT COUNT(*) FROM messages").await?;
    drop(conn);
    pool.close().await;
    Ok(Seeded { conversations, messages, seconds: started.elapsed().as_secs_f64() })
}

async fn count(conn: &mut SqliteConnection, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(conn).await?)
}

/// The seed, in order, as templates: `{t0}` is the first conversation's time, `{tickets}` and
/// `{customers}` the counts, `{all}`/`{followed}` the two scopes. New ids follow the largest
/// present.
fn seed_statements() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "agents",
            "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 200),
                  a AS (SELECT * FROM users ORDER BY id LIMIT 1)
             INSERT INTO users (email, name, handle, role, password_hash, created_at, scope, show_from_customers,
                 customer_messages, replies_to_customers, followed_internal, sound, email_assignment_changes,
                 email_new_members, auto_accept_invitations)
             SELECT 'agent' || k || '@large.example', 'Agent ' || k, 'agent' || k, 'member', a.password_hash, {t0},
                    CASE WHEN k <= 20 THEN '{all}' ELSE '{followed}' END, 1, a.customer_messages, a.replies_to_customers,
                    a.followed_internal, a.sound, a.email_assignment_changes, a.email_new_members,
                    a.auto_accept_invitations
             FROM n, a",
        ),
        (
            "projects",
            "WITH RECURSIVE n(p) AS (SELECT 1 UNION ALL SELECT p + 1 FROM n WHERE p < 20)
             INSERT INTO projects (name, created_at) SELECT 'Project ' || p, {t0} FROM n",
        ),
        (
            "project members",
            "WITH ag AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS k FROM users WHERE email LIKE '%@large.example'),
                  pr AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS p FROM projects WHERE name LIKE 'Project %')
             INSERT INTO project_people (project_id, role, party_kind, party_id)
             SELECT pr.id, 'member', 'user', ag.id FROM ag JOIN pr ON pr.p IN (ag.k % 20, (ag.k + 7) % 20)
             WHERE ag.k > 20",
        ),
        (
            "customers",
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {customers})
             INSERT INTO customers (email, name, created_at)
             SELECT 'c' || i || '@client' || (i % 997) || '.example', 'Customer ' || i, {t0} FROM n",
        ),
        (
            "conversation plan",
            "CREATE TEMP TABLE seed AS
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {tickets}),
                  cu AS (SELECT MIN(id) AS first FROM customers WHERE email LIKE 'c%@client%.example'),
                  ag AS (SELECT MIN(id) AS first FROM users WHERE email LIKE '%@large.example'),
                  pr AS (SELECT MIN(id) AS first FROM projects WHERE name LIKE 'Project %'),
                  plan AS (
                    SELECT i AS seq, 'ticket' AS kind, i AS ticket, 'public' AS visibility,
                           cu.first + (i - 1) % {customers} AS customer, ag.first + 20 + i % 180 AS agent, NULL AS other,
                           pr.first + i % 20 AS project FROM n, cu, ag, pr
                    UNION ALL
                    SELECT {tickets} + i, 'internal', 2 * i, 'internal', NULL, ag.first + 20 + (2 * i) % 180,
                           ag.first + 20 + (2 * i + 1) % 180, pr.first + (2 * i) % 20 FROM n, ag, pr WHERE i <= {tickets} / 2
                    UNION ALL
                    SELECT {tickets} + {tickets} / 2 + i, 'chat', NULL, 'public', cu.first + (i * 7) % {customers}, ag.first + i % 20, NULL, NULL
                    FROM n, cu, ag WHERE i <= {tickets} / 2)
             SELECT plan.*, {t0} + seq * 300000 AS created_at,
                    (SELECT COALESCE(MAX(id), 0) FROM conversations) + seq AS conversation_id,
                    CASE WHEN ticket IS NULL THEN NULL ELSE (SELECT COALESCE(MAX(id), 0) FROM items) + ticket END
                      AS item_id,
                    CASE WHEN seq % 20 < 14 THEN 'closed' WHEN seq % 20 < 19 THEN 'open' ELSE 'locked' END AS state
             FROM plan",
        ),
        (
            "tickets",
            "INSERT INTO items (id, project_id, kind, title, status, created_by_kind, created_by_id, created_at)
             SELECT item_id, project, 'ticket', 'Ticket ' || ticket,
                    CASE state WHEN 'open' THEN 'open' ELSE 'closed' END, 'customer', customer, created_at
             FROM seed WHERE kind = 'ticket'",
        ),
        (
            "ticket people",
            "INSERT INTO item_people (item_id, role, party_kind, party_id)
             SELECT s.item_id, r.role, r.kind, CASE r.kind WHEN 'customer' THEN s.customer ELSE s.agent END
             FROM seed s CROSS JOIN (SELECT 'requester' AS role, 'customer' AS kind UNION ALL SELECT 'follower', 'customer'
                         UNION ALL SELECT 'assignee', 'user' UNION ALL SELECT 'follower', 'user') r
             WHERE s.kind = 'ticket'",
        ),
        (
            "conversations",
            "INSERT INTO conversations (id, subject, visibility, state, item_id, project_id, created_by_kind,
                 created_by_id, created_at, last_activity_at, message_count, last_author_kind)
             SELECT s.conversation_id,
                    CASE s.kind WHEN 'chat' THEN 'Chat ' || s.seq ELSE 'Ticket ' || s.ticket END, s.visibility, s.state,
                    s.item_id, s.project, CASE WHEN s.customer IS NULL THEN 'user' ELSE 'customer' END,
                    COALESCE(s.customer, s.agent), s.created_at, s.created_at + 600000, 10, 'user'
             FROM seed s",
        ),
        (
            "participants",
            "INSERT INTO conversation_people (conversation_id, role, party_kind, party_id)
             SELECT conversation_id, 'participant', 'customer', customer FROM seed WHERE customer IS NOT NULL
             UNION ALL SELECT conversation_id, 'participant', 'user', agent FROM seed
             UNION ALL SELECT conversation_id, 'participant', 'user', other FROM seed WHERE other IS NOT NULL",
        ),
        (
            "messages",
            "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 10)
             INSERT INTO messages (conversation_id, number, author_kind, author_id, visibility, body, body_html,
                 channel, created_at)
             SELECT s.conversation_id, k,
                    CASE WHEN k % 2 = 1 AND s.customer IS NOT NULL THEN 'customer' ELSE 'user' END,
                    CASE WHEN k % 2 = 1 THEN COALESCE(s.customer, s.agent) ELSE COALESCE(s.other, s.agent) END,
                    s.visibility, 'Message ' || k || ' of the conversation, long enough to look like a real reply.',
                    '<p>Message ' || k || ' of the conversation, long enough to look like a real reply.</p>',
                    'app', s.created_at + k * 60000
             FROM seed s, n
             ORDER BY s.conversation_id, k",
        ),
        (
            "audiences",
            "INSERT INTO message_recipients (message_id, conversation_id, party_kind, party_id, reasons, notify,
                 pushed_at, seen_at, email_state, email_reason, email_at)
             SELECT m.id, m.conversation_id,
                    CASE WHEN m.author_kind = 'user' AND s.customer IS NOT NULL THEN 'customer' ELSE 'user' END,
                    CASE WHEN m.author_kind = 'user' THEN COALESCE(s.customer, CASE WHEN m.author_id = s.agent
                         THEN s.other ELSE s.agent END) ELSE s.agent END,
                    'participant', 1, m.created_at, m.created_at + 1000, 'suppressed', 'seen', m.created_at + 1000
             FROM messages m JOIN seed s ON s.conversation_id = m.conversation_id",
        ),
        (
            "read positions",
            "INSERT INTO conversation_reads (conversation_id, party_kind, party_id, last_seen_number)
             SELECT conversation_id, 'customer', customer, 10 FROM seed WHERE customer IS NOT NULL
             UNION ALL SELECT conversation_id, 'user', agent, CASE state WHEN 'open' THEN 9 ELSE 10 END FROM seed",
        ),
        ("plan dropped", "DROP TABLE seed"),
    ]
}

/// p50 and p99 of `rounds` sequential GETs of `path` as `who`.
pub async fn latency(app: &TestApp, who: &Who, path: &str, rounds: usize) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        let (status, _) = app.get(who, path).await;
        assert_eq!(status, 200, "{path}");
        times.push(t.elapsed());
    }
    times.sort();
    (times[rounds / 2], times[(rounds * 99 / 100).min(rounds - 1)])
}

/// The read side's figures for `who` (scope "all projects"): the sidebar, the first page of
/// "Open conversations" and the page after it.
pub async fn read_figures(app: &TestApp, who: &Who, label: &str, rounds: usize) {
    let (_, views) = app.get(who, "/api/v1/views").await;
    let open = views.as_array().and_then(|v| v.iter().find(|v| v["view"] == "open_with_customers")).cloned();
    let total = open.map_or(0, |v| v["total"].as_i64().unwrap_or(0));
    let (p50, p99) = latency(app, who, "/api/v1/views", rounds).await;
    println!("{label}: GET /views p50 {p50:?}, p99 {p99:?} ({total} open conversations)");
    let first = "/api/v1/views/open_with_customers?limit=25";
    let (p50, p99) = latency(app, who, first, rounds).await;
    println!("{label}: first page of 25 p50 {p50:?}, p99 {p99:?}");
    let (_, page) = app.get(who, first).await;
    if let Some(next) = page["next"].as_str() {
        let path = format!("{first}&before={next}");
        let (p50, p99) = latency(app, who, &path, rounds).await;
        println!("{label}: second page p50 {p50:?}, p99 {p99:?}");
    }
    let (p50, p99) = latency(app, who, "/api/v1/views/internal_inbox?limit=25", rounds).await;
    println!("{label}: internal inbox page p50 {p50:?}, p99 {p99:?}");
    // The filters: nothing of the large install is assigned to the admin (the worst case: every
    // candidate read and refused), and what nobody is assigned to is its live chats.
    for filter in ["assigned_to_me", "unassigned"] {
        let path = format!("{first}&filter={filter}");
        let (_, page) = app.get(who, &path).await;
        let shown = page["conversations"].as_array().map_or(0, Vec::len);
        let (p50, p99) = latency(app, who, &path, rounds / 3).await;
        println!("{label}: first page, {filter} ({shown} rows) p50 {p50:?}, p99 {p99:?}");
    }
    // A word in every message of the large install, and one in a single ticket's title.
    for (what, q) in [("a word in every message", "conversation%20long"), ("a rare word", "ticket%2049999")] {
        let (p50, p99) = latency(app, who, &format!("/api/v1/search?q={q}"), rounds / 3).await;
        println!("{label}: search for {what} p50 {p50:?}, p99 {p99:?}");
    }
}

/// A large install, seeded and restarted; prints how long each took.
pub async fn large_install(scale: f64) -> anyhow::Result<TestApp> {
    let mut app = spawn_app_with(|c| c.rate_limits = false).await;
    let seeded = seed(&app, scale).await?;
    println!(
        "large install: {} conversations, {} messages seeded in {:.1} s",
        seeded.conversations, seeded.messages, seeded.seconds
    );
    let t = Instant::now();
    app.restart().await;
    println!("large install: every inbox built at start-up in {:.1} s", t.elapsed().as_secs_f64());
    Ok(app)
}

/// Makes `who` (an agent) follow a new ticket with `followers` other followers, and answers its
/// public conversation: the posting figure's target.
pub async fn busy_ticket(app: &TestApp, admin: &Who, followers: usize, tag: &str) -> i64 {
    let project = app.project(admin, &format!("Load {tag}")).await;
    let ticket = app.ticket(admin, project, "Load ticket", &[]).await;
    for i in 0..followers {
        let email = format!("follower{i}.{tag}@load.example");
        let body = json!({"email": email, "name": format!("Follower {i}"), "password": "password-123"});
        let user = app.ok(admin, "/api/v1/users", body, 201).await;
        let follow = json!({"role": "follower", "party": {"kind": "user", "id": user["id"]}});
        app.ok(admin, &format!("/api/v1/items/{ticket}/people"), follow, 200).await;
    }
    app.conversation(admin, ticket, "public").await
}

/// Opens `count` tickets with a public conversation each, so that the empty install's pages are
/// as full as the large one's and the two are compared page for page.
pub async fn fill_pages(app: &TestApp, admin: &Who, count: usize) {
    let project = app.project(admin, "Page filler").await;
    for i in 0..count {
        let ticket = app.ticket(admin, project, &format!("Filler {i}"), &[]).await;
        let conversation = app.conversation(admin, ticket, "public").await;
        app.say(admin, conversation, "A first answer.").await;
    }
}

/// What a change of someone's inbox as a whole costs: a new agent (scope "all projects", so every
/// conversation), then their scope narrowed and widened again; and the longest a post into
/// `conversation` waited meanwhile, posted one after another by a client of its own.
pub async fn rebuild_figures(app: &TestApp, admin: &Who, conversation: i64, label: &str) -> anyhow::Result<()> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poster = {
        let (url, token, stop) =
            (format!("{}/api/v1/conversations/{conversation}/messages", app.base), admin.token.clone(), stop.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut longest = Duration::ZERO;
            let mut posts = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let sent = client.post(&url).bearer_auth(&token).json(&json!({"body": "While an inbox is rebuilt"}));
                let status = sent.send().await?.status().as_u16();
                anyhow::ensure!(status == 201, "a post during a rebuild answered {status}");
                longest = longest.max(t.elapsed());
                posts += 1;
            }
            Ok((posts, longest))
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let email = format!("rebuilt.{}@load.example", label.replace(' ', "-"));
    let body = json!({"email": email, "name": "Rebuilt Agent", "password": "password-123"});
    let t = Instant::now();
    let user = app.ok(admin, "/api/v1/users", body, 201).await;
    let created = t.elapsed();
    let path = format!("/api/v1/users/{}/preferences", user["id"]);
    let mut changed = Vec::new();
    for scope in [Scope::FollowedProjects, Scope::AllProjects] {
        let t = Instant::now();
        let (status, answer) = app.patch(admin, &path, json!({"scope": scope.as_str()})).await;
        assert_eq!(status, 200, "{answer}");
        changed.push(t.elapsed());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (posts, longest) = poster.await??;
    println!(
        "{label}: new agent with scope all {created:?}; scope narrowed {:?}, widened {:?}; \
         longest of {posts} posts meanwhile {longest:?}",
        changed[0], changed[1]
    );
    Ok(())
}
