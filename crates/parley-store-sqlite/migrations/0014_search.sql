-- Full-text search over what people look for: message bodies, conversation subjects, item titles,
-- customers' names and addresses. Each index reads its text from the table itself (external
-- content) and is kept in line by the triggers below, in the transaction of each write. Who may
-- see a hit is decided when searching, never here.

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body, content = 'messages', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE VIRTUAL TABLE conversations_fts USING fts5 (
    subject, content = 'conversations', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversations_fts (rowid, subject) VALUES (new.id, new.subject);
END;
CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversations_fts (conversations_fts, rowid, subject) VALUES ('delete', old.id, old.subject);
END;
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF subject ON conversations BEGIN
    INSERT INTO conversations_fts (conversations_fts, rowid, subject) VALUES ('delete', old.id, old.subject);
    INSERT INTO conversations_fts (rowid, subject) VALUES (new.id, new.subject);
END;
INSERT INTO conversations_fts (conversations_fts) VALUES ('rebuild');

CREATE VIRTUAL TABLE items_fts USING fts5 (
    title, content = 'items', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title) VALUES ('delete', old.id, old.title);
END;
CREATE TRIGGER items_fts_update AFTER UPDATE OF title ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title) VALUES ('delete', old.id, old.title);
    INSERT INTO items_fts (rowid, title) VALUES (new.id, new.title);
END;
INSERT INTO items_fts (items_fts) VALUES ('rebuild');

CREATE VIRTUAL TABLE customers_fts USING fts5 (
    name, email, content = 'customers', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_fts (rowid, name, email) VALUES (new.id, new.name, new.email);
END;
CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, email) VALUES ('delete', old.id, old.name, old.email);
END;
CREATE TRIGGER customers_fts_update AFTER UPDATE OF name, email ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, name, email) VALUES ('delete', old.id, old.name, old.email);
    INSERT INTO customers_fts (rowid, name, email) VALUES (new.id, new.name, new.email);
END;
INSERT INTO customers_fts (customers_fts) VALUES ('rebuild');
