//! R34: a burst of messages is one email. A new email job of a recipient joins the email their
//! earlier unsent messages of the same conversation wait for when it falls due close to it
//! (`parley_domain::delivery::burst_due` decides); every job of that email then falls due together.
//! The statements, shared by the backends; each runs them in the transaction that stores the
//! message.

/// What one recipient (`$1` kind, `$2` id) has waiting in conversation `$3`: the jobs not sent
/// and not claimed by a sender at `$4`, when their email is due and when the first was posted.
pub const WAITING: &str = "SELECT MAX(r.email_due_at) AS due_at, MIN(m.created_at) AS first_posted
    FROM message_recipients r JOIN messages m ON m.id = r.message_id
    WHERE r.party_kind = $1 AND r.party_id = $2 AND r.conversation_id = $3 AND r.email_state = 'pending'
      AND (r.claimed_until IS NULL OR r.claimed_until <= $4)";

/// Moves the waiting jobs of that recipient (`$2`, `$3`) in conversation `$4` to fall due at `$1`,
/// with the new one.
pub const JOIN: &str = "UPDATE message_recipients SET email_due_at = $1
    WHERE party_kind = $2 AND party_id = $3 AND conversation_id = $4 AND email_state = 'pending'
      AND (claimed_until IS NULL OR claimed_until <= $5)";
