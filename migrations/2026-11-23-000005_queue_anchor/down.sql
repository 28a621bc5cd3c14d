DROP INDEX applications_anchor_queue_idx;
DROP TRIGGER applications_queue_anchor ON applications;
DROP FUNCTION applications_set_queue_anchor();
ALTER TABLE applications DROP COLUMN queue_anchor;

DROP INDEX unions_anchor_path_idx;
DROP TRIGGER unions_place_is_fixed ON unions;
DROP TRIGGER unions_anchor_on_insert ON unions;
DROP FUNCTION unions_place_is_fixed();
DROP FUNCTION unions_set_anchor();
ALTER TABLE unions DROP COLUMN anchor_id;
