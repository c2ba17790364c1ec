//! Three real `parley` processes on one PostgreSQL database (R12, R14, R33), started at once on a
//! new database (they migrate it and create the company once between them). A customer's socket
//! on one node receives what is posted through another; with one node SIGKILLed while emails fall
//! due, every email still arrives exactly once, and well before the dead node's leases end (R44);
//! held replies released by whichever node claims them reach a customer connected elsewhere once
//! each. Needs PostgreSQL:
//! `cargo test -p parley --features postgres-tests --test cluster`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_store_postgres::scratch::{test_database_url, ScratchSchema};
use parley_testkit::{SmtpSink, Socket};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "admin@acme.test";
const PASSWORD: &str = "admin-password-1";
const DELAY_MS: u64 = 1_500;

struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn(url: &str, data: &std::path::Path, smtp: &SmtpSink, guard: &str) -> Node {
    spawn_sending_to(url, data, &smtp.url(), guard)
}

fn spawn_sending_to(url: &str, data: &std::path::Path, smtp_url: &str, guard: &str) -> Node {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--smtp-listen", "off", "--database-url", url])
        .arg("--data-dir")
        .arg(data)
        .args(["--email-delay", &format!("{DELAY_MS}ms"), "--delivery-poll", "50ms", "--delivery-lease", "60s"])
        .args(["--send-guard", guard, "--rate-limits", "false"])
        .args(["--smtp-url", smtp_url, "--smtp-from", "Acme <support@acme.test>"])
        .env("PARLEY_ADMIN_EMAIL", ADMIN)
        .env("PARLEY_ADMIN_PASSWORD", PASSWORD)
        .env("PARLEY_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start parley");
    Node { child, base: format!("http://127.0.0.1:{port}") }
}

