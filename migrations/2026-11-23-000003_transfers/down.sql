DROP INDEX affiliations_union_idx;
ALTER TABLE affiliations DROP CONSTRAINT affiliations_end_reason_check;
ALTER TABLE affiliations DROP COLUMN end_reason;
ALTER TABLE affiliations DROP COLUMN membership_number;
DROP TABLE member_events;
DROP TABLE transfers;
