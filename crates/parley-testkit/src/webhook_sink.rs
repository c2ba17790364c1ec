//! A webhook receiver for tests: a real HTTP server on a random port that keeps every request it
//! gets and answers with the statuses a test scripts (200 once the script runs out). It checks
//! signatures on its own, with HMAC-SHA256 as the Standard Webhooks headers describe, so a test
//! does not trust the code it tests.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hook {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`, in seconds.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    pub body: String,
    /// The status it was answered.
    pub answered: u16,
}

impl Hook {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a webhook body is JSON")
    }

    /// The event type (`message_created`…).
    pub fn event(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_string()
    }

    /// Whether the signature is HMAC-SHA256 with `secret` (`whsec_<base64>`) over
    /// `{id}.{timestamp}.{body}`.
    pub fn signed_with(&self, secret: &str) -> bool {
        let engine = base64::engine::general_purpose::STANDARD;
        let Some(key) = secret.strip_prefix("whsec_").and_then(|k| engine.decode(k).ok()) else { return false };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else { return false };
        mac.update(format!("{}.{}.{}", self.id, self.timestamp, self.body).as_bytes());
        let expected = format!("v1,{}", engine.encode(mac.finalize().into_bytes()));
        self.signature.split(' ').any(|s| s == expected)
    }
}

#[derive(Default)]
struct Shared {
    got: Mutex<Vec<Hook>>,
    script: Mutex<VecDeque<u16>>,
}

/// The receiver; it stops when dropped.
pub struct WebhookSink {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookSink {
    pub async fn start() -> WebhookSink {
        let shared = Arc::new(Shared::default());
        let app = axum::Router::new().route("/hook", post(receive)).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookSink { addr, shared, task }
    }

    /// Where to point a webhook.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The next requests are answered with these statuses, in order.
    pub fn answer(&self, statuses: &[u16]) {
        self.shared.script.lock().expect("lock").extend(statuses);
    }

    /// Every request so far.
    pub fn hooks(&self) -> Vec<Hook> {
        self.shared.got.lock().expect("lock").clone()
    }

    /// How many requests came so far.
    pub fn count(&self) -> usize {
        self.shared.got.lock().expect("lock").len()
    }

    /// Waits until `n` requests came (or `within` passed), and answers them all.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Hook> {
        let started = Instant::now();
        while self.count() < n && started.elapsed() < within {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.hooks()
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let answered = shared.script.lock().expect("lock").pop_front().unwrap_or(200);
    let hook = Hook {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
        answered,
    };
    shared.got.lock().expect("lock").push(hook);
    StatusCode::from_u16(answered).unwrap_or(StatusCode::OK)
}
