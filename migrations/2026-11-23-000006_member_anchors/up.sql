-- Member anchors: the admin member list of a county (or city, or province) federation is one
-- index range per status, like its review queue (migration `queue_anchor`, infra/src/subtree.rs).
-- Applications and members carry their union's anchor in a column of one name, `anchor_id`, set
-- by one trigger function (the applications' column was `queue_anchor`).

-- An application's or a member's anchor is its union's, set whenever it gets a union
-- (submission, forward, assignment; approval, transfer). Derived data kept by the trigger,
-- hence no foreign key (one lookup less per insert). Bulk loads that bypass triggers (the
-- benchmark generator) set it themselves.
CREATE FUNCTION set_anchor_from_union() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.anchor_id := (SELECT anchor_id FROM unions WHERE id = NEW.union_id);
    RETURN NEW;
END;
$$;

-- The applications' column and index keep their values; only the name and the trigger change.
DROP TRIGGER applications_queue_anchor ON applications;
DROP FUNCTION applications_set_queue_anchor();
ALTER TABLE applications RENAME COLUMN queue_anchor TO anchor_id;
CREATE TRIGGER applications_anchor BEFORE INSERT OR UPDATE OF union_id, anchor_id ON applications
    FOR EACH ROW EXECUTE FUNCTION set_anchor_from_union();

ALTER TABLE members ADD COLUMN anchor_id bigint;
UPDATE members m SET anchor_id = u.anchor_id FROM unions u WHERE u.id = m.union_id;
ALTER TABLE members ALTER COLUMN anchor_id SET NOT NULL;
CREATE TRIGGER members_anchor BEFORE INSERT OR UPDATE OF union_id, anchor_id ON members
    FOR EACH ROW EXECUTE FUNCTION set_anchor_from_union();
-- The member list pages by id within a status: per anchor, and per union below a county.
DROP INDEX members_union_idx;
CREATE INDEX members_union_idx ON members (union_id, status, id);
CREATE INDEX members_anchor_idx ON members (anchor_id, status, id);
