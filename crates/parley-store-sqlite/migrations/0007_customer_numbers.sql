-- Customers are shown their own message numbers: a message's position among those they may read
-- (no gaps where a message was undone or made internal). Their read positions, kept until now as
-- message numbers, become positions among the messages they may read.
UPDATE conversation_reads SET last_seen_number = (
    SELECT COUNT(*) FROM messages m
    WHERE m.conversation_id = conversation_reads.conversation_id
      AND m.number <= conversation_reads.last_seen_number
      AND m.withdrawn_at IS NULL AND m.visibility = 'public'
      AND (m.held_until IS NULL OR m.released_at IS NOT NULL)
)
WHERE party_kind = 'customer';
