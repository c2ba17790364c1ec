//! What happens to a message after it is stored, per recipient (R13–R15, R34, R35): whether an
//! email is planned, why it is not, which pending emails go out together, and how failed sends
//! are retried.

use crate::audience::Recipient;
use crate::entities::{str_enum, Channel, SendGuards, Visibility};
use crate::ids::{ConversationId, MessageId};
use crate::party::{Author, Party};

str_enum!(
    /// Where a recipient's email about one message stands.
    EmailState {
        /// Waiting for the email delay to pass.
        Pending => "pending",
        /// Put into an outgoing email (possibly a digest) that is being sent.
        Queued => "queued",
        /// The email went out.
        Sent => "sent",
        /// Sending failed for good; the error is kept.
        Failed => "failed",
        /// Not emailed, for the reason recorded with it.
        Suppressed => "suppressed"
    }
);

str_enum!(
    /// Why a recipient is not emailed about a message.
    SuppressReason {
        /// They saw it within the email delay (R14).
        Seen => "seen",
        /// They wrote it (R9).
        OwnMessage => "own_message",
        /// Their preferences say no (R22–R24).
        Preference => "preference",
        /// A customer is never emailed about an internal message (R15).
        InternalToCustomer => "internal_to_customer",
        /// The author took the message back within the send guard (R33).
        Undone => "undone",
        /// There is no address to write to (an anonymous visitor).
        NoAddress => "no_address"
    }
);

/// What to do about a recipient's email when a message is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailPlan {
    /// Email at this time unless seen first.
    DueAt(i64),
    Suppressed(SuppressReason),
}

/// R33: a public message written by a user is held from customers for the send guard; `None`
/// when it is not held (internal, written by a customer or the bot, or the guard is off).
pub fn held_until(author: Author, visibility: Visibility, posted_at: i64, guard_ms: i64) -> Option<i64> {
    let by_user = matches!(author, Author::User(_));
    (by_user && visibility == Visibility::Public && guard_ms > 0).then(|| posted_at.saturating_add(guard_ms))
}

/// R33: the send guard of chats (conversations begun in the widget) out of the box: a visitor
/// waits for the answer on the page.
pub const CHAT_SEND_GUARD_MS: i64 = 3_000;
/// R33: the send guard of every other conversation out of the box.
pub const SEND_GUARD_MS: i64 = 10_000;

/// R33: how long a reply is held in a conversation that began on `origin`. The company's setting
/// for that kind of conversation wins; else the deployment's (`--send-guard`, for both kinds);
/// else 3 s for a chat and 10 s for the rest.
pub fn send_guard_ms(origin: Channel, company: SendGuards, deployment: Option<i64>) -> i64 {
    let chat = origin == Channel::Widget;
    let (set, built_in) = if chat { (company.chat_ms, CHAT_SEND_GUARD_MS) } else { (company.other_ms, SEND_GUARD_MS) };
    set.or(deployment).unwrap_or(built_in).max(0)
}

/// R9, R14, R15, R22–R24: the email plan for one recipient of a message posted at `posted_at`.
/// A customer has the whole delay to see a held message from when it is released to them (R33).
pub fn plan_email(
    recipient: &Recipient,
    author: Author,
    visibility: Visibility,
    posted_at: i64,
    delay_ms: i64,
    held_until: Option<i64>,
) -> EmailPlan {
    match check(recipient.party, recipient.notify, author, visibility, false) {
        Some(reason) => EmailPlan::Suppressed(reason),
        None => {
            let visible_from = match held_until {
                Some(release) if recipient.party.is_customer() => release.max(posted_at),
                _ => posted_at,
            };
            EmailPlan::DueAt(visible_from.saturating_add(delay_ms))
        }
    }
}

/// R34: a message falling due for a recipient within this long of the email their earlier unsent
/// messages of the conversation wait for joins that email.
pub const BURST_GAP_MS: i64 = 30_000;
/// R34: the longest a burst's email waits after its first message fell due.
pub const BURST_MAX_WAIT_MS: i64 = 120_000;
/// R34: the most messages one burst's email carries. A flood (a script, a paste in many parts)
/// is several emails rather than one of hundreds; it also bounds what joining one costs.
pub const BURST_MAX_MESSAGES: i64 = 20;

