DROP INDEX outbox_dead_idx;
DROP INDEX outbox_delivered_idx;
DROP INDEX idempotency_keys_created_idx;
