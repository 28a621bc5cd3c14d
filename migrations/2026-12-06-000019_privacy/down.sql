DROP INDEX audit_log_reveals_by_admin_idx;
DROP INDEX applications_erasable_idx;
ALTER TABLE applications DROP COLUMN erased_at;
-- The schema before this migration cannot hold audit rows of kind `account` (consents,
-- exports, cancellations): reverting removes them, past the append-only trigger, which only a
-- schema change (this one, run by the table's owner) may set aside.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only_rows;
DELETE FROM audit_log WHERE object_kind = 'account';
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only_rows;
DO $$
DECLARE
    definition text;
BEGIN
    SELECT pg_get_constraintdef(oid) INTO definition
    FROM pg_constraint
    WHERE conname = 'audit_log_object_kind' AND conrelid = 'audit_log'::regclass;
    EXECUTE 'ALTER TABLE audit_log DROP CONSTRAINT audit_log_object_kind';
    EXECUTE 'ALTER TABLE audit_log ADD CONSTRAINT audit_log_object_kind '
        || replace(definition, '''account''::text, ', '');
END;
$$;
ALTER TABLE accounts DROP CONSTRAINT accounts_check;
DELETE FROM accounts WHERE wechat_openid IS NULL AND phone_index IS NULL AND NOT imported;
ALTER TABLE accounts ADD CONSTRAINT accounts_check
    CHECK (wechat_openid IS NOT NULL OR phone_index IS NOT NULL OR imported);
ALTER TABLE accounts DROP COLUMN cancelled_at;
