-- Parley's first schema. Times are milliseconds since the Unix epoch. Polymorphic people tables
-- (`*_people`) hold a role and a party (`user`, `customer`, `team`, `organization`) per row.

CREATE TABLE company (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    item_default_visibility TEXT NOT NULL,
    project_default_visibility TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    handle TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    scope TEXT NOT NULL,
    show_from_customers BOOLEAN NOT NULL,
    customer_messages TEXT NOT NULL,
    replies_to_customers TEXT NOT NULL,
    followed_internal BOOLEAN NOT NULL,
    sound BOOLEAN NOT NULL,
    email_assignment_changes BOOLEAN NOT NULL,
    email_new_members BOOLEAN NOT NULL,
    auto_accept_invitations BOOLEAN NOT NULL
);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    domain TEXT NOT NULL UNIQUE
);

CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    organization_id BIGINT REFERENCES organizations (id),
    password_hash TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    party_kind TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- role: member (user, team) | follower (user, customer, organization)
CREATE TABLE project_people (
    project_id BIGINT NOT NULL REFERENCES projects (id),
    role TEXT NOT NULL,
    party_kind TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    PRIMARY KEY (project_id, role, party_kind, party_id)
);
CREATE INDEX project_people_party ON project_people (party_kind, party_id);

CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX items_project ON items (project_id);

-- role: follower (user, customer) | requester (customer) | assignee (user)
CREATE TABLE item_people (
    item_id BIGINT NOT NULL REFERENCES items (id),
    role TEXT NOT NULL,
    party_kind TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    PRIMARY KEY (item_id, role, party_kind, party_id)
);
CREATE INDEX item_people_party ON item_people (party_kind, party_id);

CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    visibility TEXT NOT NULL,
    state TEXT NOT NULL,
    item_id BIGINT REFERENCES items (id),
    linked_project_id BIGINT REFERENCES projects (id),
    -- the project of the item or the linked project, for scopes
    project_id BIGINT REFERENCES projects (id),
    created_by_kind TEXT NOT NULL,
    created_by_id BIGINT,
    created_at BIGINT NOT NULL,
    last_activity_at BIGINT NOT NULL,
    message_count BIGINT NOT NULL DEFAULT 0,
    last_author_kind TEXT
);
CREATE INDEX conversations_activity ON conversations (last_activity_at, id);
CREATE INDEX conversations_item ON conversations (item_id);
CREATE INDEX conversations_project ON conversations (project_id);

-- role: participant | follower
CREATE TABLE conversation_people (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    role TEXT NOT NULL,
    party_kind TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, role, party_kind, party_id)
);
CREATE INDEX conversation_people_party ON conversation_people (party_kind, party_id);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    number BIGINT NOT NULL,
    author_kind TEXT NOT NULL,
    author_id BIGINT,
    visibility TEXT NOT NULL,
    body TEXT NOT NULL,
    body_html TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (conversation_id, number)
);
CREATE INDEX messages_author ON messages (author_kind, author_id, conversation_id);

-- The audience of each message, computed when it was posted (R7–R10).
CREATE TABLE message_recipients (
    message_id BIGINT NOT NULL REFERENCES messages (id),
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    party_kind TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    reasons TEXT NOT NULL,
    notify BOOLEAN NOT NULL,
    PRIMARY KEY (message_id, party_kind, party_id)
);
CREATE INDEX message_recipients_party ON message_recipients (party_kind, party_id, conversation_id);

CREATE TABLE conversation_reads (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id),
    party_kind TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    last_seen_number BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, party_kind, party_id)
);
