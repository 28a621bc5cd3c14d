-- Queue anchors: the review queue of a county (or city, or province) federation is one index
-- range instead of one per union of its subtree (BENCHMARKS.md, B2).
--
-- A union's anchor is the nearest union at or above it that is a root or a federation of a
-- province, city or county (region code of at most six digits). Every union of a subtree whose
-- root is an anchor has its anchor inside that subtree, so the applications of such a subtree are
-- exactly those whose anchor is one of the subtree's anchors: one for a county federation (its
-- township federations, joint, enterprise and industry unions and its pool all share it), the
-- city and its counties for a city federation. Deeper admins keep reading one range per union.
--
-- The anchor follows the union's place in the tree, so that place is fixed once the union exists
-- (no API moves a union; a reorganisation would have to re-anchor its subtree and applications).
ALTER TABLE unions ADD COLUMN anchor_id bigint REFERENCES unions (id);

CREATE FUNCTION unions_set_anchor() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NULL OR (NEW.kind = 'federation' AND length(NEW.region_code) <= 6) THEN
        NEW.anchor_id := NEW.id;
    ELSE
        NEW.anchor_id := (SELECT anchor_id FROM unions WHERE id = NEW.parent_id);
    END IF;
    RETURN NEW;
END;
$$;

-- Existing unions: the deepest union on the path that qualifies.
UPDATE unions u SET anchor_id = (
    SELECT a.id
    FROM unnest(string_to_array(btrim(u.path, '/'), '/')::bigint[]) WITH ORDINALITY p (id, depth)
    JOIN unions a ON a.id = p.id
    WHERE p.depth = 1 OR (a.kind = 'federation' AND length(a.region_code) <= 6)
    ORDER BY p.depth DESC
    LIMIT 1);
ALTER TABLE unions ALTER COLUMN anchor_id SET NOT NULL;

CREATE FUNCTION unions_place_is_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a union''s place in the tree (parent, path, kind, region, anchor) is fixed'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER unions_anchor_on_insert BEFORE INSERT ON unions
    FOR EACH ROW EXECUTE FUNCTION unions_set_anchor();
CREATE TRIGGER unions_place_is_fixed BEFORE UPDATE OF parent_id, path, kind, region_code, anchor_id ON unions
    FOR EACH ROW WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id OR OLD.path <> NEW.path
                       OR OLD.kind <> NEW.kind OR OLD.region_code <> NEW.region_code
                       OR OLD.anchor_id <> NEW.anchor_id)
    EXECUTE FUNCTION unions_place_is_fixed();

-- The anchors of a subtree, by path.
CREATE INDEX unions_anchor_path_idx ON unions (path text_pattern_ops) WHERE anchor_id = id;

-- An application's anchor is its union's, set whenever it gets a union (submission, forward,
-- assignment). Derived data kept by the trigger, hence no foreign key (one lookup less per
-- insert). Bulk loads that bypass triggers (the benchmark generator) set it themselves.
ALTER TABLE applications ADD COLUMN queue_anchor bigint;

CREATE FUNCTION applications_set_queue_anchor() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.queue_anchor := (SELECT anchor_id FROM unions WHERE id = NEW.union_id);
    RETURN NEW;
END;
$$;

UPDATE applications a SET queue_anchor = u.anchor_id FROM unions u WHERE u.id = a.union_id;
ALTER TABLE applications ALTER COLUMN queue_anchor SET NOT NULL;

CREATE TRIGGER applications_queue_anchor BEFORE INSERT OR UPDATE OF union_id, queue_anchor ON applications
    FOR EACH ROW EXECUTE FUNCTION applications_set_queue_anchor();

CREATE INDEX applications_anchor_queue_idx ON applications (queue_anchor, status, due_at, id);
