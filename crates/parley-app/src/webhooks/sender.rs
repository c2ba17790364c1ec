//! §10: sending queued deliveries. Each is POSTed signed (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`), a 2xx answer settles it, anything else is tried again later with
//! backoff until the tries run out; every try is logged. The endpoint's host is resolved here and
//! each of its addresses checked, so a name that points inside the server's network is refused at
//! send time too (unless the server allows it), and redirects are never followed.

use crate::{App, AppError, AppResult};
use futures_util::StreamExt;
use parley_domain::webhook::{self, is_public, Webhook, MAX_TRIES};
use parley_domain::*;
use parley_store::webhooks::{DueWebhookDelivery, TryOutcome, WebhookAttempt};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an endpoint has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How many deliveries are sent at once by one worker.
const AT_ONCE: usize = 16;
/// How long a claim on a delivery holds: longer than a try can take.
const LEASE_MS: i64 = 60_000;
/// The longest error kept in the log of a try.
const MAX_ERROR_CHARS: usize = 300;

/// The HTTP client of webhooks.
pub(crate) struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

/// Resolves hosts, keeping only public addresses unless private ones are allowed.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found.into_iter().filter(|a| allow_private || is_public(a.ip())).collect();
            if kept.is_empty() {
                return Err(format!("{host} has no address outside the server's own network").into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

impl Sender {
    pub fn new(allow_private: bool) -> AppResult<Self> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Parley-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(PublicOnly { allow_private }))
            .build()
            .map_err(|e| {
                tracing::error!(error = %e, "the webhook HTTP client could not be built");
                AppError::Internal
            })?;
        Ok(Sender { client, allow_private })
    }

    /// One try: POSTs `payload` to `webhook`, signed. Answers the try as logged, and whether the
    /// endpoint took it.
    async fn try_once(&self, webhook: &Webhook, delivery: &DueWebhookDelivery, now_ms: i64) -> (WebhookAttempt, bool) {
        let started = Instant::now();
        let result = self.post(webhook, delivery, now_ms).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let attempt = |status: Option<i64>, error: Option<String>| WebhookAttempt {
            attempted_at: now_ms,
            status,
            error: error.map(|e| e.chars().take(MAX_ERROR_CHARS).collect()),
            duration_ms,
        };
        match result {
            Ok(status) if (200..300).contains(&status) => (attempt(Some(status), None), true),
            Ok(status) => (attempt(Some(status), Some(format!("the endpoint answered {status}"))), false),
            Err(error) => (attempt(None, Some(error)), false),
        }
    }

    async fn post(&self, webhook: &Webhook, delivery: &DueWebhookDelivery, now_ms: i64) -> Result<i64, String> {
        let url = reqwest::Url::parse(&webhook.spec.url).map_err(|e| format!("the URL does not parse: {e}"))?;
        // A literal address is never resolved, so it is checked here.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if literal.is_some_and(|ip| !self.allow_private && !is_public(ip)) {
            return Err("the address is inside the server's own network".into());
        }
        let key = webhook::secret_key(&webhook.secret).ok_or("the webhook's secret is unreadable")?;
        let timestamp = now_ms.div_euclid(1000);
        let signature = webhook::signature(&key, &delivery.event_id, timestamp, &delivery.payload);
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        Ok(i64::from(response.status().as_u16()))
    }
}

/// An error with its causes, as one line: reqwest's own message alone says little.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut words = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        words.push_str(": ");
        words.push_str(&cause.to_string());
        source = cause.source();
    }
    words
}

