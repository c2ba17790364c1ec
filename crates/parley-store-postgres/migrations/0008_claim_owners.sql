-- R44: a claim names the node that holds it, so that what a node had claimed when it died is taken
-- back at once instead of when its lease runs out. Each node takes an id from `node_ids` and
-- holds an advisory lock on it for as long as it runs; a node that finds the lock of a claim's
-- owner free knows the owner is gone and takes its claims back. `owner_claimed_until` is the lease
-- the owner wrote: a node of an older version, during a rolling deploy, claims without naming
-- itself, and a row it claimed since (its lease differs) is never taken back early.
CREATE SEQUENCE node_ids;
ALTER TABLE message_recipients ADD COLUMN claim_owner BIGINT;
ALTER TABLE message_recipients ADD COLUMN owner_claimed_until BIGINT;
ALTER TABLE outgoing_emails ADD COLUMN claim_owner BIGINT;
ALTER TABLE outgoing_emails ADD COLUMN owner_claimed_until BIGINT;
ALTER TABLE webhook_deliveries ADD COLUMN claim_owner BIGINT;
ALTER TABLE webhook_deliveries ADD COLUMN owner_claimed_until BIGINT;
CREATE INDEX message_recipients_owned ON message_recipients (claim_owner)
    WHERE claim_owner IS NOT NULL AND email_state = 'pending';
CREATE INDEX outgoing_emails_owned ON outgoing_emails (claim_owner)
    WHERE claim_owner IS NOT NULL AND status = 'queued';
CREATE INDEX webhook_deliveries_owned ON webhook_deliveries (claim_owner)
    WHERE claim_owner IS NOT NULL AND state = 'pending';
