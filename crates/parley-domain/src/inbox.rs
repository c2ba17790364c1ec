//! A person's inbox (R20, R21, R26, R27): for each conversation they may see, the views it is in
//! as a set of bits, and how a change to that row moves their counts. Storage keeps one row per
//! person and conversation and asks these functions what it holds, so the rules of `access` and
//! `views` decide it, and nothing else.

use crate::access::{self, ConversationFacts, Relation};
use crate::entities::{ConversationState, Visibility};
use crate::ids::ProjectId;
use crate::party::AuthorKind;
use crate::preferences::Scope;
use crate::views::{in_view, ConversationSummary, Section, View};

impl View {
    /// The view's bit in an inbox row's set of views.
    pub fn bit(self) -> i64 {
        let index = View::ALL.iter().position(|v| *v == self).unwrap_or(0);
        1 << index
    }
}

/// The views named by a set of bits, in sidebar order.
pub fn views_in(bits: i64) -> impl Iterator<Item = View> {
    View::ALL.iter().copied().filter(move |v| bits & v.bit() != 0)
}

/// A person's standing in one conversation beyond who follows it: what the personal views ask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Involvement {
    /// Follows or takes part in the conversation or what it hangs off (`Relation::follows`).
    pub follows: bool,
    pub started_by_me: bool,
    pub wrote_in: bool,
    /// Someone else wrote a message with them in its audience.
    pub addressed_to_me: bool,
}

impl Involvement {
    const FOLLOWS: i64 = 1;
    const STARTED: i64 = 2;
    const WROTE: i64 = 4;
    const ADDRESSED: i64 = 8;

    /// As stored: one bit each. A row with none of them is in no personal view.
    pub fn bits(self) -> i64 {
        [(self.follows, Self::FOLLOWS), (self.started_by_me, Self::STARTED), (self.wrote_in, Self::WROTE)]
            .into_iter()
            .chain([(self.addressed_to_me, Self::ADDRESSED)])
            .filter(|(on, _)| *on)
            .map(|(_, bit)| bit)
            .sum()
    }

    pub fn from_bits(bits: i64) -> Self {
        Involvement {
            follows: bits & Self::FOLLOWS != 0,
            started_by_me: bits & Self::STARTED != 0,
            wrote_in: bits & Self::WROTE != 0,
            addressed_to_me: bits & Self::ADDRESSED != 0,
        }
    }
}

/// The facts of a conversation that every person's views share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedFacts {
    pub visibility: Visibility,
    pub state: ConversationState,
    pub last_author: Option<AuthorKind>,
}

fn summary(facts: SharedFacts, me: Involvement) -> ConversationSummary {
    ConversationSummary {
        visibility: facts.visibility,
        state: facts.state,
        last_author: facts.last_author,
        follows: me.follows,
        started_by_me: me.started_by_me,
        wrote_in: me.wrote_in,
        addressed_to_me: me.addressed_to_me,
    }
}

/// Every view a user may have, whatever their preferences show (R21 hides a section at reading).
fn user_views() -> impl Iterator<Item = View> {
    View::ALL.iter().copied().filter(|v| v.section() != Section::Portal)
}

/// The views of a conversation for a user, given that they may see it.
pub fn user_view_bits(facts: SharedFacts, me: Involvement) -> i64 {
    let s = summary(facts, me);
    user_views().filter(|v| in_view(*v, &s)).map(View::bit).sum()
}

/// The views of a conversation for a customer, given that they may see it.
pub fn customer_view_bits(facts: SharedFacts, me: Involvement) -> i64 {
    let s = summary(facts, me);
    crate::views::customer_views().into_iter().filter(|v| in_view(*v, &s)).map(View::bit).sum()
}

/// A user's inbox row for a conversation: `None` when they may not see it (R20). Whether they
/// belong to the conversation's project (directly or through a team) is `relation.project_follower`.
pub fn user_row_views(
    scope: Scope,
    project: Option<ProjectId>,
    facts: SharedFacts,
    relation: Relation,
    me: Involvement,
) -> Option<i64> {
    let followed: Vec<ProjectId> = project.filter(|_| relation.project_follower).into_iter().collect();
    let conv = ConversationFacts { visibility: facts.visibility, project_id: project };
    access::user_may_see(scope, &followed, conv, relation).then(|| user_view_bits(facts, me))
}

/// A customer's inbox row for a conversation: `None` when they may not see it (R7).
pub fn customer_row_views(
    project: Option<ProjectId>,
    facts: SharedFacts,
    relation: Relation,
    me: Involvement,
) -> Option<i64> {
    let conv = ConversationFacts { visibility: facts.visibility, project_id: project };
    access::customer_may_see(conv, relation).then(|| customer_view_bits(facts, me))
}

/// Where a view's conversations lie, so that storage can read a page of it without looking at
/// every row of the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Only conversations of this visibility in one of these states.
    Shared { visibility: Visibility, states: &'static [ConversationState] },
    /// Only conversations the person is involved in (an `Involvement` with a bit set).
    Involved,
}

