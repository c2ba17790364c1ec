-- R29: automations of the messaging center. The core rule is one row, marked `core`, of which
-- there is only ever one.
CREATE TABLE automations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    trigger_name TEXT NOT NULL,
    project_id BIGINT REFERENCES projects (id),
    item_kind TEXT,
    minutes BIGINT,
    action TEXT NOT NULL,
    visibility TEXT NOT NULL,
    body TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    core BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX automations_one_core ON automations (core) WHERE core;

-- The customer messages a "no user reply" automation has answered (or taken to answer): the row
-- is the claim, written before the bot posts, so no message is answered twice by any node.
CREATE TABLE automation_runs (
    automation_id BIGINT NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    ran_at BIGINT NOT NULL,
    PRIMARY KEY (automation_id, message_id)
);
