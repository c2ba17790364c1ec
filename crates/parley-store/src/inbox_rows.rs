//! The arithmetic of the stored inboxes, shared by the backends: which rows a write changes and by
//! how much each person's per-view counts move. Which views a row is in is decided by
//! `parley_domain::inbox`; this module turns facts into row changes, and the backends read the
//! facts and write the changes.

use crate::records::ConversationRow;
use crate::TallyChange;
use parley_domain::inbox::{self, Counted, Involvement, SharedFacts};
use parley_domain::views::View;
use parley_domain::Party;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One inbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Entry {
    pub views: i64,
    pub involvement: i64,
    pub message_count: i64,
    pub unread: i64,
    pub activity_at: i64,
}

impl Entry {
    fn counted(self) -> Counted {
        Counted { views: self.views, unread: self.unread > 0 }
    }
}

/// A row's conversation and person.
pub type Key = (i64, Party);

/// An inbox row to write, and whether its involvement is new or changed: only those statements set
/// `involvement`, which the partial index `inbox_involved` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upsert {
    pub key: Key,
    pub entry: Entry,
    pub involvement_changed: bool,
}

/// Changes to the counts, summed per person and view.
#[derive(Debug, Default)]
pub struct CountChanges(HashMap<(Party, View), (i64, i64)>);

impl CountChanges {
    /// Adds what a row's change (`None`: no row) does to its person's counts.
    pub fn add(&mut self, party: Party, before: Option<Entry>, after: Option<Entry>) {
        for (view, total, unread) in inbox::count_changes(before.map(Entry::counted), after.map(Entry::counted)) {
            let e = self.0.entry((party, view)).or_default();
            e.0 += total;
            e.1 += unread;
        }
    }

    /// The changes that move something, as (person, view, total, unread), in the one order every
    /// write uses: two writes changing the same people's counts then never wait on each other in
    /// a circle.
    pub fn in_lock_order(self) -> Vec<(Party, View, i64, i64)> {
        let mut changes: Vec<_> =
            self.0.into_iter().filter(|(_, d)| *d != (0, 0)).map(|((p, v), (t, u))| (p, v, t, u)).collect();
        changes.sort_unstable_by_key(|(party, view, ..)| (party.kind_str(), party.raw_id(), view.as_str()));
        changes
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The counts a write transaction changes, summed while it runs, and their new values once
/// written (announced when it commits).
#[derive(Debug, Default)]
pub struct Tallies {
    pub pending: CountChanges,
    pub written: Vec<TallyChange>,
}

/// What writing `wanted` over `existing` (rows of the same people and conversations) takes: the
/// rows that changed or are new, the rows that went; their effect is added to `counts`.
pub fn settle(
    existing: &BTreeMap<Key, Entry>,
    wanted: &BTreeMap<Key, Entry>,
    counts: &mut CountChanges,
) -> (Vec<Upsert>, Vec<Key>) {
    let mut upserts = Vec::new();
    for (key, after) in wanted {
        let before = existing.get(key).copied();
        if before != Some(*after) {
            counts.add(key.1, before, Some(*after));
            let involvement_changed = before.is_none_or(|b| b.involvement != after.involvement);
            upserts.push(Upsert { key: *key, entry: *after, involvement_changed });
        }
    }
    let mut deletes = Vec::new();
    for (key, before) in existing {
        if !wanted.contains_key(key) {
            counts.add(key.1, Some(*before), None);
            deletes.push(*key);
        }
    }
    (upserts, deletes)
}

/// The facts every row of a conversation shares.
pub fn shared(r: &ConversationRow) -> SharedFacts {
    SharedFacts { visibility: r.conversation.visibility, state: r.conversation.state, last_author: r.last_author }
}

/// How the person of a row stands to its conversation.
pub fn involvement(r: &ConversationRow) -> Involvement {
    Involvement {
        follows: r.relation.follows(),
        started_by_me: r.started_by_me,
        wrote_in: r.wrote_in,
        addressed_to_me: r.addressed_to_me,
    }
}

/// The row the facts call for, if the person may see the conversation (`views` is `None` when
/// they may not).
pub fn wanted_entry(r: &ConversationRow, views: Option<i64>) -> Option<Entry> {
    Some(Entry {
        views: views?,
        involvement: involvement(r).bits(),
        message_count: r.conversation.message_count,
        unread: r.unread,
        activity_at: r.conversation.last_activity_at,
    })
}

/// A message just stored, as the inbox rows of its conversation see it.
pub struct Posted<'a> {
    /// The conversation's facts after the post.
    pub facts: SharedFacts,
    pub at: i64,
    /// The author has read their own message.
    pub author: Option<Party>,
    /// Whether customers may read it now (public and not held).
    pub customers_see: bool,
    pub recipients: &'a [Party],
}

/// Every row of one conversation moved by a post (`posted`) or a change of its facts: counts and
/// time, whom it addressed, and the views, recomputed from each row's stored involvement and the
/// conversation's new `facts`. Rows of `skip` are left alone (the caller recomputes them). Answers
/// the rows that changed; their effect is added to `counts`.
pub fn restamp(
    existing: &BTreeMap<Key, Entry>,
    facts: SharedFacts,
    posted: Option<&Posted<'_>>,
    skip: &BTreeSet<Party>,
    counts: &mut CountChanges,
) -> Vec<Upsert> {
    let mut upserts = Vec::new();
    for (key, before) in existing {
        let party = key.1;
        if skip.contains(&party) {
            continue;
        }
        let mut after = *before;
        if let Some(p) = posted {
            let wrote = p.author == Some(party);
            if !party.is_customer() || p.customers_see || wrote {
                after.message_count += 1;
                after.unread += 1;
                after.activity_at = after.activity_at.max(p.at);
            }
            if wrote {
                // Their position moved to their own message, the latest.
                after.unread = 0;
                // R41: a user who writes takes part, which counts as following.
                let follows = !party.is_customer();
                after.involvement |= Involvement { wrote_in: true, follows, ..Default::default() }.bits();
            }
            if p.recipients.contains(&party) {
                after.involvement |= Involvement { addressed_to_me: true, ..Default::default() }.bits();
            }
        }
        let me = Involvement::from_bits(after.involvement);
        after.views =
            if party.is_customer() { inbox::customer_view_bits(facts, me) } else { inbox::user_view_bits(facts, me) };
        if after != *before {
            counts.add(party, Some(*before), Some(after));
            upserts.push(Upsert {
                key: *key,
                entry: after,
                involvement_changed: after.involvement != before.involvement,
            });
        }
    }
    upserts
}

#[cfg(test)]
mod tests {
    use super::*;
    use parley_domain::{AuthorKind, ConversationState, CustomerId, UserId, Visibility};

