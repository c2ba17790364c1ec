-- R32: every mail received, with what it did, kept 72 hours with its raw bytes.
CREATE TABLE incoming_emails (
    id INTEGER PRIMARY KEY,
    received_at BIGINT NOT NULL,
    -- smtp or http
    via TEXT NOT NULL,
    from_address TEXT NOT NULL,
    to_addresses TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT,
    -- received, posted, started, refused, automatic, duplicate
    status TEXT NOT NULL,
    reason TEXT,
    conversation_id BIGINT,
    posted_message_id BIGINT,
    party_kind TEXT,
    party_id BIGINT,
    size BIGINT NOT NULL,
    raw BLOB NOT NULL
);
CREATE INDEX incoming_emails_received ON incoming_emails (received_at);
CREATE INDEX incoming_emails_message_id ON incoming_emails (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX incoming_emails_posted ON incoming_emails (posted_message_id) WHERE posted_message_id IS NOT NULL;

-- Tokens mail relays post incoming mail with (stored hashed).
CREATE TABLE inbound_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
