//! Search (R7 names it): one query over conversations, messages, items and, for staff, customers.
//! The store narrows the hits to the asker's inbox and reach; every conversation and item a hit
//! shows is then checked once more through the one access rule (`access.rs`), so a search can
//! never show what opening the hit would refuse.

use crate::{Actor, App, AppResult};
use parley_domain::search::{segments, Query, Segment};
use parley_domain::*;
use parley_store::{ItemReach, SearchAsk};
use serde::Serialize;
use std::collections::BTreeMap;

/// The most hits of each kind a search answers.
pub const MAX_LIMIT: i64 = 50;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationFound {
    pub conversation: ConversationHeader,
    /// The subject, with the matched words marked.
    pub excerpt: Vec<Segment>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageFound {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    /// The conversation's subject, to say where the message is.
    pub subject: String,
    pub number: i64,
    pub author: Author,
    pub created_at: i64,
    /// The words around the match, with the matched words marked.
    pub excerpt: Vec<Segment>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemFound {
    pub id: ItemId,
    pub kind: ItemKind,
    pub title: String,
    pub status: ItemStatus,
    pub excerpt: Vec<Segment>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerFound {
    pub id: CustomerId,
    pub name: String,
    pub email: String,
    pub excerpt: Vec<Segment>,
}

/// What a search found, each kind best first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// The words searched for.
    pub terms: Vec<String>,
    pub conversations: Vec<ConversationFound>,
    pub messages: Vec<MessageFound>,
    pub items: Vec<ItemFound>,
    /// Staff only; always empty for customers.
    pub customers: Vec<CustomerFound>,
}

fn text_of(excerpt: &[Segment]) -> String {
    excerpt.iter().map(|s| s.text.as_str()).collect()
}

impl App {
    /// Searches what `actor` may see for the words of `text`, up to `limit` hits of each kind.
    pub async fn search(&self, actor: Actor, text: &str, limit: Option<i64>) -> AppResult<SearchResults> {
        let query = Query::parse(text)?;
        let limit = limit.unwrap_or(10);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ValidationError::new("limit", format!("must be between 1 and {MAX_LIMIT}")).into());
        }
        if query.terms.is_empty() {
            return Ok(SearchResults {
                terms: Vec::new(),
                conversations: Vec::new(),
                messages: Vec::new(),
                items: Vec::new(),
                customers: Vec::new(),
            });
        }
        let items = match actor {
            Actor::User { id, .. } => {
                let profile = self.store.user_profile(id).await?;
                match profile.preferences.scope {
                    preferences::Scope::AllProjects => ItemReach::Every,
                    _ => ItemReach::Projects { projects: profile.followed_projects.clone(), user: id },
                }
            }
            Actor::Customer { id } => {
                ItemReach::Only(self.store.customer_items(id).await?.into_iter().map(|i| i.id).collect())
            }
        };
        let ask = SearchAsk {
            party: actor.party(),
            query: &query,
            reader: self.reader_for(actor),
            items,
            customers: actor.user_id().is_some(),
            limit,
        };
        let hits = self.store.search(ask).await?;

        // Each conversation a hit shows, through the one access rule; what it refuses is dropped.
        let mut seen: BTreeMap<ConversationId, Option<ConversationHeader>> = BTreeMap::new();
        let wanted =
            hits.conversations.iter().map(|(id, _)| *id).chain(hits.messages.iter().map(|m| m.conversation_id));
        for id in wanted {
            if let std::collections::btree_map::Entry::Vacant(slot) = seen.entry(id) {
                slot.insert(self.visible_conversation(actor, id).await.ok().map(|c| c.header));
            }
        }
        let conversations = hits
            .conversations
            .iter()
            .filter_map(|(id, excerpt)| {
                let conversation = seen.get(id)?.clone()?;
                Some(ConversationFound { conversation, excerpt: segments(excerpt) })
            })
            .collect();
        let messages = hits
            .messages
            .into_iter()
            .filter_map(|m| {
                let subject = seen.get(&m.conversation_id)?.as_ref()?.subject.clone();
                Some(MessageFound {
                    message_id: m.id,
                    conversation_id: m.conversation_id,
                    subject,
                    number: m.number,
                    author: m.author,
                    created_at: m.created_at,
                    excerpt: segments(&m.excerpt),
                })
            })
            .collect();
        let mut items = Vec::new();
        for (id, excerpt) in hits.items {
            if let Ok(item) = self.visible_item(actor, id).await {
                let excerpt = segments(&excerpt);
                items.push(ItemFound { id, kind: item.kind, title: item.title, status: item.status, excerpt });
            }
        }
        // R37: only the customers the asker reaches.
        let ids: Vec<CustomerId> = hits.customers.iter().map(|c| c.id).collect();
        let reached = match ids.is_empty() {
            true => vec![],
            false => self.customers_reached(actor, &ids).await?,
        };
        let customers = hits
            .customers
            .into_iter()
            .filter(|c| reached.contains(&c.id))
            .map(|c| {
                let excerpt = segments(&c.name);
                CustomerFound { id: c.id, name: text_of(&excerpt), email: c.email, excerpt }
            })
            .collect();
        Ok(SearchResults { terms: query.terms, conversations, messages, items, customers })
    }
}