/// Where the conversations of `view` lie (proven against `in_view` by the tests below).
pub fn reach(view: View) -> Reach {
    const OPEN: &[ConversationState] = &[ConversationState::Open];
    const ENDED: &[ConversationState] = &[ConversationState::Closed, ConversationState::Locked];
    match view {
        View::OpenWithCustomers | View::Unanswered | View::PortalOpen => {
            Reach::Shared { visibility: Visibility::Public, states: OPEN }
        }
        View::ClosedWithCustomers | View::PortalClosed => {
            Reach::Shared { visibility: Visibility::Public, states: ENDED }
        }
        View::CustomerReplies | View::InternalInbox | View::InternalSent | View::AllClosed => Reach::Involved,
    }
}

/// What an inbox row contributes to its person's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub views: i64,
    pub unread: bool,
}

/// How replacing one inbox row (`None`: no row) moves its person's counts: for each view that
/// moved, the change of its total and of its unread count.
pub fn count_changes(before: Option<Counted>, after: Option<Counted>) -> Vec<(View, i64, i64)> {
    let part = |c: Option<Counted>, v: View| match c {
        Some(c) if c.views & v.bit() != 0 => (1, i64::from(c.unread)),
        _ => (0, 0),
    };
    View::ALL
        .iter()
        .filter_map(|v| {
            let (t0, u0) = part(before, *v);
            let (t1, u1) = part(after, *v);
            (t0 != t1 || u0 != u1).then_some((*v, t1 - t0, u1 - u0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(visibility: Visibility, state: ConversationState, last: Option<AuthorKind>) -> SharedFacts {
        SharedFacts { visibility, state, last_author: last }
    }

    #[test]
    fn r26_bits_follow_the_view_rules() {
        let open = facts(Visibility::Public, ConversationState::Open, Some(AuthorKind::Customer));
        let bits = user_view_bits(open, Involvement::default());
        let views: Vec<View> = views_in(bits).collect();
        assert_eq!(views, vec![View::OpenWithCustomers, View::Unanswered]);
        let follows = Involvement { follows: true, ..Default::default() };
        assert!(views_in(user_view_bits(open, follows)).any(|v| v == View::CustomerReplies));
        let portal: Vec<View> = views_in(customer_view_bits(open, follows)).collect();
        assert_eq!(portal, vec![View::PortalOpen]);
    }

    #[test]
    fn r20_no_row_for_what_a_user_may_not_see() {
        let internal = facts(Visibility::Internal, ConversationState::Open, None);
        let none = Relation::default();
        let me = Involvement::default();
        let member = Relation { project_follower: true, ..none };
        assert_eq!(user_row_views(Scope::AllProjects, None, internal, none, me), None);
        assert!(user_row_views(Scope::AllProjects, Some(ProjectId(1)), internal, none, me).is_some());
        assert_eq!(user_row_views(Scope::FollowedProjects, Some(ProjectId(1)), internal, none, me), None);
        assert!(user_row_views(Scope::FollowedProjects, Some(ProjectId(1)), internal, member, me).is_some());
        assert_eq!(customer_row_views(Some(ProjectId(1)), internal, Relation { participant: true, ..none }, me), None);
    }

    #[test]
    fn r26_r27_every_conversation_of_a_view_lies_where_its_reach_says() {
        let authors = [None, Some(AuthorKind::Customer), Some(AuthorKind::User), Some(AuthorKind::Bot)];
        for visibility in Visibility::ALL {
            for state in ConversationState::ALL {
                for last_author in authors {
                    for bits in 0..16 {
                        let facts = SharedFacts { visibility: *visibility, state: *state, last_author };
                        let me = Involvement::from_bits(bits);
                        let s = summary(facts, me);
                        for view in View::ALL.iter().copied().filter(|v| in_view(*v, &s)) {
                            match reach(view) {
                                Reach::Shared { visibility: v, states } => {
                                    assert!(v == *visibility && states.contains(state), "{view:?} {s:?}")
                                }
                                Reach::Involved => assert_ne!(bits, 0, "{view:?} {s:?}"),
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn involvement_bits_round_trip() {
        for bits in 0..16 {
            assert_eq!(Involvement::from_bits(bits).bits(), bits);
        }
    }

    #[test]
    fn r27_count_changes_move_only_what_changed() {
        let a = Counted { views: View::OpenWithCustomers.bit() | View::Unanswered.bit(), unread: false };
        let b = Counted { views: View::OpenWithCustomers.bit(), unread: true };
        assert_eq!(count_changes(Some(a), Some(b)), vec![(View::OpenWithCustomers, 0, 1), (View::Unanswered, -1, 0)]);
        assert_eq!(count_changes(None, Some(b)), vec![(View::OpenWithCustomers, 1, 1)]);
        assert_eq!(count_changes(Some(b), None), vec![(View::OpenWithCustomers, -1, -1)]);
        assert!(count_changes(Some(a), Some(a)).is_empty());
    }
}
