//! `parley-load --cluster`: posting through 1, 2 and 3 nodes on one PostgreSQL database, next to
//! the database's own rate of single-row insert commits measured in the same run. Each client
//! posts into a conversation of its own (as a support team does: many conversations at once), the
//! clients spread over the nodes; a follower connected to the last node times each post from its
//! request to its arrival on that socket, so the figure crosses nodes whenever there are several.
//! Needs `PARLEY_TEST_STORE=postgres` (and PostgreSQL at `PARLEY_TEST_POSTGRES_URL`, or the local
//! server).

use parley_testkit::{spawn_app_with, test_store, Socket, TestApp, TestStore};
use serde_json::json;
use sqlx::Connection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct ClusterLoad {
    pub clients: usize,
    pub messages: usize,
    pub followers: usize,
}

pub async fn run(load: ClusterLoad) -> anyhow::Result<()> {
    anyhow::ensure!(
        test_store() == TestStore::Postgres,
        "--cluster runs on PostgreSQL: set PARLEY_TEST_STORE=postgres"
    );
    let ceiling = insert_ceiling(load.clients, 5_000).await?;
    println!("postgresql single-row insert commits/s, {} connections: {ceiling:.0}", load.clients);
    let shaped = post_shaped_ceiling(load.clients, 3_000, load.followers).await?;
    println!(
        "postgresql transactions/s of a post's shape (1 + {} rows inserted, {} upserted), {} connections: {shaped:.0}",
        load.followers,
        load.followers + 1,
        load.clients
    );
    for nodes in 1..=3 {
        let (rate, p50, p99) = posts_through(nodes, &load).await?;
        println!(
            "{nodes} node(s): HTTP posts, {} clients, {} followers: {rate:.0} messages/s ({:.0}% of the ceiling, \
             {:.0}% of a post's shape); post→receive on the last node p50 {p50:?}, p99 {p99:?}",
            load.clients,
            load.followers,
            rate / ceiling * 100.0,
            rate / shaped * 100.0
        );
    }
    Ok(())
}

