//! R34: a burst of messages is one email. A new email job of a recipient joins the email their
//! earlier unsent messages of the same conversation wait for when it falls due close to it
//! (`parley_domain::delivery::burst_due` decides); every job of that email then falls due together.
//! Each recipient's open burst in a conversation is one row of `email_bursts`, so joining costs a
//! read of that row and an update of the burst's few jobs (at most `BURST_MAX_MESSAGES`), however
//! long the conversation. The statements, shared by the backends; each runs them in the
//! transaction that stores the message.

/// The burst of one recipient (`$1` kind, `$2` id) in conversation `$3` whose email is not due
/// yet at `$4`: when it is due, when its first message fell due, how many it holds.
pub const WAITING: &str = "SELECT due_at, first_due_at, messages FROM email_bursts
    WHERE party_kind = $1 AND party_id = $2 AND conversation_id = $3 AND due_at > $4";

/// Moves the burst's pending jobs (those of recipient `$2`, `$3` in conversation `$4` due at the
/// burst's time `$5`) to fall due at `$1`, with the new one.
pub const JOIN: &str = "UPDATE message_recipients SET email_due_at = $1
    WHERE party_kind = $2 AND party_id = $3 AND conversation_id = $4 AND email_state = 'pending'
      AND email_due_at = $5";

/// Keeps the recipient's (`$1`, `$2`) burst in conversation `$3` as it now is.
pub const KEEP: &str =
    "INSERT INTO email_bursts (party_kind, party_id, conversation_id, due_at, first_due_at, messages)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (party_kind, party_id, conversation_id)
    DO UPDATE SET due_at = excluded.due_at, first_due_at = excluded.first_due_at, messages = excluded.messages";
