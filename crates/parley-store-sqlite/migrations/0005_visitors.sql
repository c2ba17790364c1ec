-- Live-chat visitors are customers who may not have given an email address yet: the address
-- becomes optional (still unique when present). SQLite cannot relax NOT NULL in place, so the
-- table is rebuilt; foreign keys are checked at commit, when the new table carries the old ids.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE customers_new (
    id INTEGER PRIMARY KEY,
    email TEXT UNIQUE,
    name TEXT NOT NULL,
    organization_id BIGINT REFERENCES organizations (id),
    password_hash TEXT,
    created_at BIGINT NOT NULL
);
INSERT INTO customers_new (id, email, name, organization_id, password_hash, created_at)
    SELECT id, email, name, organization_id, password_hash, created_at FROM customers;
DROP TABLE customers;
ALTER TABLE customers_new RENAME TO customers;
