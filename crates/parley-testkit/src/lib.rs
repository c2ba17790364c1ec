//! Test helpers: a whole Parley on a random port with a fresh database, and a small JSON client.
//! The database is a SQLite file in a temporary directory, or, with `PARLEY_TEST_STORE=postgres`,
//! a schema of its own in the PostgreSQL database at `PARLEY_TEST_POSTGRES_URL` (the local server
//! by default), dropped after the test.
//!
//! ```text
//! let app = spawn_app().await;
//! let admin = app.admin().await;
//! let (status, body) = app.post(&admin, "/api/v1/projects", json!({"name": "Web"})).await;
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "browser")]
pub mod browser;
mod mail_client;
mod smtp;
mod socket;
mod statements;
mod webhook_sink;

pub use mail_client::{smtp_dialogue, smtp_send};
pub use smtp::{ReceivedMail, SmtpSink};
pub use socket::{Refused, Socket};
pub use statements::leave_statements_unwatched;
pub use webhook_sink::{Hook, WebhookSink};

use parley::{Config, Launched};
use parley_app::ManualClock;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use tempfile::TempDir;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
/// Passwords for people the tests create.
pub const PASSWORD: &str = "password-123";

/// A running Parley with its own data directory and a clock the test controls.
pub struct TestApp {
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    pub data_dir: TempDir,
    /// The SMTP listener for incoming mail.
    pub smtp_in: std::net::SocketAddr,
    config: Config,
    launched: Option<Launched>,
    /// The PostgreSQL schema the store lives in, when the tests run on PostgreSQL; last, so that
    /// it is dropped after the server.
    pub postgres: Option<parley_store_postgres::scratch::ScratchSchema>,
}

/// The email delay tests run with; time moves only when a test advances the clock.
pub const EMAIL_DELAY_MS: i64 = 300;

/// Starts Parley on port 0 with a fresh database; email goes to the outbox folder.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts Parley sending email to a test SMTP server.
pub async fn spawn_app_with_smtp() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start().await;
    let url = sink.url();
    let app = spawn_app_with(move |c| c.smtp_url = Some(url)).await;
    (app, sink)
}

/// Starts Parley with the test defaults changed by `adjust`. The email worker's own loop is slowed
/// to once an hour, so tests run delivery rounds themselves with [`TestApp::deliver`].
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    statements::watch();
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::with_data_dir(data_dir.path().to_path_buf());
    let postgres = match test_store() {
        TestStore::Sqlite => None,
        TestStore::Postgres => {
            let base = parley_store_postgres::scratch::test_database_url();
            let schema = parley_store_postgres::scratch::ScratchSchema::create(&base)
                .await
                .expect("PostgreSQL is reachable at PARLEY_TEST_POSTGRES_URL");
            config.database_url = Some(schema.url());
            Some(schema)
        }
    };
    config.admin_email = Some(ADMIN_EMAIL.into());
    config.admin_password = Some(ADMIN_PASSWORD.into());
    config.email_delay = std::time::Duration::from_millis(EMAIL_DELAY_MS as u64);
    config.delivery_poll = std::time::Duration::from_secs(3600);
    // Most tests look at customers receiving at once; the send-guard tests turn it on.
    config.send_guard = Some(std::time::Duration::ZERO);
    config.smtp_from = "Acme Support <support@acme.test>".into();
    // Webhook receivers in tests listen on loopback.
    config.allow_private_webhooks = true;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    config.base_url = format!("http://{}", listener.local_addr().expect("addr"));
    adjust(&mut config);
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let launched = parley::launch_with_listener(&config, listener, clock.clone()).await.expect("launch");
    TestApp {
        base: format!("http://{}", launched.addr),
        clock,
        client: reqwest::Client::new(),
        data_dir,
        smtp_in: launched.smtp_addr.expect("the SMTP listener runs in tests"),
        config,
        launched: Some(launched),
        postgres,
    }
}

/// The database the tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStore {
    Sqlite,
    Postgres,
}

/// `PARLEY_TEST_STORE`: `sqlite` (the default) or `postgres`. Anything else stops the test: a
/// misspelt name must not quietly run the tests on the other backend.
pub fn test_store() -> TestStore {
    match std::env::var("PARLEY_TEST_STORE").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => TestStore::Sqlite,
        Ok("postgres") => TestStore::Postgres,
        Ok(other) => panic!("PARLEY_TEST_STORE={other}: use sqlite or postgres"),
    }
}

