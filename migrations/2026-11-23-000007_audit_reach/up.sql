-- Audit reach: the audit listing of a subtree (`GET /v1/admin/audit`) pages index ranges per
-- anchor or per union (infra/src/subtree.rs), newest first, instead of walking the whole trail
-- and testing each row against the subtree — a walk that grew with the trail and was longest
-- for the smallest unions.
--
-- An admin of union X sees a row when the union the actor acted for lies in X's subtree, or when
-- the object the row is about lies in it now: an application or a member by its current union,
-- an admin by the union their role is bound to, a transfer by its source or target union.
-- `audit_reach` holds those unions per row: the actor's (fixed, like the row) and the object's
-- (moved along with the object by the triggers below). Audit rows are written in the statement
-- that creates their object or after it, so a new row finds its object; an object that changes
-- union takes its rows along (a handful per object).

-- The kinds of object the trail records; the listing reads one range per kind
-- (`audit_trail::OBJECT_KINDS` must name the same).
ALTER TABLE audit_log ADD CONSTRAINT audit_log_object_kind
    CHECK (object_kind IN ('application', 'member', 'admin', 'transfer'));

CREATE TABLE audit_reach (
    audit_id    bigint NOT NULL,
    via         text   NOT NULL CHECK (via IN ('actor', 'object')),
    union_id    bigint NOT NULL,
    anchor_id   bigint NOT NULL,
    object_kind text   NOT NULL,
    PRIMARY KEY (audit_id, via, union_id)
);
-- No foreign keys: only the triggers below write it, from rows that exist (audit rows are never
-- deleted, unions never move); a key would cost two probes on every audited write.
CREATE INDEX audit_reach_anchor_idx ON audit_reach (anchor_id, object_kind, audit_id);
CREATE INDEX audit_reach_union_idx ON audit_reach (union_id, object_kind, audit_id);

-- The unions an object is in now: one for an application, member or admin, two for a transfer.
-- (ROWS 2: the planner's default guess for a set-returning function, 1 000, made the triggers
-- join it to `unions` by a scan of the whole table — 11 ms an audit row.)
CREATE FUNCTION audit_object_unions(of_kind text, of_id text) RETURNS SETOF bigint
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

CREATE FUNCTION audit_reach_of_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_reach (audit_id, via, union_id, anchor_id, object_kind)
    SELECT NEW.id, r.via, u.id, u.anchor_id, NEW.object_kind
    FROM (SELECT 'actor' AS via, NEW.union_id AS union_id
          UNION ALL
          SELECT 'object', o FROM audit_object_unions(NEW.object_kind, NEW.object_id) o) r
    JOIN unions u ON u.id = r.union_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_log_reach AFTER INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_reach_of_row();

-- An object changed union: its rows follow. TG_ARGV[0] is its kind.
CREATE FUNCTION audit_reach_follow_object() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    of_kind text := TG_ARGV[0];
BEGIN
    DELETE FROM audit_reach r
    USING audit_log l
    WHERE l.object_kind = of_kind AND l.object_id = NEW.id::text
      AND r.audit_id = l.id AND r.via = 'object';
    INSERT INTO audit_reach (audit_id, via, union_id, anchor_id, object_kind)
    SELECT l.id, 'object', u.id, u.anchor_id, of_kind
    FROM audit_log l
    CROSS JOIN audit_object_unions(of_kind, NEW.id::text) o
    JOIN unions u ON u.id = o
    WHERE l.object_kind = of_kind AND l.object_id = NEW.id::text;
    RETURN NULL;
END;
$$;
CREATE TRIGGER applications_audit_reach AFTER UPDATE OF union_id ON applications
    FOR EACH ROW WHEN (OLD.union_id IS DISTINCT FROM NEW.union_id)
    EXECUTE FUNCTION audit_reach_follow_object('application');
CREATE TRIGGER members_audit_reach AFTER UPDATE OF union_id ON members
    FOR EACH ROW WHEN (OLD.union_id IS DISTINCT FROM NEW.union_id)
    EXECUTE FUNCTION audit_reach_follow_object('member');
CREATE TRIGGER admins_audit_reach AFTER UPDATE OF union_id ON admins
    FOR EACH ROW WHEN (OLD.union_id IS DISTINCT FROM NEW.union_id)
    EXECUTE FUNCTION audit_reach_follow_object('admin');
CREATE TRIGGER transfers_audit_reach AFTER UPDATE OF from_union_id, to_union_id ON transfers
    FOR EACH ROW
    WHEN (OLD.from_union_id IS DISTINCT FROM NEW.from_union_id
          OR OLD.to_union_id IS DISTINCT FROM NEW.to_union_id)
    EXECUTE FUNCTION audit_reach_follow_object('transfer');

-- The rows recorded so far.
INSERT INTO audit_reach (audit_id, via, union_id, anchor_id, object_kind)
SELECT l.id, r.via, u.id, u.anchor_id, l.object_kind
FROM audit_log l
CROSS JOIN LATERAL (
    SELECT 'actor' AS via, l.union_id AS union_id
    UNION ALL
    SELECT 'object', o FROM audit_object_unions(l.object_kind, l.object_id) o) r
JOIN unions u ON u.id = r.union_id;
