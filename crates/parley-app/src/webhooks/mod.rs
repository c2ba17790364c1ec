//! §10 webhooks: admins register endpoints (this file); events are queued for the webhooks that
//! hear them ([`events`]); a worker sends them, signed, and tries again with backoff
//! ([`sender`]).

mod events;
mod sender;

pub(crate) use events::Announcement;
pub(crate) use sender::Sender;

use crate::automated_emails::AutomationRef;
use crate::{Actor, App, AppError, AppResult};
use parley_domain::webhook::{self, Webhook, WebhookSpec};
use parley_domain::*;
use parley_store::webhooks::WebhookDelivery;
use parley_store::StoreError;
use rand::RngCore;
use serde::Serialize;

/// A webhook as the admins' list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The automations that call it (it cannot be deleted while there are any).
    pub used_by: Vec<AutomationRef>,
}

/// A webhook just made, or whose secret was just renewed: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_…`: the key that verifies the `webhook-signature` header. Keep it: it is not
    /// shown again.
    pub secret: String,
}

/// How many deliveries one page of a webhook's log holds at most.
pub const MAX_DELIVERIES_PAGE: i64 = 100;

fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut key);
    webhook::secret_of(&key)
}

/// A webhook as an admin set it, checked; a URL that does not parse or points inside the network
/// is a string the schema takes, so it answers 422 `invalid_url`.
fn checked(spec: WebhookSpec, allow_private: bool) -> AppResult<WebhookSpec> {
    webhook::check(spec, allow_private).map_err(|e| match e.field {
        "url" => AppError::unprocessable("invalid_url", e.to_string()),
        _ => e.into(),
    })
}

impl App {
    /// §10: every webhook, with the automations that call it.
    pub async fn webhooks(&self, actor: Actor) -> AppResult<Vec<WebhookView>> {
        Self::require_admin(actor)?;
        let automations = self.store.automations().await?;
        Ok(self
            .store
            .webhooks()
            .await?
            .into_iter()
            .map(|webhook| {
                let used_by = automations
                    .iter()
                    .filter(|a| a.spec.webhook_id == Some(webhook.id))
                    .map(|a| AutomationRef { id: a.id, name: a.spec.name.clone() })
                    .collect();
                WebhookView { webhook, used_by }
            })
            .collect())
    }

    /// §10: registers an endpoint; answers its signing secret, this once.
    pub async fn create_webhook(&self, actor: Actor, spec: WebhookSpec, enabled: bool) -> AppResult<WebhookWithSecret> {
        Self::require_admin(actor)?;
        let spec = checked(spec, self.config.allow_private_webhooks)?;
        let secret = new_secret();
        let webhook = self.store.insert_webhook(&spec, enabled, &secret, self.now()).await?;
        Ok(WebhookWithSecret { webhook, secret })
    }

    pub async fn update_webhook(
        &self,
        actor: Actor,
        id: WebhookId,
        spec: WebhookSpec,
        enabled: bool,
    ) -> AppResult<Webhook> {
        Self::require_admin(actor)?;
        let spec = checked(spec, self.config.allow_private_webhooks)?;
        let updated = self.store.update_webhook(id, &spec, enabled, self.now()).await;
        let updated = updated.map_err(AppError::from_store("webhook"))?;
        if enabled {
            // Deliveries that waited while it was off go now.
            self.webhooks_queued.notify_one();
        }
        Ok(updated)
    }

    /// A new signing secret; the old one stops signing at once.
    pub async fn renew_webhook_secret(&self, actor: Actor, id: WebhookId) -> AppResult<WebhookWithSecret> {
        Self::require_admin(actor)?;
        let secret = new_secret();
        let webhook = self.store.set_webhook_secret(id, &secret, self.now()).await;
        Ok(WebhookWithSecret { webhook: webhook.map_err(AppError::from_store("webhook"))?, secret })
    }

    /// Deletes a webhook and its log; 409 `webhook_in_use` while an automation calls it.
    pub async fn delete_webhook(&self, actor: Actor, id: WebhookId) -> AppResult<()> {
        Self::require_admin(actor)?;
        self.store.delete_webhook(id).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::conflict(
                "webhook_in_use",
                "automations call this webhook: change or delete them first (the list shows which)",
            ),
            e => AppError::from_store("webhook")(e),
        })
    }

    /// §10: a webhook's deliveries, newest first, each with its tries and what the endpoint
    /// answered.
    pub async fn webhook_deliveries(
        &self,
        actor: Actor,
        id: WebhookId,
        before: Option<WebhookDeliveryId>,
        limit: i64,
    ) -> AppResult<Vec<WebhookDelivery>> {
        Self::require_admin(actor)?;
        if !(1..=MAX_DELIVERIES_PAGE).contains(&limit) {
            return Err(ValidationError::new("limit", format!("must be 1 to {MAX_DELIVERIES_PAGE}")).into());
        }
        self.store.webhook(id).await.map_err(AppError::from_store("webhook"))?;
        Ok(self.store.webhook_deliveries(id, before, limit).await?)
    }

    /// Sends a delivery again now, whatever became of it (one more try).
    pub async fn resend_webhook_delivery(
        &self,
        actor: Actor,
        id: WebhookId,
        delivery: WebhookDeliveryId,
    ) -> AppResult<()> {
        Self::require_admin(actor)?;
        let resent = self.store.resend_webhook_delivery(id, delivery, self.now()).await;
        resent.map_err(AppError::from_store("delivery"))?;
        self.webhooks_queued.notify_one();
        Ok(())
    }
}