async fn wait_ready(node: &mut Node) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client.get(format!("{}/readyz", node.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        assert!(node.child.try_wait().unwrap().is_none(), "a node stopped while starting");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("a node did not start");
}

/// Starts three nodes at once on a new database: they migrate it and create the company once
/// between them.
async fn cluster(url: &str, data: &std::path::Path, smtp: &SmtpSink, guard: &str) -> Vec<Node> {
    let mut nodes: Vec<Node> = (0..3).map(|_| spawn(url, data, smtp, guard)).collect();
    for node in &mut nodes {
        wait_ready(node).await;
    }
    nodes
}

async fn call(base: &str, token: Option<&str>, path: &str, body: Value) -> Value {
    let mut request = reqwest::Client::new().post(format!("{base}{path}")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

async fn login(base: &str, path: &str, email: &str, password: &str) -> String {
    call(base, None, path, json!({"email": email, "password": password})).await["token"].as_str().unwrap().to_owned()
}

/// `n` customers with a password, each with a ticket and its public conversation; answers their
/// addresses and conversation ids.
async fn customers(base: &str, token: &str, n: usize) -> Vec<(String, i64)> {
    let project = call(base, Some(token), "/api/v1/projects", json!({"name": "Support"})).await;
    let mut out = Vec::new();
    for i in 0..n {
        let email = format!("customer{i}@client.example");
        let customer = call(
            base,
            Some(token),
            "/api/v1/customers",
            json!({"email": email, "name": format!("Customer {i}"), "password": "customer-pass-1"}),
        )
        .await;
        let item = json!({"project_id": project["id"], "kind": "ticket", "title": "Printer", "requester_ids": [customer["id"]]});
        let ticket = call(base, Some(token), "/api/v1/items", item).await;
        let conversation = json!({"subject": format!("Printer {i}"), "item_id": ticket["id"], "visibility": "public"});
        let conversation = call(base, Some(token), "/api/v1/conversations", conversation).await;
        out.push((email, conversation["id"].as_i64().unwrap()));
    }
    out
}

#[tokio::test]
async fn r12_r14_three_nodes_push_across_and_email_once_though_one_is_killed_while_emails_fall_due() {
    let schema = ScratchSchema::create(&test_database_url()).await.unwrap();
    let (smtp, data) = (SmtpSink::start().await, tempfile::tempdir().unwrap());
    let mut nodes = cluster(&schema.url(), data.path(), &smtp, "0").await;
    let (a, c) = (nodes[0].base.clone(), nodes[2].base.clone());
    let admin = login(&a, "/api/v1/auth/login", ADMIN, PASSWORD).await;
    let desk = customers(&a, &admin, 12).await;

    // A customer's socket on node C; posts through node A (and B).
    let carla = login(&c, "/api/v1/auth/customer-login", &desk[0].0, "customer-pass-1").await;
    let mut socket = Socket::connect(&c, &carla, None).await.expect("socket on node C");
    for (i, (_, conversation)) in desk.iter().enumerate() {
        let through = &nodes[i % 2].base;
        let path = format!("/api/v1/conversations/{conversation}/messages");
        call(through, Some(&admin), &path, json!({"body": format!("Reply {i}")})).await;
    }
    let pushed = socket.next_of("message", Duration::from_secs(5)).await.expect("pushed across nodes");
    assert_eq!(pushed["message"]["body"], "Reply 0", "{pushed}");

    // Node A dies as the emails fall due; the others take back what it had claimed within
    // seconds (R44: its lock is free), long before its 60 s leases would have run out.
    tokio::time::sleep(Duration::from_millis(DELAY_MS)).await;
    nodes[0].child.kill().unwrap();
    nodes[0].child.wait().unwrap();
    let mails = smtp.wait_for(desk.len(), Duration::from_secs(30)).await;
    assert_eq!(mails.len(), desk.len(), "every customer's email arrives");
    // Many more rounds of the surviving workers: still one each.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut per_address: BTreeMap<String, usize> = BTreeMap::new();
    for mail in smtp.mails() {
        for to in &mail.to {
            *per_address.entry(to.clone()).or_default() += 1;
        }
    }
    let expected: BTreeMap<String, usize> = desk.iter().map(|(email, _)| (email.clone(), 1)).collect();
    assert_eq!(per_address, expected, "each email exactly once");
}

/// Sends `signal` (`STOP`, `CONT`) to a node's process.
fn signal(node: &Node, signal: &str) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(node.child.id().to_string()).status().unwrap();
    assert!(status.success(), "kill -{signal}");
}

/// R44: what a node had claimed when it was SIGKILLed goes out within seconds, from the nodes that
/// live on, not when its 60 s leases run out. Node A sends to an SMTP server that takes the
/// connection and never answers, so it holds every email it claims; B and C are paused until it
/// has claimed them all.
#[tokio::test]
async fn r44_what_a_killed_node_had_claimed_goes_out_at_once_not_when_its_leases_end() {
    let schema = ScratchSchema::create(&test_database_url()).await.unwrap();
    let (smtp, data) = (SmtpSink::start().await, tempfile::tempdir().unwrap());
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("smtp://127.0.0.1:{}", silent.local_addr().unwrap().port());
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().collect();
        drop(held);
    });
    let mut a = spawn_sending_to(&schema.url(), data.path(), &silent_url, "0");
    wait_ready(&mut a).await;
    let mut others = vec![spawn(&schema.url(), data.path(), &smtp, "0"), spawn(&schema.url(), data.path(), &smtp, "0")];
    for node in &mut others {
        wait_ready(node).await;
    }
    let admin = login(&a.base, "/api/v1/auth/login", ADMIN, PASSWORD).await;
    let desk = customers(&a.base, &admin, 6).await;
    for (i, (_, conversation)) in desk.iter().enumerate() {
        let path = format!("/api/v1/conversations/{conversation}/messages");
        call(&a.base, Some(&admin), &path, json!({"body": format!("Reply {i}")})).await;
    }
    for node in &others {
        signal(node, "STOP");
    }
    // A composes every email as it falls due, and begins trying to send them.
    let db = sqlx::PgPool::connect(&schema.url()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (queued, trying): (i64, i64) =
            sqlx::query_as("SELECT count(*), count(attempt_started_at) FROM outgoing_emails WHERE status = 'queued'")
                .fetch_one(&db)
                .await
                .unwrap();
        if queued == desk.len() as i64 && trying > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "node A queued {queued} of {} emails, trying {trying}", desk.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    for node in &others {
        signal(node, "CONT");
    }
    let mails = smtp.wait_for(desk.len(), Duration::from_secs(20)).await;
    assert_eq!(mails.len(), desk.len(), "every email arrives long before A's leases (60 s) end");
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    let mut expected: Vec<String> = desk.iter().map(|(email, _)| email.clone()).collect();
    expected.sort();
    assert_eq!(to, expected, "each once");
}

#[tokio::test]
async fn r33_held_replies_released_by_any_node_reach_a_customer_on_another_once_each() {
    let schema = ScratchSchema::create(&test_database_url()).await.unwrap();
    let (smtp, data) = (SmtpSink::start().await, tempfile::tempdir().unwrap());
    let nodes = cluster(&schema.url(), data.path(), &smtp, "1s").await;
    let admin = login(&nodes[0].base, "/api/v1/auth/login", ADMIN, PASSWORD).await;
    let desk = customers(&nodes[0].base, &admin, 1).await;
    let (email, conversation) = &desk[0];
    let carla = login(&nodes[2].base, "/api/v1/auth/customer-login", email, "customer-pass-1").await;
    let mut socket = Socket::connect(&nodes[2].base, &carla, None).await.expect("socket on node C");
    let replies = 10;
    for i in 0..replies {
        let path = format!("/api/v1/conversations/{conversation}/messages");
        call(&nodes[i % 3].base, Some(&admin), &path, json!({"body": format!("Held {i}")})).await;
    }
    // Every node's worker releases held replies; each reaches her once, whichever released it.
    let mut bodies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && bodies.len() <= replies {
        if let Some(event) = socket.next_of("message", Duration::from_millis(1_500)).await {
            bodies.push(event["message"]["body"].as_str().unwrap().to_owned());
        } else if bodies.len() == replies {
            break;
        }
    }
    bodies.sort();
    let mut expected: Vec<String> = (0..replies).map(|i| format!("Held {i}")).collect();
    expected.sort();
    assert_eq!(bodies, expected, "each released reply once");
}
