//! Conversations and messages: states, linking, numbering, audiences and read positions.

use crate::fixtures::*;
use parley_domain::audience::Reason;
use parley_domain::ConversationState::{Closed, Locked, Open};
use parley_domain::*;
use parley_store::*;

/// R5: on linking to a new item, participants follow it and customer participants request it.
pub async fn r5_link_makes_participants_followers_and_customers_requesters<S: Store>(store: &S) {
    let w = World::new(store).await;
    let customer = Party::Customer(w.customer.id);
    let member = Party::User(w.member.id);
    let c = w.conversation(store, Visibility::Public, None, vec![customer, member]).await;
    let new_item = NewItem {
        project_id: w.project.id,
        kind: ItemKind::Task,
        title: "From chat".into(),
        created_by: Party::User(w.admin.id),
        requesters: vec![],
        assignees: vec![],
        created_at: T0,
    };
    let (linked, item) = store.link_conversation(c.header.id, LinkTarget::New(new_item)).await.unwrap();
    assert_eq!(linked.header.link, Some(Link::Item(item.id)));
    assert_eq!(linked.header.project_id, Some(w.project.id));
    assert!(item.followers.contains(&customer) && item.followers.contains(&member));
    assert_eq!(item.requesters, vec![w.customer.id]);
    let people = store.conversation_people(c.header.id).await.unwrap();
    assert!(people.item_followers.contains(&customer));
    assert_eq!(people.requesters, vec![w.customer.id]);

    // Linking to an existing item adds followers but no requesters.
    let other = store.insert_customer(new_customer("otto@client.test")).await.unwrap();
    let c2 = w.conversation(store, Visibility::Public, None, vec![Party::Customer(other.id)]).await;
    let (_, ticket) = store.link_conversation(c2.header.id, LinkTarget::Existing(w.ticket.id)).await.unwrap();
    assert!(ticket.followers.contains(&Party::Customer(other.id)));
    assert_eq!(ticket.requesters, vec![w.customer.id]);
}

pub async fn r5_linking_a_linked_conversation_conflicts<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let again = store.link_conversation(c.header.id, LinkTarget::Existing(w.ticket.id)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
}

/// R6: a message to a locked conversation is refused and leaves no trace: no message, no number
/// used up, no audience, no change of activity time.
pub async fn r6_locked_conversation_refuses_message_and_writes_nothing<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let id = c.header.id;
    store.set_state(id, Open, Closed, Author::Bot, T0).await.unwrap();
    store.set_state(id, Closed, Locked, Author::Bot, T0).await.unwrap();
    let to = [Party::Customer(w.customer.id)];
    let refused = store.insert_message(new_message(&c, Author::User(w.member.id), &to, T0 + 5)).await;
    assert!(matches!(refused, Err(StoreError::Locked)), "{refused:?}");
    let after = store.conversation(id).await.unwrap();
    assert_eq!(after.header.state, Locked);
    assert_eq!(after.header.message_count, 0);
    assert_eq!(after.header.last_activity_at, c.header.last_activity_at);
    assert!(store.messages(id, 0, 10, Reader::User).await.unwrap().is_empty());

    store.set_state(id, Locked, Closed, Author::Bot, T0).await.unwrap();
    let m = store.insert_message(new_message(&c, Author::User(w.member.id), &to, T0 + 6)).await.unwrap();
    assert_eq!(m.number, 1, "the refused message used up no number");
}

pub async fn r6_message_reopens_closed_conversation<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, None, vec![Party::Customer(w.customer.id)]).await;
    store.set_state(c.header.id, Open, Closed, Author::User(w.admin.id), T0).await.unwrap();
    store.insert_message(new_message(&c, Author::Customer(w.customer.id), &[], T0 + 1)).await.unwrap();
    let after = store.conversation(c.header.id).await.unwrap();
    assert_eq!(after.header.state, Open);
    assert_eq!(after.header.last_activity_at, T0 + 1);
    // Both changes are recorded, the reopening with the message's author; a message to an open
    // conversation changes nothing.
    store.insert_message(new_message(&c, Author::Customer(w.customer.id), &[], T0 + 2)).await.unwrap();
    assert_eq!(
        store.state_changes(c.header.id).await.unwrap(),
        vec![
            StateChange { state: Closed, by: Author::User(w.admin.id), at: T0 },
            StateChange { state: Open, by: Author::Customer(w.customer.id), at: T0 + 1 },
        ]
    );
}

