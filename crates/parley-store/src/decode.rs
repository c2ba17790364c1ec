//! Reading stored rows into domain values, shared by the backends: each column is named once
//! here, and each backend only says how to read one value of its rows ([`Columns`]).

use crate::error::{StoreError, StoreResult};
use parley_domain::audience::Reason;
use parley_domain::*;

/// One stored row, as the decoders read it.
pub trait Columns {
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn int_or_null(&self, column: &str) -> StoreResult<Option<i64>>;
    fn text(&self, column: &str) -> StoreResult<String>;
    fn text_or_null(&self, column: &str) -> StoreResult<Option<String>>;
    fn flag(&self, column: &str) -> StoreResult<bool>;
}

/// A stored value that does not read as what its column holds.
pub fn corrupt(what: &str) -> StoreError {
    StoreError::message(format!("unreadable stored value: {what}"))
}

/// Parses a stored name with `parse`.
pub fn parse<T>(row: &impl Columns, column: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(&row.text(column)?).ok_or_else(|| corrupt(column))
}

pub fn user(row: &impl Columns) -> StoreResult<User> {
    Ok(User {
        id: UserId(row.int("id")?),
        email: row.text("email")?,
        name: row.text("name")?,
        handle: row.text("handle")?,
        role: parse(row, "role", Role::parse)?,
        created_at: row.int("created_at")?,
        active: row.flag("active")?,
        away: row.flag("away")?,
        connected_at: row.int_or_null("connected_at")?,
        available: false,
    })
}

pub fn preferences(row: &impl Columns) -> StoreResult<Preferences> {
    use parley_domain::preferences::*;
    Ok(Preferences {
        scope: parse(row, "scope", Scope::parse)?,
        show_from_customers: row.flag("show_from_customers")?,
        customer_messages: parse(row, "customer_messages", CustomerMessages::parse)?,
        replies_to_customers: parse(row, "replies_to_customers", RepliesToCustomers::parse)?,
        followed_internal: row.flag("followed_internal")?,
        sound: row.flag("sound")?,
        email_assignment_changes: row.flag("email_assignment_changes")?,
        email_new_members: row.flag("email_new_members")?,
        auto_accept_invitations: row.flag("auto_accept_invitations")?,
    })
}

/// The `reasons` column of an audience row: why the person receives the message.
pub fn reasons(row: &impl Columns) -> StoreResult<Vec<Reason>> {
    row.text("reasons")?.split(',').map(|s| Reason::parse(s).ok_or_else(|| corrupt("reasons"))).collect()
}

pub fn customer(row: &impl Columns) -> StoreResult<Customer> {
    Ok(Customer {
        id: CustomerId(row.int("id")?),
        email: row.text_or_null("email")?,
        unverified_email: row.text_or_null("unverified_email")?,
        name: row.text("name")?,
        organization_id: row.int_or_null("organization_id")?.map(OrganizationId),
        created_at: row.int("created_at")?,
    })
}

pub fn party(row: &impl Columns) -> StoreResult<Party> {
    Party::from_parts(&row.text("party_kind")?, row.int("party_id")?).ok_or_else(|| corrupt("party_kind"))
}

pub fn author(row: &impl Columns, kind_column: &str, id_column: &str) -> StoreResult<Author> {
    Author::from_parts(&row.text(kind_column)?, row.int_or_null(id_column)?).ok_or_else(|| corrupt(kind_column))
}

pub fn message(row: &impl Columns) -> StoreResult<Message> {
    Ok(Message {
        id: MessageId(row.int("id")?),
        conversation_id: ConversationId(row.int("conversation_id")?),
        number: row.int("number")?,
        author: author(row, "author_kind", "author_id")?,
        visibility: parse(row, "visibility", Visibility::parse)?,
        body: row.text("body")?,
        body_html: row.text("body_html")?,
        channel: parse(row, "channel", Channel::parse)?,
        created_at: row.int("created_at")?,
        held_until: row.int_or_null("held_until")?,
        attachments: vec![],
    })
}

/// The columns [`header`] reads, for a `conversations` table under the alias `c`.
pub const HEADER_COLUMNS: &str = "c.id, c.subject, c.visibility, c.state, c.item_id, c.linked_project_id, \
     c.project_id, c.created_by_kind, c.created_by_id, c.created_at, c.last_activity_at, c.message_count, c.origin";

pub fn header(row: &impl Columns) -> StoreResult<ConversationHeader> {
    let link = match (row.int_or_null("item_id")?, row.int_or_null("linked_project_id")?) {
        (Some(i), _) => Some(Link::Item(ItemId(i))),
        (None, Some(p)) => Some(Link::Project(ProjectId(p))),
        (None, None) => None,
    };
    Ok(ConversationHeader {
        id: ConversationId(row.int("id")?),
        subject: row.text("subject")?,
        visibility: parse(row, "visibility", Visibility::parse)?,
        state: parse(row, "state", ConversationState::parse)?,
        link,
        project_id: row.int_or_null("project_id")?.map(ProjectId),
        created_by: author(row, "created_by_kind", "created_by_id")?,
        created_at: row.int("created_at")?,
        last_activity_at: row.int("last_activity_at")?,
        message_count: row.int("message_count")?,
        origin: row.text_or_null("origin")?.as_deref().and_then(Channel::parse),
    })
}

