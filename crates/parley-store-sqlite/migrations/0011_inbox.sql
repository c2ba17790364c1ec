-- Each person's inbox: one row per conversation they may see, with the views it is in for them
-- (bits of `View`), what they are to it (bits of `Involvement`), and their counts. Rows of one
-- conversation sit together, so a post updates a few pages however many people see it.
CREATE TABLE inbox (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    party_kind TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    views BIGINT NOT NULL,
    involvement BIGINT NOT NULL,
    -- messages they may read, those after their read position, and when the latest was written
    message_count BIGINT NOT NULL,
    unread BIGINT NOT NULL,
    activity_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, party_kind, party_id)
) WITHOUT ROWID;
CREATE INDEX inbox_party ON inbox (party_kind, party_id, conversation_id);
-- The personal views (R27) read only the conversations a person is involved in.
CREATE INDEX inbox_involved ON inbox (party_kind, party_id, conversation_id) WHERE involvement <> 0;

-- Per person and view: conversations in it, and those with unread messages. Kept by deltas.
CREATE TABLE inbox_counts (
    party_kind TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    view TEXT NOT NULL,
    total BIGINT NOT NULL,
    unread BIGINT NOT NULL,
    PRIMARY KEY (party_kind, party_id, view)
) WITHOUT ROWID;

-- An organization's customers see the projects shared with it.
CREATE INDEX customers_organization ON customers (organization_id) WHERE organization_id IS NOT NULL;

-- The shared views (R26) read conversations in order of activity.
CREATE INDEX conversations_by_state ON conversations (visibility, state, last_activity_at, id);

-- An install from before the inbox fills it once at start-up (`inbox_built` = 0).
CREATE TABLE inbox_built (id INTEGER PRIMARY KEY CHECK (id = 1), built BOOLEAN NOT NULL);
INSERT INTO inbox_built (id, built) SELECT 1, NOT EXISTS (SELECT 1 FROM conversations);