/// Two people changing the state at once: the second one's expectation is stale and is refused.
pub async fn r6_state_change_is_compare_and_set<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Internal, None, vec![]).await;
    store.set_state(c.header.id, Open, Closed, Author::Bot, T0).await.unwrap();
    let stale = store.set_state(c.header.id, Open, Closed, Author::Bot, T0).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(store.conversation(c.header.id).await.unwrap().header.state, Closed);
    assert_eq!(store.state_changes(c.header.id).await.unwrap().len(), 1, "the refused change is not recorded");
}

pub async fn r8_messages_are_numbered_and_keep_their_audience<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let to = [Party::User(w.member.id), Party::Customer(w.customer.id)];
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(store.insert_message(new_message(&c, Author::User(w.admin.id), &to, T0 + i)).await.unwrap().id);
    }
    let listed = store.messages(c.header.id, 0, 10, Reader::User).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.number).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(listed.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    assert_eq!(store.messages(c.header.id, 1, 1, Reader::User).await.unwrap()[0].number, 2);
    let audience = store.message_audience(ids[0]).await.unwrap();
    let parties: Vec<Party> = audience.iter().map(|r| r.party).collect();
    assert_eq!(parties.len(), 2);
    assert!(to.iter().all(|p| parties.contains(p)));
    assert!(audience.iter().all(|r| r.reasons == vec![Reason::Participant] && r.notify));
    assert_eq!(store.conversation(c.header.id).await.unwrap().header.message_count, 3);
}

pub async fn r9_author_has_read_own_message<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, None, vec![Party::Customer(w.customer.id)]).await;
    store.insert_message(new_message(&c, Author::Customer(w.customer.id), &[], T0)).await.unwrap();
    let read = store.mark_read(c.header.id, Party::Customer(w.customer.id), 0, T0).await.unwrap();
    assert_eq!(read.0, 1);
}

pub async fn read_position_never_moves_back_nor_past_the_end<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Internal, None, vec![Party::User(w.member.id)]).await;
    for i in 0..3 {
        store.insert_message(new_message(&c, Author::User(w.admin.id), &[], T0 + i)).await.unwrap();
    }
    let member = Party::User(w.member.id);
    assert_eq!(store.mark_read(c.header.id, member, 2, T0).await.unwrap().0, 2);
    assert_eq!(store.mark_read(c.header.id, member, 1, T0).await.unwrap().0, 2);
    assert_eq!(store.mark_read(c.header.id, member, 99, T0).await.unwrap().0, 3);
}

/// R14: the app plans each recipient's email; a message that comes without a plan for each of
/// its recipients is refused and writes nothing, rather than leaving someone with no email job.
pub async fn r14_a_message_without_each_recipients_plan_writes_nothing<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let mut m = new_message(&c, Author::User(w.admin.id), &[Party::Customer(w.customer.id)], T0);
    m.email_plans.clear();
    assert!(matches!(store.insert_message(m).await, Err(StoreError::Other(_))));
    assert!(store.messages(c.header.id, 0, 10, Reader::User).await.unwrap().is_empty());
    assert_eq!(store.conversation(c.header.id).await.unwrap().header.message_count, 0);
}

pub async fn mentioned_users_start_following<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Internal, None, vec![]).await;
    let mut m = new_message(&c, Author::User(w.admin.id), &[], T0);
    m.new_followers = vec![Party::User(w.member.id)];
    store.insert_message(m).await.unwrap();
    let after = store.conversation(c.header.id).await.unwrap();
    assert!(after.followers.contains(&Party::User(w.member.id)));
}

