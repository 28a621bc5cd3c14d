DROP INDEX members_anchor_idx;
DROP INDEX members_union_idx;
CREATE INDEX members_union_idx ON members (union_id, status);
DROP TRIGGER members_anchor ON members;
ALTER TABLE members DROP COLUMN anchor_id;

DROP TRIGGER applications_anchor ON applications;
ALTER TABLE applications RENAME COLUMN anchor_id TO queue_anchor;
DROP FUNCTION set_anchor_from_union();

CREATE FUNCTION applications_set_queue_anchor() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.queue_anchor := (SELECT anchor_id FROM unions WHERE id = NEW.union_id);
    RETURN NEW;
END;
$$;
CREATE TRIGGER applications_queue_anchor BEFORE INSERT OR UPDATE OF union_id, queue_anchor ON applications
    FOR EACH ROW EXECUTE FUNCTION applications_set_queue_anchor();
