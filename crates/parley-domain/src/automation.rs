//! R29 automations: what an admin sets (a trigger, conditions, what the bot says and where), when
//! one fires, and what it may never do — be the core rule's twin, or set off a chain without end.

use crate::entities::{str_enum, ItemKind, Visibility};
use crate::ids::{AutomationId, ProjectId, WebhookId};
use crate::values::{parse_body, parse_name, EmailAddress, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

str_enum!(
    /// What sets an automation off.
    Trigger {
        /// A new message: the core rule's alone.
        NewMessage => "new_message",
        ItemCreated => "item_created",
        /// An item's status became `closed`.
        ItemClosed => "item_closed",
        /// An item's status changed, to anything.
        ItemStatusChanged => "item_status_changed",
        /// A user was assigned to an item.
        ItemAssigned => "item_assigned",
        ConversationClosed => "conversation_closed",
        ConversationReopened => "conversation_reopened",
        /// A customer started a conversation (portal, widget, email, API).
        NewCustomerConversation => "new_customer_conversation",
        /// A customer's message has waited `minutes` for a user's reply.
        NoUserReply => "no_user_reply",
    }
);

str_enum!(
    /// What an automation does.
    Action {
        /// The core rule: the followers are notified, in the app and by email when unseen (R14).
        NotifyFollowers => "notify_followers",
        /// The bot posts a message (R29).
        PostMessage => "post_message",
        /// An automated email's template goes to chosen people (R30).
        SendEmail => "send_email",
        /// A webhook hears of the event (§10).
        CallWebhook => "call_webhook",
    }
);

str_enum!(
    /// Whom a `send_email` automation writes to, among the item's (or the conversation's) people.
    EmailRecipient {
        /// The customers who asked (an item's requesters; a conversation's customers).
        Requesters => "requesters",
        Followers => "followers",
        /// The users assigned to the item.
        Assignees => "assignees",
    }
);

/// The name of the template every unseen-message email renders: the core rule's.
pub const CORE_TEMPLATE: &str = "new_message";

/// An automated email's template name as an admin gives it: 1 to 64 lower-case letters, digits,
/// `_` and `-` (so never a system email's `system.…`), and not the core rule's `new_message`.
pub fn parse_template_name(field: &'static str, raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
    if name.is_empty() || name.len() > 64 || !name.chars().all(allowed) {
        return Err(ValidationError::new(field, "must be 1 to 64 of a-z, 0-9, '_' and '-'"));
    }
    if name == CORE_TEMPLATE {
        return Err(ValidationError::new(field, "new_message is the core rule's template"));
    }
    Ok(name.to_string())
}

/// The longest wait a "no user reply" automation may have: a week, in minutes.
pub const MAX_WAIT_MINUTES: i64 = 7 * 24 * 60;

/// The wait of a "no user reply" automation that does not say: an hour.
pub const DEFAULT_WAIT_MINUTES: i64 = 60;

/// How deep automations may set each other off: an automation's own doing can fire others this
/// many times over, then the chain stops (and says so in the log).
pub const MAX_CHAIN: u8 = 3;

/// What an admin sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AutomationSpec {
    pub name: String,
    pub trigger: Trigger,
    /// Only items and conversations of this project.
    pub project_id: Option<ProjectId>,
    /// Only items of this kind (conversations without an item never match).
    pub item_kind: Option<ItemKind>,
    /// For `no_user_reply`: how long a customer's message waits for a user before the bot
    /// speaks (1 minute to a week); nothing for other triggers.
    pub minutes: Option<i64>,
    pub action: Action,
    /// Where the bot posts: the item's (or the conversation's) public or internal conversation.
    pub visibility: Visibility,
    /// What the bot says (Markdown); empty for other actions.
    pub body: String,
    /// For `send_email`: the automated email's template.
    #[serde(default)]
    pub template: Option<String>,
    /// For `send_email`: who of the item's (or conversation's) people get it, each only if they
    /// may see it.
    #[serde(default)]
    pub recipients: Vec<EmailRecipient>,
    /// For `send_email`: a fixed address that gets it too (a team's shared mailbox).
    #[serde(default)]
    pub address: Option<String>,
    /// For `call_webhook`: the webhook that hears of the event.
    #[serde(default)]
    pub webhook_id: Option<WebhookId>,
}