/// A row of the invitation statements (`project_invitations`, with the project's name).
pub fn invitation(row: &impl Columns) -> StoreResult<parley_domain::system_email::Invitation> {
    use parley_domain::system_email::{Invitation, InvitationState};
    Ok(Invitation {
        id: InvitationId(row.int("id")?),
        project_id: ProjectId(row.int("project_id")?),
        project_name: row.text("project_name")?,
        user_id: UserId(row.int("user_id")?),
        invited_by: UserId(row.int("invited_by")?),
        state: parse(row, "state", InvitationState::parse)?,
        created_at: row.int("created_at")?,
        answered_at: row.int_or_null("answered_at")?,
    })
}

/// A row of `automations`.
/// A comma-separated list of names, each parsed with `parse`.
fn list<T>(row: &impl Columns, column: &str, parse: fn(&str) -> Option<T>) -> StoreResult<Vec<T>> {
    let text = row.text(column)?;
    text.split(',').filter(|s| !s.is_empty()).map(|s| parse(s).ok_or_else(|| corrupt(column))).collect()
}

/// Names as a [`list`] column holds them.
pub fn list_text<T: Copy>(values: &[T], name: fn(T) -> &'static str) -> String {
    values.iter().map(|v| name(*v)).collect::<Vec<_>>().join(",")
}

pub fn webhook(row: &impl Columns) -> StoreResult<parley_domain::webhook::Webhook> {
    use parley_domain::webhook::{Webhook, WebhookEvent, WebhookSpec};
    Ok(Webhook {
        id: WebhookId(row.int("id")?),
        spec: WebhookSpec {
            name: row.text("name")?,
            url: row.text("url")?,
            events: list(row, "events", WebhookEvent::parse)?,
            internal: row.flag("internal")?,
        },
        enabled: row.flag("enabled")?,
        secret: row.text("secret")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

pub fn webhook_delivery(row: &impl Columns) -> StoreResult<crate::webhooks::WebhookDelivery> {
    use parley_domain::webhook::{DeliveryState, WebhookEvent};
    Ok(crate::webhooks::WebhookDelivery {
        id: WebhookDeliveryId(row.int("id")?),
        webhook_id: WebhookId(row.int("webhook_id")?),
        event_id: row.text("event_id")?,
        event: parse(row, "event", WebhookEvent::parse)?,
        payload: row.text("payload")?,
        state: parse(row, "state", DeliveryState::parse)?,
        tries: row.int("tries")?,
        next_attempt_at: row.int("next_attempt_at")?,
        created_at: row.int("created_at")?,
        settled_at: row.int_or_null("settled_at")?,
        message_id: row.int_or_null("message_id")?.map(MessageId),
        internal: row.flag("internal")?,
        cancel_reason: row.text_or_null("cancel_reason")?,
        attempts: vec![],
    })
}

pub fn webhook_attempt(row: &impl Columns) -> StoreResult<(WebhookDeliveryId, crate::webhooks::WebhookAttempt)> {
    Ok((
        WebhookDeliveryId(row.int("delivery_id")?),
        crate::webhooks::WebhookAttempt {
            attempted_at: row.int("attempted_at")?,
            status: row.int_or_null("status")?,
            error: row.text_or_null("error")?,
            duration_ms: row.int("duration_ms")?,
        },
    ))
}

pub fn automation(row: &impl Columns) -> StoreResult<parley_domain::automation::Automation> {
    use parley_domain::automation::{Action, Automation, AutomationSpec, Trigger};
    let item_kind = row.text_or_null("item_kind")?;
    Ok(Automation {
        id: AutomationId(row.int("id")?),
        spec: AutomationSpec {
            name: row.text("name")?,
            trigger: parse(row, "trigger_name", Trigger::parse)?,
            project_id: row.int_or_null("project_id")?.map(ProjectId),
            item_kind: item_kind.map(|k| ItemKind::parse(&k).ok_or_else(|| corrupt("item_kind"))).transpose()?,
            minutes: row.int_or_null("minutes")?,
            action: parse(row, "action", Action::parse)?,
            visibility: parse(row, "visibility", Visibility::parse)?,
            body: row.text("body")?,
            template: row.text_or_null("template_name")?,
            recipients: list(row, "recipients", parley_domain::automation::EmailRecipient::parse)?,
            address: row.text_or_null("address")?,
            webhook_id: row.int_or_null("webhook_id")?.map(WebhookId),
        },
        enabled: row.flag("enabled")?,
        core: row.flag("core")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}
