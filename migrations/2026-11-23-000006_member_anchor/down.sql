DROP INDEX members_anchor_idx;
DROP INDEX members_union_idx;
CREATE INDEX members_union_idx ON members (union_id, status);
DROP TRIGGER members_anchor ON members;
DROP FUNCTION members_set_anchor();
ALTER TABLE members DROP COLUMN anchor_id;