/// An automation as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Automation {
    pub id: AutomationId,
    #[serde(flatten)]
    pub spec: AutomationSpec,
    pub enabled: bool,
    /// The core rule "new message → notify the followers": first in the list, never disabled or
    /// deleted; its text is the new-message email template.
    pub core: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Something that happened, as automations see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub trigger: Trigger,
    pub project_id: Option<ProjectId>,
    pub item_kind: Option<ItemKind>,
    /// 0 for what a person did; n for what the n-th automation in a chain did.
    pub depth: u8,
}

impl Automation {
    /// Whether this automation fires on `event`: it is on, its trigger and conditions match, and
    /// the chain is not too deep. The core rule runs on every post by itself, never from here.
    pub fn fires_on(&self, event: &Event) -> bool {
        let s = &self.spec;
        !self.core
            && self.enabled
            && event.depth < MAX_CHAIN
            && s.trigger == event.trigger
            && s.project_id.is_none_or(|p| event.project_id == Some(p))
            && s.item_kind.is_none_or(|k| event.item_kind == Some(k))
    }

    /// Who it reaches, in words for the list.
    pub fn reaches(&self) -> String {
        let s = &self.spec;
        match (s.action, s.visibility) {
            (Action::NotifyFollowers, _) => "the followers of the conversation".into(),
            (Action::PostMessage, Visibility::Public) => "the customers and followers of the conversation".into(),
            (Action::PostMessage, Visibility::Internal) => "the users following the conversation (internal)".into(),
            (Action::SendEmail, _) => {
                let mut who: Vec<String> = s.recipients.iter().map(|r| format!("the {r}")).collect();
                who.extend(s.address.clone());
                format!("email to {}", and_list(&who))
            }
            (Action::CallWebhook, _) => "a webhook".into(),
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The core rule as an install starts with it.
pub fn core_rule() -> AutomationSpec {
    AutomationSpec {
        name: "New message → notify the followers".into(),
        trigger: Trigger::NewMessage,
        project_id: None,
        item_kind: None,
        minutes: None,
        action: Action::NotifyFollowers,
        visibility: Visibility::Public,
        body: String::new(),
        template: None,
        recipients: vec![],
        address: None,
        webhook_id: None,
    }
}

/// An admin's automation, checked: a name, a trigger and an action of their own (the core rule's
/// are its alone), and what the action needs — words for the bot, a template and someone to write
/// to, or a webhook. What an action does not use is dropped, so a stored automation says only what
/// it does.
pub fn check(spec: AutomationSpec) -> Result<AutomationSpec, ValidationError> {
    if spec.trigger == Trigger::NewMessage {
        return Err(ValidationError::new(
            "trigger",
            "new messages are the core rule's: an automation that answered them could answer itself",
        ));
    }
    // A wait given is a wait in bounds. It is kept for the trigger that waits (an hour unless
    // said); other triggers have none.
    if spec.minutes.is_some_and(|m| !(1..=MAX_WAIT_MINUTES).contains(&m)) {
        return Err(ValidationError::new("minutes", format!("must be 1 to {MAX_WAIT_MINUTES}")));
    }
    let minutes = match spec.trigger {
        Trigger::NoUserReply => Some(spec.minutes.unwrap_or(DEFAULT_WAIT_MINUTES)),
        _ => None,
    };
    let name = parse_name("name", &spec.name)?;
    let bare = AutomationSpec {
        name,
        minutes,
        visibility: Visibility::Public,
        body: String::new(),
        template: None,
        recipients: vec![],
        address: None,
        webhook_id: None,
        ..spec.clone()
    };
    match spec.action {
        Action::NotifyFollowers => {
            Err(ValidationError::new("action", "notifying the followers of every new message is the core rule's"))
        }
        Action::PostMessage => {
            Ok(AutomationSpec { visibility: spec.visibility, body: parse_body(&spec.body)?, ..bare })
        }
        Action::SendEmail => {
            let template = spec
                .template
                .as_deref()
                .ok_or_else(|| ValidationError::new("template", "is needed to send an email"))?;
            let template = parse_template_name("template", template)?;
            let address = spec.address.as_deref().map(|a| EmailAddress::parse("address", a)).transpose()?;
            let mut recipients = spec.recipients.clone();
            recipients.sort();
            recipients.dedup();
            if recipients.is_empty() && address.is_none() {
                return Err(ValidationError::new("recipients", "name whom to email: recipients, an address, or both"));
            }
            Ok(AutomationSpec {
                template: Some(template),
                recipients,
                address: address.map(|a| a.as_str().to_string()),
                ..bare
            })
        }
        Action::CallWebhook => {
            let webhook_id =
                spec.webhook_id.ok_or_else(|| ValidationError::new("webhook_id", "is needed to call a webhook"))?;
            Ok(AutomationSpec { webhook_id: Some(webhook_id), ..bare })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closing(project: Option<i64>, kind: Option<ItemKind>) -> Automation {
        Automation {
            id: AutomationId(1),
            spec: AutomationSpec {
                name: "Thanks".into(),
                trigger: Trigger::ItemClosed,
                project_id: project.map(ProjectId),
                item_kind: kind,
                minutes: None,
                action: Action::PostMessage,
                visibility: Visibility::Public,
                body: "Closed, thanks!".into(),
                template: None,
                recipients: vec![],
                address: None,
                webhook_id: None,
            },
            enabled: true,
            core: false,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn event(trigger: Trigger, project: i64, kind: Option<ItemKind>, depth: u8) -> Event {
        Event { trigger, project_id: Some(ProjectId(project)), item_kind: kind, depth }
    }

    #[test]
    fn r29_an_automation_fires_on_its_trigger_and_conditions_only() {
        let ticket = Some(ItemKind::Ticket);
        let cases = [
            (closing(None, None), event(Trigger::ItemClosed, 1, ticket, 0), true),
            (closing(None, None), event(Trigger::ItemCreated, 1, ticket, 0), false),
            (closing(Some(1), None), event(Trigger::ItemClosed, 1, ticket, 0), true),
            (closing(Some(2), None), event(Trigger::ItemClosed, 1, ticket, 0), false),
            (closing(None, ticket), event(Trigger::ItemClosed, 1, ticket, 0), true),
            (closing(None, Some(ItemKind::Task)), event(Trigger::ItemClosed, 1, ticket, 0), false),
            (closing(None, ticket), event(Trigger::ItemClosed, 1, None, 0), false),
        ];
        for (automation, event, fires) in cases {
            assert_eq!(automation.fires_on(&event), fires, "{:?} on {event:?}", automation.spec);
        }
    }

    #[test]
    fn r29_a_disabled_automation_the_core_rule_and_a_deep_chain_never_fire() {
        let on = event(Trigger::ItemClosed, 1, None, 0);
        let mut a = closing(None, None);
        a.enabled = false;
        assert!(!a.fires_on(&on));
        let mut core = closing(None, None);
        core.core = true;
        assert!(!core.fires_on(&on));
        let a = closing(None, None);
        assert!(a.fires_on(&event(Trigger::ItemClosed, 1, None, MAX_CHAIN - 1)));
        assert!(!a.fires_on(&event(Trigger::ItemClosed, 1, None, MAX_CHAIN)), "the chain stops");
    }

    #[test]
    fn r29_no_automation_answers_new_messages_or_takes_the_core_action() {
        let mut spec = closing(None, None).spec;
        spec.trigger = Trigger::NewMessage;
        assert_eq!(check(spec.clone()).unwrap_err().field, "trigger");
        spec.trigger = Trigger::ItemCreated;
        spec.action = Action::NotifyFollowers;
        assert_eq!(check(spec.clone()).unwrap_err().field, "action");
        spec.action = Action::PostMessage;
        spec.body = "  ".into();
        assert_eq!(check(spec.clone()).unwrap_err().field, "body");
        spec.body = "Welcome!".into();
        assert!(check(spec.clone()).is_ok());
        spec.minutes = Some(5);
        assert_eq!(check(spec.clone()).unwrap().minutes, None, "only a wait waits");
        spec.minutes = Some(0);
        assert_eq!(check(spec.clone()).unwrap_err().field, "minutes", "but a wait given is in bounds");
        spec.trigger = Trigger::NoUserReply;
        spec.minutes = Some(5);
        assert_eq!(check(spec.clone()).unwrap().minutes, Some(5));
        spec.minutes = None;
        assert_eq!(check(spec.clone()).unwrap().minutes, Some(DEFAULT_WAIT_MINUTES));
        for wrong in [0, -1, MAX_WAIT_MINUTES + 1] {
            spec.minutes = Some(wrong);
            assert_eq!(check(spec.clone()).unwrap_err().field, "minutes", "{wrong}");
        }
        assert_eq!(core_rule().trigger, Trigger::NewMessage);
    }

    #[test]
    fn r30_an_email_automation_names_a_template_and_someone_to_write_to() {
        let mut spec = closing(None, None).spec;
        spec.action = Action::SendEmail;
        assert_eq!(check(spec.clone()).unwrap_err().field, "template");
        spec.template = Some("new_message".into());
        assert_eq!(check(spec.clone()).unwrap_err().field, "template", "the core rule's own");
        spec.template = Some("system.welcome".into());
        assert_eq!(check(spec.clone()).unwrap_err().field, "template", "a system email's own");
        spec.template = Some("closed-thanks".into());
        assert_eq!(check(spec.clone()).unwrap_err().field, "recipients");
        spec.address = Some("not an address".into());
        assert_eq!(check(spec.clone()).unwrap_err().field, "address");
        spec.address = Some(" Team@Example.COM ".into());
        spec.recipients = vec![EmailRecipient::Assignees, EmailRecipient::Requesters, EmailRecipient::Assignees];
        let checked = check(spec.clone()).unwrap();
        assert_eq!(checked.body, "", "what the action does not use is dropped");
        assert_eq!(checked.address.as_deref(), Some("team@example.com"));
        assert_eq!(checked.recipients, vec![EmailRecipient::Requesters, EmailRecipient::Assignees]);
        let a = Automation { spec: checked, ..closing(None, None) };
        assert_eq!(a.reaches(), "email to the requesters, the assignees and team@example.com");
    }

    #[test]
    fn r29_a_webhook_automation_names_its_webhook_and_nothing_else() {
        let mut spec = closing(None, None).spec;
        spec.action = Action::CallWebhook;
        assert_eq!(check(spec.clone()).unwrap_err().field, "webhook_id");
        spec.webhook_id = Some(WebhookId(4));
        spec.template = Some("x".into());
        let checked = check(spec).unwrap();
        assert_eq!((checked.webhook_id, checked.template, checked.body.as_str()), (Some(WebhookId(4)), None, ""));
    }

    #[test]
    fn r30_template_names_are_plain_and_never_a_built_in_one() {
        for good in ["closed", "follow-up_2"] {
            assert_eq!(parse_template_name("name", good).unwrap(), good);
        }
        for bad in ["", "Closed", "system.welcome", "new_message", "a b", &"x".repeat(65)] {
            assert!(parse_template_name("name", bad).is_err(), "{bad}");
        }
    }
}
