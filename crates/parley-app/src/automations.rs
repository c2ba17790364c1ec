//! R29 automated messages: admins keep the list; when something happens, the automations it
//! fires have the bot post into the item's (or the conversation's) conversation of their
//! visibility, through the one post path. The core rule "new message → notify the followers" is
//! the list's first entry: it is what every post does, and its text is the new-message template.

use crate::{Actor, App, AppError, AppResult};
use parley_domain::automation::{self, core_rule, Action, Automation, AutomationSpec, Event, Trigger, MAX_CHAIN};
use parley_domain::*;
use parley_store::{NewConversation, StoreError};
use serde::Serialize;

/// At most this many waiting messages are answered per automation and round.
const WAITING_BATCH: i64 = 200;

/// An automation as the admins' list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AutomationView {
    #[serde(flatten)]
    pub automation: Automation,
    /// Who its messages reach, in words.
    pub reaches: String,
    /// For the core rule: where its text is edited.
    pub template: Option<String>,
}

/// Where an event happened.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place {
    Item(ItemId),
    Conversation(ConversationId),
}

fn view(automation: Automation) -> AutomationView {
    let template = automation.core.then(|| crate::NEW_MESSAGE_TEMPLATE.to_string());
    AutomationView { reaches: automation.reaches(), template, automation }
}

fn core_refused() -> AppError {
    AppError::conflict(
        "core_rule",
        "the core rule cannot be turned off, changed or deleted; its text is the new-message email template",
    )
}

