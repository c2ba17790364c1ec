//! R42: a new conversation from a customer always reaches someone. Out of the box it is assigned
//! round-robin to an available user who may see it, does not ask for "no customer messages" and
//! has fewer open conversations than the cap; by company setting it goes to everyone who may see
//! it instead. While no one takes part, the users who ask for all customer messages (R10) hear of
//! it, and when even they are none, the admins (see `audience`).

use crate::access::{user_may_see, ConversationFacts, Relation};
use crate::entities::{str_enum, UserProfile};
use crate::ids::UserId;
use crate::preferences::CustomerMessages;

str_enum!(
    /// R42: how a new conversation from a customer finds its people.
    Routing { RoundRobin => "round_robin", Everyone => "everyone" }
);

// `str_enum!` takes no attributes on its variants, so the default is written out.
#[allow(clippy::derivable_impls)]
impl Default for Routing {
    fn default() -> Self {
        Routing::RoundRobin
    }
}

/// Open conversations a user is assigned before round-robin passes them by, out of the box.
pub const DEFAULT_CAP: i64 = 10;
/// The highest cap an admin may set.
pub const MAX_CAP: i64 = 1_000;

/// How long after its last sign of life a connection still counts: a node tells the store about
/// its connected users every [`CONNECTED_EVERY_MS`], so a user stays available through one missed
/// beat, and a node that died stops counting within this.
pub const CONNECTED_FOR_MS: i64 = 30_000;
/// How often a node tells the store which users are connected to it.
pub const CONNECTED_EVERY_MS: i64 = 10_000;

/// The users a new conversation may be routed to, or reach under "everyone": active, the
/// conversation within what they may see (R20, R37), and not asking for "no customer messages".
pub fn eligible(profiles: &[UserProfile], conversation: ConversationFacts) -> Vec<UserId> {
    let mut ids: Vec<UserId> = profiles
        .iter()
        .filter(|p| p.active && p.preferences.customer_messages != CustomerMessages::None)
        .filter(|p| user_may_see(p.preferences.scope, &p.followed_projects, conversation, Relation::default()))
        .map(|p| p.id)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// One eligible user as round-robin weighs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub user: UserId,
    /// Connected now and not set "away".
    pub available: bool,
    /// Open conversations assigned to them.
    pub open: i64,
}

/// Round-robin: the first available candidate under the cap after the one routed to last
/// (`after`), in id order, coming round to the start. `None` when nobody is available with room.
pub fn next(candidates: &[Candidate], cap: i64, after: Option<UserId>) -> Option<UserId> {
    let mut ordered: Vec<&Candidate> = candidates.iter().filter(|c| c.available && c.open < cap).collect();
    ordered.sort_by_key(|c| c.user);
    let later = ordered.iter().find(|c| after.is_none_or(|a| c.user > a));
    later.or(ordered.first()).map(|c| c.user)
}

/// Whether a user counts as available at `now`: connected within [`CONNECTED_FOR_MS`] and not
/// away.
pub fn available(away: bool, connected_at: Option<i64>, now: i64) -> bool {
    !away && connected_at.is_some_and(|at| now.saturating_sub(at) <= CONNECTED_FOR_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::Visibility;
    use crate::ids::ProjectId;
    use crate::preferences::{Preferences, Scope};

    fn c(user: i64, available: bool, open: i64) -> Candidate {
        Candidate { user: UserId(user), available, open }
    }

    #[test]
    fn r42_round_robin_goes_round_in_id_order() {
        let all = [c(3, true, 0), c(1, true, 0), c(2, true, 0)];
        let mut after = None;
        let mut order = Vec::new();
        for _ in 0..4 {
            after = next(&all, DEFAULT_CAP, after);
            order.push(after.unwrap().0);
        }
        assert_eq!(order, vec![1, 2, 3, 1]);
    }

    #[test]
    fn r42_round_robin_skips_the_away_the_disconnected_and_the_full() {
        let all = [c(1, false, 0), c(2, true, 10), c(3, true, 9)];
        assert_eq!(next(&all, 10, None), Some(UserId(3)));
        assert_eq!(next(&all, 10, Some(UserId(3))), Some(UserId(3)), "round again to the only one");
        assert_eq!(next(&[c(1, false, 0), c(2, true, 10)], 10, None), None, "nobody: the fallback");
        assert_eq!(next(&[], 10, None), None);
    }

    #[test]
    fn r42_available_means_connected_lately_and_not_away() {
        assert!(available(false, Some(1_000), 1_000 + CONNECTED_FOR_MS));
        assert!(!available(false, Some(1_000), 1_001 + CONNECTED_FOR_MS));
        assert!(!available(true, Some(1_000), 1_000));
        assert!(!available(false, None, 1_000));
    }

    #[test]
    fn r42_eligible_are_active_in_scope_and_not_asking_for_none() {
        let p = |id: i64, f: &dyn Fn(&mut UserProfile)| {
            let mut profile = UserProfile {
                id: UserId(id),
                active: true,
                preferences: Preferences::default(),
                followed_projects: vec![],
            };
            f(&mut profile);
            profile
        };
        let profiles = [
            p(1, &|_| {}),
            p(2, &|p| p.active = false),
            p(3, &|p| p.preferences.customer_messages = CustomerMessages::None),
            p(4, &|p| p.preferences.scope = Scope::FollowedProjects),
            p(5, &|p| {
                p.preferences.scope = Scope::FollowedProjects;
                p.followed_projects = vec![ProjectId(7)];
            }),
            p(6, &|p| p.preferences.customer_messages = CustomerMessages::All),
        ];
        let chat = ConversationFacts { visibility: Visibility::Public, project_id: None };
        assert_eq!(eligible(&profiles, chat), vec![UserId(1), UserId(6)]);
        let ticket = ConversationFacts { visibility: Visibility::Public, project_id: Some(ProjectId(7)) };
        assert_eq!(eligible(&profiles, ticket), vec![UserId(1), UserId(5), UserId(6)]);
    }
}
