//! The inbox (R20, R21, R26, R27): after any sequence of writes, every person's counts and pages
//! equal what the full computation — every conversation with the person's relation to it, judged
//! by `parley_domain::access` and `parley_domain::views` — says.

use crate::fixtures::*;
use parley_domain::access::{customer_may_see, user_may_see, ConversationFacts};
use parley_domain::audience::{Audience, Reason, Recipient};
use parley_domain::preferences::Scope;
use parley_domain::views::{self, in_view, ConversationSummary, Section, View};
use parley_domain::*;
use parley_store::*;
use std::collections::BTreeMap;

/// What a view shows of one conversation: id, unread, message count, latest activity.
type Shown = (i64, i64, i64, i64);

fn every_view_of(party: Party) -> Vec<View> {
    match party {
        Party::User(_) => View::ALL.iter().copied().filter(|v| v.section() != Section::Portal).collect(),
        Party::Customer(_) => views::customer_views(),
    }
}

/// The views computed from every conversation, without the inbox.
async fn computed<S: Store>(store: &S, party: Party, now: i64) -> BTreeMap<View, Vec<Shown>> {
    let rows = match party {
        Party::User(u) => {
            let profile = store.user_profile(u).await.unwrap();
            let rows = store.conversation_rows_for_user(u).await.unwrap();
            rows.into_iter()
                .filter(|r| {
                    let facts = facts(r);
                    user_may_see(profile.preferences.scope, &profile.followed_projects, facts, r.relation)
                })
                .collect::<Vec<_>>()
        }
        Party::Customer(c) => {
            let rows = store.conversation_rows_for_customer(c, now).await.unwrap();
            rows.into_iter().filter(|r| customer_may_see(facts(r), r.relation)).collect()
        }
    };
    every_view_of(party)
        .into_iter()
        .map(|view| {
            let shown = rows
                .iter()
                .filter(|r| in_view(view, &summary(r)))
                .map(|r| {
                    let c = &r.conversation;
                    (c.id.0, r.unread, c.message_count, c.last_activity_at)
                })
                .collect();
            (view, shown)
        })
        .collect()
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

/// A whole view read from the inbox, `per_page` at a time along the cursors.
pub async fn read_view<S: Store>(store: &S, party: Party, view: View, per_page: i64) -> Vec<Shown> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let page = store.inbox_page(party, view, InboxFilter::Everything, before, per_page).await.unwrap();
        assert!(page.len() as i64 <= per_page);
        all.extend(page.iter().map(|e| {
            let c = &e.conversation;
            (c.id.0, e.unread, c.message_count, c.last_activity_at)
        }));
        match page.last() {
            Some(last) if page.len() as i64 == per_page => {
                before = Some(InboxCursor {
                    activity_at: last.conversation.last_activity_at,
                    conversation_id: last.conversation.id,
                })
            }
            _ => return all,
        }
    }
}

/// Asserts that every person's inbox equals the full computation. Held messages due by `now` are
/// released first: the inbox counts a customer's reply when it is released.
pub async fn assert_inbox_agrees<S: Store>(store: &S, people: &[Party], now: i64, context: &str) {
    while !store.release_held(now, 1000).await.unwrap().is_empty() {}
    for party in people {
        let want = computed(store, *party, now).await;
        let tallies = store.inbox_counts(*party).await.unwrap();
        for (view, shown) in want {
            // One at a time reaches past the first candidates of the shared views; four at a
            // time mostly does not.
            for per_page in [1, 4] {
                let got = read_view(store, *party, view, per_page).await;
                assert_eq!(got, shown, "{context}: {party:?} {view:?} by {per_page}");
            }
            let tally = tallies.iter().find(|t| t.view == view).map_or((0, 0), |t| (t.total, t.unread));
            let unread = shown.iter().filter(|s| s.1 > 0).count() as i64;
            assert_eq!(tally, (shown.len() as i64, unread), "{context}: counts of {party:?} {view:?}");
        }
    }
}

/// A small, seeded source of choices (xorshift), so a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }

    fn some<T: Copy>(&mut self, from: &[T], percent: usize) -> Vec<T> {
        from.iter().copied().filter(|_| self.chance(percent)).collect()
    }
}

struct Scene {
    users: Vec<UserId>,
    customers: Vec<CustomerId>,
    people: Vec<Party>,
    projects: Vec<ProjectId>,
    items: Vec<ItemId>,
    team: TeamId,
    organization: OrganizationId,
    conversations: Vec<ConversationId>,
    /// R1: each conversation's visibility, fixed when it was made; its messages' email plans need it.
    visibility: std::collections::HashMap<ConversationId, Visibility>,
    held: Vec<MessageId>,
}

