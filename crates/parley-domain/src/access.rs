//! Who may see what (R7, R20, R37): a conversation, a project, an item. Every answer is "not
//! found" to the asker when false, so the existence of what is outside their reach is never
//! disclosed. Every route, socket event and email path asks these functions, and nothing else.

use crate::entities::Visibility;
use crate::ids::ProjectId;
use crate::party::Party;
use crate::preferences::Scope;

/// The facts about a conversation that decide access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationFacts {
    pub visibility: Visibility,
    /// The project of the linked item or the linked project; `None` when independent.
    pub project_id: Option<ProjectId>,
}

/// How one person stands to one conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relation {
    /// Added as a participant (R4): part of who the conversation is with.
    pub participant: bool,
    pub conversation_follower: bool,
    /// Follower or requester of the linked item, or follower of the linked project.
    pub item_follower: bool,
    /// Follower of the conversation's project (for a customer: directly or via their organization).
    pub project_follower: bool,
    /// R41: a user who wrote in the conversation takes part in it. It counts as following for
    /// notifications and views, never for access.
    pub taking_part: bool,
}

impl Relation {
    /// Follows or takes part in the conversation or what it hangs off: "my conversations" (R22,
    /// R23, R27, R41).
    pub fn follows(self) -> bool {
        self.grants_access() || self.taking_part
    }

    /// Someone with access put them there: they follow the conversation or what it hangs off, or
    /// were added as a participant. Taking part by writing is not among them (R41), so a
    /// narrowed scope still removes what a user only wrote in.
    pub fn grants_access(self) -> bool {
        self.participant || self.conversation_follower || self.item_follower
    }
}

/// R20, R37: whether a project lies within a user's scope. This decides the project itself, its
/// member and follower lists, its item list and its items (unless the user follows the item).
pub fn project_in_scope(scope: Scope, followed_projects: &[ProjectId], project: ProjectId) -> bool {
    match scope {
        Scope::AllProjects => true,
        Scope::FollowedProjects => followed_projects.contains(&project),
    }
}

/// R37: a user sees an item of a project within their scope, or one they follow or are assigned
/// to (someone with access put them there). Adding oneself needs access first, so this cannot be
/// used to step outside one's scope.
pub fn user_may_see_item(
    scope: Scope,
    followed_projects: &[ProjectId],
    project: ProjectId,
    follows_item: bool,
) -> bool {
    follows_item || project_in_scope(scope, followed_projects, project)
}

/// R20: a user sees a conversation they follow or take part in; otherwise one linked to a project
/// within their scope; otherwise, with scope "all projects", an independent public one (a chat with
/// customers). Independent internal conversations are private to their participants and followers.
pub fn user_may_see(scope: Scope, followed_projects: &[ProjectId], conv: ConversationFacts, rel: Relation) -> bool {
    if rel.grants_access() {
        return true;
    }
    match (conv.project_id, scope) {
        (Some(p), _) => rel.project_follower || project_in_scope(scope, followed_projects, p),
        (None, Scope::AllProjects) => conv.visibility == Visibility::Public,
        (None, Scope::FollowedProjects) => false,
    }
}

/// R7: a customer sees only public conversations they follow or take part in, or that belong to a
/// project shared with them.
pub fn customer_may_see(conv: ConversationFacts, rel: Relation) -> bool {
    conv.visibility == Visibility::Public && (rel.grants_access() || rel.project_follower)
}

/// The facts about one message that decide who of those seeing its conversation may read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageFacts {
    pub visibility: Visibility,
    /// R33: held from customers until then.
    pub held_until: Option<i64>,
    /// Undone by its author: nobody reads it any more.
    pub withdrawn: bool,
}

/// R7, R33: whether someone who sees a message's conversation may read the message (and its
/// files) at `now`: users every message not withdrawn, customers the public ones released by then.
pub fn may_read_message(asker: Party, m: MessageFacts, now: i64) -> bool {
    if m.withdrawn {
        return false;
    }
    match asker {
        Party::User(_) => true,
        Party::Customer(_) => m.visibility == Visibility::Public && m.held_until.is_none_or(|t| t <= now),
    }
}

