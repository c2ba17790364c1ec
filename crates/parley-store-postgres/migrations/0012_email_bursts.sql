-- R34: each recipient's open burst in a conversation: when its one email is due, when its first
-- message fell due, how many messages it holds. A post reads its conversation's open bursts in one
-- statement and moves only the pending jobs of a burst it extends (found by the index below),
-- never the conversation's whole history.
CREATE TABLE email_bursts (
    party_kind TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    conversation_id BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    first_due_at BIGINT NOT NULL,
    messages BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, party_kind, party_id)
);
CREATE INDEX message_recipients_pending_burst ON message_recipients (party_kind, party_id, conversation_id, email_due_at)
    WHERE email_state = 'pending';
