-- R33: a conversation remembers where it began (the channel of its first message), so that the
-- send guard can be shorter in a live chat; the company sets a guard per kind of conversation
-- (NULL: the deployment's default).
ALTER TABLE conversations ADD COLUMN origin TEXT;
UPDATE conversations SET origin = (
    SELECT m.channel FROM messages m WHERE m.conversation_id = conversations.id ORDER BY m.number LIMIT 1
);
ALTER TABLE company ADD COLUMN chat_send_guard_ms BIGINT;
ALTER TABLE company ADD COLUMN send_guard_ms BIGINT;