async fn scene<S: Store>(store: &S) -> Scene {
    let w = World::new(store).await;
    let leo = store.insert_user(new_user("leo@acme.test", Role::Member)).await.unwrap();
    let narrow = Preferences { scope: Scope::FollowedProjects, ..Preferences::default() };
    store.set_preferences(leo.id, &narrow).await.unwrap();
    let org = store.insert_organization("Client", "client.test").await.unwrap();
    let dan = store
        .insert_customer(NewCustomer { organization_id: Some(org.id), ..new_customer("dan@client.test") })
        .await
        .unwrap();
    let eve = store.insert_customer(new_customer("eve@else.test")).await.unwrap();
    let other = store.insert_project("Billing", w.admin.id, T0).await.unwrap();
    let team = store.insert_team("Ops").await.unwrap();
    let users = vec![w.admin.id, w.member.id, leo.id];
    let customers = vec![w.customer.id, dan.id, eve.id];
    let people = users.iter().map(|u| Party::User(*u)).chain(customers.iter().map(|c| Party::Customer(*c))).collect();
    Scene {
        users,
        customers,
        people,
        projects: vec![w.project.id, other.id],
        items: vec![w.ticket.id],
        team: team.id,
        organization: org.id,
        conversations: Vec::new(),
        visibility: Default::default(),
        held: Vec::new(),
    }
}