/// Commits per second of `commits` single-row inserts from `connections` connections at once, in
/// a table of a schema of its own: the most a write can hope for on this server and disk.
async fn insert_ceiling(connections: usize, commits: usize) -> anyhow::Result<f64> {
    let base = parley_store_postgres::scratch::test_database_url();
    let schema = parley_store_postgres::scratch::ScratchSchema::create(&base).await?;
    let url = schema.url();
    let mut setup = sqlx::PgConnection::connect(&url).await?;
    sqlx::query("CREATE TABLE ceiling (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, body TEXT NOT NULL)")
        .execute(&mut setup)
        .await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let url = url.clone();
        let count = commits / connections + usize::from(worker < commits % connections);
        tasks.push(tokio::spawn(async move {
            let mut conn = sqlx::PgConnection::connect(&url).await?;
            for n in 0..count {
                sqlx::query("INSERT INTO ceiling (at, body) VALUES ($1, $2)")
                    .bind(n as i64)
                    .bind("a message of about this length")
                    .execute(&mut conn)
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(commits as f64 / started.elapsed().as_secs_f64())
}

/// Transactions per second, from `connections` connections at once, of raw SQL writing what a post
/// with `followers` recipients writes at the least: its message, one delivery row per recipient
/// (one statement) and one inbox row per person who sees it, author included (one upsert), each
/// client in a conversation of its own as in the run. The database's own rate for the work, with
/// none of Parley's reads and checks (the per-view counters move only when a conversation turns
/// unread, so in this run they are written for the first posts alone).
async fn post_shaped_ceiling(connections: usize, transactions: usize, followers: usize) -> anyhow::Result<f64> {
    let base = parley_store_postgres::scratch::test_database_url();
    let schema = parley_store_postgres::scratch::ScratchSchema::create(&base).await?;
    let url = schema.url();
    let mut setup = sqlx::PgConnection::connect(&url).await?;
    for ddl in [
        "CREATE TABLE m (id BIGSERIAL PRIMARY KEY, conversation BIGINT NOT NULL, at BIGINT NOT NULL, body TEXT NOT NULL)",
        "CREATE TABLE r (message BIGINT NOT NULL, person BIGINT NOT NULL, due BIGINT, PRIMARY KEY (message, person))",
        "CREATE TABLE i (conversation BIGINT NOT NULL, person BIGINT NOT NULL, messages BIGINT NOT NULL,
           unread BIGINT NOT NULL, at BIGINT NOT NULL, PRIMARY KEY (conversation, person))",
        "CREATE INDEX i_person ON i (person, at)",
    ] {
        sqlx::query(ddl).execute(&mut setup).await?;
    }
    let people: Vec<i64> = (0..=followers as i64).collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let (url, people) = (url.clone(), people.clone());
        let count = transactions / connections + usize::from(worker < transactions % connections);
        tasks.push(tokio::spawn(async move {
            let mut conn = sqlx::PgConnection::connect(&url).await?;
            let conversation = worker as i64;
            for n in 0..count as i64 {
                let mut tx = conn.begin().await?;
                let id: i64 =
                    sqlx::query_scalar("INSERT INTO m (conversation, at, body) VALUES ($1, $2, $3) RETURNING id")
                        .bind(conversation)
                        .bind(n)
                        .bind("a message of about this length")
                        .fetch_one(&mut *tx)
                        .await?;
                sqlx::query("INSERT INTO r (message, person, due) SELECT $1, p, $2 FROM unnest($3::bigint[]) AS p")
                    .bind(id)
                    .bind(n + 60_000)
                    .bind(&people[1..])
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO i (conversation, person, messages, unread, at) SELECT $1, p, 1, 1, $2
                     FROM unnest($3::bigint[]) AS p ON CONFLICT (conversation, person) DO UPDATE
                     SET messages = i.messages + 1, unread = i.unread + 1, at = excluded.at",
                )
                .bind(conversation)
                .bind(n)
                .bind(&people)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(transactions as f64 / started.elapsed().as_secs_f64())
}

/// Posts/s and post→receive latency with `nodes` nodes.
async fn posts_through(nodes: usize, load: &ClusterLoad) -> anyhow::Result<(f64, Duration, Duration)> {
    let first = spawn_app_with(|c| c.rate_limits = false).await;
    let mut others = Vec::new();
    for _ in 1..nodes {
        others.push(first.join_node().await);
    }
    let all: Vec<&TestApp> = std::iter::once(&first).chain(others.iter()).collect();
    let admin = first.admin().await;
    let project = first.project(&admin, "Load").await;
    let ticket = first.ticket(&admin, project, "Load ticket", &[]).await;
    let mut watcher = None;
    for i in 0..load.followers {
        let email = format!("follower{i}@load.example");
        let user = first.user(&admin, &email).await;
        let follow = json!({"role": "follower", "party": {"kind": "user", "id": user.id}});
        first.ok(&admin, &format!("/api/v1/items/{ticket}/people"), follow, 200).await;
        watcher.get_or_insert(user);
    }
    let watcher = watcher.ok_or_else(|| anyhow::anyhow!("--followers must be at least 1"))?;
    let mut conversations = Vec::new();
    for _ in 0..load.clients {
        conversations.push(first.conversation(&admin, ticket, "public").await);
    }
    // The follower listens on the last node; each post's body names when it was sent.
    let last = all[all.len() - 1];
    let mut socket = Socket::connect(&last.base, &watcher.token, None)
        .await
        .map_err(|_| anyhow::anyhow!("the watcher's socket was refused"))?;
    let epoch = Instant::now();
    let arrivals: Arc<Mutex<HashMap<String, Duration>>> = Arc::default();
    // The history's posts and the measured ones.
    let expected = 2 * load.messages;
    let listening = {
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            while arrivals.lock().map(|a| a.len()).unwrap_or(expected) < expected {
                let Some(event) = socket.next_of("message", Duration::from_secs(10)).await else { break };
                if let Some(body) = event["message"]["body"].as_str() {
                    if let Ok(mut a) = arrivals.lock() {
                        a.insert(body.to_owned(), epoch.elapsed());
                    }
                }
            }
        })
    };
    let client = reqwest::Client::new();
    let urls: Vec<String> = conversations
        .iter()
        .enumerate()
        .map(|(worker, conversation)| {
            format!("{}/api/v1/conversations/{conversation}/messages", all[worker % all.len()].base)
        })
        .collect();
    // A running install's tables hold history and have statistics (autovacuum analyzes them as
    // they grow); a fresh schema has neither, and plans made on empty tables stay cached in each
    // connection. The run first posts a history, then analyzes, as autovacuum would.
    post_all(&client, &urls, &admin.token, load.messages, "history", epoch).await?;
    analyze(&first.database()).await?;
    let started = Instant::now();
    let sent = post_all(&client, &urls, &admin.token, load.messages, "message", epoch).await?;
    let rate = sent.len() as f64 / started.elapsed().as_secs_f64();
    let _ = tokio::time::timeout(Duration::from_secs(30), listening).await;
    let arrivals = arrivals.lock().map(|a| a.clone()).unwrap_or_default();
    let mut latencies: Vec<Duration> =
        sent.iter().filter_map(|(body, at)| arrivals.get(body).map(|got| got.saturating_sub(*at))).collect();
    anyhow::ensure!(latencies.len() == sent.len(), "{} of {} posts reached the watcher", latencies.len(), sent.len());
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p) as usize];
    let figures = (rate, pct(0.5), pct(0.99));
    for node in others {
        node.stop().await;
    }
    first.stop().await;
    Ok(figures)
}

/// Posts `messages` through `urls` (one client each, at once); answers each body with when it was
/// sent.
async fn post_all(
    client: &reqwest::Client,
    urls: &[String],
    token: &str,
    messages: usize,
    label: &str,
    epoch: Instant,
) -> anyhow::Result<Vec<(String, Duration)>> {
    let mut tasks = Vec::new();
    for (worker, url) in urls.iter().enumerate() {
        let (url, token, client, label) = (url.clone(), token.to_owned(), client.clone(), label.to_owned());
        let count = messages / urls.len() + usize::from(worker < messages % urls.len());
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::with_capacity(count);
            for n in 0..count {
                let body = format!("{label} {n} from worker {worker}");
                let at = epoch.elapsed();
                let res = client.post(&url).bearer_auth(&token).json(&json!({"body": body})).send().await?;
                anyhow::ensure!(res.status() == 201, "a post answered {}", res.status());
                sent.push((body, at));
            }
            anyhow::Ok(sent)
        }));
    }
    let mut sent = Vec::new();
    for task in tasks {
        sent.extend(task.await??);
    }
    Ok(sent)
}

/// Gathers statistics on every table of the nodes' schema.
async fn analyze(url: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query("ANALYZE").execute(&mut conn).await?;
    Ok(())
}
