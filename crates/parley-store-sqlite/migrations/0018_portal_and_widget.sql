-- What customers see of the company: the project a portal request opens a ticket in, the name
-- staff go by, and the live-chat widget's greeting and expected reply time.
ALTER TABLE company ADD COLUMN portal_request_project_id BIGINT REFERENCES projects (id);
ALTER TABLE company ADD COLUMN staff_display_name TEXT;
ALTER TABLE company ADD COLUMN widget_greeting TEXT NOT NULL DEFAULT 'Hi! Ask us anything — we are here to help.';
ALTER TABLE company ADD COLUMN widget_reply_time TEXT NOT NULL DEFAULT 'We usually reply within a few minutes.';