/// One random write; errors a write may rightly give (a locked conversation, a lost race) are
/// part of the game.
async fn random_write<S: Store>(store: &S, s: &mut Scene, dice: &mut Dice, now: i64) -> String {
    let anyone = s.people.clone();
    let roll = if s.conversations.is_empty() { 0 } else { dice.below(14) };
    match roll {
        0 | 1 => {
            let visibility = if dice.chance(60) { Visibility::Public } else { Visibility::Internal };
            let link = match dice.below(4) {
                0 => Some(Link::Item(dice.pick(&s.items))),
                1 => Some(Link::Project(dice.pick(&s.projects))),
                _ => None,
            };
            let created_by = match dice.pick(&anyone) {
                Party::User(u) => Author::User(u),
                Party::Customer(c) => Author::Customer(c),
            };
            let c = store
                .insert_conversation(NewConversation {
                    subject: "Subject".into(),
                    visibility,
                    link,
                    created_by,
                    participants: dice.some(&anyone, 30),
                    followers: dice.some(&anyone, 20),
                    created_at: now,
                })
                .await
                .unwrap();
            s.conversations.push(c.header.id);
            s.visibility.insert(c.header.id, visibility);
            format!("new {visibility:?} conversation {link:?} by {created_by:?}")
        }
        2..=5 => {
            let conversation = dice.pick(&s.conversations);
            let author = match dice.pick(&anyone) {
                Party::User(u) => Author::User(u),
                Party::Customer(c) => Author::Customer(c),
            };
            let held = matches!(author, Author::User(_)) && dice.chance(40);
            let recipients = dice
                .some(&anyone, 40)
                .into_iter()
                .filter(|p| Some(*p) != author.party())
                .map(|party| Recipient { party, reasons: vec![Reason::Participant], notify: true })
                .collect();
            let users: Vec<Party> = s.users.iter().map(|u| Party::User(*u)).collect();
            let posted = store
                .insert_message(
                    NewMessage {
                        conversation_id: conversation,
                        author,
                        body: "Hi".into(),
                        body_html: "<p>Hi</p>".into(),
                        channel: Channel::App,
                        created_at: now,
                        email_plans: Vec::new(),
                        held_until: held.then_some(now + 5_000),
                        audience: Audience { recipients },
                        new_followers: dice.some(&users, 15),
                        attachments: vec![],
                    }
                    .planned(s.visibility[&conversation], DELAY),
                )
                .await;
            if let (Ok(m), true) = (&posted, held) {
                s.held.push(m.id);
            }
            format!("post in {conversation:?} by {author:?} (held {held}): {:?}", posted.map(|m| m.number))
        }
        6 => {
            let id = dice.pick(&s.conversations);
            let from = store.conversation(id).await.unwrap().header.state;
            let to = dice.pick(ConversationState::ALL);
            let done = store.set_state(id, from, to, Author::Bot, T0).await.is_ok();
            format!("state of {id:?} {from:?} → {to:?}: {done}")
        }
        7 => {
            let id = dice.pick(&s.conversations);
            let (participant, party, on) = (dice.chance(50), dice.pick(&anyone), dice.chance(60));
            store.set_conversation_party(id, participant, party, on).await.unwrap();
            format!("{party:?} participant {participant} of {id:?}: {on}")
        }
        8 => {
            let id = dice.pick(&s.conversations);
            let target = if dice.chance(50) {
                LinkTarget::Existing(dice.pick(&s.items))
            } else {
                LinkTarget::New(NewItem {
                    project_id: dice.pick(&s.projects),
                    kind: ItemKind::Task,
                    title: "Linked".into(),
                    created_by: Party::User(s.users[0]),
                    requesters: vec![],
                    assignees: vec![],
                    created_at: now,
                })
            };
            match store.link_conversation(id, target).await {
                Ok((_, item)) => {
                    if !s.items.contains(&item.id) {
                        s.items.push(item.id);
                    }
                    format!("linked {id:?} to {:?}", item.id)
                }
                Err(e) => format!("link of {id:?}: {e:?}"),
            }
        }
        9 => {
            let item = dice.pick(&s.items);
            let role = dice.pick(&[ItemRole::Follower, ItemRole::Requester, ItemRole::Assignee]);
            let party = match role {
                ItemRole::Requester => Party::Customer(dice.pick(&s.customers)),
                ItemRole::Assignee => Party::User(dice.pick(&s.users)),
                ItemRole::Follower => dice.pick(&anyone),
            };
            let on = dice.chance(60);
            store.set_item_role(item, role, party, on).await.unwrap();
            format!("{party:?} {role:?} of {item:?}: {on}")
        }
        10 => {
            let project = dice.pick(&s.projects);
            let role = match dice.below(5) {
                0 => ProjectRole::MemberUser(dice.pick(&s.users)),
                1 => ProjectRole::MemberTeam(s.team),
                2 => ProjectRole::FollowerUser(dice.pick(&s.users)),
                3 => ProjectRole::FollowerCustomer(dice.pick(&s.customers)),
                _ => ProjectRole::FollowerOrganization(s.organization),
            };
            let on = dice.chance(60);
            store.set_project_role(project, role, on).await.unwrap();
            format!("{role:?} of {project:?}: {on}")
        }
        11 => {
            let user = dice.pick(&s.users);
            if dice.chance(50) {
                let on = dice.chance(50);
                store.set_team_member(s.team, user, on).await.unwrap();
                format!("{user:?} in the team: {on}")
            } else {
                let mut p = store.preferences(user).await.unwrap();
                p.scope = dice.pick(&[Scope::AllProjects, Scope::FollowedProjects]);
                store.set_preferences(user, &p).await.unwrap();
                format!("{user:?} scope {:?}", p.scope)
            }
        }
        12 => {
            let (id, party, number) = (dice.pick(&s.conversations), dice.pick(&anyone), dice.below(8) as i64);
            store.mark_read(id, party, number, now).await.unwrap();
            format!("{party:?} read {id:?} to {number}")
        }
        _ => match s.held.is_empty() {
            true => "nothing held".into(),
            false => {
                let id = dice.pick(&s.held);
                let how = dice.pick(&[Retraction::Undo, Retraction::MakeInternal]);
                let done = store.retract_message(id, how, now).await.is_ok();
                format!("retract {id:?} {how:?}: {done}")
            }
        },
    }
}

pub async fn r20_r27_inbox_equals_the_full_computation_after_random_writes<S: Store>(store: &S) {
    let mut s = scene(store).await;
    let mut now = T0 + 1_000;
    for seed in [0x9e37_79b9_7f4a_7c15_u64, 0xdead_beef_cafe_f00d, 0x0123_4567_89ab_cdef] {
        let mut dice = Dice(seed);
        for step in 0..120 {
            let what = random_write(store, &mut s, &mut dice, now).await;
            now += dice.below(4_000) as i64;
            assert_inbox_agrees(store, &s.people, now, &format!("seed {seed:x} step {step}: {what}")).await;
        }
    }
}

type Counters = BTreeMap<(Party, View), (i64, i64)>;

async fn counters_of<S: Store>(store: &S, people: &[Party]) -> Counters {
    let mut all = Counters::new();
    for party in people {
        for t in store.inbox_counts(*party).await.unwrap() {
            all.insert((*party, t.view), (t.total, t.unread));
        }
    }
    all
}

