//! §10: webhooks and their delivery queue, claimed with a lease so that two nodes never both
//! send a delivery.

use crate::errors::other;
use crate::rows::{webhook, webhook_attempt, webhook_delivery};
use crate::B;
use parley_domain::webhook::{DeliveryState, Webhook, WebhookSpec};
use parley_domain::*;
use parley_store::decode::list_text;
use parley_store::webhooks::WebhookDelivery;
use parley_store::webhooks::{DueWebhookDelivery, NewWebhookDelivery, TryOutcome, WebhookAttempt};
use parley_store::{StoreError, StoreResult};
use parley_store_sql::{Backend, Engine};

#[async_trait::async_trait]
impl parley_store::WebhookStore for crate::SqlStore {
    async fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let rows = sqlx::query(&format!("SELECT {} FROM webhooks ORDER BY id", sql::COLUMNS))
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        rows.iter().map(webhook).collect()
    }

    async fn webhook(&self, id: WebhookId) -> StoreResult<Webhook> {
        let row = sqlx::query(&format!("SELECT {} FROM webhooks WHERE id = $1", sql::COLUMNS))
            .bind(id.0)
            .fetch_one(&self.writer)
            .await
            .map_err(other)?;
        webhook(&row)
    }

    async fn insert_webhook(&self, spec: &WebhookSpec, enabled: bool, secret: &str, at: i64) -> StoreResult<Webhook> {
        let id: i64 = sqlx::query_scalar(sql::INSERT)
            .bind(&spec.name)
            .bind(&spec.url)
            .bind(list_text(&spec.events, |e| e.as_str()))
            .bind(spec.internal)
            .bind(enabled)
            .bind(secret)
            .bind(at)
            .fetch_one(&self.writer)
            .await
            .map_err(other)?;
        self.webhook(WebhookId(id)).await
    }

    async fn update_webhook(&self, id: WebhookId, spec: &WebhookSpec, enabled: bool, at: i64) -> StoreResult<Webhook> {
        let mut tx = self.writer.begin().await.map_err(other)?;
        sqlx::query(sql::CANCEL_ON_CHANGE)
            .bind(id.0)
            .bind(&spec.url)
            .bind(spec.internal)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        let done = sqlx::query(sql::UPDATE)
            .bind(&spec.name)
            .bind(&spec.url)
            .bind(list_text(&spec.events, |e| e.as_str()))
            .bind(spec.internal)
            .bind(enabled)
            .bind(at)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await.map_err(other)?;
        self.webhook(id).await
    }

    async fn set_webhook_secret(&self, id: WebhookId, secret: &str, at: i64) -> StoreResult<Webhook> {
        let done =
            sqlx::query(sql::SET_SECRET).bind(secret).bind(at).bind(id.0).execute(&self.writer).await.map_err(other)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.webhook(id).await
    }

    async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()> {
        let done = sqlx::query(sql::DELETE).bind(id.0).execute(&self.writer).await.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::Conflict("webhook_in_use"),
            _ => other(e),
        })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn queue_webhook_deliveries(&self, deliveries: &[NewWebhookDelivery]) -> StoreResult<()> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await.map_err(other)?;
        for d in deliveries {
            sqlx::query(sql::QUEUE)
                .bind(d.webhook_id.0)
                .bind(&d.event_id)
                .bind(d.event.as_str())
                .bind(&d.payload)
                .bind(d.created_at)
                .bind(d.due_at)
                .bind(d.message_id.map(|m| m.0))
                .bind(d.internal)
                .execute(&mut *tx)
                .await
                .map_err(other)?;
        }
        tx.commit().await.map_err(other)
    }

    async fn claim_webhook_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> StoreResult<Vec<DueWebhookDelivery>> {
        let rows: Vec<(i64, i64, String, String, i64, Option<i64>, bool)> =
            sqlx::query_as(&sql::CLAIM.replace("{lock}", B::SKIP_LOCKED).replace("{owned}", &self.claim_owned()))
                .bind(lease_until)
                .bind(now)
                .bind(limit)
                .fetch_all(&self.writer)
                .await
                .map_err(other)?;
        let mut rows = rows;
        rows.sort_by_key(|row| row.0);
        Ok(rows
            .into_iter()
            .map(|(id, webhook_id, event_id, payload, tries, message_id, internal)| DueWebhookDelivery {
                id: WebhookDeliveryId(id),
                webhook_id: WebhookId(webhook_id),
                event_id,
                payload,
                tries,
                message_id: message_id.map(MessageId),
                internal,
            })
            .collect())
    }

    async fn record_webhook_try(
        &self,
        id: WebhookDeliveryId,
        attempt: &WebhookAttempt,
        outcome: TryOutcome,
    ) -> StoreResult<()> {
        let at = attempt.attempted_at;
        let (state, next, settled) = match outcome {
            TryOutcome::Delivered => (DeliveryState::Delivered, at, Some(at)),
            TryOutcome::RetryAt(next) => (DeliveryState::Pending, next, None),
            TryOutcome::GaveUp => (DeliveryState::Failed, at, Some(at)),
        };
        let mut tx = self.writer.begin().await.map_err(other)?;
        // Settled first: a delivery deleted with its webhook during the try leaves
        // nothing to log, and the round goes on.
        let settled = sqlx::query(sql::SETTLE)
            .bind(state.as_str())
            .bind(next)
            .bind(settled)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        if settled.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(sql::INSERT_ATTEMPT)
            .bind(id.0)
            .bind(at)
            .bind(attempt.status)
            .bind(&attempt.error)
            .bind(attempt.duration_ms)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        tx.commit().await.map_err(other)
    }

    async fn cancel_webhook_delivery(&self, id: WebhookDeliveryId, reason: &str, at: i64) -> StoreResult<()> {
        let done =
            sqlx::query(sql::CANCEL).bind(id.0).bind(at).bind(reason).execute(&self.writer).await.map_err(other)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn cancel_message_webhook_deliveries(&self, message: MessageId, reason: &str, at: i64) -> StoreResult<u64> {
        let done = sqlx::query(sql::CANCEL_OF_MESSAGE)
            .bind(message.0)
            .bind(at)
            .bind(reason)
            .execute(&self.writer)
            .await
            .map_err(other)?;
        Ok(done.rows_affected())
    }

    async fn postpone_webhook_delivery(&self, id: WebhookDeliveryId, at: i64) -> StoreResult<()> {
        sqlx::query(sql::POSTPONE).bind(id.0).bind(at).execute(&self.writer).await.map_err(other)?;
        Ok(())
    }

    async fn webhook_deliveries(
        &self,
        webhook: WebhookId,
        before: Option<WebhookDeliveryId>,
        limit: i64,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let before = before.map_or(i64::MAX, |d| d.0);
        let rows = sqlx::query(sql::DELIVERIES)
            .bind(webhook.0)
            .bind(before)
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        let mut deliveries = rows.iter().map(webhook_delivery).collect::<StoreResult<Vec<_>>>()?;
        let attempts = sqlx::query(sql::ATTEMPTS)
            .bind(webhook.0)
            .bind(before)
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(other)?;
        for row in &attempts {
            let (delivery, attempt) = webhook_attempt(row)?;
            if let Some(d) = deliveries.iter_mut().find(|d| d.id == delivery) {
                d.attempts.push(attempt);
            }
        }
        Ok(deliveries)
    }

    async fn resend_webhook_delivery(&self, webhook: WebhookId, id: WebhookDeliveryId, now: i64) -> StoreResult<()> {
        let done =
            sqlx::query(sql::RESEND).bind(now).bind(id.0).bind(webhook.0).execute(&self.writer).await.map_err(other)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn prune_webhook_deliveries(&self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query(sql::PRUNE).bind(before).execute(&self.writer).await.map_err(other)?;
        Ok(done.rows_affected())
    }
}

/// The statements of [`WebhookStore`], shared by the backends.
mod sql {
    pub const COLUMNS: &str = "id, name, url, events, internal, enabled, secret, created_at, updated_at";
    pub const INSERT: &str =
        "INSERT INTO webhooks (name, url, events, internal, enabled, secret, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id";
    pub const UPDATE: &str = "UPDATE webhooks SET name = $1, url = $2, events = $3, internal = $4, enabled = $5,
        updated_at = $6 WHERE id = $7";
    pub const SET_SECRET: &str = "UPDATE webhooks SET secret = $1, updated_at = $2 WHERE id = $3";
    pub const DELETE: &str = "DELETE FROM webhooks WHERE id = $1";
    pub const QUEUE: &str = "INSERT INTO webhook_deliveries
        (webhook_id, event_id, event, payload, state, tries, next_attempt_at, created_at, message_id, internal)
        VALUES ($1, $2, $3, $4, 'pending', 0, $6, $5, $7, $8)";
    /// Run before [`UPDATE`] with the new URL and "internal" ($2, $3): what the change stops.
    pub const CANCEL_ON_CHANGE: &str = "UPDATE webhook_deliveries SET state = 'cancelled', leased_until = NULL,
        settled_at = $4, cancel_reason = CASE WHEN w.url <> $2 THEN 'the webhook''s URL changed'
                                              ELSE 'the webhook no longer hears internal events' END
        FROM webhooks w
        WHERE w.id = $1 AND webhook_deliveries.webhook_id = w.id AND webhook_deliveries.state = 'pending'
          AND (w.url <> $2 OR (webhook_deliveries.internal AND w.internal AND NOT $3))";
    pub const CANCEL: &str = "UPDATE webhook_deliveries SET state = 'cancelled', leased_until = NULL,
        settled_at = $2, cancel_reason = $3 WHERE id = $1 AND state = 'pending'";
    pub const CANCEL_OF_MESSAGE: &str = "UPDATE webhook_deliveries SET state = 'cancelled', leased_until = NULL,
        settled_at = $2, cancel_reason = $3 WHERE message_id = $1 AND state = 'pending'";
    pub const POSTPONE: &str =
        "UPDATE webhook_deliveries SET next_attempt_at = $2, leased_until = NULL WHERE id = $1 AND state = 'pending'";
    /// `{lock}` is `Backend::SKIP_LOCKED`; `{owned}` is where a backend whose nodes name their
    /// claims sets the owner (`SqlStore::claim_owned`).
    pub const CLAIM: &str = "UPDATE webhook_deliveries SET leased_until = $1{owned}
        WHERE id IN (SELECT id FROM webhook_deliveries
                     WHERE state = 'pending' AND next_attempt_at <= $2 AND (leased_until IS NULL OR leased_until < $2)
                       AND webhook_id IN (SELECT w.id FROM webhooks w WHERE w.enabled)
                     ORDER BY next_attempt_at, id LIMIT $3{lock})
          AND state = 'pending' AND (leased_until IS NULL OR leased_until < $2)
        RETURNING id, webhook_id, event_id, payload, tries, message_id, internal";
    pub const INSERT_ATTEMPT: &str =
        "INSERT INTO webhook_attempts (delivery_id, attempted_at, status, error, duration_ms)
        VALUES ($1, $2, $3, $4, $5)";
    pub const SETTLE: &str = "UPDATE webhook_deliveries SET tries = tries + 1, state = $1, next_attempt_at = $2,
        leased_until = NULL, settled_at = $3 WHERE id = $4";
    pub const DELIVERIES: &str = "SELECT id, webhook_id, event_id, event, payload, state, tries, next_attempt_at,
        created_at, settled_at, message_id, internal, cancel_reason FROM webhook_deliveries WHERE webhook_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3";
    pub const ATTEMPTS: &str = "SELECT a.delivery_id, a.attempted_at, a.status, a.error, a.duration_ms
        FROM webhook_attempts a
        WHERE a.delivery_id IN (SELECT id FROM webhook_deliveries WHERE webhook_id = $1 AND id < $2
                                ORDER BY id DESC LIMIT $3)
        ORDER BY a.id";
    pub const RESEND: &str =
        "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $1, leased_until = NULL,
        settled_at = NULL, cancel_reason = NULL WHERE id = $2 AND webhook_id = $3";
    pub const PRUNE: &str = "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND settled_at < $1";
}
