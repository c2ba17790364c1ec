-- R14: a try to send an email is recorded before the SMTP conversation begins, and cleared when
-- its outcome is recorded. One still set on a queued email means the sender died during the try:
-- the email is "in doubt" and goes again with the same Message-ID.
ALTER TABLE outgoing_emails ADD COLUMN attempt_started_at INTEGER;