/// R26, R27 pushed: after each write, the counts it announces are every count it changed, each
/// with the value now stored; so a listener keeps every person's counts without reading them.
pub async fn r26_each_write_announces_the_counts_it_changed<S: Store>(store: &S) {
    let mut announced = store.tally_changes();
    let mut s = scene(store).await;
    let mut now = T0 + 1_000;
    let mut dice = Dice(0x5851_f42d_4c95_7f2d);
    while announced.try_recv().is_ok() {}
    let mut before = counters_of(store, &s.people).await;
    for step in 0..150 {
        let mut what = random_write(store, &mut s, &mut dice, now).await;
        if dice.chance(10) {
            let released = store.release_held(now, 1000).await.unwrap();
            what += &format!(" + {} released", released.len());
        }
        now += dice.below(4_000) as i64;
        let after = counters_of(store, &s.people).await;
        let mut told = Counters::new();
        while let Ok(batch) = announced.try_recv() {
            for c in batch.iter() {
                told.insert((c.party, c.tally.view), (c.tally.total, c.tally.unread));
            }
        }
        for (key, value) in &told {
            let stored = store.inbox_counts(key.0).await.unwrap();
            let stored = stored.iter().find(|t| t.view == key.1).map_or((0, 0), |t| (t.total, t.unread));
            assert_eq!(*value, stored, "step {step} ({what}): announced {key:?} is not what is stored");
        }
        for key in before.keys().chain(after.keys()) {
            let (was, is) = (before.get(key).unwrap_or(&(0, 0)), after.get(key).unwrap_or(&(0, 0)));
            if was != is {
                assert_eq!(told.get(key), Some(is), "step {step} ({what}): the change of {key:?} was not announced");
            }
        }
        before = after;
    }
}

/// The views `conversation` is in for `party`, read from their inbox.
async fn views_holding<S: Store>(store: &S, party: Party, conversation: ConversationId) -> Vec<View> {
    let mut found = Vec::new();
    for view in every_view_of(party) {
        if read_view(store, party, view, 50).await.iter().any(|s| s.0 == conversation.0) {
            found.push(view);
        }
    }
    found
}

