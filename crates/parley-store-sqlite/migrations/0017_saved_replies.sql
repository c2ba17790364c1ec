-- The team's canned answers, picked in the message box by their title.
CREATE TABLE saved_replies (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    -- Lower-cased title: two replies are not told apart by case alone.
    title_key TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