    const ANN: Party = Party::User(UserId(1));
    const BEN: Party = Party::User(UserId(2));
    const CARLA: Party = Party::Customer(CustomerId(3));

    fn open_public() -> SharedFacts {
        SharedFacts { visibility: Visibility::Public, state: ConversationState::Open, last_author: None }
    }

    /// Rows of conversation 7 as the facts call for them before anything was posted.
    fn rows(people: &[Party]) -> BTreeMap<Key, Entry> {
        let facts = open_public();
        people
            .iter()
            .map(|&p| {
                let me = Involvement { follows: true, ..Default::default() };
                let views = if p.is_customer() {
                    inbox::customer_view_bits(facts, me)
                } else {
                    inbox::user_view_bits(facts, me)
                };
                ((7, p), Entry { views, involvement: me.bits(), ..Default::default() })
            })
            .collect()
    }

    fn after(upserts: &[Upsert], party: Party) -> Entry {
        upserts.iter().find(|u| u.key.1 == party).map(|u| u.entry).expect("a changed row")
    }

    #[test]
    fn r41_a_user_who_writes_takes_part_and_the_conversation_is_among_theirs() {
        let facts = open_public();
        let onlooker = Involvement::default();
        let row = Entry { views: inbox::user_view_bits(facts, onlooker), ..Default::default() };
        let existing = BTreeMap::from([((7, ANN), row), ((7, CARLA), row)]);
        let posted = Posted { facts, at: 50, author: Some(ANN), customers_see: true, recipients: &[] };
        let upserts = restamp(&existing, facts, Some(&posted), &BTreeSet::new(), &mut CountChanges::default());
        let ann = after(&upserts, ANN);
        assert!(Involvement::from_bits(ann.involvement).follows);
        assert!(inbox::views_in(ann.views).any(|v| v == View::CustomerReplies));
        let posted = Posted { author: Some(CARLA), ..posted };
        let upserts = restamp(&existing, facts, Some(&posted), &BTreeSet::new(), &mut CountChanges::default());
        assert!(
            !Involvement::from_bits(after(&upserts, CARLA).involvement).follows,
            "customers are placed, not taking part"
        );
    }

