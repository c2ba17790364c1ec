//! §10: what webhooks hear. An event is queued, for every webhook that wants it, before the
//! change that caused it answers; an internal one only for webhooks allowed internal events.
//! The body is `{"type", "timestamp", "data"}`, as Standard Webhooks suggests. A delivery names
//! the message it announces and whether it is internal, and the sender decides again before each
//! try (R44, `webhook::before_try`): a user's public reply is due when the send guard releases
//! it, and is never sent once taken back or made internal.

use crate::automations::Place;
use crate::{App, AppResult};
use parley_domain::automation::{Automation, Trigger};
use parley_domain::webhook::{Webhook, WebhookEvent};
use parley_domain::*;
use parley_store::webhooks::NewWebhookDelivery;
use serde_json::{json, Value};

/// Something webhooks may hear of.
pub(crate) struct Announcement {
    pub event: WebhookEvent,
    /// About an internal conversation or message: only webhooks allowed internal events hear it.
    pub internal: bool,
    pub data: Value,
    /// The message it announces.
    pub message: Option<MessageId>,
    /// Not to be sent before then: the end of a reply's send guard (R33).
    pub due_at: Option<i64>,
}

impl Announcement {
    pub fn message_created(message: &Message, conversation: &ConversationHeader) -> Self {
        Announcement {
            event: WebhookEvent::MessageCreated,
            internal: message.visibility == Visibility::Internal || conversation.visibility == Visibility::Internal,
            data: json!({ "message": message, "conversation": conversation }),
            message: Some(message.id),
            due_at: message.held_until,
        }
    }

    pub fn state_changed(conversation: &ConversationHeader, from: ConversationState, by: Party) -> Self {
        Announcement {
            event: WebhookEvent::ConversationStateChanged,
            internal: conversation.visibility == Visibility::Internal,
            data: json!({ "conversation": conversation, "from": from, "to": conversation.state, "by": by }),
            message: None,
            due_at: None,
        }
    }

    pub fn item_created(item: &Item) -> Self {
        Announcement {
            event: WebhookEvent::ItemCreated,
            internal: false,
            data: json!({ "item": item }),
            message: None,
            due_at: None,
        }
    }

    /// `changed` names what changed: `title`, `status`, `assignees`, `requesters`, `followers`.
    pub fn item_updated(item: &Item, changed: &[&str]) -> Self {
        Announcement {
            event: WebhookEvent::ItemUpdated,
            internal: false,
            data: json!({ "item": item, "changed": changed }),
            message: None,
            due_at: None,
        }
    }

    /// An outgoing email given up on; internal when it was about an internal conversation.
    pub fn delivery_failed(email: Value, internal: bool) -> Self {
        Announcement {
            event: WebhookEvent::DeliveryFailed,
            internal,
            data: json!({ "email": email }),
            message: None,
            due_at: None,
        }
    }
}

/// A new delivery of `a` for `webhook`.
fn delivery(webhook: &Webhook, a: &Announcement, now: i64) -> NewWebhookDelivery {
    let payload = json!({ "type": a.event, "timestamp": now, "data": a.data });
    NewWebhookDelivery {
        webhook_id: webhook.id,
        event_id: crate::auth::new_token("evt_"),
        event: a.event,
        payload: payload.to_string(),
        created_at: now,
        due_at: a.due_at.map_or(now, |due| due.max(now)),
        message_id: a.message,
        internal: a.internal,
    }
}

impl App {
    /// Queues `announcement` for every webhook that hears it. What a person did is done whatever
    /// becomes of this: a failure is logged, never answered.
    pub(crate) async fn announce(&self, announcement: Announcement) {
        if let Err(error) = self.queue_announcement(&announcement).await {
            tracing::warn!(event = announcement.event.as_str(), %error, "webhook event not queued");
        }
    }

    async fn queue_announcement(&self, a: &Announcement) -> AppResult<usize> {
        let webhooks = self.store.webhooks().await?;
        let now = self.now();
        let deliveries: Vec<NewWebhookDelivery> =
            webhooks.iter().filter(|w| w.hears(a.event, a.internal)).map(|w| delivery(w, a, now)).collect();
        if deliveries.is_empty() {
            return Ok(0);
        }
        self.store.queue_webhook_deliveries(&deliveries).await?;
        self.webhooks_queued.notify_one();
        Ok(deliveries.len())
    }

    /// §10 through R29: an automation with the action `call_webhook` tells its webhook what
    /// happened, where — unless the place is internal and the webhook may not hear of internal
    /// things. Answers whether it was queued.
    pub(crate) async fn call_webhook(
        &self,
        automation: &Automation,
        trigger: Trigger,
        place: Place,
    ) -> AppResult<bool> {
        let Some(id) = automation.spec.webhook_id else { return Ok(false) };
        let webhook = self.store.webhook(id).await?;
        let (item, conversation) = match place {
            Place::Item(id) => (Some(self.store.item(id).await?), None),
            Place::Conversation(id) => {
                let header = self.store.conversation(id).await?.header;
                let item = match header.link {
                    Some(Link::Item(item)) => Some(self.store.item(item).await?),
                    _ => None,
                };
                (item, Some(header))
            }
        };
        let internal = conversation.as_ref().is_some_and(|c| c.visibility == Visibility::Internal);
        if !webhook.may_be_called(internal) {
            tracing::info!(
                automation = automation.id.0,
                webhook = id.0,
                internal,
                "webhook not called: off, or not for internal events"
            );
            return Ok(false);
        }
        let call = Announcement {
            event: WebhookEvent::Automation,
            internal,
            data: json!({
                "automation": { "id": automation.id, "name": automation.spec.name },
                "trigger": trigger,
                "item": item,
                "conversation": conversation,
            }),
            message: None,
            due_at: None,
        };
        self.store.queue_webhook_deliveries(&[delivery(&webhook, &call, self.now())]).await?;
        self.webhooks_queued.notify_one();
        Ok(true)
    }
}
