-- The federation runs its own union tree (issue 13): what a joint union covers, name search,
-- and unions as objects of the audit trail.

-- 片区: a joint union may cover several townships or villages instead of its own region alone.
-- A union without rows here covers its own region (`unions.region_code`); routing reads both
-- (`store::unions::routing_candidate_rows`).
CREATE TABLE union_coverage (
    union_id    bigint      NOT NULL REFERENCES unions (id),
    region_code varchar(12) NOT NULL REFERENCES regions (code),
    PRIMARY KEY (union_id, region_code)
);
-- Routing looks coverage up by the regions above a work region.
CREATE INDEX union_coverage_region_idx ON union_coverage (region_code, union_id);

-- Name search by a Chinese substring: trigrams (pg_trgm, contrib). A pattern of three
-- characters or more is an index lookup; a two-character search is a prefix match, which the
-- same index serves through the padding trigrams of a word's start. (CJK characters count as
-- word characters only under a UTF-8 LC_CTYPE such as C.UTF-8 or zh_CN.UTF-8, which the
-- database is created with.) Unions are created rarely, one at a time: without the pending
-- list (`fastupdate = off`) a new union is in the index at once and no search scans the list.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX unions_name_trgm_idx ON unions USING gin (name gin_trgm_ops) WITH (fastupdate = off);

-- Children of a union, keyset by id.
CREATE INDEX unions_parent_id_idx ON unions (parent_id, id);

-- One open union per employer credit code, one open pool per county.
CREATE UNIQUE INDEX unions_credit_code_open ON unions (credit_code)
    WHERE credit_code IS NOT NULL AND closed_at IS NULL;
CREATE UNIQUE INDEX unions_pool_per_region ON unions (region_code)
    WHERE kind = 'pool' AND closed_at IS NULL;

-- Unions are objects of the audit trail (created, edited); a union row reaches the union
-- itself.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_object_kind;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_object_kind
    CHECK (object_kind IN ('application', 'member', 'admin', 'transfer', 'union'));

CREATE OR REPLACE FUNCTION audit_object_unions(of_kind text, of_id text) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE ROWS 2 AS $$
DECLARE
    object_uuid uuid;
BEGIN
    IF of_kind = 'union' THEN
        IF of_id ~ '^[0-9]{1,18}$' THEN
            RETURN QUERY SELECT u.id FROM unions u WHERE u.id = of_id::bigint;
        END IF;
        RETURN;
    END IF;
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