pub async fn r26_r27_each_write_moves_a_conversation_between_views<S: Store>(store: &S) {
    use View::*;
    let w = World::new(store).await;
    let (admin, mia, cora) = (Party::User(w.admin.id), Party::User(w.member.id), Party::Customer(w.customer.id));
    let leo = store.insert_user(new_user("leo@acme.test", Role::Member)).await.unwrap();
    let narrow = Preferences { scope: Scope::FollowedProjects, ..Preferences::default() };
    store.set_preferences(leo.id, &narrow).await.unwrap();
    let leo = Party::User(leo.id);
    let people = [admin, mia, cora, leo];
    let check = |what: &'static str, at: i64| {
        let people = people.to_vec();
        async move { assert_inbox_agrees(store, &people, at, what).await }
    };

    // Cora's question on her ticket: open for everyone who sees the project, unanswered; the
    // admin follows the conversation, so it is among their customer replies too.
    let public = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![cora]).await;
    let id = public.header.id;
    assert_eq!(views_holding(store, admin, id).await, vec![OpenWithCustomers, CustomerReplies]);
    store.insert_message(new_message(&public, Author::Customer(w.customer.id), &[admin, mia], T0 + 1)).await.unwrap();
    assert_eq!(views_holding(store, admin, id).await, vec![OpenWithCustomers, Unanswered, CustomerReplies]);
    assert_eq!(views_holding(store, mia, id).await, vec![OpenWithCustomers, Unanswered, CustomerReplies]);
    assert_eq!(views_holding(store, cora, id).await, vec![PortalOpen]);
    assert!(views_holding(store, leo, id).await.is_empty(), "outside Leo's scope (R20)");
    check("a customer asked", T0 + 1).await;

    // The answer takes it out of "Unanswered"; the admin wrote it, so they have nothing unread.
    store.insert_message(new_message(&public, Author::User(w.admin.id), &[cora, mia], T0 + 2)).await.unwrap();
    assert_eq!(views_holding(store, admin, id).await, vec![OpenWithCustomers, CustomerReplies]);
    let tallies = store.inbox_counts(admin).await.unwrap();
    assert_eq!(tallies.iter().find(|t| t.view == OpenWithCustomers).map(|t| (t.total, t.unread)), Some((1, 0)));
    check("answered", T0 + 2).await;

    // Closing moves it to the closed views; a new message from the customer reopens it (R6).
    store.set_state(id, ConversationState::Open, ConversationState::Closed, Author::Bot, T0).await.unwrap();
    assert_eq!(views_holding(store, mia, id).await, vec![ClosedWithCustomers, AllClosed]);
    assert_eq!(views_holding(store, cora, id).await, vec![PortalClosed]);
    check("closed", T0 + 3).await;
    store.insert_message(new_message(&public, Author::Customer(w.customer.id), &[mia], T0 + 4)).await.unwrap();
    assert_eq!(views_holding(store, mia, id).await, vec![OpenWithCustomers, Unanswered, CustomerReplies]);
    check("reopened by the customer", T0 + 4).await;

    // An internal conversation: the admin writes to Mia, who finds it in her internal inbox.
    let internal = w.conversation(store, Visibility::Internal, None, vec![mia]).await;
    store.insert_message(new_message(&internal, Author::User(w.admin.id), &[mia], T0 + 5)).await.unwrap();
    assert_eq!(views_holding(store, mia, internal.header.id).await, vec![InternalInbox]);
    assert_eq!(views_holding(store, admin, internal.header.id).await, vec![InternalSent]);
    assert!(views_holding(store, cora, internal.header.id).await.is_empty(), "never to a customer (R7)");
    store.mark_read(internal.header.id, mia, 1, T0 + 6).await.unwrap();
    let tallies = store.inbox_counts(mia).await.unwrap();
    assert_eq!(tallies.iter().find(|t| t.view == InternalInbox).map(|t| (t.total, t.unread)), Some((1, 0)));
    check("read", T0 + 6).await;

    // Leo joins the project: its conversations are his to see; a wider scope, then leaving it.
    store.set_project_role(w.project.id, ProjectRole::MemberUser(w.member.id), true).await.unwrap();
    let leo_id = leo.user().unwrap();
    store.set_project_role(w.project.id, ProjectRole::MemberUser(leo_id), true).await.unwrap();
    assert_eq!(views_holding(store, leo, id).await, vec![OpenWithCustomers, Unanswered]);
    check("Leo joined the project", T0 + 7).await;
    store.set_project_role(w.project.id, ProjectRole::MemberUser(leo_id), false).await.unwrap();
    assert!(views_holding(store, leo, id).await.is_empty());
    store.set_preferences(leo_id, &Preferences::default()).await.unwrap();
    assert_eq!(views_holding(store, leo, id).await, vec![OpenWithCustomers, Unanswered]);
    check("Leo's scope widened", T0 + 8).await;

    // Following the conversation puts it among Leo's customer replies; locking ends it for all.
    store.set_conversation_party(id, false, leo, true).await.unwrap();
    assert_eq!(views_holding(store, leo, id).await, vec![OpenWithCustomers, Unanswered, CustomerReplies]);
    store.set_state(id, ConversationState::Open, ConversationState::Locked, Author::Bot, T0).await.unwrap();
    assert_eq!(views_holding(store, leo, id).await, vec![ClosedWithCustomers, AllClosed]);
    check("followed, then locked", T0 + 9).await;
}

pub async fn r20_a_narrow_scope_finds_its_few_conversations_behind_many_newer_ones<S: Store>(store: &S) {
    let w = World::new(store).await;
    let leo = store.insert_user(new_user("leo@acme.test", Role::Member)).await.unwrap();
    let narrow = Preferences { scope: Scope::FollowedProjects, ..Preferences::default() };
    store.set_preferences(leo.id, &narrow).await.unwrap();
    let other = store.insert_project("Billing", w.admin.id, T0).await.unwrap();
    store.set_project_role(w.project.id, ProjectRole::MemberUser(leo.id), true).await.unwrap();
    let new = |project: ProjectId, at: i64| NewConversation {
        subject: "Question".into(),
        visibility: Visibility::Public,
        link: Some(Link::Project(project)),
        created_by: Author::Customer(w.customer.id),
        participants: vec![],
        followers: vec![],
        created_at: at,
    };
    // Leo's three are the oldest; forty newer ones are in a project he does not belong to.
    let mut his = Vec::new();
    for n in 0..3 {
        his.push(store.insert_conversation(new(w.project.id, T0 + n)).await.unwrap().header.id.0);
    }
    for n in 0..40 {
        store.insert_conversation(new(other.id, T0 + 100 + n)).await.unwrap();
    }
    his.reverse();
    let leo = Party::User(leo.id);
    for per_page in [1, 2, 25] {
        let shown: Vec<i64> =
            read_view(store, leo, View::OpenWithCustomers, per_page).await.iter().map(|s| s.0).collect();
        assert_eq!(shown, his, "by {per_page}");
    }
    assert_inbox_agrees(store, &[leo, Party::User(w.admin.id)], T0 + 200, "narrow scope").await;
}

