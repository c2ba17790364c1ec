-- One-time login links for the customer portal, emailed on request; stored hashed, used once.
CREATE TABLE login_links (
    token_hash TEXT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX login_links_customer ON login_links (customer_id, created_at);
