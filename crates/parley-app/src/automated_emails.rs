//! R30 automated emails: templates admins add, preview and delete (never while an automation
//! sends one), and sending one when a `send_email` automation fires — to the item's (or the
//! conversation's) requesters, followers or assignees who may see it, and to a fixed address.

use crate::automations::Place;
use crate::delivery::system_templates::{named, ItemNamed, Named};
use crate::delivery::templates::{render, TemplateEdit};
use crate::{Actor, App, AppError, AppResult};
use parley_domain::automation::{parse_template_name, Automation, EmailRecipient, Trigger, CORE_TEMPLATE};
use parley_domain::system_email::SystemEmail;
use parley_domain::*;
use parley_store::{StoreError, Template};
use serde::Serialize;

/// What a template is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    /// The unseen-message email (the core rule's).
    Core,
    /// A system email's (R31).
    System,
    /// An admin's, sent by automations (R30).
    Automated,
}

/// An automation, as a template's list names it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AutomationRef {
    pub id: AutomationId,
    pub name: String,
}

/// A template as the admins' list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateSummary {
    pub name: String,
    pub kind: TemplateKind,
    pub subject: String,
    pub updated_at: i64,
    /// The automations that send it (the core rule for `new_message`).
    pub used_by: Vec<AutomationRef>,
    /// Whether it may be deleted: automated templates no automation sends.
    pub deletable: bool,
}

/// The values an automated email's template can use.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AutomatedContext {
    pub recipient: Named,
    pub company: Named,
    /// The automation that sent it.
    pub automation: Named,
    /// What happened, in words (`Item closed`).
    pub event: String,
    /// The item it is about, if any: `name` is `Ticket #12`.
    pub item: Option<ItemContext>,
    /// The conversation it is about, if any.
    pub conversation: Option<ConversationRef>,
    pub project: Option<Named>,
    /// Where the recipient opens it: the portal for customers, the app for users.
    pub link: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemContext {
    #[serde(flatten)]
    pub named: ItemNamed,
    /// `open`, `in_progress` or `closed`.
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConversationRef {
    pub subject: String,
}

/// Sample values for previews and for checking an edit before it is stored.
pub fn sample() -> AutomatedContext {
    AutomatedContext {
        recipient: named("Ada"),
        company: named("Acme"),
        automation: named("Thank on close"),
        event: "Item closed".into(),
        item: Some(ItemContext {
            named: ItemNamed { name: "Ticket #12".into(), title: "Printer on fire".into() },
            status: "closed".into(),
        }),
        conversation: Some(ConversationRef { subject: "Printer on fire".into() }),
        project: Some(named("Support")),
        link: "http://localhost/portal".into(),
    }
}

/// An automated email's template as an admin starts it.
const NEW_TEXT: &str = "Hello {{ recipient.name }},\n\n{% if item %}{{ item.name }}: {{ item.title }} is {{ item.status }}.{% endif %}\n\n{{ link }}\n";
const NEW_HTML: &str = "<p>Hello {{ recipient.name }},</p>\n{% if item %}<p>{{ item.name }}: {{ item.title }} is {{ item.status }}.</p>{% endif %}\n<p><a href=\"{{ link }}\">Open it</a></p>\n";

/// The kind of the template called `name`.
pub(crate) fn kind_of(name: &str) -> TemplateKind {
    if name == CORE_TEMPLATE {
        TemplateKind::Core
    } else if SystemEmail::of_template(name).is_some() {
        TemplateKind::System
    } else {
        TemplateKind::Automated
    }
}

fn trigger_words(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::NewMessage => "New message",
        Trigger::ItemCreated => "Item created",
        Trigger::ItemClosed => "Item closed",
        Trigger::ItemStatusChanged => "Item status changed",
        Trigger::ItemAssigned => "Item assigned",
        Trigger::ConversationClosed => "Conversation closed",
        Trigger::ConversationReopened => "Conversation reopened",
        Trigger::NewCustomerConversation => "New conversation from a customer",
        Trigger::NoUserReply => "No reply yet",
    }
}

/// One person (or the fixed address) an automated email goes to.
struct Addressee {
    party: Option<Party>,
    name: String,
    address: String,
}