pub async fn r33_a_held_reply_counts_for_the_customer_once_released<S: Store>(store: &S) {
    let w = World::new(store).await;
    let cora = Party::Customer(w.customer.id);
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![cora]).await;
    let unread_of = |party: Party| async move {
        let page = store.inbox_page(party, View::PortalOpen, InboxFilter::Everything, None, 10).await.unwrap();
        page.iter().map(|e| (e.unread, e.conversation.message_count)).collect::<Vec<_>>()
    };
    store.insert_message(held_message(&c, Author::User(w.admin.id), &[cora], T0 + 1)).await.unwrap();
    assert_eq!(unread_of(cora).await, vec![(0, 0)], "held from the customer (R33)");
    let admin = store
        .inbox_page(Party::User(w.admin.id), View::OpenWithCustomers, InboxFilter::Everything, None, 10)
        .await
        .unwrap();
    assert_eq!(admin[0].conversation.message_count, 1, "users see it at once");
    assert_eq!(store.release_held(T0 + 10_001, 10).await.unwrap().len(), 1);
    assert_eq!(unread_of(cora).await, vec![(1, 1)], "counted once released");
    assert_inbox_agrees(store, &[cora, Party::User(w.admin.id)], T0 + 10_001, "released").await;
}

pub async fn r41_writing_takes_part_counts_as_mine_and_grants_no_access<S: Store>(store: &S) {
    use View::*;
    let w = World::new(store).await;
    let (admin, mia, cora) = (Party::User(w.admin.id), Party::User(w.member.id), Party::Customer(w.customer.id));
    // A live chat: independent, public, the visitor its one participant (the admin who opened it
    // follows it). Mia answers.
    let chat = w.conversation(store, Visibility::Public, None, vec![cora]).await;
    let id = chat.header.id;
    store.insert_message(new_message(&chat, Author::Customer(w.customer.id), &[], T0 + 1)).await.unwrap();
    assert_eq!(views_holding(store, mia, id).await, vec![OpenWithCustomers, Unanswered]);
    store.insert_message(new_message(&chat, Author::User(w.member.id), &[cora], T0 + 2)).await.unwrap();
    assert_eq!(store.conversation(id).await.unwrap().taking_part, vec![w.member.id]);
    let relation = store.relation(id, mia).await.unwrap();
    assert!(relation.taking_part && !relation.grants_access(), "{relation:?}");
    assert_eq!(views_holding(store, mia, id).await, vec![OpenWithCustomers, CustomerReplies]);
    // The next post reads who takes part, with their profiles, for the audience.
    let context = store.post_context(id, Some(cora), &[]).await.unwrap();
    assert_eq!(context.people.conversation.taking_part, vec![w.member.id]);
    assert!(context.profiles.iter().any(|p| p.id == w.member.id));
    // A customer writing is not "taking part": they are placed in the conversation already.
    assert!(!store.relation(id, cora).await.unwrap().taking_part);

    // Leo may see the ticket's conversations through the project, and writes in one; when he
    // leaves the project (his scope: followed projects), it is gone for him like any other.
    let leo = store.insert_user(new_user("leo@acme.test", Role::Member)).await.unwrap();
    let narrow = Preferences { scope: Scope::FollowedProjects, ..Preferences::default() };
    store.set_preferences(leo.id, &narrow).await.unwrap();
    store.set_project_role(w.project.id, ProjectRole::MemberUser(leo.id), true).await.unwrap();
    let ticket = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![cora]).await;
    store.insert_message(new_message(&ticket, Author::User(leo.id), &[cora], T0 + 3)).await.unwrap();
    let leo_party = Party::User(leo.id);
    assert_eq!(views_holding(store, leo_party, ticket.header.id).await, vec![OpenWithCustomers, CustomerReplies]);
    store.set_project_role(w.project.id, ProjectRole::MemberUser(leo.id), false).await.unwrap();
    assert!(views_holding(store, leo_party, ticket.header.id).await.is_empty(), "taking part grants no access");
    assert_inbox_agrees(store, &[admin, mia, cora, leo_party], T0 + 4, "taking part").await;
}
