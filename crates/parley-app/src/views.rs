//! The messenger's views for the asking person (R21, R26, R27): which exist, their unread counts,
//! and their conversations sorted by latest activity.

use crate::{Actor, App, AppError, AppResult};
use parley_domain::access::ConversationFacts;
use parley_domain::views::{self, ConversationSummary, Section, View};
use parley_domain::ConversationHeader;
use parley_store::ConversationRow;
use serde::Serialize;

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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ViewedConversation {
    #[serde(flatten)]
    pub conversation: ConversationHeader,
    /// Messages the asker has not read.
    pub unread: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ViewPage {
    pub view: View,
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    pub conversations: Vec<ViewedConversation>,
}

impl App {
    /// The views the asker sees, each with its counts.
    pub async fn views(&self, actor: Actor) -> AppResult<Vec<ViewCount>> {
        let (available, rows) = self.visible_rows(actor).await?;
        Ok(available
            .into_iter()
            .map(|view| {
                let in_view: Vec<&(ConversationRow, ConversationSummary)> =
                    rows.iter().filter(|(_, s)| views::in_view(view, s)).collect();
                ViewCount {
                    view,
                    section: view.section(),
                    title: view.title(),
                    total: in_view.len(),
                    unread: in_view.iter().filter(|(r, _)| unread(r) > 0).count(),
                }
            })
            .collect())
    }

    /// One page (from 1) of a view.
    pub async fn view(&self, actor: Actor, view: View, page: usize, per_page: usize) -> AppResult<ViewPage> {
        if page == 0 || !(1..=100).contains(&per_page) {
            return Err(parley_domain::ValidationError::new("page", "page starts at 1; per_page is 1 to 100").into());
        }
        let (available, rows) = self.visible_rows(actor).await?;
        if !available.contains(&view) {
            return Err(AppError::NotFound("view"));
        }
        let matching: Vec<ViewedConversation> = rows
            .into_iter()
            .filter(|(_, s)| views::in_view(view, s))
            .map(|(r, _)| ViewedConversation { unread: unread(&r), conversation: r.conversation })
            .collect();
        let total = matching.len();
        let conversations = matching.into_iter().skip((page - 1) * per_page).take(per_page).collect();
        Ok(ViewPage { view, total, page, per_page, conversations })
    }

    /// The asker's views and the conversations they may see, newest activity first.
    async fn visible_rows(&self, actor: Actor) -> AppResult<(Vec<View>, Vec<(ConversationRow, ConversationSummary)>)> {
        let (available, rows) = match actor {
            Actor::User { id, .. } => {
                let profile = self.store.user_profile(id).await?;
                let rows = self.store.conversation_rows_for_user(id).await?;
                let visible = rows
                    .into_iter()
                    .filter(|r| {
                        parley_domain::access::user_may_see(
                            profile.preferences.scope,
                            &profile.followed_projects,
                            facts(r),
                            r.relation,
                        )
                    })
                    .collect::<Vec<_>>();
                (views::user_views(&profile.preferences), visible)
            }
            Actor::Customer { id } => {
                let rows = self.store.conversation_rows_for_customer(id, self.now()).await?;
                let visible = rows
                    .into_iter()
                    .filter(|r| parley_domain::access::customer_may_see(facts(r), r.relation))
                    .collect();
                (views::customer_views(), visible)
            }
        };
        let rows = rows
            .into_iter()
            .map(|r| {
                let s = summary(&r);
                (r, s)
            })
            .collect();
        Ok((available, rows))
    }
}

fn facts(r: &ConversationRow) -> ConversationFacts {
    ConversationFacts { visibility: r.conversation.visibility, project_id: r.conversation.project_id }
}

fn summary(r: &ConversationRow) -> ConversationSummary {
    ConversationSummary {
        visibility: r.conversation.visibility,
        state: r.conversation.state,
        last_author: r.last_author,
        follows: r.relation.follows(),
        started_by_me: r.started_by_me,
        wrote_in: r.wrote_in,
        addressed_to_me: r.addressed_to_me,
    }
}

fn unread(r: &ConversationRow) -> i64 {
    r.unread
}
