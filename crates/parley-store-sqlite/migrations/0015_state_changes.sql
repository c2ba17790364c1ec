-- Who closed, locked, unlocked or reopened a conversation, and when (R6): the thread shows a line
-- for each. A new message reopening a closed conversation is recorded with its author.
CREATE TABLE conversation_state_changes (
    id INTEGER PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    state TEXT NOT NULL,
    by_kind TEXT NOT NULL,
    by_id BIGINT,
    at BIGINT NOT NULL
);
CREATE INDEX conversation_state_changes_conversation ON conversation_state_changes (conversation_id, id);
