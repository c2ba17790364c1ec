-- R41: a user who wrote in a conversation takes part in it (role 'taking_part'), which counts as
-- following for notifications and views and never for access. Everyone who wrote before this
-- version takes part from now on. Their inbox rows are rebuilt afterwards, in the background: a
-- mark with `background` set is not finished before a node starts serving, as a changed scope is,
-- since until it is done a row lacks only what taking part adds.
ALTER TABLE inbox_rebuilds ADD COLUMN background BOOLEAN NOT NULL DEFAULT FALSE;

INSERT INTO conversation_people (conversation_id, role, party_kind, party_id)
SELECT DISTINCT conversation_id, 'taking_part', 'user', author_id
FROM messages WHERE author_kind = 'user' AND author_id IS NOT NULL
ON CONFLICT DO NOTHING;

-- Taking part changes only the views of public conversations ("customer replies").
INSERT INTO inbox_rebuilds (party_kind, party_id, generation, next_conversation_id, background)
SELECT DISTINCT 'user', cp.party_id, 1, 0, TRUE
FROM conversation_people cp JOIN conversations c ON c.id = cp.conversation_id
WHERE cp.role = 'taking_part' AND c.visibility = 'public'
ON CONFLICT DO NOTHING;
