-- §10: endpoints that hear about events, each with the events it wants and whether it may hear of
-- internal ones. The secret signs every payload (Standard Webhooks).
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    internal BOOLEAN NOT NULL,
    enabled BOOLEAN NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One event for one webhook: queued before anyone is told it will be sent, claimed with a lease
-- (`leased_until`) so two nodes never both send it, tried again with backoff until delivered or
-- out of tries. `event_id` is the `webhook-id` header, the same on every try.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    tries INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    leased_until BIGINT,
    created_at BIGINT NOT NULL,
    settled_at BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_of_webhook ON webhook_deliveries (webhook_id, id);

-- Every try of a delivery, as admins read it: when, what the endpoint answered (or why there was
-- no answer), and how long it took.
CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at BIGINT NOT NULL,
    status INTEGER,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_of_delivery ON webhook_attempts (delivery_id, id);

-- R30 and §10: what a `send_email` automation sends and to whom, and which webhook a
-- `call_webhook` one calls. A template or webhook an automation uses cannot be deleted.
ALTER TABLE automations ADD COLUMN template_name TEXT REFERENCES templates (name);
ALTER TABLE automations ADD COLUMN recipients TEXT NOT NULL DEFAULT '';
ALTER TABLE automations ADD COLUMN address TEXT;
ALTER TABLE automations ADD COLUMN webhook_id BIGINT REFERENCES webhooks (id);
