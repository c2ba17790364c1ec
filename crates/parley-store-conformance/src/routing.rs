//! R42: round-robin routing and assignment, the same on every backend.

use crate::fixtures::*;
use parley_domain::routing::CONNECTED_FOR_MS;
use parley_domain::*;
use parley_store::*;

/// Round-robin passes over the away, the long-disconnected and the full, remembers whom it chose
/// last, leaves an assigned conversation alone, and, with many routings at once, never gives a user
/// more than the cap.
pub async fn r42_routing_goes_round_skips_the_unavailable_and_holds_the_cap_under_concurrency<S: Store>(store: &S) {
    let w = World::new(store).await;
    let now = T0 + 1_000;
    let leo = store.insert_user(new_user("leo@acme.test", Role::Member)).await.unwrap();
    let eva = store.insert_user(new_user("eva@acme.test", Role::Member)).await.unwrap();
    let staff = [w.member.id, leo.id, eva.id];
    // Nobody connected: nobody is routed to.
    let first = chat(store, &w).await;
    assert_eq!(store.route_conversation(first.header.id, &staff, 10, now).await.unwrap(), None);
    store.mark_connected(&staff, Some(now)).await.unwrap();
    store.set_away(leo.id, true).await.unwrap();
    let routed = store.route_conversation(first.header.id, &staff, 10, now).await.unwrap();
    assert_eq!(routed, Some(w.member.id), "the first in id order");
    let conversation = store.conversation(first.header.id).await.unwrap();
    assert_eq!(conversation.assignees, vec![w.member.id]);
    assert!(conversation.followers.contains(&Party::User(w.member.id)), "the assignee follows it");
    assert_eq!(store.route_conversation(first.header.id, &staff, 10, now).await.unwrap(), None, "assigned already");
    let second = chat(store, &w).await;
    assert_eq!(store.route_conversation(second.header.id, &staff, 10, now).await.unwrap(), Some(eva.id), "Leo is away");
    store.set_away(leo.id, false).await.unwrap();
    let third = chat(store, &w).await;
    assert_eq!(store.route_conversation(third.header.id, &staff, 10, now).await.unwrap(), Some(w.member.id), "round");
    let fourth = chat(store, &w).await;
    assert_eq!(store.route_conversation(fourth.header.id, &staff, 10, now).await.unwrap(), Some(leo.id));
    let later = now + CONNECTED_FOR_MS + 1;
    let fifth = chat(store, &w).await;
    assert_eq!(store.route_conversation(fifth.header.id, &staff, 10, later).await.unwrap(), None, "no sign of life");
    assert_eq!(store.open_assigned(w.member.id).await.unwrap(), vec![first.header.id, third.header.id]);
    // A closed conversation no longer counts against the cap.
    store
        .set_state(first.header.id, ConversationState::Open, ConversationState::Closed, Author::Bot, now)
        .await
        .unwrap();
    assert_eq!(store.open_assigned(w.member.id).await.unwrap(), vec![third.header.id]);
    // Taking back an assignment.
    store.set_conversation_assignee(third.header.id, w.member.id, false).await.unwrap();
    assert!(store.open_assigned(w.member.id).await.unwrap().is_empty());

    // Twenty chats routed at once to three users with a cap of 3 (each holds 0 or 1 open now):
    // every user ends at exactly the cap, the rest go unrouted.
    store.mark_connected(&staff, Some(later)).await.unwrap();
    let mut chats = Vec::new();
    for _ in 0..20 {
        chats.push(chat(store, &w).await.header.id);
    }
    let routings = chats.iter().map(|id| store.route_conversation(*id, &staff, 3, later));
    let results = futures_util::future::join_all(routings).await;
    let routed: Vec<UserId> = results.into_iter().filter_map(|r| r.unwrap()).collect();
    for user in staff {
        assert_eq!(store.open_assigned(user).await.unwrap().len(), 3, "{user:?} holds the cap, no more");
    }
    assert_eq!(routed.len(), 9 - 2, "Eva and Leo held one each before");
}

/// A live chat: independent, public, the customer in it.
async fn chat<S: Store>(store: &S, w: &World) -> Conversation {
    w.conversation(store, Visibility::Public, None, vec![Party::Customer(w.customer.id)]).await
}
