-- A user's whole inbox being rebuilt (a new user, a changed scope or team), one range of
-- conversation ids per transaction: how far it got, so that a restart finishes it. A newer
-- rebuild of the same person bumps the generation and starts over; the older one then stops.
CREATE TABLE inbox_rebuilds (
    party_kind TEXT NOT NULL,
    party_id INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    next_conversation_id INTEGER NOT NULL,
    PRIMARY KEY (party_kind, party_id)
);