/// The small support desk the delivery and email tests start from: an admin, Mia (a member)
/// assigned to a ticket Carla (a customer) asked for, and its public conversation.
pub struct Desk {
    pub admin: Who,
    pub mia: Who,
    pub carla: Who,
    pub ticket: i64,
    pub public: i64,
}

impl Desk {
    pub const CARLA: &'static str = "carla@client.example";
    pub const MIA: &'static str = "mia@acme.test";
}

/// A logged-in person: their token and id.
#[derive(Debug, Clone)]
pub struct Who {
    pub token: String,
    pub id: i64,
}

impl TestApp {
    /// Opens a realtime connection as `who` and waits for its `hello`.
    pub async fn socket(&self, who: &Who) -> Socket {
        self.socket_after(who, None).await
    }

    /// Opens a realtime connection replaying what came after `last_event_id`.
    pub async fn socket_after(&self, who: &Who, last_event_id: Option<&str>) -> Socket {
        let mut socket = Socket::connect(&self.base, &who.token, last_event_id).await.expect("socket");
        let hello = socket.next(std::time::Duration::from_secs(5)).await.expect("hello");
        assert_eq!(hello["type"], "hello", "{hello}");
        socket
    }

    /// When `party` (`("customer", id)` or `("user", id)`) saw message `message` of
    /// `conversation`, by its delivery record (R13), read as `staff`; `None`: not seen.
    pub async fn seen_at(&self, staff: &Who, conversation: i64, message: i64, party: (&str, i64)) -> Option<i64> {
        let path = format!("/api/v1/conversations/{conversation}/deliveries?limit=200");
        let (_, deliveries) = self.get(staff, &path).await;
        let delivery = deliveries.as_array()?.iter().find(|d| d["message_id"] == message)?;
        let records = delivery["records"].as_array()?;
        let record = records.iter().find(|r| r["party"]["kind"] == party.0 && r["party"]["id"] == party.1)?;
        record["seen_at"].as_i64()
    }

