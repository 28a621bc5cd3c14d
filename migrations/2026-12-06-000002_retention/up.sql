-- Retention (issue 18): what the jobs delete is found by index, so a sweep's cost follows what
-- it removes, not the size of the tables.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
CREATE INDEX outbox_delivered_idx ON outbox (delivered_at) WHERE status = 'delivered';
CREATE INDEX outbox_dead_idx ON outbox (created_at) WHERE status = 'dead';
