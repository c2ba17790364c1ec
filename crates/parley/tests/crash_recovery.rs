//! R14 across a crash: the real `parley` binary is killed with SIGKILL between posting a message
//! and its email falling due; after a restart on the same data directory the email arrives, once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use parley_testkit::SmtpSink;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "admin@acme.test";
const PASSWORD: &str = "admin-password-1";
const DELAY_MS: u64 = 1_500;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(data: &Path, port: u16, smtp: &SmtpSink) -> Child {
    Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--smtp-listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .args(["--email-delay", &format!("{DELAY_MS}ms"), "--delivery-poll", "50ms"])
        .args(["--smtp-url", &smtp.url(), "--smtp-from", "Acme <support@acme.test>"])
        .env("PARLEY_ADMIN_EMAIL", ADMIN)
        .env("PARLEY_ADMIN_PASSWORD", PASSWORD)
        .env("PARLEY_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start parley")
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client.get(format!("{base}/api/openapi.json")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("parley did not start");
}

async fn post(client: &reqwest::Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    let res = client.post(format!("{base}{path}")).bearer_auth(token).json(&body).send().await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap()
}

#[tokio::test]
async fn r14_email_survives_sigkill_between_post_and_due_time_and_is_sent_once() {
    let smtp = SmtpSink::start().await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let mut first = start(data.path(), port, &smtp);
    wait_ready(&client, &base).await;
    let posted_at = reply_to_carla(&client, &base).await;
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    assert!(
        posted_at.elapsed() < Duration::from_millis(DELAY_MS),
        "the kill must land before the email is due; this run was too slow to prove anything"
    );
    assert!(smtp.mails().is_empty(), "nothing was sent before the crash");

    let mut second = start(data.path(), port, &smtp);
    wait_ready(&client, &base).await;
    let mails = smtp.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(mails.len(), 1, "the email arrives after the restart");
    // Give the worker many more rounds: still exactly one.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let mails = smtp.mails();
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(mails.len(), 1, "exactly once");
    assert_eq!(mails[0].to, vec!["carla@client.example".to_string()]);
    assert!(mails[0].text().contains("A technician comes tomorrow"));
}

/// Puts the one sent email back as it would be had the server died during its SMTP conversation:
/// queued, its try begun and never ended. Answers its id.
async fn cut_off_while_sending(data: &Path) -> i64 {
    let url = format!("sqlite://{}", data.join("parley.db").display());
    let db = sqlx::SqlitePool::connect(&url).await.unwrap();
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM outgoing_emails WHERE to_address = 'carla@client.example'")
        .fetch_one(&db)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE outgoing_emails SET status = 'queued', sent_at = NULL, claimed_until = NULL,
           next_attempt_at = 0, attempt_started_at = 1 WHERE id = ?",
    )
    .bind(id)
    .execute(&db)
    .await
    .unwrap();
    db.close().await;
    id
}

#[tokio::test]
async fn r14_a_crash_during_sending_leaves_no_copy_when_the_journal_knows_and_one_folded_copy_when_not() {
    let smtp = SmtpSink::start().await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = start(data.path(), port, &smtp);
    wait_ready(&client, &base).await;
    reply_to_carla(&client, &base).await;
    assert_eq!(smtp.wait_for(1, Duration::from_secs(15)).await.len(), 1);

    // The SMTP server had accepted it and the journal says so: recorded as sent, not sent again.
    server.kill().unwrap();
    server.wait().unwrap();
    let id = cut_off_while_sending(data.path()).await;
    std::fs::write(data.path().join("sent.journal"), format!("{id}\n")).unwrap();
    server = start(data.path(), port, &smtp);
    wait_ready(&client, &base).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(smtp.mails().len(), 1, "the journal named it: no second copy");

    // Cut off before the acceptance reached the journal: it goes again, once, with the same
    // Message-ID, which mail clients fold into the first.
    server.kill().unwrap();
    server.wait().unwrap();
    cut_off_while_sending(data.path()).await;
    server = start(data.path(), port, &smtp);
    wait_ready(&client, &base).await;
    let mails = smtp.wait_for(2, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(smtp.mails().len(), 2, "sent again exactly once");
    assert_eq!(mails[0].header("Message-ID"), mails[1].header("Message-ID"));
}

/// Logs in, adds Carla with a ticket and its public conversation, and posts a reply to her.
/// Answers when the reply was sent.
async fn reply_to_carla(client: &reqwest::Client, base: &str) -> Instant {
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": ADMIN, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();
    let carla =
        post(client, base, &token, "/api/v1/customers", json!({"email": "carla@client.example", "name": "Carla"}))
            .await;
    let project = post(client, base, &token, "/api/v1/projects", json!({"name": "Support"})).await;
    let body =
        json!({"project_id": project["id"], "kind": "ticket", "title": "Printer", "requester_ids": [carla["id"]]});
    let ticket = post(client, base, &token, "/api/v1/items", body).await;
    let body = json!({"subject": "Printer", "item_id": ticket["id"], "visibility": "public"});
    let conversation = post(client, base, &token, "/api/v1/conversations", body).await;
    let path = format!("/api/v1/conversations/{}/messages", conversation["id"]);
    let posted_at = Instant::now();
    post(client, base, &token, &path, json!({"body": "A technician comes tomorrow"})).await;
    posted_at
}

/// R14 after a kill: what the killed run had claimed is taken back when the next run starts,
/// not when the claim's lease (60 s by default) runs out. And no second process runs on the same
/// data: it would share the work.
#[tokio::test]
async fn r14_a_restart_takes_back_what_the_killed_run_had_claimed_at_once() {
    let smtp = SmtpSink::start().await;
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut first = start(data.path(), port, &smtp);
    wait_ready(&client, &base).await;

    let twin = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["serve", "--listen", "127.0.0.1:0", "--smtp-listen", "off", "--data-dir"])
        .arg(data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run a twin");
    assert!(!twin.status.success(), "a second process on the same data directory must not start");
    let said = String::from_utf8_lossy(&twin.stderr);
    assert!(said.contains("another Parley process"), "{said}");

    let posted = reply_to_carla(&client, &base).await;
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    // As the killed run left it had it died in the middle of a round: the job claimed for a
    // minute, its email not yet queued.
    let url = format!("sqlite://{}", data.path().join("parley.db").display());
    let db = sqlx::SqlitePool::connect(&url).await.unwrap();
    let far = i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis())
        .unwrap()
        + 60_000;
    let claimed = sqlx::query("UPDATE message_recipients SET claimed_until = ? WHERE email_state = 'pending'")
        .bind(far)
        .execute(&db)
        .await
        .unwrap()
        .rows_affected();
    db.close().await;
    assert!(claimed >= 1, "Carla's email job is pending");

    let mut second = start(data.path(), port, &smtp);
    wait_ready(&client, &base).await;
    let mails = smtp.wait_for(1, Duration::from_secs(30)).await;
    let waited = posted.elapsed();
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(mails.len(), 1, "the claimed email went out");
    // Due after the send guard (10 s) and the email delay; the claim's lease would hold it a
    // minute.
    assert!(waited < Duration::from_millis(10_000 + DELAY_MS + 5_000), "not after the lease: {waited:?}");
}