    #[test]
    fn r9_the_author_has_read_their_post_and_the_others_have_one_more_unread() {
        let existing = rows(&[ANN, BEN, CARLA]);
        let facts = SharedFacts { last_author: Some(AuthorKind::User), ..open_public() };
        let posted = Posted { facts, at: 50, author: Some(ANN), customers_see: true, recipients: &[BEN, CARLA] };
        let mut counts = CountChanges::default();
        let upserts = restamp(&existing, facts, Some(&posted), &BTreeSet::new(), &mut counts);
        let (ann, ben, carla) = (after(&upserts, ANN), after(&upserts, BEN), after(&upserts, CARLA));
        assert_eq!((ann.message_count, ann.unread, ann.activity_at), (1, 0, 50));
        assert_eq!((ben.message_count, ben.unread, ben.activity_at), (1, 1, 50));
        assert_eq!((carla.message_count, carla.unread), (1, 1));
        assert!(Involvement::from_bits(ann.involvement).wrote_in);
        assert!(Involvement::from_bits(ben.involvement).addressed_to_me);
        assert!(!Involvement::from_bits(ann.involvement).addressed_to_me);
        // Ben and Carla each have one more unread conversation somewhere; Ann none.
        let moved: BTreeSet<Party> = counts.in_lock_order().into_iter().filter(|c| c.3 != 0).map(|(p, ..)| p).collect();
        assert_eq!(moved, BTreeSet::from([BEN, CARLA]));
    }

    #[test]
    fn r33_a_held_reply_moves_no_customer_row_until_released() {
        let existing = rows(&[ANN, CARLA]);
        let facts = open_public();
        let posted = Posted { facts, at: 50, author: Some(ANN), customers_see: false, recipients: &[CARLA] };
        let mut counts = CountChanges::default();
        let upserts = restamp(&existing, facts, Some(&posted), &BTreeSet::new(), &mut counts);
        let carla = after(&upserts, CARLA);
        assert_eq!((carla.message_count, carla.unread, carla.activity_at), (0, 0, 0), "only the address is new");
        assert!(Involvement::from_bits(carla.involvement).addressed_to_me);
        assert_eq!(after(&upserts, ANN).message_count, 1);
    }

    #[test]
    fn restamp_leaves_skipped_rows_and_writes_nothing_that_did_not_change() {
        let existing = rows(&[ANN, BEN]);
        let mut counts = CountChanges::default();
        assert_eq!(restamp(&existing, open_public(), None, &BTreeSet::new(), &mut counts), vec![]);
        assert!(counts.is_empty());
        let posted = Posted { facts: open_public(), at: 9, author: None, customers_see: true, recipients: &[] };
        let upserts = restamp(&existing, open_public(), Some(&posted), &BTreeSet::from([BEN]), &mut counts);
        assert_eq!(upserts.iter().map(|u| u.key.1).collect::<Vec<_>>(), vec![ANN]);
        assert!(!upserts[0].involvement_changed);
    }

    #[test]
    fn settle_writes_the_changed_and_new_rows_deletes_the_gone_and_the_counts_follow() {
        let existing = rows(&[ANN, BEN]);
        let mut wanted = rows(&[ANN, CARLA]);
        if let Some(ann) = wanted.get_mut(&(7, ANN)) {
            ann.unread = 2;
        }
        let mut counts = CountChanges::default();
        let (upserts, deletes) = settle(&existing, &wanted, &mut counts);
        assert_eq!(
            upserts.iter().map(|u| (u.key.1, u.involvement_changed)).collect::<Vec<_>>(),
            vec![(ANN, false), (CARLA, true)]
        );
        assert_eq!(deletes, vec![(7, BEN)]);
        let changes = counts.in_lock_order();
        assert!(changes.iter().any(|&(p, _, total, _)| p == BEN && total == -1), "{changes:?}");
        assert!(changes.iter().any(|&(p, _, total, _)| p == CARLA && total == 1), "{changes:?}");
        assert!(changes.iter().any(|&(p, _, total, unread)| p == ANN && total == 0 && unread == 1), "{changes:?}");
        let order: Vec<_> = changes.iter().map(|(p, v, ..)| (p.kind_str(), p.raw_id(), v.as_str())).collect();
        assert!(order.windows(2).all(|w| w[0] <= w[1]), "in lock order: {order:?}");
    }
}
