//! The messenger's sections and views (R21, R26, R27) as predicates over a conversation summary
//! seen from one person. Candidates are first limited to what that person may see (`access`); a
//! view then only sorts them into place.

use crate::entities::{str_enum, ConversationState, Visibility};
use crate::party::AuthorKind;
use crate::preferences::Preferences;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

str_enum!(
    /// A messenger view.
    View {
        OpenWithCustomers => "open_with_customers",
        Unanswered => "unanswered",
        ClosedWithCustomers => "closed_with_customers",
        CustomerReplies => "customer_replies",
        InternalInbox => "internal_inbox",
        InternalSent => "internal_sent",
        AllClosed => "all_closed",
        PortalOpen => "portal_open",
        PortalClosed => "portal_closed",
    }
);

str_enum!(
    /// A group of views in the messenger's sidebar.
    Section { FromCustomers => "from_customers", MyConversations => "my_conversations", Portal => "portal" }
);

impl View {
    pub fn section(self) -> Section {
        match self {
            View::OpenWithCustomers | View::Unanswered | View::ClosedWithCustomers => Section::FromCustomers,
            View::CustomerReplies | View::InternalInbox | View::InternalSent | View::AllClosed => {
                Section::MyConversations
            }
            View::PortalOpen | View::PortalClosed => Section::Portal,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            View::OpenWithCustomers => "Open conversations",
            View::Unanswered => "Unanswered",
            View::ClosedWithCustomers => "Closed conversations",
            View::CustomerReplies => "Customer replies",
            View::InternalInbox => "Internal inbox",
            View::InternalSent => "Internal sent",
            View::AllClosed => "All closed",
            View::PortalOpen => "Open",
            View::PortalClosed => "Closed",
        }
    }
}

/// One conversation as seen by the person asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationSummary {
    pub visibility: Visibility,
    pub state: ConversationState,
    /// Who wrote the latest message, if any.
    pub last_author: Option<AuthorKind>,
    /// Follows or takes part in the conversation or its item.
    pub follows: bool,
    pub started_by_me: bool,
    pub wrote_in: bool,
    /// Someone else wrote a message with me in its audience.
    pub addressed_to_me: bool,
}

/// R21: the views a user sees; "From customers" only when their preference shows it.
pub fn user_views(preferences: &Preferences) -> Vec<View> {
    View::ALL
        .iter()
        .copied()
        .filter(|v| match v.section() {
            Section::FromCustomers => preferences.show_from_customers,
            Section::MyConversations => true,
            Section::Portal => false,
        })
        .collect()
}

/// The views a customer sees in the portal.
pub fn customer_views() -> Vec<View> {
    vec![View::PortalOpen, View::PortalClosed]
}

/// R26–R27: does the conversation belong in the view?
pub fn in_view(view: View, c: &ConversationSummary) -> bool {
    let public = c.visibility == Visibility::Public;
    let open = c.state == ConversationState::Open;
    match view {
        View::OpenWithCustomers => public && open,
        View::Unanswered => public && open && c.last_author == Some(AuthorKind::Customer),
        View::ClosedWithCustomers => public && !open,
        View::CustomerReplies => public && open && c.follows,
        View::InternalInbox => !public && open && c.addressed_to_me,
        View::InternalSent => !public && open && (c.started_by_me || c.wrote_in),
        View::AllClosed => !open && (c.follows || c.started_by_me || c.wrote_in),
        View::PortalOpen => public && open,
        View::PortalClosed => public && !open,
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;

    fn summary(visibility: Visibility, state: ConversationState) -> ConversationSummary {
        ConversationSummary {
            visibility,
            state,
            last_author: None,
            follows: false,
            started_by_me: false,
            wrote_in: false,
            addressed_to_me: false,
        }
    }

    #[test]
    fn r21_from_customers_section_hidden_when_turned_off() {
        let mut p = Preferences::default();
        assert!(user_views(&p).contains(&View::OpenWithCustomers));
        p.show_from_customers = false;
        let views = user_views(&p);
        assert!(views.iter().all(|v| v.section() == Section::MyConversations), "{views:?}");
        assert!(views.contains(&View::CustomerReplies));
    }

    #[test]
    fn r26_from_customers_open_unanswered_closed() {
        let mut c = summary(Visibility::Public, ConversationState::Open);
        assert!(in_view(View::OpenWithCustomers, &c));
        assert!(!in_view(View::Unanswered, &c));
        c.last_author = Some(AuthorKind::Customer);
        assert!(in_view(View::Unanswered, &c));
        c.last_author = Some(AuthorKind::User);
        assert!(!in_view(View::Unanswered, &c));
        c.state = ConversationState::Closed;
        assert!(in_view(View::ClosedWithCustomers, &c) && !in_view(View::OpenWithCustomers, &c));
        let internal = summary(Visibility::Internal, ConversationState::Open);
        assert!(!in_view(View::OpenWithCustomers, &internal) && !in_view(View::Unanswered, &internal));
    }

    #[test]
    fn r27_my_conversations_views() {
        let mut public = summary(Visibility::Public, ConversationState::Open);
        assert!(!in_view(View::CustomerReplies, &public));
        public.follows = true;
        assert!(in_view(View::CustomerReplies, &public));

        let mut internal = summary(Visibility::Internal, ConversationState::Open);
        assert!(!in_view(View::InternalInbox, &internal) && !in_view(View::InternalSent, &internal));
        internal.addressed_to_me = true;
        assert!(in_view(View::InternalInbox, &internal));
        internal.wrote_in = true;
        assert!(in_view(View::InternalSent, &internal));
        internal.state = ConversationState::Locked;
        assert!(in_view(View::AllClosed, &internal) && !in_view(View::InternalInbox, &internal));
    }
}
