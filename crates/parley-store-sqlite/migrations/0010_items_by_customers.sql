-- R18: a ticket may be opened by a customer (a mail to the support address): an item's creator is
-- a person of either kind, like a conversation's. SQLite cannot relax NOT NULL on a column, so the
-- table is rebuilt the way SQLite documents: with foreign keys off, copied, dropped, renamed.
-- Foreign keys cannot be turned off inside a transaction, and migrations run in one: this one ends
-- it first and opens a new one at its end for the migration's own record.
COMMIT;
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE items_new (
    id INTEGER PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects (id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    -- user or customer
    created_by_kind TEXT NOT NULL,
    created_by_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO items_new (id, project_id, kind, title, status, created_by_kind, created_by_id, created_at)
    SELECT id, project_id, kind, title, status, 'user', created_by, created_at FROM items;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
CREATE INDEX items_project ON items (project_id);
-- R18: when set, a new request by email opens a ticket in this project.
ALTER TABLE company ADD COLUMN email_ticket_project_id BIGINT REFERENCES projects (id);
COMMIT;
PRAGMA foreign_keys = ON;
BEGIN;
