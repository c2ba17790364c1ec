//! R34: a burst of messages is one email. A new email job of a recipient joins the email their
//! earlier unsent messages of the same conversation wait for when it falls due close to it
//! (`parley_domain::delivery::burst_due` decides); every job of that email then falls due together.
//! Each recipient's open burst in a conversation is one row of `email_bursts`, so joining costs a
//! read of that row and an update of the burst's few jobs (at most `BURST_MAX_MESSAGES`), however
//! long the conversation. The statements, shared by the backends; each runs them in the
//! transaction that stores the message.

/// The bursts in conversation `$1` whose email is not due yet at `$2`, one per recipient: when
/// each is due, when its first message fell due, how many it holds.
pub const WAITING: &str = "SELECT party_kind, party_id, due_at, first_due_at, messages FROM email_bursts
    WHERE conversation_id = $1 AND due_at > $2";

/// Moves the burst's pending jobs (those of recipient `$2`, `$3` in conversation `$4` due at the
/// burst's time `$5`) to fall due at `$1`, with the new one.
pub const JOIN: &str = "UPDATE message_recipients SET email_due_at = $1
    WHERE party_kind = $2 AND party_id = $3 AND conversation_id = $4 AND email_state = 'pending'
      AND email_due_at = $5";

/// The start of the statement that keeps each recipient's burst as it now is; the backend's
/// query builder adds the rows (`conversation_id, party_kind, party_id, due_at, first_due_at,
/// messages`) and then [`KEEP_END`].
pub const KEEP: &str =
    "INSERT INTO email_bursts (conversation_id, party_kind, party_id, due_at, first_due_at, messages) ";
/// How [`KEEP`] ends: a burst already kept is replaced.
pub const KEEP_END: &str = " ON CONFLICT (conversation_id, party_kind, party_id)
    DO UPDATE SET due_at = excluded.due_at, first_due_at = excluded.first_due_at, messages = excluded.messages";