/// Whether someone who sees a conversation may fetch a file uploaded into it: a file still
/// unsent only its uploader, a sent one whoever may read its message (R7, R33).
pub fn may_fetch_attachment(asker: Party, uploader: Party, message: Option<MessageFacts>, now: i64) -> bool {
    match message {
        None => asker == uploader,
        Some(m) => may_read_message(asker, m, now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P1: ProjectId = ProjectId(1);
    const P2: ProjectId = ProjectId(2);

    fn conv(visibility: Visibility, project_id: Option<ProjectId>) -> ConversationFacts {
        ConversationFacts { visibility, project_id }
    }

    fn every_relation() -> Vec<Relation> {
        (0..32)
            .map(|bits| Relation {
                participant: bits & 1 != 0,
                conversation_follower: bits & 2 != 0,
                item_follower: bits & 4 != 0,
                project_follower: bits & 8 != 0,
                taking_part: bits & 16 != 0,
            })
            .collect()
    }

    #[test]
    fn r7_customer_never_sees_an_internal_conversation() {
        for rel in every_relation() {
            for project in [None, Some(P1)] {
                assert!(!customer_may_see(conv(Visibility::Internal, project), rel));
            }
        }
    }

    #[test]
    fn r7_customer_sees_public_conversations_they_are_part_of() {
        let none = Relation::default();
        assert!(!customer_may_see(conv(Visibility::Public, Some(P1)), none));
        for rel in every_relation().into_iter().filter(|r| *r != none) {
            let placed = Relation { taking_part: false, ..rel } != none;
            assert_eq!(customer_may_see(conv(Visibility::Public, Some(P1)), rel), placed, "{rel:?}");
        }
    }

    #[test]
    fn r41_taking_part_counts_as_mine_and_grants_no_access() {
        let writer = Relation { taking_part: true, ..Relation::default() };
        assert!(writer.follows(), "my conversations count what I wrote in");
        for v in Visibility::ALL {
            for project in [None, Some(P2)] {
                let c = conv(*v, project);
                assert!(!user_may_see(Scope::FollowedProjects, &[P1], c, writer), "{c:?}");
                assert_eq!(
                    user_may_see(Scope::AllProjects, &[], c, writer),
                    user_may_see(Scope::AllProjects, &[], c, Relation::default()),
                    "{c:?}"
                );
            }
        }
        for rel in every_relation() {
            let without = Relation { taking_part: false, ..rel };
            for c in [conv(Visibility::Public, Some(P2)), conv(Visibility::Internal, None)] {
                assert_eq!(
                    user_may_see(Scope::FollowedProjects, &[P1], c, rel),
                    user_may_see(Scope::FollowedProjects, &[P1], c, without)
                );
            }
        }
    }

    #[test]
    fn r20_all_projects_scope_sees_every_linked_conversation() {
        for v in Visibility::ALL {
            assert!(user_may_see(Scope::AllProjects, &[], conv(*v, Some(P1)), Relation::default()));
        }
    }

    #[test]
    fn r20_followed_projects_scope_sees_only_followed_projects() {
        let s = Scope::FollowedProjects;
        let none = Relation::default();
        assert!(user_may_see(s, &[P1], conv(Visibility::Public, Some(P1)), none));
        assert!(!user_may_see(s, &[P1], conv(Visibility::Public, Some(P2)), none));
        assert!(!user_may_see(s, &[P1], conv(Visibility::Public, None), none));
        let follower = Relation { conversation_follower: true, ..none };
        assert!(user_may_see(s, &[], conv(Visibility::Internal, Some(P2)), follower));
    }

    #[test]
    fn r37_projects_and_items_outside_a_limited_scope_do_not_exist() {
        let s = Scope::FollowedProjects;
        assert!(project_in_scope(s, &[P1], P1));
        assert!(!project_in_scope(s, &[P1], P2));
        assert!(project_in_scope(Scope::AllProjects, &[], P2));
        assert!(!user_may_see_item(s, &[P1], P2, false));
        assert!(user_may_see_item(s, &[P1], P2, true), "assigned or following: theirs to see");
        assert!(user_may_see_item(s, &[P1], P1, false));
    }

    #[test]
    fn r20_independent_internal_conversations_are_private_to_their_people() {
        let none = Relation::default();
        assert!(!user_may_see(Scope::AllProjects, &[P1], conv(Visibility::Internal, None), none));
        let participant = Relation { participant: true, ..none };
        assert!(user_may_see(Scope::FollowedProjects, &[], conv(Visibility::Internal, None), participant));
    }

    #[test]
    fn r7_r33_a_customer_reads_only_public_released_messages_and_their_files() {
        use crate::ids::{CustomerId, UserId};
        let (user, customer, other) =
            (Party::User(UserId(1)), Party::Customer(CustomerId(2)), Party::Customer(CustomerId(3)));
        let now = 1_000;
        for visibility in [Visibility::Public, Visibility::Internal] {
            for held_until in [None, Some(now), Some(now + 1)] {
                for withdrawn in [false, true] {
                    let m = MessageFacts { visibility, held_until, withdrawn };
                    let customer_reads = !withdrawn && visibility == Visibility::Public && held_until != Some(now + 1);
                    assert_eq!(may_read_message(customer, m, now), customer_reads, "{m:?}");
                    assert_eq!(may_read_message(user, m, now), !withdrawn, "{m:?}");
                    for asker in [user, customer, other] {
                        assert_eq!(
                            may_fetch_attachment(asker, customer, Some(m), now),
                            may_read_message(asker, m, now)
                        );
                    }
                }
            }
        }
        // An upload not sent yet is its uploader's alone, staff included.
        assert!(may_fetch_attachment(customer, customer, None, now));
        assert!(!may_fetch_attachment(other, customer, None, now));
        assert!(!may_fetch_attachment(user, customer, None, now));
    }
}
