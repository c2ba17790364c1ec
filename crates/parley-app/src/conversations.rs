//! Starting conversations (R1–R4), their states (R6), linking (R5) and their people.

use crate::automations::Place;
use crate::{Actor, App, AppError, AppResult, NewItemRequest};
use parley_domain::automation::Trigger;
use parley_domain::state::{self, StateAction, StateError};
use parley_domain::values::parse_name;
use parley_domain::*;
use parley_store::{LinkTarget, NewConversation, StoreError};

/// R4: the two kinds of independent conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAs {
    /// Internal; participants are users only.
    WithUsers,
    /// Public; customers and any users.
    WithCustomers,
}

#[derive(Debug, Clone)]
pub struct NewConversationRequest {
    pub subject: String,
    pub link: Option<Link>,
    /// Chosen explicitly; otherwise the company default for items and projects (R3).
    pub visibility: Option<Visibility>,
    /// For independent conversations started by a user.
    pub start_as: Option<StartAs>,
    pub participants: Vec<Party>,
    /// A first message, posted through the one message path.
    pub body: Option<String>,
}

fn customer_refused() -> AppError {
    AppError::unprocessable("customer_not_allowed", "customers cannot take part in internal conversations")
}

impl App {
    pub async fn create_conversation(&self, actor: Actor, req: NewConversationRequest) -> AppResult<Conversation> {
        let subject = parse_name("subject", &req.subject)?;
        if let Some(body) = &req.body {
            values::parse_body(body)?;
        }
        let mut participants = req.participants.clone();
        self.check_parties(&participants).await?;
        let visibility = match actor {
            Actor::User { .. } => self.user_conversation_visibility(actor, &req).await?,
            Actor::Customer { id } => {
                if req.visibility == Some(Visibility::Internal) || req.start_as == Some(StartAs::WithUsers) {
                    return Err(customer_refused());
                }
                if participants.iter().any(|p| *p != Party::Customer(id)) {
                    return Err(AppError::unprocessable(
                        "participants_not_allowed",
                        "a customer starts a conversation with themself; staff join from the messenger",
                    ));
                }
                if let Some(link) = req.link {
                    match link {
                        Link::Item(item) => drop(self.item(actor, item).await?),
                        Link::Project(_) => return Err(AppError::NotFound("project")),
                    }
                }
                Visibility::Public
            }
        };
        if visibility == Visibility::Internal && participants.iter().any(|p| p.is_customer()) {
            return Err(customer_refused());
        }
        if !participants.contains(&actor.party()) {
            participants.insert(0, actor.party());
        }
        let new = NewConversation {
            subject,
            visibility,
            link: req.link,
            created_by: actor.author(),
            participants,
            followers: vec![],
            created_at: self.now(),
        };
        let conversation = self.store.insert_conversation(new).await?;
        let id = conversation.header.id;
        if let Some(body) = req.body {
            let post = crate::PostRequest { body, channel: None, attachments: vec![] };
            self.post_message(actor, id, post).await?;
        }
        if actor.user_id().is_none() {
            self.automate(Trigger::NewCustomerConversation, Place::Conversation(id)).await;
        }
        self.visible_conversation(actor, id).await
    }

    /// R1, R3, R4: the visibility of a conversation a user starts. An item or project outside the
    /// user's scope does not exist for them (R20, R37).
    async fn user_conversation_visibility(&self, actor: Actor, req: &NewConversationRequest) -> AppResult<Visibility> {
        let settings = self.store.company().await?.map(|c| c.settings).unwrap_or_default();
        let default = match req.link {
            Some(Link::Item(item)) => {
                self.visible_item(actor, item).await?;
                settings.item_default_visibility
            }
            Some(Link::Project(p)) => {
                self.visible_project(actor, p).await?;
                settings.project_default_visibility
            }
            None => match req.start_as {
                Some(StartAs::WithUsers) => Visibility::Internal,
                Some(StartAs::WithCustomers) => Visibility::Public,
                None => {
                    return Err(AppError::unprocessable(
                        "start_as_required",
                        "an independent conversation is started 'with_users' or 'with_customers'",
                    ))
                }
            },
        };
        match (req.link, req.start_as, req.visibility) {
            (None, Some(_), Some(v)) if v != default => Err(AppError::unprocessable(
                "visibility_mismatch",
                "a conversation with users is internal and one with customers is public",
            )),
            (_, _, Some(v)) => Ok(v),
            (_, _, None) => Ok(default),
        }
    }