impl App {
    /// R30: every template — the core one, the system emails' and the admins' — with the
    /// automations that send each.
    pub async fn templates(&self, actor: Actor) -> AppResult<Vec<TemplateSummary>> {
        Self::require_admin(actor)?;
        let automations = self.store.automations().await?;
        let templates = self.store.templates().await?;
        Ok(templates
            .into_iter()
            .map(|t| {
                let kind = kind_of(&t.name);
                let used_by: Vec<AutomationRef> = automations
                    .iter()
                    .filter(|a| {
                        a.spec.template.as_deref() == Some(t.name.as_str()) || (a.core && kind == TemplateKind::Core)
                    })
                    .map(|a| AutomationRef { id: a.id, name: a.spec.name.clone() })
                    .collect();
                let deletable = kind == TemplateKind::Automated && used_by.is_empty();
                TemplateSummary { name: t.name, kind, subject: t.subject, updated_at: t.updated_at, used_by, deletable }
            })
            .collect())
    }

    /// R30: adds an automated email's template; it must render with sample values (422
    /// `invalid_template`), and its name must be free (409 `template_exists`). Text and HTML left
    /// empty start from a short default.
    pub async fn create_template(&self, actor: Actor, name: &str, edit: TemplateEdit) -> AppResult<Template> {
        Self::require_admin(actor)?;
        let name = parse_template_name("name", name)?;
        let edit = TemplateEdit {
            body_text: if edit.body_text.trim().is_empty() { NEW_TEXT.into() } else { edit.body_text },
            body_html: if edit.body_html.trim().is_empty() { NEW_HTML.into() } else { edit.body_html },
            ..edit
        };
        let (template, _) = self.checked_template_parts(&name, edit).await?;
        self.store.insert_template(&template).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::conflict("template_exists", "a template has this name"),
            e => e.into(),
        })
    }

    /// R30: deletes an automated email's template. The built-in ones answer 409 `built_in`; one an
    /// automation sends answers 409 `template_in_use`.
    pub async fn delete_template(&self, actor: Actor, name: &str) -> AppResult<()> {
        Self::require_admin(actor)?;
        self.store.template(name).await?.ok_or(AppError::NotFound("template"))?;
        if kind_of(name) != TemplateKind::Automated {
            return Err(AppError::conflict(
                "built_in",
                "the new-message and system email templates are always there; edit them instead",
            ));
        }
        self.store.delete_template(name).await.map_err(|e| match e {
            StoreError::Conflict(_) => AppError::conflict(
                "template_in_use",
                "automations send this template: change or delete them first (the list shows which)",
            ),
            StoreError::NotFound => AppError::NotFound("template"),
            e => e.into(),
        })
    }

    /// R30: sends `automation`'s template about `place` to whom it names. Each of the item's (or
    /// conversation's) people gets it only if they may see the item (or conversation) — the same
    /// rule as everywhere — and has an address; the fixed address gets it as a user would.
    /// Answers how many were queued.
    pub(crate) async fn send_automated_email(
        &self,
        automation: &Automation,
        trigger: Trigger,
        place: Place,
    ) -> AppResult<usize> {
        let Some(name) = automation.spec.template.as_deref() else { return Ok(0) };
        let Some(template) = self.store.template(name).await? else {
            tracing::warn!(automation = automation.id.0, template = name, "automated email's template is gone");
            return Ok(0);
        };
        let (item, conversation) = match place {
            Place::Item(id) => (Some(self.store.item(id).await?), None),
            Place::Conversation(id) => {
                let conversation = self.store.conversation(id).await?;
                let item = match conversation.header.link {
                    Some(Link::Item(item)) => Some(self.store.item(item).await?),
                    _ => None,
                };
                (item, Some(conversation))
            }
        };
        let project_id =
            item.as_ref().map(|i| i.project_id).or(conversation.as_ref().and_then(|c| c.header.project_id));
        let project = match project_id {
            Some(p) => Some(named(self.store.project(p).await?.name)),
            None => None,
        };
        let company = named(self.store.company().await?.map(|c| c.name).unwrap_or_default());
        let mut queued = 0;
        for to in self.addressees(automation, item.as_ref(), conversation.as_ref()).await? {
            let link = match (to.party, &conversation, &item) {
                (Some(Party::Customer(_)), Some(c), _) => self.app_url(&format!("/portal/c/{}", c.header.id)),
                (Some(Party::Customer(_)), None, _) => self.app_url("/portal"),
                (_, Some(c), _) => self.app_url(&format!("/c/{}", c.header.id)),
                (_, None, Some(i)) => self.app_url(&format!("/items/{}", i.id)),
                (_, None, None) => self.app_url("/"),
            };
            let context = AutomatedContext {
                recipient: named(&to.name),
                company: company.clone(),
                automation: named(&automation.spec.name),
                event: trigger_words(trigger).into(),
                item: item.as_ref().map(|i| ItemContext {
                    named: ItemNamed { name: format!("{} #{}", i.kind.title(), i.id), title: i.title.clone() },
                    status: i.status.as_str().into(),
                }),
                conversation: conversation.as_ref().map(|c| ConversationRef { subject: c.header.subject.clone() }),
                project: project.clone(),
                link,
            };
            let rendered = render(&template, &context).map_err(|e| {
                tracing::error!(template = name, error = %e, "automated email template does not render");
                AppError::Internal
            })?;
            let email = crate::account_email::AccountEmail {
                kind: "automation",
                subject: rendered.subject,
                body_text: rendered.text,
                body_html: rendered.html,
                secret: None,
            };
            self.queue_email_to(to.party, &to.name, &to.address, email).await?;
            queued += 1;
        }
        Ok(queued)
    }

    /// Whom an automated email goes to: each named group's people who may see what it is about,
    /// with an address (active users; customers with a verified one), then the fixed address;
    /// each address once.
    async fn addressees(
        &self,
        automation: &Automation,
        item: Option<&Item>,
        conversation: Option<&Conversation>,
    ) -> AppResult<Vec<Addressee>> {
        let mut parties: Vec<Party> = vec![];
        for group in &automation.spec.recipients {
            match (group, conversation, item) {
                (EmailRecipient::Requesters, _, Some(item)) => {
                    parties.extend(item.requesters.iter().map(|c| Party::Customer(*c)))
                }
                (EmailRecipient::Requesters, Some(c), None) => {
                    parties.extend(c.participants.iter().filter(|p| matches!(p, Party::Customer(_))))
                }
                (EmailRecipient::Followers, Some(c), _) => parties.extend(c.followers.iter().copied()),
                (EmailRecipient::Followers, None, Some(item)) => parties.extend(item.followers.iter().copied()),
                (EmailRecipient::Assignees, _, Some(item)) => {
                    parties.extend(item.assignees.iter().map(|u| Party::User(*u)))
                }
                _ => {}
            }
        }
        let mut out: Vec<Addressee> = vec![];
        for party in parties {
            let Some((actor, name, address)) = self.reachable(party).await? else { continue };
            let may_see = match (conversation, item) {
                (Some(c), _) => self.visible_conversation(actor, c.header.id).await.is_ok(),
                (None, Some(i)) => self.visible_item(actor, i.id).await.is_ok(),
                (None, None) => false,
            };
            if may_see && !out.iter().any(|a| a.address == address) {
                out.push(Addressee { party: Some(party), name, address });
            }
        }
        if let Some(address) = &automation.spec.address {
            if !out.iter().any(|a| &a.address == address) {
                out.push(Addressee { party: None, name: address.clone(), address: address.clone() });
            }
        }
        Ok(out)
    }

    /// A party who can be emailed, as whom they ask, with their name and address: an active user,
    /// or a customer with a verified address.
    async fn reachable(&self, party: Party) -> AppResult<Option<(Actor, String, String)>> {
        Ok(match party {
            Party::User(id) => {
                let user = self.store.user(id).await?;
                user.active.then_some((
                    Actor::User { id, role: user.role, via_api_token: false },
                    user.name,
                    user.email,
                ))
            }
            Party::Customer(id) => {
                let customer = self.store.customer(id).await?;
                customer.email.map(|email| (Actor::Customer { id }, customer.name, email))
            }
        })
    }
}