/// R33: a held message is hidden from customers until released, counts as unread for them only
/// then, and its customers' emails are not due before.
pub async fn r33_held_message_reaches_customers_only_when_released<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let customer = Party::Customer(w.customer.id);
    let mut m = new_message(&c, Author::User(w.admin.id), &[customer, Party::User(w.member.id)], T0);
    m.held_until = Some(T0 + 10_000);
    let m = store.insert_message(m.planned(c.header.visibility, 1_000)).await.unwrap();
    assert_eq!(m.held_until, Some(T0 + 10_000));

    let as_customer = |now| Reader::Customer { now };
    assert!(store.messages(c.header.id, 0, 10, as_customer(T0 + 9_999)).await.unwrap().is_empty());
    assert_eq!(store.messages(c.header.id, 0, 10, Reader::User).await.unwrap().len(), 1, "users see it at once");
    assert_eq!(store.messages(c.header.id, 0, 10, as_customer(T0 + 10_000)).await.unwrap().len(), 1);
    let unread_at = |now| async move {
        let rows = store.conversation_rows_for_customer(w.customer.id, now).await.unwrap();
        rows.iter().find(|r| r.conversation.id == c.header.id).unwrap().unread
    };
    assert_eq!(unread_at(T0 + 9_999).await, 0);
    assert_eq!(unread_at(T0 + 10_000).await, 1);
    let timeline = store.delivery_timeline(m.id).await.unwrap();
    let due = |p: Party| timeline.iter().find(|r| r.party == p).unwrap().email_due_at;
    assert_eq!(due(customer), Some(T0 + 11_000), "the whole delay from release");
    assert_eq!(due(Party::User(w.member.id)), Some(T0 + 1_000));

    assert!(store.release_held(T0 + 9_999, 10).await.unwrap().is_empty());
    assert_eq!(store.release_held(T0 + 10_000, 10).await.unwrap(), vec![m.clone()]);
    assert!(store.release_held(T0 + 20_000, 10).await.unwrap().is_empty(), "released once");
    let late = store.retract_message(m.id, Retraction::Undo, T0 + 9_000).await;
    assert!(matches!(late, Err(StoreError::Conflict(_))), "released: too late to undo");
}

/// R33: undo within the guard withdraws the message for everyone and suppresses its emails;
/// making it internal keeps it for users and suppresses the customers' emails.
pub async fn r33_retracting_within_the_guard<S: Store>(store: &S) {
    use parley_domain::delivery::{EmailState, SuppressReason};
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let customer = Party::Customer(w.customer.id);
    let member = Party::User(w.member.id);
    let held = |at: i64| held_message(&c, Author::User(w.admin.id), &[customer, member], at);
    let undone = store.insert_message(held(T0)).await.unwrap();
    let internal = store.insert_message(held(T0 + 1)).await.unwrap();

    store.retract_message(undone.id, Retraction::Undo, T0 + 5_000).await.unwrap();
    let again = store.retract_message(undone.id, Retraction::Undo, T0 + 5_001).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))));
    let made = store.retract_message(internal.id, Retraction::MakeInternal, T0 + 5_000).await.unwrap();
    assert_eq!(made.visibility, Visibility::Internal);

    let users_see: Vec<MessageId> =
        store.messages(c.header.id, 0, 10, Reader::User).await.unwrap().iter().map(|m| m.id).collect();
    assert_eq!(users_see, vec![internal.id]);
    assert!(store.messages(c.header.id, 0, 10, Reader::Customer { now: T0 + 99_999 }).await.unwrap().is_empty());
    let record = |t: &[DeliveryRecord], p: Party| {
        let r = t.iter().find(|r| r.party == p).unwrap();
        (r.email_state, r.email_reason)
    };
    let t = store.delivery_timeline(undone.id).await.unwrap();
    assert_eq!(record(&t, customer), (EmailState::Suppressed, Some(SuppressReason::Undone)));
    assert_eq!(record(&t, member), (EmailState::Suppressed, Some(SuppressReason::Undone)));
    let t = store.delivery_timeline(internal.id).await.unwrap();
    assert_eq!(record(&t, customer), (EmailState::Suppressed, Some(SuppressReason::InternalToCustomer)));
    assert_eq!(record(&t, member).0, EmailState::Pending);
    // Neither reaches customers at release.
    let released = store.release_held(T0 + 20_000, 10).await.unwrap();
    assert!(released.iter().all(|m| m.visibility == Visibility::Internal), "{released:?}");
    // What decides who may read each (the access rule's facts), the undone one included.
    let facts = |visibility, held_until, withdrawn| access::MessageFacts { visibility, held_until, withdrawn };
    let author = Author::User(w.admin.id);
    let undone_facts = store.message_facts(undone.id).await.unwrap();
    assert_eq!(undone_facts, (c.header.id, author, facts(Visibility::Public, undone.held_until, true)));
    let internal_facts = store.message_facts(internal.id).await.unwrap();
    assert_eq!(internal_facts, (c.header.id, author, facts(Visibility::Internal, internal.held_until, false)));
    assert!(matches!(store.message_facts(MessageId(internal.id.0 + 1000)).await, Err(StoreError::NotFound)));
}