impl App {
    /// §10: sends the deliveries due now, up to `limit`, and settles each: delivered, tried
    /// again later, or given up after the last try. Answers how many were tried.
    pub async fn send_due_webhooks(&self, limit: i64) -> AppResult<usize> {
        let now = self.now();
        let due = self.store.claim_webhook_deliveries(now, now + LEASE_MS, limit).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let sender = self.webhook_sender().await?;
        let webhooks: HashMap<WebhookId, Webhook> =
            self.store.webhooks().await?.into_iter().map(|w| (w.id, w)).collect();
        // A webhook deleted since took its deliveries with it: nothing is left to settle.
        let due: Vec<(DueWebhookDelivery, Webhook)> =
            due.into_iter().filter_map(|d| webhooks.get(&d.webhook_id).cloned().map(|w| (d, w))).collect();
        let due = self.still_to_send(due, now).await?;
        let tried = due.len();
        let mut tries = futures_util::stream::iter(due)
            .map(|(delivery, webhook)| async move {
                let (attempt, took) = sender.try_once(&webhook, &delivery, now).await;
                (delivery, attempt, took)
            })
            .buffer_unordered(AT_ONCE);
        while let Some((delivery, attempt, took)) = tries.next().await {
            let failed = u32::try_from(delivery.tries + 1).unwrap_or(u32::MAX);
            let outcome = if took {
                TryOutcome::Delivered
            } else {
                match webhook::retry_after(failed).filter(|_| failed < MAX_TRIES) {
                    Some(wait) => TryOutcome::RetryAt(self.now() + wait),
                    None => TryOutcome::GaveUp,
                }
            };
            if !took {
                tracing::warn!(
                    delivery = delivery.id.0,
                    webhook = delivery.webhook_id.0,
                    tries = failed,
                    error = attempt.error.as_deref().unwrap_or_default(),
                    ?outcome,
                    "webhook delivery failed"
                );
            }
            self.metrics.webhooks(match outcome {
                TryOutcome::Delivered => "delivered",
                TryOutcome::RetryAt(_) => "retried",
                TryOutcome::GaveUp => "failed",
            });
            match self.store.record_webhook_try(delivery.id, &attempt, outcome).await {
                Ok(()) | Err(parley_store::StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(tried)
    }

    /// R44 at the door: each claimed delivery is decided again with the state of its webhook and
    /// of the message it announces now. Those cancelled or postponed are settled so; the rest
    /// are answered.
    async fn still_to_send(
        &self,
        due: Vec<(DueWebhookDelivery, Webhook)>,
        now: i64,
    ) -> AppResult<Vec<(DueWebhookDelivery, Webhook)>> {
        // The state of each message announced, read once however many webhooks announce it, the
        // reads under way together (a message not found is gone).
        let ids: std::collections::BTreeSet<MessageId> = due.iter().filter_map(|(d, _)| d.message_id).collect();
        let states =
            crate::access::read_each(ids, |id| async move { Ok(self.store.message_facts(id).await?.2) }).await?;
        let mut sending = Vec::with_capacity(due.len());
        for (delivery, hook) in due {
            let (message, message_gone) = match delivery.message_id.map(|id| states.get(&id).copied()) {
                None => (None, false),
                Some(Some(facts)) => (Some(facts), false),
                Some(None) => (None, true),
            };
            let subject = webhook::DeliverySubject { internal: delivery.internal, message, message_gone };
            let settled = match webhook::before_try(&hook, subject, now) {
                webhook::BeforeTry::Send => {
                    sending.push((delivery, hook));
                    continue;
                }
                webhook::BeforeTry::WaitUntil(at) => self.store.postpone_webhook_delivery(delivery.id, at).await,
                webhook::BeforeTry::Cancel(reason) => {
                    tracing::info!(delivery = delivery.id.0, webhook = hook.id.0, reason, "webhook delivery cancelled");
                    self.metrics.refused_at(parley_domain::door::Door::Webhook, reason);
                    self.store.cancel_webhook_delivery(delivery.id, reason, now).await
                }
            };
            match settled {
                Ok(()) | Err(parley_store::StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(sending)
    }

    /// The webhook client, built on first use.
    async fn webhook_sender(&self) -> AppResult<&Sender> {
        self.webhook_sender.get_or_try_init(|| async { Sender::new(self.config.allow_private_webhooks) }).await
    }

    /// Forgets deliveries settled more than `keep_ms` ago.
    pub async fn prune_webhook_deliveries(&self, keep_ms: i64) -> AppResult<u64> {
        Ok(self.store.prune_webhook_deliveries(self.now() - keep_ms).await?)
    }
}
