//! R29: the automations of the messaging center.

use crate::error::StoreResult;
use crate::records::Template;
use async_trait::async_trait;
use parley_domain::automation::{Automation, AutomationSpec};
use parley_domain::*;

#[async_trait]
pub trait AutomationStore {
    /// Every automation: the core rule first, then by when they were made.
    async fn automations(&self) -> StoreResult<Vec<Automation>>;
    async fn automation(&self, id: AutomationId) -> StoreResult<Automation>;
    /// With `core`, stores the core rule unless there is one (`Conflict("core")`).
    async fn insert_automation(
        &self,
        spec: &AutomationSpec,
        enabled: bool,
        core: bool,
        at: i64,
    ) -> StoreResult<Automation>;
    async fn update_automation(
        &self,
        id: AutomationId,
        spec: &AutomationSpec,
        enabled: bool,
        at: i64,
    ) -> StoreResult<Automation>;
    async fn delete_automation(&self, id: AutomationId) -> StoreResult<()>;
    /// Customer messages waiting for a user (R26's unanswered: the latest message of an open
    /// public conversation that is not the bot's is the customer's) written from `since` to
    /// `until`, that `automation` has not answered yet: (conversation, message), oldest first.
    async fn awaiting_reply(
        &self,
        automation: AutomationId,
        since: i64,
        until: i64,
        limit: i64,
    ) -> StoreResult<Vec<(ConversationId, MessageId)>>;
    /// Claims answering `message` for `automation`: `true` for the one caller that gets it.
    async fn claim_automation_run(&self, automation: AutomationId, message: MessageId, at: i64) -> StoreResult<bool>;

    /// Every email template, by name (R30).
    async fn templates(&self) -> StoreResult<Vec<Template>>;
    /// Stores a new template; `Conflict("template")` when the name is taken.
    async fn insert_template(&self, template: &Template) -> StoreResult<Template>;
    /// Deletes a template; `NotFound` when there is none, `Conflict("template_in_use")` while an
    /// automation sends it.
    async fn delete_template(&self, name: &str) -> StoreResult<()>;
}
