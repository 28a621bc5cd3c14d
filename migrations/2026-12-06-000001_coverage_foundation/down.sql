DROP TABLE workforce_estimates;
DROP INDEX applications_referrer;
ALTER TABLE applications DROP COLUMN referrer_member_id;
