-- The users who ask for every customer message or every reply (R10): the audience of each public
-- post considers them, found through this index rather than a scan of every user.
CREATE INDEX users_wanting_all ON users (id) WHERE customer_messages = 'all' OR replies_to_customers = 'all';
