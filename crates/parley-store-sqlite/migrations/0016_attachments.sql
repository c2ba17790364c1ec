-- Files attached to messages. The bytes live outside the database, named by their SHA-256; a row
-- with no message is an upload its uploader has not sent yet (only they may fetch it), removed
-- after a day.
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    message_id BIGINT REFERENCES messages (id),
    uploader_kind TEXT NOT NULL,
    uploader_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id, id);
CREATE INDEX attachments_unsent ON attachments (created_at) WHERE message_id IS NULL;
CREATE INDEX attachments_bytes ON attachments (sha256);