    /// Waits up to five seconds for `party` to have seen the message (see [`TestApp::seen_at`]).
    pub async fn until_seen(&self, staff: &Who, conversation: i64, message: i64, party: (&str, i64)) -> i64 {
        for _ in 0..250 {
            if let Some(at) = self.seen_at(staff, conversation, message, party).await {
                return at;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("message {message} never seen by {party:?}");
    }

    /// Moves the test clock forward.
    pub fn advance_ms(&self, ms: i64) {
        self.clock.advance_ms(ms);
    }

    /// The running application's services, for steps a start runs (installing templates…).
    pub fn services(&self) -> &parley_app::App {
        &self.launched.as_ref().expect("running").app
    }

    /// Sets up a [`Desk`].
    pub async fn desk(&self) -> Desk {
        let admin = self.admin().await;
        let mia = self.user(&admin, Desk::MIA).await;
        let carla = self.customer(&admin, Desk::CARLA).await;
        let project = self.project(&admin, "Support").await;
        let ticket = self.ticket(&admin, project, "Printer on fire", &[carla.id]).await;
        self.assign_quietly(&admin, ticket, mia.id).await;
        let public = self.conversation(&admin, ticket, "public").await;
        Desk { admin, mia, carla, ticket, public }
    }

    /// Assigns `user` to `item` without the assignment email (R31), which is turned off for the
    /// while: a fixture's setup sends no email, so a test counts only the emails it causes.
    pub async fn assign_quietly(&self, admin: &Who, item: i64, user: i64) {
        let switch = |on: bool| self.patch(admin, "/api/v1/system-emails/assignment_change", json!({"enabled": on}));
        assert_eq!(switch(false).await.0, 200);
        let body = json!({"role": "assignee", "party": {"kind": "user", "id": user}});
        self.ok(admin, &format!("/api/v1/items/{item}/people"), body, 200).await;
        assert_eq!(switch(true).await.0, 200);
    }

    /// Where `/metrics` is served, when the test started Parley with `metrics_listen`.
    pub fn metrics_url(&self) -> Option<String> {
        self.launched.as_ref()?.metrics_addr.map(|a| format!("http://{a}/metrics"))
    }

    /// Runs one round of the email worker at the test clock's time.
    pub async fn deliver(&self) -> parley_app::DeliveryRound {
        self.launched.as_ref().expect("running").app.deliver_due().await.expect("delivery round")
    }

    /// Sends the webhook deliveries due now (the worker also sends them as soon as they are
    /// queued; a delivery is claimed by one of the two). Answers how many this call tried.
    pub async fn send_webhooks(&self) -> usize {
        self.launched.as_ref().expect("running").app.send_due_webhooks(100).await.expect("webhook round")
    }

    /// Stops the server and starts it again on the same data directory (on a new port), as an
    /// upgrade or a restart would.
    pub async fn restart(&mut self) {
        if let Some(l) = self.launched.take() {
            l.stop().await.expect("stop");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        self.config.base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let launched =
            parley::launch_with_listener(&self.config, listener, self.clock.clone()).await.expect("relaunch");
        self.base = format!("http://{}", launched.addr);
        self.smtp_in = launched.smtp_addr.expect("the SMTP listener runs in tests");
        self.launched = Some(launched);
    }

    /// Starts another node of the same install: its own server on its own port, on the same
    /// PostgreSQL schema, data directory and clock. Only the first node drops the schema.
    pub async fn join_node(&self) -> TestApp {
        assert!(
            self.postgres.is_some(),
            "several nodes share one PostgreSQL database: run with PARLEY_TEST_STORE=postgres"
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut config = self.config.clone();
        config.listen = listener.local_addr().expect("addr").to_string();
        config.base_url = format!("http://{}", config.listen);
        config.smtp_listen = "127.0.0.1:0".into();
        let launched =
            parley::launch_with_listener(&config, listener, self.clock.clone()).await.expect("launch a node");
        TestApp {
            base: format!("http://{}", launched.addr),
            clock: self.clock.clone(),
            client: reqwest::Client::new(),
            data_dir: tempfile::tempdir().expect("temp dir"),
            smtp_in: launched.smtp_addr.expect("the SMTP listener runs in tests"),
            config,
            launched: Some(launched),
            postgres: None,
        }
    }

    /// Takes the server down (as a crash or a deploy would), keeping its data; [`TestApp::come_back`]
    /// starts it again on the same address, so open pages reconnect by themselves.
    pub async fn go_down(&mut self) {
        if let Some(l) = self.launched.take() {
            l.stop().await.expect("stop");
        }
    }

    pub async fn come_back(&mut self) {
        let addr = self.base.trim_start_matches("http://").to_string();
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind the same address again");
        let launched =
            parley::launch_with_listener(&self.config, listener, self.clock.clone()).await.expect("relaunch");
        self.smtp_in = launched.smtp_addr.expect("the SMTP listener runs in tests");
        self.launched = Some(launched);
    }

    /// Comes back as [`TestApp::come_back`] does, on the database at `url` (after the test moved
    /// the data there), with the same data directory and clock.
    pub async fn come_back_on(&mut self, url: String) {
        self.config.database_url = Some(url);
        self.come_back().await;
    }

    /// The database the server runs on: its file, or its URL.
    pub fn database(&self) -> String {
        match &self.config.database_url {
            Some(url) => url.clone(),
            None => self.data_dir.path().join("parley.db").display().to_string(),
        }
    }

    /// Another handle on the server's store, for a test that checks what is stored.
    pub async fn store(&self) -> Arc<dyn parley_store::Store> {
        parley::open_store(&self.config).await.expect("open the store")
    }

    pub async fn stop(mut self) {
        if let Some(l) = self.launched.take() {
            l.stop().await.expect("stop");
        }
        statements::watch();
    }

    /// Sends a request; answers the status and the JSON body (`Null` when empty).
    pub async fn call(&self, method: Method, who: Option<&Who>, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(w) = who {
            req = req.bearer_auth(&w.token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, value)
    }

    pub async fn get(&self, who: &Who, path: &str) -> (u16, Value) {
        self.call(Method::GET, Some(who), path, None).await
    }

    pub async fn post(&self, who: &Who, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, Some(who), path, Some(body)).await
    }

    pub async fn patch(&self, who: &Who, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PATCH, Some(who), path, Some(body)).await
    }

    pub async fn delete(&self, who: &Who, path: &str) -> (u16, Value) {
        self.call(Method::DELETE, Some(who), path, None).await
    }

    /// Posts and insists on `expected`; answers the body.
    pub async fn ok(&self, who: &Who, path: &str, body: Value, expected: u16) -> Value {
        let (status, value) = self.post(who, path, body).await;
        assert_eq!(status, expected, "POST {path}: {value}");
        value
    }

    /// Logs a user in (another session for the same person, say).
    pub async fn login(&self, email: &str, password: &str) -> Who {
        self.login_at("/api/v1/auth/login", email, password).await
    }

    /// A new anonymous live-chat visitor, logged in.
    pub async fn visitor(&self) -> Who {
        let (status, session) = self.call(Method::POST, None, "/api/v1/widget/visitors", Some(json!({}))).await;
        assert_eq!(status, 200, "{session}");
        let id = session["customer"]["id"].as_i64().expect("id");
        Who { token: session["token"].as_str().expect("token").to_string(), id }
    }

    /// Logs in at `path` (the user or the customer login) and insists it works.
    pub async fn login_at(&self, path: &str, email: &str, password: &str) -> Who {
        let (status, body) =
            self.call(Method::POST, None, path, Some(json!({"email": email, "password": password}))).await;
        assert_eq!(status, 200, "login {email}: {body}");
        let id = body.get("user").or_else(|| body.get("customer")).and_then(|p| p["id"].as_i64()).expect("id");
        Who { token: body["token"].as_str().expect("token").to_string(), id }
    }

    pub async fn admin(&self) -> Who {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Creates a member user and logs them in.
    pub async fn user(&self, admin: &Who, email: &str) -> Who {
        let name = email.split('@').next().unwrap_or("user");
        self.ok(admin, "/api/v1/users", json!({"email": email, "name": name, "password": PASSWORD}), 201).await;
        self.login_at("/api/v1/auth/login", email, PASSWORD).await
    }

    /// Creates a customer with a portal password and logs them in.
    pub async fn customer(&self, staff: &Who, email: &str) -> Who {
        let name = email.split('@').next().unwrap_or("customer");
        self.ok(staff, "/api/v1/customers", json!({"email": email, "name": name, "password": PASSWORD}), 201).await;
        self.login_at("/api/v1/auth/customer-login", email, PASSWORD).await
    }

    pub async fn project(&self, who: &Who, name: &str) -> i64 {
        self.ok(who, "/api/v1/projects", json!({"name": name}), 201).await["id"].as_i64().expect("id")
    }

    pub async fn ticket(&self, who: &Who, project: i64, title: &str, requesters: &[i64]) -> i64 {
        let body = json!({"project_id": project, "kind": "ticket", "title": title, "requester_ids": requesters});
        self.ok(who, "/api/v1/items", body, 201).await["id"].as_i64().expect("id")
    }

    /// A conversation on an item with an explicit visibility.
    pub async fn conversation(&self, who: &Who, item: i64, visibility: &str) -> i64 {
        let body = json!({"subject": format!("{visibility} talk"), "item_id": item, "visibility": visibility});
        self.ok(who, "/api/v1/conversations", body, 201).await["id"].as_i64().expect("id")
    }

    /// Uploads a file into a conversation; answers the status and the JSON answer.
    pub async fn upload(
        &self,
        who: &Who,
        conversation: i64,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> (u16, Value) {
        let res = self
            .client
            .post(format!("{}/api/v1/conversations/{conversation}/attachments", self.base))
            .query(&[("name", name)])
            .bearer_auth(&who.token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("upload");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Fetches raw bytes (an attachment); answers the status, the headers and the body.
    pub async fn fetch(&self, who: Option<&Who>, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(w) = who {
            req = req.bearer_auth(&w.token);
        }
        let res = req.send().await.expect("fetch");
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        (status, headers, res.bytes().await.expect("bytes").to_vec())
    }

    /// Posts a message; answers the whole answer (`message` and `audience`).
    pub async fn say(&self, who: &Who, conversation: i64, body: &str) -> Value {
        self.ok(who, &format!("/api/v1/conversations/{conversation}/messages"), json!({"body": body}), 201).await
    }
}

/// The parties of an audience as `kind:id` strings, sorted.
pub fn parties(audience: &Value) -> Vec<String> {
    let list = audience.get("recipients").unwrap_or(audience);
    let mut out: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter().map(|r| format!("{}:{}", r["party"]["kind"].as_str().unwrap_or("?"), r["party"]["id"])).collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