    pub async fn conversation(&self, actor: Actor, id: ConversationId) -> AppResult<Conversation> {
        self.visible_conversation(actor, id).await
    }

    /// R6: the conversation's state changes, for whoever may see the conversation.
    pub async fn state_changes(&self, actor: Actor, id: ConversationId) -> AppResult<Vec<StateChange>> {
        self.visible_conversation(actor, id).await?;
        Ok(self.store.state_changes(id).await?)
    }

    /// R6: close, lock, unlock or reopen, by a user.
    pub async fn change_state(&self, actor: Actor, id: ConversationId, action: StateAction) -> AppResult<Conversation> {
        let conversation = self.visible_conversation(actor, id).await?;
        Self::require_user(actor, "conversation")?;
        let mut current = conversation.header.state;
        // One retry covers a concurrent change between reading and writing.
        for _ in 0..2 {
            let next = state::apply(current, action).map_err(|e| match e {
                StateError::Locked => crate::error::locked(),
                e => AppError::conflict("invalid_state_change", e.to_string()),
            })?;
            match self.store.set_state(id, current, next, actor.author(), self.now()).await {
                Ok(c) => {
                    self.publish_state(c.clone(), actor.party());
                    self.announce(crate::webhooks::Announcement::state_changed(&c.header, current, actor.party()))
                        .await;
                    let trigger = match (current, next) {
                        (_, ConversationState::Closed) => Some(Trigger::ConversationClosed),
                        (ConversationState::Closed, ConversationState::Open) => Some(Trigger::ConversationReopened),
                        _ => None,
                    };
                    if let Some(trigger) = trigger {
                        self.automate(trigger, Place::Conversation(id)).await;
                    }
                    return Ok(c);
                }
                Err(StoreError::Conflict(_)) => current = self.store.conversation(id).await?.header.state,
                Err(e) => return Err(AppError::from_store("conversation")(e)),
            }
        }
        Err(AppError::conflict("concurrent_change", "the conversation changed meanwhile; try again"))
    }

    /// R5: links an independent conversation to an existing item, or to a new one created from it.
    pub async fn link_conversation(
        &self,
        actor: Actor,
        id: ConversationId,
        existing: Option<ItemId>,
        new: Option<NewItemRequest>,
    ) -> AppResult<(Conversation, Item)> {
        let user = Self::require_user(actor, "conversation")?;
        let conversation = self.visible_conversation(actor, id).await?;
        if conversation.header.link.is_some() {
            return Err(AppError::conflict("already_linked", "the conversation is already linked"));
        }
        let target = match (existing, new) {
            (Some(item), None) => {
                self.visible_item(actor, item).await?;
                LinkTarget::Existing(item)
            }
            (None, Some(req)) => LinkTarget::New(self.new_item(user, req).await?),
            _ => return Err(AppError::unprocessable("link_target", "give either an existing item or a new item")),
        };
        self.store.link_conversation(id, target).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::conflict("already_linked", "the conversation is already linked"),
            e => AppError::from_store("conversation")(e),
        })
    }

    /// Adds or removes a participant or follower (users only; never a customer in an internal
    /// conversation).
    pub async fn set_conversation_party(
        &self,
        actor: Actor,
        id: ConversationId,
        participant: bool,
        party: Party,
        on: bool,
    ) -> AppResult<Conversation> {
        let conversation = self.visible_conversation(actor, id).await?;
        Self::require_user(actor, "conversation")?;
        if on && party.is_customer() && conversation.header.visibility == Visibility::Internal {
            return Err(customer_refused());
        }
        self.check_parties(&[party]).await?;
        Ok(self.store.set_conversation_party(id, participant, party, on).await?)
    }

    /// Records how far the asker has read.
    pub async fn mark_read(&self, actor: Actor, id: ConversationId, up_to: i64) -> AppResult<i64> {
        self.visible_conversation(actor, id).await?;
        if up_to < 0 {
            return Err(ValidationError::new("up_to", "must not be negative").into());
        }
        let (position, seen) = self.store.mark_read(id, actor.party(), up_to, self.now()).await?;
        self.publish_seen(actor.party(), seen);
        Ok(position)
    }
}
