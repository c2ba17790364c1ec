-- The messages a person has not seen yet, per conversation: reading a conversation marks these
-- alone, however long its history (R13).
CREATE INDEX message_recipients_unseen ON message_recipients (party_kind, party_id, conversation_id)
    WHERE seen_at IS NULL;
