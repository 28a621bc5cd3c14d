DELETE FROM audit_log WHERE object_kind IN ('partner_client', 'partner_consent');
DO $$
DECLARE
    definition text;
BEGIN
    SELECT pg_get_constraintdef(oid) INTO definition
    FROM pg_constraint
    WHERE conname = 'audit_log_object_kind' AND conrelid = 'audit_log'::regclass;
    EXECUTE 'ALTER TABLE audit_log DROP CONSTRAINT audit_log_object_kind';
    EXECUTE 'ALTER TABLE audit_log ADD CONSTRAINT audit_log_object_kind '
        || replace(definition, '''partner_client''::text, ''partner_consent''::text, ', '');
END;
$$;
DROP TABLE partner_applications;
DROP TABLE partner_consents;
DROP TABLE partner_consent_requests;
DROP TABLE partner_clients;