/// The burst of one recipient in one conversation whose email is not due yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    /// When its email is due (its messages all wait for the same one).
    pub due_at: i64,
    /// When the first of them fell (or falls) due by its own delay.
    pub first_due_at: i64,
    /// How many messages it holds.
    pub messages: i64,
}

/// R34: when the email of a new job due at `due_at` goes, given the recipient's jobs already
/// `waiting` in that conversation: a message falling due within [`BURST_GAP_MS`] of the waiting
/// email joins it, and the whole email then goes when the later of the two falls due, unless that
/// is more than [`BURST_MAX_WAIT_MS`] after the first fell due or the burst holds
/// [`BURST_MAX_MESSAGES`] already. `None` means it stands alone (and begins a burst of its own).
/// Nothing is ever emailed before its own delay: a joined email only ever goes later.
pub fn burst_due(due_at: i64, waiting: Option<Waiting>) -> Option<i64> {
    let w = waiting?;
    let together = due_at.max(w.due_at);
    let close = due_at.abs_diff(w.due_at) <= BURST_GAP_MS.unsigned_abs();
    let room = w.messages < BURST_MAX_MESSAGES;
    (close && room && together.saturating_sub(w.first_due_at) <= BURST_MAX_WAIT_MS).then_some(together)
}

/// The burst a new email job due at `due_at` leaves waiting: the one it joined (`burst_due`
/// answered `Some`), or a new one it begins.
pub fn after_joining(due_at: i64, waiting: Option<Waiting>) -> Waiting {
    match (burst_due(due_at, waiting), waiting) {
        (Some(together), Some(w)) => {
            Waiting { due_at: together, first_due_at: w.first_due_at, messages: w.messages + 1 }
        }
        _ => Waiting { due_at, first_due_at: due_at, messages: 1 },
    }
}

/// The same rules again when a pending email falls due: anything that changed since (the
/// recipient saw it) suppresses it. `None` means send.
pub fn check(party: Party, notify: bool, author: Author, visibility: Visibility, seen: bool) -> Option<SuppressReason> {
    if author.party() == Some(party) {
        Some(SuppressReason::OwnMessage)
    } else if party.is_customer() && visibility == Visibility::Internal {
        Some(SuppressReason::InternalToCustomer)
    } else if !notify {
        Some(SuppressReason::Preference)
    } else if seen {
        Some(SuppressReason::Seen)
    } else {
        None
    }
}

/// A pending email that has fallen due, with what the check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueEmail {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub number: i64,
    pub party: Party,
    pub author: Author,
    pub visibility: Visibility,
    pub notify: bool,
    pub seen: bool,
}

/// One email to send: a recipient's unseen messages of one conversation, in order (R34).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub party: Party,
    pub conversation_id: ConversationId,
    /// Ordered by message number.
    pub messages: Vec<MessageId>,
}

/// Splits due emails into those to suppress (with why) and digests to send, one per recipient and
/// conversation, messages in conversation order.
pub fn plan_digests(due: &[DueEmail]) -> (Vec<(MessageId, Party, SuppressReason)>, Vec<Digest>) {
    let mut suppressed = Vec::new();
    let mut sending: Vec<&DueEmail> = Vec::new();
    for job in due {
        match check(job.party, job.notify, job.author, job.visibility, job.seen) {
            Some(reason) => suppressed.push((job.message_id, job.party, reason)),
            None => sending.push(job),
        }
    }
    sending.sort_by_key(|j| (j.party, j.conversation_id, j.number));
    let mut digests: Vec<Digest> = Vec::new();
    for job in sending {
        match digests.last_mut() {
            Some(d) if d.party == job.party && d.conversation_id == job.conversation_id => {
                d.messages.push(job.message_id)
            }
            _ => digests.push(Digest {
                party: job.party,
                conversation_id: job.conversation_id,
                messages: vec![job.message_id],
            }),
        }
    }
    (suppressed, digests)
}

/// How many times an outgoing email is tried before it is given up as failed.
pub const MAX_SEND_ATTEMPTS: u32 = 8;

