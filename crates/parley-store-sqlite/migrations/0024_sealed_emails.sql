-- R44: secrets in emails are no longer stored rendered. An email is stored with slots where its
-- secrets go, and the sender fills them in as it leaves: an account email's one secret (a link, a
-- code) waits in `secret`, which is forgotten once the email is settled; the reply token is signed
-- at send time. A node that cannot fill slots in (an older version, during a rolling deploy) must
-- never send such an email: its lease is kept offset by 2^62 (4611686018427387904), so to an older
-- node it looks claimed for ever.
ALTER TABLE outgoing_emails ADD COLUMN secret TEXT;

-- Message-IDs carried the reply token (`<parley.m<n>.<47 characters>@…>`). The same email is now
-- named by its recipient (`<parley.m<n>.c<id>@…>`, `u` for a user), unique as before: one email
-- per first message and recipient. (Replies to such emails still carry the old one, whose token
-- is verified as before.)
UPDATE outgoing_emails
   SET message_id_header = substr(message_id_header, 1, instr(message_id_header, '@') - 48)
                           || substr(party_kind, 1, 1) || party_id
                           || substr(message_id_header, instr(message_id_header, '@'))
 WHERE message_id_header LIKE '<parley.m%' AND party_id IS NOT NULL
   AND instr(message_id_header, '@') > 58 AND substr(message_id_header, instr(message_id_header, '@') - 48, 1) = '.';

-- Reply addresses keep a slot for their token.
UPDATE outgoing_emails
   SET reply_to = 'reply+[token]' || substr(reply_to, instr(reply_to, '@'))
 WHERE reply_to LIKE 'reply+%@%' AND reply_to NOT LIKE 'reply+[token]@%';
UPDATE outgoing_emails
   SET claimed_until = 4611686018427387904 + COALESCE(claimed_until, 0)
 WHERE status = 'queued' AND reply_to LIKE 'reply+[token]@%'
   AND (claimed_until IS NULL OR claimed_until < 4611686018427387904);

-- Account emails already sent or given up held a login, password or invitation link, or a code:
-- their bodies go. (One still queued goes out as it was written, and is pruned 72 hours later.)
UPDATE outgoing_emails
   SET body_text = '[This email held a one-time secret (a link or a code); it is not kept.]',
       body_html = '<p>[This email held a one-time secret (a link or a code); it is not kept.]</p>',
       subject = CASE WHEN message_id_header LIKE '<parley.verify.%' THEN 'Your code: [hidden]' ELSE subject END
 WHERE status <> 'queued'
   AND (message_id_header LIKE '<parley.login.%' OR message_id_header LIKE '<parley.verify.%'
        OR message_id_header LIKE '<parley.password_reset.%' OR message_id_header LIKE '<parley.welcome.%'
        OR message_id_header LIKE '<parley.customer_invite.%'
        OR message_id_header LIKE '<parley.project_invitation.%');
