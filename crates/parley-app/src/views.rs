//! The messenger's views for the asking person (R21, R26, R27): which exist, their unread counts,
//! and their conversations sorted by latest activity.

use crate::{Actor, App, AppError, AppResult};
use parley_domain::excerpt::{excerpt, ROW_EXCERPT_CHARS};
use parley_domain::views::{self, Section, View};
use parley_domain::{Author, ConversationHeader, ConversationId, CustomerId, UserId, ValidationError};
use parley_store::{InboxCursor, InboxFilter, RowDetail, ViewTally};
use serde::Serialize;
use std::collections::HashMap;

/// A view in the sidebar.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ViewCount {
    pub view: View,
    pub section: Section,
    pub title: &'static str,
    /// Conversations in the view.
    pub total: usize,
    /// Conversations in the view with messages the asker has not read.
    pub unread: usize,
}

impl ViewCount {
    pub fn of(tally: ViewTally) -> ViewCount {
        let view = tally.view;
        let (total, unread) = (tally.total.max(0) as usize, tally.unread.max(0) as usize);
        ViewCount { view, section: view.section(), title: view.title(), total, unread }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ViewedConversation {
    #[serde(flatten)]
    pub conversation: ConversationHeader,
    /// Messages the asker has not read.
    pub unread: i64,
    /// The latest message the asker may read: who wrote it, when, and its first words.
    pub last_message: Option<LastMessagePreview>,
    /// For staff: the customers it is with (those taking part, then its item's requesters).
    pub customers: Vec<NamedCustomer>,
    /// For staff: the users assigned to its item.
    pub assignees: Vec<UserId>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LastMessagePreview {
    pub author: Author,
    /// Plain text, at most 120 characters, cut at a word (`…` when cut).
    pub excerpt: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NamedCustomer {
    pub id: CustomerId,
    pub name: String,
}

/// Which conversations of a view to list, by their item's assignees (staff only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViewFilter {
    AssignedToMe,
    Unassigned,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ViewPage {
    pub view: View,
    /// Conversations in the view (whatever the filter).
    pub total: usize,
    pub conversations: Vec<ViewedConversation>,
    /// Pass as `before` to read the next page; absent on the last one.
    pub next: Option<String>,
}

/// A page's end as the client carries it: `<activity time>_<conversation id>`.
fn encode_cursor(c: InboxCursor) -> String {
    format!("{}_{}", c.activity_at, c.conversation_id.0)
}

fn decode_cursor(s: &str) -> Option<InboxCursor> {
    let (at, id) = s.split_once('_')?;
    Some(InboxCursor { activity_at: at.parse().ok()?, conversation_id: ConversationId(id.parse().ok()?) })
}

impl App {
    /// The views the asker sees, each with its counts: one read of their inbox's counts.
    pub async fn views(&self, actor: Actor) -> AppResult<Vec<ViewCount>> {
        let party = actor.party();
        let available = self.available_views(actor).await?;
        let tallies = self.store.inbox_counts(party).await?;
        Ok(available
            .into_iter()
            .map(|view| {
                let none = ViewTally { view, total: 0, unread: 0 };
                ViewCount::of(tallies.iter().find(|t| t.view == view).copied().unwrap_or(none))
            })
            .collect())
    }

    /// Up to `limit` conversations of a view, newest activity first, older than the cursor
    /// `before` (the `next` of the previous page) when given; only those `filter` keeps.
    pub async fn view(
        &self,
        actor: Actor,
        view: View,
        filter: Option<ViewFilter>,
        before: Option<&str>,
        limit: i64,
    ) -> AppResult<ViewPage> {
        if !(1..=100).contains(&limit) {
            return Err(ValidationError::new("limit", "limit is 1 to 100").into());
        }
        let before = match before {
            Some(s) => Some(
                decode_cursor(s)
                    .ok_or_else(|| ValidationError::new("before", "not a `next` from a page of this view"))?,
            ),
            None => None,
        };
        if !self.available_views(actor).await?.contains(&view) {
            return Err(AppError::NotFound("view"));
        }
        let filter = match (filter, actor) {
            (None, _) => InboxFilter::Everything,
            (Some(ViewFilter::AssignedToMe), Actor::User { id, .. }) => InboxFilter::AssignedTo(id),
            (Some(ViewFilter::Unassigned), Actor::User { .. }) => InboxFilter::Unassigned,
            // Well-formed, but customers have no assignment to filter by: a refusal, not bad input.
            (Some(_), Actor::Customer { .. }) => {
                return Err(AppError::unprocessable("filter_for_staff", "assignment filters are for staff"))
            }
        };
        let party = actor.party();
        let started = std::time::Instant::now();
        let mut found = self.store.inbox_page(party, view, filter, before, limit + 1).await?;
        let next = (found.len() > limit as usize).then(|| {
            found.truncate(limit as usize);
            found.last().map(|e| {
                encode_cursor(InboxCursor {
                    activity_at: e.conversation.last_activity_at,
                    conversation_id: e.conversation.id,
                })
            })
        });
        let total = self.store.inbox_counts(party).await?.iter().find(|t| t.view == view).map_or(0, |t| t.total);
        let ids: Vec<ConversationId> = found.iter().map(|e| e.conversation.id).collect();
        let mut details: HashMap<ConversationId, RowDetail> = self
            .store
            .row_details(&ids, self.reader_for(actor))
            .await?
            .into_iter()
            .map(|d| (d.conversation_id, d))
            .collect();
        let staff = matches!(actor, Actor::User { .. });
        let conversations = found
            .into_iter()
            .map(|e| {
                let detail = details.remove(&e.conversation.id);
                let (last, customers, assignees) =
                    detail.map_or((None, vec![], vec![]), |d| (d.last_message, d.customers, d.assignees));
                ViewedConversation {
                    unread: e.unread,
                    conversation: e.conversation,
                    last_message: last.map(|m| LastMessagePreview {
                        author: m.author,
                        excerpt: excerpt(&m.body, ROW_EXCERPT_CHARS),
                        created_at: m.created_at,
                    }),
                    // Who else a conversation is with, and who works on it, is for staff.
                    customers: if staff {
                        customers.into_iter().map(|(id, name)| NamedCustomer { id, name }).collect()
                    } else {
                        vec![]
                    },
                    assignees: if staff { assignees } else { vec![] },
                }
            })
            .collect();
        self.metrics.viewed(started.elapsed());
        Ok(ViewPage { view, total: total.max(0) as usize, conversations, next: next.flatten() })
    }

    async fn available_views(&self, actor: Actor) -> AppResult<Vec<View>> {
        Ok(match actor {
            Actor::User { id, .. } => views::user_views(&self.store.preferences(id).await?),
            Actor::Customer { .. } => views::customer_views(),
        })
    }
}
