-- R36: an address a live-chat visitor gives is unverified until they prove it with an emailed
-- code. It is kept apart from `email`, which alone is unique, used for logins and matching, and
-- decides the organization.
ALTER TABLE customers ADD COLUMN unverified_email TEXT;

-- Codes emailed to prove an address: stored hashed, short-lived, used once, a few tries each.
CREATE TABLE email_verifications (
    id INTEGER PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    email TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at BIGINT
);
CREATE INDEX email_verifications_customer ON email_verifications (customer_id, created_at);

-- Customer lists are read a page at a time, ordered by name (R39: bounded work per request).
CREATE INDEX customers_name ON customers (name, id);
