-- R44: a delivery names what it is about, so the sender can decide again before each try: the
-- message it announces (a reply taken back or made internal within the send guard is never
-- sent), and whether it was internal when queued (a webhook whose "internal" was turned off
-- since sends none). A delivery stopped before it went out is 'cancelled', with why.
-- Rows queued by an older node have neither: they are sent as before.
ALTER TABLE webhook_deliveries ADD COLUMN message_id BIGINT;
ALTER TABLE webhook_deliveries ADD COLUMN internal BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE webhook_deliveries ADD COLUMN cancel_reason TEXT;
CREATE INDEX webhook_deliveries_of_message ON webhook_deliveries (message_id) WHERE message_id IS NOT NULL;
