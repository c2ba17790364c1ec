-- A user an admin deactivated: no login, no session, in no audience, until reactivated.
ALTER TABLE users ADD COLUMN deactivated_at BIGINT;
