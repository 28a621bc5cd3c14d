-- Member anchors: the member list of a county (or city, or province) federation is one index
-- range per status instead of a scan of the members table (as the review queue, migration
-- `queue_anchor`). A member's anchor is its current union's, set by a trigger whenever it gets
-- a union (approval, transfer); derived data, hence no foreign key. Bulk loads that bypass
-- triggers (the benchmark generator) set it themselves.
ALTER TABLE members ADD COLUMN anchor_id bigint;

CREATE FUNCTION members_set_anchor() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.anchor_id := (SELECT anchor_id FROM unions WHERE id = NEW.union_id);
    RETURN NEW;
END;
$$;

UPDATE members m SET anchor_id = u.anchor_id FROM unions u WHERE u.id = m.union_id;
ALTER TABLE members ALTER COLUMN anchor_id SET NOT NULL;

CREATE TRIGGER members_anchor BEFORE INSERT OR UPDATE OF union_id, anchor_id ON members
    FOR EACH ROW EXECUTE FUNCTION members_set_anchor();

-- Pages by id within a status: per anchor, and per union for admins below a county.
DROP INDEX members_union_idx;
CREATE INDEX members_union_idx ON members (union_id, status, id);
CREATE INDEX members_anchor_idx ON members (anchor_id, status, id);
