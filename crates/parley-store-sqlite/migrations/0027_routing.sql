-- R42: someone always answers. Every conversation can have an assignee (role 'assignee' in
-- conversation_people for an independent one; a linked one's are its item's). A new customer
-- conversation is routed round-robin to an available user under the cap, or to everyone who may
-- see it: the company's choice. A user is available while a node says they are connected
-- (connected_at, refreshed every few seconds) and they are not away. `routing` keeps whom
-- round-robin chose last.
ALTER TABLE company ADD COLUMN routing TEXT NOT NULL DEFAULT 'round_robin';
ALTER TABLE company ADD COLUMN routing_cap BIGINT NOT NULL DEFAULT 10;
ALTER TABLE users ADD COLUMN away BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN connected_at BIGINT;
CREATE TABLE routing (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_user_id BIGINT
);
INSERT INTO routing (id, last_user_id) VALUES (1, NULL);
