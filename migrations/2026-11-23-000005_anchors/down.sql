DROP INDEX members_anchor_idx;
DROP INDEX members_union_idx;
CREATE INDEX members_union_idx ON members (union_id, status);
DROP TRIGGER members_anchor ON members;
ALTER TABLE members DROP COLUMN anchor_id;

DROP INDEX applications_anchor_queue_idx;
DROP TRIGGER applications_anchor ON applications;
ALTER TABLE applications DROP COLUMN anchor_id;
DROP FUNCTION set_anchor_from_union();

DROP INDEX unions_anchor_path_idx;
DROP TRIGGER unions_place_is_fixed ON unions;
DROP TRIGGER unions_anchor_on_insert ON unions;
DROP FUNCTION unions_place_is_fixed();
DROP FUNCTION unions_set_anchor();
ALTER TABLE unions DROP COLUMN anchor_id;
