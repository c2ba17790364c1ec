//! §10: webhooks, and the durable queue of what they are sent. A delivery is stored before anyone
//! is told it will go out, claimed with a lease so that two nodes never both send it, and each
//! try is logged with what the endpoint answered.

use crate::error::StoreResult;
use async_trait::async_trait;
use parley_domain::webhook::{DeliveryState, Webhook, WebhookEvent, WebhookSpec};
use parley_domain::*;
use serde::Serialize;

/// An event to queue for one webhook.
#[derive(Debug, Clone)]
pub struct NewWebhookDelivery {
    pub webhook_id: WebhookId,
    /// The `webhook-id` header: the same on every try, so a receiver can drop repeats.
    pub event_id: String,
    pub event: WebhookEvent,
    /// The JSON body.
    pub payload: String,
    pub created_at: i64,
    /// When its first try is due: a reply held by the send guard is announced when released.
    pub due_at: i64,
    /// The message it announces, checked again before each try (R44).
    pub message_id: Option<MessageId>,
    /// About something internal: sent only while the webhook hears internal events.
    pub internal: bool,
}

/// A delivery claimed for sending, with where it goes and how it is signed.
#[derive(Debug, Clone)]
pub struct DueWebhookDelivery {
    pub id: WebhookDeliveryId,
    pub webhook_id: WebhookId,
    pub event_id: String,
    pub payload: String,
    /// Tries made before this one.
    pub tries: i64,
    pub message_id: Option<MessageId>,
    pub internal: bool,
}

/// A delivery as admins read it, with its tries, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WebhookDelivery {
    pub id: WebhookDeliveryId,
    pub webhook_id: WebhookId,
    pub event_id: String,
    pub event: WebhookEvent,
    /// The JSON body sent.
    pub payload: String,
    pub state: DeliveryState,
    pub tries: i64,
    /// When the next try is due (pending deliveries).
    pub next_attempt_at: i64,
    pub created_at: i64,
    /// When it was delivered, given up or cancelled.
    pub settled_at: Option<i64>,
    /// The message it announces, if any.
    pub message_id: Option<MessageId>,
    /// About something internal.
    pub internal: bool,
    /// Why it was cancelled before it went out (R44).
    pub cancel_reason: Option<String>,
    pub attempts: Vec<WebhookAttempt>,
}

/// One try of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WebhookAttempt {
    pub attempted_at: i64,
    /// The HTTP status the endpoint answered; `None` when it did not answer.
    pub status: Option<i64>,
    /// Why the try failed, in words.
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// What a try comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryOutcome {
    Delivered,
    /// Failed; tried again at this time.
    RetryAt(i64),
    /// Failed for the last time.
    GaveUp,
}

#[async_trait]
pub trait WebhookStore {
    /// Every webhook, by when it was made.
    async fn webhooks(&self) -> StoreResult<Vec<Webhook>>;
    async fn webhook(&self, id: WebhookId) -> StoreResult<Webhook>;
    async fn insert_webhook(&self, spec: &WebhookSpec, enabled: bool, secret: &str, at: i64) -> StoreResult<Webhook>;
    async fn set_webhook_secret(&self, id: WebhookId, secret: &str, at: i64) -> StoreResult<Webhook>;
    /// Changes a webhook. In the same write (R44): a new URL cancels everything still queued for
    /// it, and turning "internal" off cancels its queued internal deliveries.
    async fn update_webhook(&self, id: WebhookId, spec: &WebhookSpec, enabled: bool, at: i64) -> StoreResult<Webhook>;
    /// Deletes a webhook and its deliveries; `Conflict("webhook_in_use")` while an automation
    /// calls it.
    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()>;

    /// Queues deliveries, all in one write.
    async fn queue_webhook_deliveries(&self, deliveries: &[NewWebhookDelivery]) -> StoreResult<()>;
    /// Claims pending deliveries of webhooks that are on, due by `now` (unclaimed, or whose
    /// lease ran out), until `lease_until`; by id.
    async fn claim_webhook_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<DueWebhookDelivery>>;
    /// Cancels a pending delivery before its try (R44), with why; `NotFound` when it is gone.
    async fn cancel_webhook_delivery(&self, id: WebhookDeliveryId, reason: &str, at: i64) -> StoreResult<()>;
    /// Cancels every pending delivery announcing `message` (R44: it was taken back or made
    /// internal); answers how many.
    async fn cancel_message_webhook_deliveries(&self, message: MessageId, reason: &str, at: i64) -> StoreResult<u64>;
    /// Makes a claimed delivery due again at `at` without counting a try.
    async fn postpone_webhook_delivery(&self, id: WebhookDeliveryId, at: i64) -> StoreResult<()>;
    /// Logs a try of a claimed delivery and settles it as `outcome` says, in one write;
    /// `NotFound` (nothing written) when the delivery was deleted meanwhile.
    async fn record_webhook_try(
        &self,
        id: WebhookDeliveryId,
        attempt: &WebhookAttempt,
        outcome: TryOutcome,
    ) -> StoreResult<()>;
    /// A webhook's deliveries, newest first, before `before` when given, with their tries.
    async fn webhook_deliveries(
        &self,
        webhook: WebhookId,
        before: Option<WebhookDeliveryId>,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDelivery>>;
    /// Makes a delivery of `webhook` due again at `now` (an admin's "send again"), whatever
    /// became of it; `NotFound` when it is not that webhook's.
    async fn resend_webhook_delivery(&self, webhook: WebhookId, id: WebhookDeliveryId, now: i64) -> StoreResult<()>;
    /// Forgets deliveries settled before `before`; answers how many.
    async fn prune_webhook_deliveries(&self, before: i64) -> StoreResult<u64>;
}
