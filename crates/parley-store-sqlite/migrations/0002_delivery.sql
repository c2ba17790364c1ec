-- Delivery (R12–R16, R32–R35).

-- Emails to send, each a recipient's digest of one conversation; kept 72 hours for the log (R32).
CREATE TABLE outgoing_emails (
    id INTEGER PRIMARY KEY,
    created_at BIGINT NOT NULL,
    conversation_id BIGINT REFERENCES conversations (id),
    party_kind TEXT,
    party_id BIGINT,
    to_address TEXT NOT NULL,
    to_name TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    message_id_header TEXT NOT NULL UNIQUE,
    in_reply_to TEXT,
    references_header TEXT,
    reply_to TEXT,
    -- queued, sent, failed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    -- A worker's lease on sending it; another may take it over once the lease has run out.
    claimed_until BIGINT,
    last_error TEXT,
    sent_at BIGINT
);
CREATE INDEX outgoing_emails_due ON outgoing_emails (next_attempt_at) WHERE status = 'queued';
CREATE INDEX outgoing_emails_created ON outgoing_emails (created_at);

-- The audience rows become the delivery ledger (R13, R35): what happened to each message for each
-- recipient. `email_id` points at the outgoing email while it exists (it is pruned after 72 hours;
-- the ledger keeps the outcome).
ALTER TABLE message_recipients ADD COLUMN pushed_at BIGINT;
ALTER TABLE message_recipients ADD COLUMN seen_at BIGINT;
-- pending, queued, sent, failed, suppressed
ALTER TABLE message_recipients ADD COLUMN email_state TEXT NOT NULL DEFAULT 'suppressed';
ALTER TABLE message_recipients ADD COLUMN email_reason TEXT;
ALTER TABLE message_recipients ADD COLUMN email_due_at BIGINT;
ALTER TABLE message_recipients ADD COLUMN email_at BIGINT;
ALTER TABLE message_recipients ADD COLUMN email_id BIGINT;
ALTER TABLE message_recipients ADD COLUMN claimed_until BIGINT;
CREATE INDEX message_recipients_due ON message_recipients (email_due_at) WHERE email_state = 'pending';
CREATE INDEX message_recipients_email ON message_recipients (email_id) WHERE email_id IS NOT NULL;

-- Installation secrets (the reply-token key), created once.
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Email templates editable by admins (R29, R30).
CREATE TABLE templates (
    name TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
