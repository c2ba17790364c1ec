//! What customers see of the company: a new request opened from the portal (a ticket in the
//! project the company chose), the names of those who wrote to them, and the welcome the portal
//! and the widget show.

use crate::conversations::NewConversationRequest;
use crate::{Actor, App, AppError, AppResult};
use parley_domain::access::may_read_message;
use parley_domain::shown_name::shown_name;
use parley_domain::values::{parse_body, parse_name};
use parley_domain::*;
use parley_store::{NewItem, StoreError};
use serde::Serialize;

/// A request opened from the portal: its ticket and its conversation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpenedRequest {
    pub item_id: ItemId,
    pub conversation: Conversation,
}

/// Who wrote a message, as the asker sees them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShownAuthor {
    pub author: Author,
    pub name: String,
    /// Written by the team (a user or the company's automations), not by a customer.
    pub staff: bool,
}

/// What the company shows every customer and visitor: the widget's greeting and promised reply
/// time, and whether the portal takes new requests.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Welcome {
    pub company: String,
    pub greeting: String,
    /// May be empty: then the widget promises nothing.
    pub reply_time: String,
    /// Whether customers may open a new request in the portal.
    pub portal_requests: bool,
}

impl App {
    /// A customer's new request from the portal: a ticket in the company's portal project, with
    /// the customer as requester, and its public conversation started with their words. Checked
    /// whole before anything is written. Only customers with a proven address open requests (a
    /// widget visitor chats instead); without a portal project the portal takes none (409).
    pub async fn open_request(&self, actor: Actor, title: &str, body: &str) -> AppResult<OpenedRequest> {
        let customer = match actor {
            Actor::Customer { id } => self.store.customer(id).await.map_err(AppError::from_store("customer"))?,
            Actor::User { .. } => {
                return Err(AppError::Forbidden("requests are opened by customers; staff open items"))
            }
        };
        if customer.email.is_none() {
            return Err(AppError::Forbidden("confirm your email address before opening requests"));
        }
        let title = parse_name("title", title)?;
        let body = parse_body(body)?;
        let settings = self.store.company().await?.map(|c| c.settings).unwrap_or_default();
        let Some(project_id) = settings.portal_request_project_id else {
            return Err(AppError::conflict(
                "portal_requests_off",
                "new requests are not taken in the portal: write to us by email or chat",
            ));
        };
        let ticket = NewItem {
            project_id,
            kind: ItemKind::Ticket,
            title: title.clone(),
            created_by: Party::Customer(customer.id),
            requesters: vec![customer.id],
            assignees: vec![],
            created_at: self.now(),
        };
        let item = self.store.insert_item(ticket).await?;
        let start = NewConversationRequest {
            subject: title,
            link: Some(Link::Item(item.id)),
            visibility: Some(Visibility::Public),
            start_as: None,
            participants: vec![],
            body: Some(body),
        };
        let conversation = self.create_conversation(actor, start).await?;
        self.announce(crate::webhooks::Announcement::item_created(&item)).await;
        self.automate(parley_domain::automation::Trigger::ItemCreated, crate::automations::Place::Item(item.id)).await;
        Ok(OpenedRequest { item_id: item.id, conversation })
    }

    /// The author of a message the asker may read, named as the asker sees them: customers see
    /// the team under the company's display name when one is set. "Not found" for a message the
    /// asker may not read (an internal one, one still held or undone, for a customer).
    pub async fn message_author(&self, actor: Actor, id: MessageId) -> AppResult<ShownAuthor> {
        let (conversation, author, facts) =
            self.store.message_facts(id).await.map_err(AppError::from_store("message"))?;
        self.visible_conversation(actor, conversation).await.map_err(|_| AppError::NotFound("message"))?;
        if !may_read_message(actor.party(), facts, self.now()) {
            return Err(AppError::NotFound("message"));
        }
        let company = self.store.company().await?;
        let (company_name, settings) = company.map(|c| (c.name, c.settings)).unwrap_or_default();
        let real_name = match author {
            Author::User(user) => known(self.store.user(user).await)?.map(|u| u.name),
            Author::Customer(customer) => known(self.store.customer(customer).await)?.map(|c| c.name),
            Author::Bot => None,
        };
        let name = shown_name(author, actor.party(), real_name.as_deref(), &settings, &company_name);
        Ok(ShownAuthor { author, name, staff: !matches!(author, Author::Customer(_)) })
    }

    /// What the company shows customers: anyone may read it, it is on the company's own site.
    pub async fn welcome(&self) -> AppResult<Welcome> {
        let company = self.store.company().await?;
        let (company, settings) = company.map(|c| (c.name, c.settings)).unwrap_or_default();
        Ok(Welcome {
            company,
            greeting: settings.widget_greeting,
            reply_time: settings.widget_reply_time,
            portal_requests: settings.portal_request_project_id.is_some(),
        })
    }
}

/// A person looked up by id: `None` when they are gone.
fn known<T>(found: Result<T, StoreError>) -> AppResult<Option<T>> {
    match found {
        Ok(person) => Ok(Some(person)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
