//! Full-text search, narrowed in the store to what the asker may see (their inbox for
//! conversations and messages, their reach for items); the application checks each hit again
//! through the one access rule before showing it.

use crate::error::StoreResult;
use crate::records::Reader;
use async_trait::async_trait;
use parley_domain::search::Query;
use parley_domain::*;

/// The items a search may return, as the asker's access allows (R7, R37).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemReach {
    /// A user with scope "all projects".
    Every,
    /// A user with a limited scope: their projects' items and those they follow or are on.
    Projects { projects: Vec<ProjectId>, user: UserId },
    /// Exactly these (a customer's own items).
    Only(Vec<ItemId>),
}

/// What to search for, and for whom.
#[derive(Debug, Clone)]
pub struct SearchAsk<'a> {
    pub party: Party,
    pub query: &'a Query,
    pub reader: Reader,
    pub items: ItemReach,
    /// Whether customers are searched too (staff only).
    pub customers: bool,
    /// The most hits of each kind.
    pub limit: i64,
}

/// An excerpt with the matched words between `search::HIT_START` and `search::HIT_END`.
pub type Excerpt = String;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHit {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub number: i64,
    pub author: Author,
    pub created_at: i64,
    pub excerpt: Excerpt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerHit {
    pub id: CustomerId,
    pub name: Excerpt,
    pub email: String,
}

/// Hits of each kind, best first: among the newest matches, those that match best.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchHits {
    pub conversations: Vec<(ConversationId, Excerpt)>,
    pub messages: Vec<MessageHit>,
    pub items: Vec<(ItemId, Excerpt)>,
    pub customers: Vec<CustomerHit>,
}

#[async_trait]
pub trait SearchStore {
    async fn search(&self, ask: SearchAsk<'_>) -> StoreResult<SearchHits>;
}