/// R7, R33: customers are shown their own numbers — positions among the messages they may read —
/// with no gap where a reply was undone or made internal; a held reply is numbered when its guard
/// ends, after what the customer wrote meanwhile. Read positions and unread counts follow them.
pub async fn r7_customers_are_shown_numbers_without_gaps<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let customer = Party::Customer(w.customer.id);
    let staff = Party::User(w.admin.id);
    let by_customer = |at: i64| new_message(&c, Author::Customer(w.customer.id), &[staff], at);
    let held = |at: i64| held_message(&c, Author::User(w.admin.id), &[customer], at);
    let first = store.insert_message(by_customer(T0)).await.unwrap();
    let undone = store.insert_message(held(T0 + 1)).await.unwrap();
    store.retract_message(undone.id, Retraction::Undo, T0 + 2).await.unwrap();
    let internal = store.insert_message(held(T0 + 3)).await.unwrap();
    store.retract_message(internal.id, Retraction::MakeInternal, T0 + 4).await.unwrap();
    let reply = store.insert_message(held(T0 + 5)).await.unwrap();
    let second = store.insert_message(by_customer(T0 + 6)).await.unwrap();
    assert_eq!(second.number, 5, "the conversation counts everything written");

    let shown = |now: i64| async move {
        let list = store.messages(c.header.id, 0, 10, Reader::Customer { now }).await.unwrap();
        list.iter().map(|m| (m.id, m.number)).collect::<Vec<_>>()
    };
    assert_eq!(shown(T0 + 7).await, vec![(first.id, 1), (second.id, 2)]);
    let later = T0 + 20_000;
    assert_eq!(shown(later).await, vec![(first.id, 1), (second.id, 2), (reply.id, 3)]);
    let after_two = store.messages(c.header.id, 2, 10, Reader::Customer { now: later }).await.unwrap();
    assert_eq!(after_two.iter().map(|m| m.id).collect::<Vec<_>>(), vec![reply.id], "pages by their numbers");
    assert_eq!(store.customer_number(reply.id, T0 + 7).await.unwrap(), None, "still held");
    assert_eq!(store.customer_number(reply.id, later).await.unwrap(), Some(3));
    assert_eq!(store.customer_number(internal.id, later).await.unwrap(), None);

    let unread = |now: i64| async move {
        let rows = store.conversation_rows_for_customer(w.customer.id, now).await.unwrap();
        rows.iter().find(|r| r.conversation.id == c.header.id).unwrap().unread
    };
    assert_eq!(unread(T0 + 7).await, 0, "her own messages are read");
    assert_eq!(unread(later).await, 1);
    let (position, seen) = store.mark_read(c.header.id, customer, 99, later + 1).await.unwrap();
    assert_eq!(position, 3, "never past what she may read");
    assert_eq!(seen.iter().map(|s| s.message_id).collect::<Vec<_>>(), vec![reply.id]);
    assert_eq!(unread(later + 1).await, 0);
}