/// The wait before try number `attempts + 1`, after `attempts` failures: 5 s doubling each time,
/// at most an hour. `None` once the attempts are used up.
pub fn retry_delay_ms(attempts: u32) -> Option<i64> {
    if attempts >= MAX_SEND_ATTEMPTS {
        return None;
    }
    let doublings = attempts.saturating_sub(1).min(20);
    Some((5_000_i64 << doublings).min(3_600_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audience::Reason;
    use crate::ids::{CustomerId, UserId};

    fn recipient(party: Party, notify: bool) -> Recipient {
        Recipient { party, reasons: vec![Reason::Participant], notify }
    }

    const USER: Party = Party::User(UserId(1));
    const CUSTOMER: Party = Party::Customer(CustomerId(2));

    #[test]
    fn r33_a_guard_per_channel_the_companys_setting_then_the_deployments_then_the_defaults() {
        let none = SendGuards::default();
        assert_eq!(send_guard_ms(Channel::Widget, none, None), 3_000);
        for other in [Channel::App, Channel::Api, Channel::Portal, Channel::Email, Channel::Automation] {
            assert_eq!(send_guard_ms(other, none, None), 10_000, "{other}");
        }
        assert_eq!(send_guard_ms(Channel::Widget, none, Some(0)), 0, "--send-guard is both defaults");
        assert_eq!(send_guard_ms(Channel::Email, none, Some(5_000)), 5_000);
        let set = SendGuards { chat_ms: Some(1_000), other_ms: Some(20_000) };
        assert_eq!(send_guard_ms(Channel::Widget, set, Some(0)), 1_000, "the admin's setting wins");
        assert_eq!(send_guard_ms(Channel::Portal, set, Some(0)), 20_000);
    }

    #[test]
    fn r34_a_burst_two_seconds_apart_is_one_email_never_sent_before_its_own_delay() {
        let delay = 60_000;
        let mut waiting: Option<Waiting> = None;
        for posted in [0, 2_000, 4_000, 6_000, 8_000] {
            let due = posted + delay;
            let goes = burst_due(due, waiting).unwrap_or(due);
            assert!(goes >= due, "never before its own delay");
            waiting = Some(after_joining(due, waiting));
            assert_eq!(waiting.map(|w| w.due_at), Some(goes));
        }
        assert_eq!(
            waiting,
            Some(Waiting { due_at: 68_000, first_due_at: 60_000, messages: 5 }),
            "all five go at the last one's time"
        );
    }

    #[test]
    fn r34_a_flood_is_cut_into_emails_of_at_most_twenty() {
        let mut waiting = None;
        let mut emails = 0;
        for n in 0..50 {
            let due = 60_000 + n * 100;
            if burst_due(due, waiting).is_none() {
                emails += 1;
            }
            waiting = Some(after_joining(due, waiting));
        }
        assert_eq!(emails, 3, "20 + 20 + 10");
        assert_eq!(waiting.map(|w| (w.messages, w.first_due_at)), Some((10, 64_000)));
    }

    #[test]
    fn r34_a_gap_longer_than_the_window_or_a_burst_past_two_minutes_stands_alone() {
        let w = Waiting { due_at: 60_000, first_due_at: 60_000, messages: 1 };
        assert_eq!(burst_due(90_000, Some(w)), Some(90_000), "exactly the window joins");
        assert_eq!(burst_due(90_001, Some(w)), None, "a longer gap stands alone");
        let long = Waiting { due_at: 170_000, first_due_at: 60_000, messages: 19 };
        assert_eq!(burst_due(180_000, Some(long)), Some(180_000), "two minutes in all");
        assert_eq!(burst_due(180_001, Some(long)), None, "never longer");
        assert_eq!(burst_due(60_000, None), None);
        // A reply released by the send guard falls due after a later message: the later one waits.
        assert_eq!(burst_due(55_000, Some(w)), Some(60_000));
    }

    #[test]
    fn r14_email_is_due_one_delay_after_posting() {
        let plan = plan_email(
            &recipient(USER, true),
            Author::Customer(CustomerId(2)),
            Visibility::Public,
            1_000,
            60_000,
            None,
        );
        assert_eq!(plan, EmailPlan::DueAt(61_000));
    }

    #[test]
    fn r33_public_messages_by_users_are_held_for_the_guard() {
        let user = Author::User(UserId(1));
        assert_eq!(held_until(user, Visibility::Public, 1_000, 10_000), Some(11_000));
        assert_eq!(held_until(user, Visibility::Internal, 1_000, 10_000), None);
        assert_eq!(held_until(Author::Customer(CustomerId(2)), Visibility::Public, 1_000, 10_000), None);
        assert_eq!(held_until(Author::Bot, Visibility::Public, 1_000, 10_000), None);
        assert_eq!(held_until(user, Visibility::Public, 1_000, 0), None, "0 turns the guard off");
    }

    #[test]
    fn r33_a_customer_has_the_whole_delay_from_release() {
        let user = Author::User(UserId(9));
        let held = Some(100_000);
        assert_eq!(
            plan_email(&recipient(CUSTOMER, true), user, Visibility::Public, 0, 60_000, held),
            EmailPlan::DueAt(160_000)
        );
        assert_eq!(
            plan_email(&recipient(USER, true), user, Visibility::Public, 0, 60_000, held),
            EmailPlan::DueAt(60_000)
        );
        assert_eq!(
            plan_email(&recipient(CUSTOMER, true), user, Visibility::Public, 0, 60_000, Some(5)),
            EmailPlan::DueAt(60_005)
        );
    }

    #[test]
    fn r9_author_is_never_emailed() {
        let plan = plan_email(&recipient(USER, true), Author::User(UserId(1)), Visibility::Internal, 0, 1, None);
        assert_eq!(plan, EmailPlan::Suppressed(SuppressReason::OwnMessage));
    }

    #[test]
    fn r15_customer_is_never_emailed_an_internal_message() {
        let plan = plan_email(&recipient(CUSTOMER, true), Author::User(UserId(1)), Visibility::Internal, 0, 1, None);
        assert_eq!(plan, EmailPlan::Suppressed(SuppressReason::InternalToCustomer));
    }

    #[test]
    fn r22_preferences_that_say_no_suppress_the_email() {
        let plan = plan_email(&recipient(USER, false), Author::Customer(CustomerId(2)), Visibility::Public, 0, 1, None);
        assert_eq!(plan, EmailPlan::Suppressed(SuppressReason::Preference));
    }

    #[test]
    fn r14_seen_within_the_delay_suppresses_the_email() {
        let author = Author::Customer(CustomerId(2));
        assert_eq!(check(USER, true, author, Visibility::Public, true), Some(SuppressReason::Seen));
        assert_eq!(check(USER, true, author, Visibility::Public, false), None);
    }

    fn due(id: i64, conversation: i64, number: i64, party: Party, seen: bool) -> DueEmail {
        DueEmail {
            message_id: MessageId(id),
            conversation_id: ConversationId(conversation),
            number,
            party,
            author: Author::User(UserId(9)),
            visibility: Visibility::Public,
            notify: true,
            seen,
        }
    }

    #[test]
    fn r34_due_emails_of_one_conversation_and_recipient_form_one_digest_in_order() {
        let jobs = [
            due(12, 1, 2, USER, false),
            due(30, 2, 1, USER, false),
            due(11, 1, 1, USER, false),
            due(11, 1, 1, CUSTOMER, false),
            due(13, 1, 3, USER, true),
        ];
        let (suppressed, digests) = plan_digests(&jobs);
        assert_eq!(suppressed, vec![(MessageId(13), USER, SuppressReason::Seen)]);
        let shape: Vec<(Party, i64, Vec<i64>)> =
            digests.iter().map(|d| (d.party, d.conversation_id.0, d.messages.iter().map(|m| m.0).collect())).collect();
        assert_eq!(
            shape,
            vec![(USER, 1, vec![11, 12]), (USER, 2, vec![30]), (CUSTOMER, 1, vec![11])],
            "users sort before customers; messages in conversation order"
        );
    }

    #[test]
    fn failed_sends_back_off_then_give_up() {
        assert_eq!(retry_delay_ms(1), Some(5_000));
        assert_eq!(retry_delay_ms(2), Some(10_000));
        assert_eq!(retry_delay_ms(7), Some(320_000));
        assert_eq!(retry_delay_ms(MAX_SEND_ATTEMPTS), None);
        assert!((0..MAX_SEND_ATTEMPTS).all(|a| retry_delay_ms(a).is_some_and(|d| d <= 3_600_000)));
    }
}
