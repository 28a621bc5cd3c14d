CREATE OR REPLACE FUNCTION audit_object_unions(of_kind text, of_id text) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE ROWS 2 AS $$
DECLARE
    object_uuid uuid;
BEGIN
    IF of_id !~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN
        RETURN;
    END IF;
    object_uuid := of_id::uuid;
    CASE of_kind
        WHEN 'application' THEN RETURN QUERY SELECT a.union_id FROM applications a WHERE a.id = object_uuid;
        WHEN 'member' THEN RETURN QUERY SELECT m.union_id FROM members m WHERE m.id = object_uuid;
        WHEN 'admin' THEN RETURN QUERY SELECT d.union_id FROM admins d WHERE d.id = object_uuid;
        WHEN 'transfer' THEN
            RETURN QUERY SELECT t.from_union_id FROM transfers t WHERE t.id = object_uuid
                UNION SELECT t.to_union_id FROM transfers t WHERE t.id = object_uuid;
        ELSE RETURN;
    END CASE;
END;
$$;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_object_kind;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_object_kind
    CHECK (object_kind IN ('application', 'member', 'admin', 'transfer')) NOT VALID;
DROP INDEX unions_pool_per_region;
DROP INDEX unions_credit_code_open;
DROP INDEX unions_parent_id_idx;
DROP INDEX unions_name_trgm_idx;
DROP TABLE union_coverage;
