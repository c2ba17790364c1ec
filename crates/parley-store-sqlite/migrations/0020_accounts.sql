-- Single-use links to set a password (reset, welcome, customer invitation): stored hashed.
CREATE TABLE password_links (
    token_hash TEXT PRIMARY KEY,
    party_kind TEXT NOT NULL,
    party_id BIGINT NOT NULL,
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_links_party ON password_links (party_kind, party_id, created_at);

-- R31: the system emails an admin turned off or on; one without a row is on.
CREATE TABLE system_emails (
    kind TEXT PRIMARY KEY,
    enabled BOOLEAN NOT NULL
);

-- R25: invitations of users into projects, accepted at once or when the user answers.
CREATE TABLE project_invitations (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    invited_by BIGINT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    answered_at BIGINT
);
CREATE INDEX project_invitations_user ON project_invitations (user_id, state);
-- One pending invitation per user and project.
CREATE UNIQUE INDEX project_invitations_pending ON project_invitations (project_id, user_id) WHERE state = 'pending';
