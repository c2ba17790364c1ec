//! Who may receive which realtime event: the socket's half of the policy table (the routes' half is
//! `parley_server::policy`). Each kind of event has one row; every push passes through
//! [`may_receive`] after the publisher chose its receivers (the audience of a message, the people of
//! a conversation), so a wrong choice upstream still cannot hand a customer what only staff may
//! read.

use super::events::EventBody;
use parley_domain::*;

/// Who a kind of event may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Only the connection's own person (its greeting, counts, a resync).
    Itself,
    /// Users, and customers only when what it shows is public and no longer held (R7, R33).
    PublicToCustomers,
    /// Users only: who saw what, and what was taken back (R13, R33).
    UsersOnly,
}

/// The table: every kind of event and its reach.
pub const EVENTS: &[(&str, Reach)] = &[
    ("hello", Reach::Itself),
    ("counts", Reach::Itself),
    ("resync", Reach::Itself),
    ("message", Reach::PublicToCustomers),
    ("state", Reach::PublicToCustomers),
    ("retracted", Reach::UsersOnly),
    ("seen", Reach::UsersOnly),
];

/// The name of an event's kind, as its `type` field says.
pub fn kind_of(body: &EventBody) -> &'static str {
    match body {
        EventBody::Hello { .. } => "hello",
        EventBody::Counts { .. } => "counts",
        EventBody::Resync => "resync",
        EventBody::Message { .. } => "message",
        EventBody::State { .. } => "state",
        EventBody::Retracted { .. } => "retracted",
        EventBody::Seen { .. } => "seen",
    }
}

/// What the event shows, for the customers' check: the visibility of the message or conversation
/// it is about, and whether that message is still held at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shows {
    pub visibility: Visibility,
    pub held: bool,
}

/// Whether `receiver` may be sent `body`. `about` is the conversation's visibility for a state
/// event (a message carries its own).
pub fn may_receive(body: &EventBody, receiver: Party, about: Option<Visibility>, now: i64) -> bool {
    let reach = EVENTS.iter().find(|(kind, _)| *kind == kind_of(body)).map(|(_, reach)| *reach);
    let shows = match body {
        EventBody::Message { message, .. } | EventBody::Retracted { message, .. } => {
            Some(Shows { visibility: message.visibility, held: message.held_until.is_some_and(|until| until > now) })
        }
        _ => about.map(|visibility| Shows { visibility, held: false }),
    };
    match (reach, receiver) {
        (None, _) => false,
        (Some(_), Party::User(_)) => true,
        (Some(Reach::Itself), Party::Customer(_)) => true,
        (Some(Reach::UsersOnly), Party::Customer(_)) => false,
        (Some(Reach::PublicToCustomers), Party::Customer(_)) => {
            shows.is_some_and(|s| s.visibility == Visibility::Public && !s.held)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(visibility: Visibility, held_until: Option<i64>) -> Message {
        Message {
            id: MessageId(1),
            conversation_id: ConversationId(1),
            number: 1,
            author: Author::Bot,
            visibility,
            body: String::new(),
            body_html: String::new(),
            channel: Channel::App,
            created_at: 0,
            held_until,
            attachments: vec![],
        }
    }

    fn every_event() -> Vec<(EventBody, Option<Visibility>)> {
        let mut out = vec![
            (EventBody::Hello { party: Party::User(UserId(1)), views: vec![] }, None),
            (EventBody::Counts { views: vec![] }, None),
            (EventBody::Resync, None),
            (EventBody::Seen { party: Party::User(UserId(1)), receipts: vec![] }, None),
        ];
        for v in Visibility::ALL {
            for held in [None, Some(5), Some(20)] {
                let m = message(*v, held);
                out.push((EventBody::Message { message: m.clone(), subject: String::new(), sound: false }, None));
                out.push((EventBody::Retracted { message: m, how: "undone" }, None));
            }
            let state = EventBody::State { conversation_id: ConversationId(1), state: ConversationState::Open };
            out.push((state.clone(), Some(*v)));
            out.push((state, None));
        }
        out
    }

    #[test]
    fn r7_every_kind_of_event_has_a_row() {
        for (event, _) in every_event() {
            assert!(EVENTS.iter().any(|(kind, _)| *kind == kind_of(&event)), "{event:?}");
        }
    }

    #[test]
    fn r7_r33_customers_receive_only_what_is_public_and_released() {
        let now = 10;
        for (event, about) in every_event() {
            let customer = may_receive(&event, Party::Customer(CustomerId(1)), about, now);
            let expected = match &event {
                EventBody::Hello { .. } | EventBody::Counts { .. } | EventBody::Resync => true,
                EventBody::Message { message, .. } => {
                    message.visibility == Visibility::Public && message.held_until.is_none_or(|t| t <= now)
                }
                EventBody::State { .. } => about == Some(Visibility::Public),
                EventBody::Retracted { .. } | EventBody::Seen { .. } => false,
            };
            assert_eq!(customer, expected, "{event:?} about {about:?}");
            assert!(may_receive(&event, Party::User(UserId(1)), about, now), "users receive every kind: {event:?}");
        }
    }
}