/// What a post needs comes in one read: the conversation and its people, the poster's relation,
/// the mentioned users in the order named, and the profiles the audience rule asks for (the
/// poster's among them, R10's broad ones included).
pub async fn r10_r20_post_context_reads_what_a_post_needs_at_once<S: Store>(store: &S) {
    let w = World::new(store).await;
    let zed = store.insert_user(new_user("zed@acme.test", Role::Member)).await.unwrap();
    let broad = store.insert_user(new_user("all@acme.test", Role::Member)).await.unwrap();
    let wants_all = Preferences { customer_messages: preferences::CustomerMessages::All, ..Preferences::default() };
    store.set_preferences(broad.id, &wants_all).await.unwrap();
    let link = Some(Link::Item(w.ticket.id));
    let c = w.conversation(store, Visibility::Public, link, vec![Party::Customer(w.customer.id)]).await;
    let id = c.header.id;

    let handles = vec![zed.handle.clone(), "nobody".to_string(), w.admin.handle.clone()];
    let context = store.post_context(id, Some(Party::User(w.member.id)), &handles).await.unwrap();
    assert_eq!(context.people.conversation.header.id, id);
    assert_eq!(context.people.conversation.participants, vec![Party::Customer(w.customer.id)]);
    assert_eq!(context.people.conversation.followers, vec![Party::User(w.admin.id)]);
    assert_eq!(context.people.requesters, vec![w.customer.id]);
    let people = store.conversation_people(id).await.unwrap();
    assert_eq!(context.people.item_followers, people.item_followers);
    assert_eq!(context.relation, store.relation(id, Party::User(w.member.id)).await.unwrap());
    assert_eq!(context.mentioned, vec![zed.id, w.admin.id]);
    let ids: Vec<UserId> = context.profiles.iter().map(|p| p.id).collect();
    let mut expected = vec![w.admin.id, w.member.id, zed.id, broad.id];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(context.profile(broad.id).unwrap().preferences, wants_all);

    let as_customer = store.post_context(id, Some(Party::Customer(w.customer.id)), &[]).await.unwrap();
    assert_eq!(as_customer.relation, store.relation(id, Party::Customer(w.customer.id)).await.unwrap());
    assert!(as_customer.relation.participant);
    assert!(as_customer.mentioned.is_empty());
    let ids: Vec<UserId> = as_customer.profiles.iter().map(|p| p.id).collect();
    let mut expected: Vec<UserId> = people.item_followers.iter().filter_map(|p| p.user()).collect();
    expected.extend([w.admin.id, broad.id]);
    expected.sort();
    expected.dedup();
    assert_eq!(ids, expected, "the users named around it and the broad ones");

    let missing = store.post_context(ConversationId(9_999), Some(Party::User(w.member.id)), &[]).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

/// Posts that arrive together (a backend may store them in one transaction) are each numbered
/// once and in order; a post refused as locked, or one that fails outright (here an audience
/// naming someone twice, which no caller builds), fails alone and leaves no trace.
pub async fn r6_r8_concurrent_posts_are_numbered_once_and_fail_alone<S: Store>(store: &S) {
    let w = World::new(store).await;
    let open = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let locked = w.conversation(store, Visibility::Internal, None, vec![]).await;
    store.set_state(locked.header.id, Open, Closed, Author::Bot, T0).await.unwrap();
    store.set_state(locked.header.id, Closed, Locked, Author::Bot, T0).await.unwrap();
    let to = [Party::Customer(w.customer.id)];
    let member = Author::User(w.member.id);
    let mut twice = new_message(&open, member, &to, T0 + 1);
    twice.audience.recipients.extend(twice.audience.recipients.clone());
    let twice = twice.planned(open.header.visibility, DELAY);
    let posts = (0..40).map(|i| match i % 10 {
        3 => new_message(&locked, member, &[], T0 + i),
        7 => NewMessage { created_at: T0 + i, ..twice.clone() },
        _ => new_message(&open, member, &to, T0 + i),
    });
    let results = futures_util::future::join_all(posts.map(|m| store.insert_message(m))).await;

    let mut numbers = Vec::new();
    for (i, result) in results.iter().enumerate() {
        match (i % 10, result) {
            (3, Err(StoreError::Locked)) => {}
            (7, Err(StoreError::Other(_))) => {}
            (3 | 7, other) => panic!("post {i} should have failed: {other:?}"),
            (_, Ok(m)) => numbers.push(m.number),
            (_, Err(e)) => panic!("post {i} failed: {e:?}"),
        }
    }
    numbers.sort();
    assert_eq!(numbers, (1..=32).collect::<Vec<i64>>(), "each stored post numbered once, no gap");
    let stored = store.messages(open.header.id, 0, 100, Reader::User).await.unwrap();
    assert_eq!(stored.len(), 32);
    assert_eq!(store.conversation(open.header.id).await.unwrap().header.message_count, 32);
    assert_eq!(store.conversation(locked.header.id).await.unwrap().header.message_count, 0);
    for m in &stored {
        let audience = store.message_audience(m.id).await.unwrap();
        assert_eq!(audience.len(), 1, "message {} keeps its one recipient", m.number);
    }
}
