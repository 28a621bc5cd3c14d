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

-- The trail's `union` rows stay readable; the kind is dropped from the constraint only when no
-- row uses it.
DO $$
DECLARE
    def text;
BEGIN
    SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
    WHERE conname = 'audit_log_object_kind' AND conrelid = 'audit_log'::regclass;
    IF def LIKE '%, ''union''::text%' AND NOT EXISTS (SELECT 1 FROM audit_log WHERE object_kind = 'union') THEN
        ALTER TABLE audit_log DROP CONSTRAINT audit_log_object_kind;
        EXECUTE 'ALTER TABLE audit_log ADD CONSTRAINT audit_log_object_kind '
            || replace(def, ', ''union''::text', '');
    END IF;
END;
$$;

DROP TABLE union_move_rows;
DROP TABLE union_moves;

CREATE OR REPLACE FUNCTION unions_place_is_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a union''s place in the tree (parent, path, kind, region, anchor) is fixed'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
