//! What a running server counts, for Prometheus (`--metrics-listen`): requests, post and view
//! latency, sockets, pushed and dropped events, emails by outcome, and the email queues. Counting
//! is a few atomic operations; the queues are read from the store only when scraped.

use crate::{App, AppResult};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The matched route, never the ids in the path.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EmailLabels {
    /// `sent`, `retried`, `failed` or `suppressed`.
    pub outcome: String,
    /// Why it was suppressed (`seen`, `preference`, …); empty otherwise.
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DoorLabels {
    /// The door's name (`parley_domain::door::Door`).
    pub door: String,
    /// Why, in a word: `withdrawn`, `made_internal`, `internal_off`, `deactivated`, `out_of_reach`…
    pub why: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    /// `jobs` (messages waiting for their email) or `outgoing` (emails waiting to be sent).
    pub queue: String,
}

type Seconds = Gauge<f64, AtomicU64>;

/// From 0.5 ms to about 16 s.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    post_seconds: Histogram,
    view_seconds: Histogram,
    sockets: Gauge,
    events_pushed: Family<KindLabels, Counter>,
    events_dropped: Family<KindLabels, Counter>,
    emails: Family<EmailLabels, Counter>,
    webhooks: Family<KindLabels, Counter>,
    door_refusals: Family<DoorLabels, Counter>,
    queue_depth: Family<QueueLabels, Gauge>,
    queue_overdue: Family<QueueLabels, Seconds>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("parley");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by method, matched route and status", requests.clone());
        let request_seconds = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency);
        registry.register("http_request_duration_seconds", "HTTP request duration by route", request_seconds.clone());
        let post_seconds = latency();
        registry.register("post_duration_seconds", "Posting a message, every channel", post_seconds.clone());
        let view_seconds = latency();
        registry.register("view_duration_seconds", "Reading a page of a view", view_seconds.clone());
        let sockets = Gauge::default();
        registry.register("sockets_connected", "Realtime connections open now", sockets.clone());
        let events_pushed = Family::<KindLabels, Counter>::default();
        registry.register("events_pushed", "Realtime events pushed, by type", events_pushed.clone());
        let events_dropped = Family::<KindLabels, Counter>::default();
        registry.register(
            "events_dropped",
            "Realtime events not delivered: `lagged` (a connection too far behind was cut off) or `refused` (the event table said no)",
            events_dropped.clone(),
        );
        let emails = Family::<EmailLabels, Counter>::default();
        registry.register("emails", "Emails by outcome, and suppressed ones by reason", emails.clone());
        let webhooks = Family::<KindLabels, Counter>::default();
        registry.register("webhook_tries", "Webhook delivery tries by outcome", webhooks.clone());
        let door_refusals = Family::<DoorLabels, Counter>::default();
        registry.register(
            "door_refusals",
            "What a door refused when it acted (R44): a way out or in, and why",
            door_refusals.clone(),
        );
        let queue_depth = Family::<QueueLabels, Gauge>::default();
        registry.register("email_queue_depth", "Email work waiting, due or not", queue_depth.clone());
        let queue_overdue = Family::<QueueLabels, Seconds>::default();
        registry.register(
            "email_queue_overdue_seconds",
            "How long the oldest due email work has waited past its due time",
            queue_overdue.clone(),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            post_seconds,
            view_seconds,
            sockets,
            events_pushed,
            events_dropped,
            emails,
            webhooks,
            door_refusals,
            queue_depth,
            queue_overdue,
        }
    }

    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = RequestLabels { method: method.to_string(), route: route.to_string(), status };
        self.requests.get_or_create(&labels).inc();
        self.request_seconds.get_or_create(&RouteLabels { route: route.to_string() }).observe(took.as_secs_f64());
    }

    pub(crate) fn posted(&self, took: Duration) {
        self.post_seconds.observe(took.as_secs_f64());
    }

    pub(crate) fn viewed(&self, took: Duration) {
        self.view_seconds.observe(took.as_secs_f64());
    }

    /// A realtime connection opened; it counts until the returned guard is dropped.
    pub fn socket_opened(&self) -> SocketGuard {
        self.sockets.inc();
        SocketGuard(self.sockets.clone())
    }

    /// Realtime connections open now.
    pub fn sockets_open(&self) -> i64 {
        self.sockets.get()
    }

    pub(crate) fn pushed(&self, kind: &str) {
        self.events_pushed.get_or_create(&KindLabels { kind: kind.to_string() }).inc();
    }

    pub fn dropped(&self, why: &str, events: u64) {
        self.events_dropped.get_or_create(&KindLabels { kind: why.to_string() }).inc_by(events);
    }

    /// R44: `door` refused, for `why`.
    pub(crate) fn refused_at(&self, door: parley_domain::door::Door, why: &str) {
        let labels = DoorLabels { door: door.as_str().to_string(), why: why.to_string() };
        self.door_refusals.get_or_create(&labels).inc();
    }

    /// A webhook try: `delivered`, `retried` or `failed`.
    pub(crate) fn webhooks(&self, outcome: &str) {
        self.webhooks.get_or_create(&KindLabels { kind: outcome.to_string() }).inc();
    }

    pub(crate) fn emails(&self, outcome: &str, reason: &str, n: u64) {
        if n > 0 {
            let labels = EmailLabels { outcome: outcome.to_string(), reason: reason.to_string() };
            self.emails.get_or_create(&labels).inc_by(n);
        }
    }
}

/// Keeps a connection counted in `parley_sockets_connected`.
pub struct SocketGuard(Gauge);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl App {
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Every metric in the OpenMetrics text format, with the email queues read now.
    pub async fn metrics_text(&self) -> AppResult<String> {
        let now = self.now();
        let queues = self.store.email_queues().await?;
        for (queue, depth, oldest_due) in
            [("jobs", queues.jobs, queues.oldest_due_job), ("outgoing", queues.outgoing, queues.oldest_due_outgoing)]
        {
            let labels = QueueLabels { queue: queue.to_string() };
            self.metrics.queue_depth.get_or_create(&labels).set(depth);
            let overdue = oldest_due.map_or(0.0, |due| (now - due).max(0) as f64 / 1000.0);
            self.metrics.queue_overdue.get_or_create(&labels).set(overdue);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.metrics.registry)
            .map_err(|_| crate::AppError::Internal)?;
        Ok(text)
    }
}
