DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO %I', current_user);
    END IF;
END;
$$;
DROP TRIGGER audit_log_append_only_truncate ON audit_log;
DROP TRIGGER audit_log_append_only_rows ON audit_log;
DROP FUNCTION audit_log_append_only();

DROP TABLE review_stats_daily;
DROP INDEX applications_open_due_idx;
DROP TABLE deadline_alerts;
ALTER TABLE admins DROP COLUMN phone_cipher;
DROP TABLE deliveries;

UPDATE outbox SET status = 'dead' WHERE status = 'failed';
ALTER TABLE outbox DROP COLUMN last_error, DROP COLUMN claimed_until;
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'delivered', 'dead'));
