-- R33: the send guard. A held message reaches customers from `held_until`; the worker marks it
-- released when it pushes it to them; its author may withdraw it (or make it internal) before.
ALTER TABLE messages ADD COLUMN held_until BIGINT;
ALTER TABLE messages ADD COLUMN released_at BIGINT;
ALTER TABLE messages ADD COLUMN withdrawn_at BIGINT;
CREATE INDEX messages_held ON messages (held_until) WHERE held_until IS NOT NULL AND released_at IS NULL;
