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
        created_by: w.admin.id,
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
    store.set_state(id, Open, Closed).await.unwrap();
    store.set_state(id, Closed, Locked).await.unwrap();
    let to = [Party::Customer(w.customer.id)];
    let refused = store.insert_message(new_message(&c, Author::User(w.member.id), &to, T0 + 5)).await;
    assert!(matches!(refused, Err(StoreError::Locked)), "{refused:?}");
    let after = store.conversation(id).await.unwrap();
    assert_eq!(after.header.state, Locked);
    assert_eq!(after.header.message_count, 0);
    assert_eq!(after.header.last_activity_at, c.header.last_activity_at);
    assert!(store.messages(id, 0, 10).await.unwrap().is_empty());

    store.set_state(id, Locked, Closed).await.unwrap();
    let m = store.insert_message(new_message(&c, Author::User(w.member.id), &to, T0 + 6)).await.unwrap();
    assert_eq!(m.number, 1, "the refused message used up no number");
}

pub async fn r6_message_reopens_closed_conversation<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, None, vec![Party::Customer(w.customer.id)]).await;
    store.set_state(c.header.id, Open, Closed).await.unwrap();
    store.insert_message(new_message(&c, Author::Customer(w.customer.id), &[], T0 + 1)).await.unwrap();
    let after = store.conversation(c.header.id).await.unwrap();
    assert_eq!(after.header.state, Open);
    assert_eq!(after.header.last_activity_at, T0 + 1);
}

/// Two people changing the state at once: the second one's expectation is stale and is refused.
pub async fn r6_state_change_is_compare_and_set<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Internal, None, vec![]).await;
    store.set_state(c.header.id, Open, Closed).await.unwrap();
    let stale = store.set_state(c.header.id, Open, Closed).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(store.conversation(c.header.id).await.unwrap().header.state, Closed);
}

pub async fn r8_messages_are_numbered_and_keep_their_audience<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![]).await;
    let to = [Party::User(w.member.id), Party::Customer(w.customer.id)];
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(store.insert_message(new_message(&c, Author::User(w.admin.id), &to, T0 + i)).await.unwrap().id);
    }
    let listed = store.messages(c.header.id, 0, 10).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.number).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(listed.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    assert_eq!(store.messages(c.header.id, 1, 1).await.unwrap()[0].number, 2);
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

pub async fn mentioned_users_start_following<S: Store>(store: &S) {
    let w = World::new(store).await;
    let c = w.conversation(store, Visibility::Internal, None, vec![]).await;
    let mut m = new_message(&c, Author::User(w.admin.id), &[], T0);
    m.new_followers = vec![Party::User(w.member.id)];
    store.insert_message(m).await.unwrap();
    let after = store.conversation(c.header.id).await.unwrap();
    assert!(after.followers.contains(&Party::User(w.member.id)));
}
