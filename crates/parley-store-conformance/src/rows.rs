//! What list rows show besides each header, and the assignment filters of a view page (R26–R28).

use crate::fixtures::*;
use parley_domain::views::View;
use parley_domain::*;
use parley_store::*;

/// A row carries the latest message the reader may read (never a held one for a customer), the
/// customers (participants, then requesters, each once) and the item's assignees; a page keeps
/// only what its filter asks for.
pub async fn r26_rows_carry_the_latest_readable_words_customers_and_assignees_and_pages_filter<S: Store>(store: &S) {
    let w = World::new(store).await;
    let customer = Party::Customer(w.customer.id);
    // The fixture's ticket has the member as its assignee and the customer as its requester.
    let on_ticket = w.conversation(store, Visibility::Public, Some(Link::Item(w.ticket.id)), vec![customer]).await;
    let chat = w.conversation(store, Visibility::Public, None, vec![customer]).await;
    let first =
        store.insert_message(new_message(&on_ticket, Author::Customer(w.customer.id), &[], T0 + 1)).await.unwrap();
    let mut held = new_message(&on_ticket, Author::User(w.admin.id), &[customer], T0 + 2);
    held.body = "held reply".into();
    held.held_until = Some(T0 + 10_000);
    store.insert_message(held).await.unwrap();
    store.insert_message(new_message(&chat, Author::Customer(w.customer.id), &[], T0 + 3)).await.unwrap();

    let ids = [on_ticket.header.id, chat.header.id, ConversationId(999_999)];
    let rows = |reader| async move {
        let mut rows = store.row_details(&ids, reader).await.unwrap();
        rows.sort_by_key(|r| r.conversation_id);
        rows
    };
    let staff = rows(Reader::User).await;
    let ticket_row = staff.iter().find(|r| r.conversation_id == on_ticket.header.id).unwrap();
    assert_eq!(ticket_row.last_message.as_ref().map(|m| m.body.as_str()), Some("held reply"), "staff see it at once");
    assert_eq!(
        ticket_row.customers,
        vec![(w.customer.id, w.customer.name.clone())],
        "once, though both participant and requester"
    );
    assert_eq!(ticket_row.assignees, vec![w.member.id]);
    let chat_row = staff.iter().find(|r| r.conversation_id == chat.header.id).unwrap();
    assert!(chat_row.assignees.is_empty());
    assert!(staff.iter().all(|r| r.conversation_id != ConversationId(999_999) || r.last_message.is_none()));

    let theirs = rows(Reader::Customer { now: T0 + 9_999 }).await;
    let ticket_row = theirs.iter().find(|r| r.conversation_id == on_ticket.header.id).unwrap();
    let last = ticket_row.last_message.as_ref().unwrap();
    assert_eq!((last.author, last.body.as_str()), (first.author, first.body.as_str()), "not the held reply");
    let theirs = rows(Reader::Customer { now: T0 + 10_000 }).await;
    let ticket_row = theirs.iter().find(|r| r.conversation_id == on_ticket.header.id).unwrap();
    assert_eq!(ticket_row.last_message.as_ref().map(|m| m.body.as_str()), Some("held reply"), "once released");

    // The admin (scope: all) sees both among the open conversations with customers.
    let page = |party, filter| async move {
        let page = store.inbox_page(party, View::OpenWithCustomers, filter, None, 10).await.unwrap();
        let mut ids: Vec<ConversationId> = page.iter().map(|e| e.conversation.id).collect();
        ids.sort();
        ids
    };
    let (admin, member) = (Party::User(w.admin.id), Party::User(w.member.id));
    assert_eq!(page(admin, InboxFilter::Everything).await, vec![on_ticket.header.id, chat.header.id]);
    assert_eq!(page(admin, InboxFilter::AssignedTo(w.admin.id)).await, vec![]);
    assert_eq!(page(member, InboxFilter::AssignedTo(w.member.id)).await, vec![on_ticket.header.id]);
    assert_eq!(page(admin, InboxFilter::Unassigned).await, vec![chat.header.id]);
}