impl App {
    /// Stores the core rule if the install has none yet.
    pub async fn install_core_automation(&self) -> AppResult<()> {
        match self.store.insert_automation(&core_rule(), true, true, self.now()).await {
            Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// R29: the automations, the core rule first.
    pub async fn automations(&self, actor: Actor) -> AppResult<Vec<AutomationView>> {
        Self::require_admin(actor)?;
        Ok(self.store.automations().await?.into_iter().map(view).collect())
    }

    pub async fn create_automation(
        &self,
        actor: Actor,
        spec: AutomationSpec,
        enabled: bool,
    ) -> AppResult<AutomationView> {
        Self::require_admin(actor)?;
        let spec = self.checked_spec(spec).await?;
        Ok(view(self.store.insert_automation(&spec, enabled, false, self.now()).await?))
    }

    /// Changes an automation; the core rule answers 409 `core_rule`.
    pub async fn update_automation(
        &self,
        actor: Actor,
        id: AutomationId,
        spec: AutomationSpec,
        enabled: bool,
    ) -> AppResult<AutomationView> {
        Self::require_admin(actor)?;
        if self.store.automation(id).await.map_err(AppError::from_store("automation"))?.core {
            return Err(core_refused());
        }
        let spec = self.checked_spec(spec).await?;
        let updated = self.store.update_automation(id, &spec, enabled, self.now()).await;
        Ok(view(updated.map_err(AppError::from_store("automation"))?))
    }

    /// Deletes an automation; the core rule answers 409 `core_rule`.
    pub async fn delete_automation(&self, actor: Actor, id: AutomationId) -> AppResult<()> {
        Self::require_admin(actor)?;
        if self.store.automation(id).await.map_err(AppError::from_store("automation"))?.core {
            return Err(core_refused());
        }
        self.store.delete_automation(id).await.map_err(AppError::from_store("automation"))
    }

    async fn checked_spec(&self, spec: AutomationSpec) -> AppResult<AutomationSpec> {
        // What an action needs (its words, template, people or webhook) is well-formed JSON
        // either way: missing or wrong, it is 422 `invalid_action`, the rest 400.
        let spec = automation::check(spec).map_err(|e| match e.field {
            "body" | "template" | "recipients" | "address" | "webhook_id" => {
                AppError::unprocessable("invalid_action", e.to_string())
            }
            _ => e.into(),
        })?;
        if let Some(project) = spec.project_id {
            if matches!(self.store.project(project).await, Err(StoreError::NotFound)) {
                return Err(AppError::unprocessable("unknown_project", "project_id names no project"));
            }
        }
        if let Some(template) = &spec.template {
            let automated =
                crate::automated_emails::kind_of(template) == crate::automated_emails::TemplateKind::Automated;
            if !automated || self.store.template(template).await?.is_none() {
                return Err(AppError::unprocessable("unknown_template", "template names no automated email template"));
            }
        }
        if let Some(webhook) = spec.webhook_id {
            if matches!(self.store.webhook(webhook).await, Err(StoreError::NotFound)) {
                return Err(AppError::unprocessable("unknown_webhook", "webhook_id names no webhook"));
            }
        }
        Ok(spec)
    }

    /// Runs the automations `trigger` fires at `place`. What a person did is done whatever an
    /// automation makes of it: a failure is logged, never answered.
    pub(crate) async fn automate(&self, trigger: Trigger, place: Place) {
        if let Err(error) = self.automate_at(trigger, place, 0).await {
            tracing::warn!(trigger = trigger.as_str(), %error, "automations could not run");
        }
    }

    async fn automate_at(&self, trigger: Trigger, place: Place, depth: u8) -> AppResult<()> {
        if depth >= MAX_CHAIN {
            tracing::warn!(trigger = trigger.as_str(), depth, "automation chain stopped: too deep");
            return Ok(());
        }
        let automations = self.store.automations().await?;
        if !automations.iter().any(|a| a.enabled && a.spec.trigger == trigger) {
            return Ok(());
        }
        let (project_id, item_kind) = self.place_facts(place).await?;
        let event = Event { trigger, project_id, item_kind, depth };
        for automation in automations.iter().filter(|a| a.fires_on(&event)) {
            // One automation failing leaves the others to run.
            if let Err(error) = self.run_automation(automation, trigger, place).await {
                tracing::warn!(automation = automation.id.0, %error, "automation failed");
            }
        }
        Ok(())
    }

    /// Does what `automation` does about `place`: the bot posts, an email goes out, or a webhook
    /// hears of it. Answers whether anything was done.
    async fn run_automation(&self, automation: &Automation, trigger: Trigger, place: Place) -> AppResult<bool> {
        let id = automation.id.0;
        match automation.spec.action {
            Action::PostMessage => {
                let Some(conversation) = self.bot_conversation(place, automation.spec.visibility).await? else {
                    tracing::info!(automation = id, "automation skipped: nowhere of its visibility to post");
                    return Ok(false);
                };
                match self.post_as_bot(conversation, &automation.spec.body).await {
                    Ok((message, _)) => {
                        tracing::info!(automation = id, message = message.id.0, "automation posted");
                        Ok(true)
                    }
                    // A locked conversation refuses the bot as it refuses everyone.
                    Err(error) => {
                        tracing::warn!(automation = id, %error, "automation did not post");
                        Ok(false)
                    }
                }
            }
            Action::SendEmail => {
                let queued = self.send_automated_email(automation, trigger, place).await?;
                tracing::info!(automation = id, queued, "automation emailed");
                Ok(queued > 0)
            }
            Action::CallWebhook => self.call_webhook(automation, trigger, place).await,
            Action::NotifyFollowers => Ok(false),
        }
    }

    /// R29 "no user reply": each customer message that has waited an automation's minutes for a
    /// user is answered (the bot posts, an email goes, a webhook hears), once. The claim is stored before the bot posts, so two nodes
    /// never both answer it (and a node that dies between the two leaves that one unsaid). Only
    /// messages written after the automation was made count. Answers how many were answered.
    pub async fn run_waiting_automations(&self) -> AppResult<usize> {
        let now = self.now();
        let mut posted = 0;
        for automation in self.store.automations().await? {
            let Some(minutes) = automation
                .spec
                .minutes
                .filter(|_| automation.enabled && automation.spec.trigger == Trigger::NoUserReply)
            else {
                continue;
            };
            let until = now - minutes * 60_000;
            let waiting = self.store.awaiting_reply(automation.id, automation.created_at, until, WAITING_BATCH).await?;
            for (conversation, message) in waiting {
                let place = Place::Conversation(conversation);
                let (project_id, item_kind) = self.place_facts(place).await?;
                let event = Event { trigger: Trigger::NoUserReply, project_id, item_kind, depth: 0 };
                if !self.store.claim_automation_run(automation.id, message, now).await? || !automation.fires_on(&event)
                {
                    continue;
                }
                match self.run_automation(&automation, Trigger::NoUserReply, place).await {
                    Ok(true) => posted += 1,
                    Ok(false) => {}
                    Err(error) => tracing::warn!(automation = automation.id.0, %error, "automation failed"),
                }
            }
        }
        Ok(posted)
    }

    /// The project and item kind an event at `place` is about, for conditions.
    async fn place_facts(&self, place: Place) -> AppResult<(Option<ProjectId>, Option<ItemKind>)> {
        match place {
            Place::Item(id) => {
                let item = self.store.item(id).await?;
                Ok((Some(item.project_id), Some(item.kind)))
            }
            Place::Conversation(id) => {
                let header = self.store.conversation(id).await?.header;
                let kind = match header.link {
                    Some(Link::Item(item)) => Some(self.store.item(item).await?.kind),
                    _ => None,
                };
                Ok((header.project_id, kind))
            }
        }
    }

    /// Where the bot posts: the conversation itself when it has the visibility, else its item's
    /// conversation of that visibility (the most recently active), made if the item has none.
    async fn bot_conversation(&self, place: Place, visibility: Visibility) -> AppResult<Option<ConversationId>> {
        let item = match place {
            Place::Item(item) => item,
            Place::Conversation(id) => {
                let header = self.store.conversation(id).await?.header;
                match header.link {
                    _ if header.visibility == visibility => return Ok(Some(id)),
                    Some(Link::Item(item)) => item,
                    _ => return Ok(None),
                }
            }
        };
        let existing = self.store.item_conversations(item).await?;
        if let Some(found) = existing.iter().find(|c| c.visibility == visibility) {
            return Ok(Some(found.id));
        }
        let item = self.store.item(item).await?;
        let new = NewConversation {
            subject: item.title.clone(),
            visibility,
            link: Some(Link::Item(item.id)),
            created_by: Author::Bot,
            participants: vec![],
            followers: vec![],
            created_at: self.now(),
        };
        Ok(Some(self.store.insert_conversation(new).await?.header.id))
    }
}
