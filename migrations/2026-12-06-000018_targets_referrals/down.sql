DROP INDEX applications_referrer_decided;
ALTER TABLE members DROP COLUMN referral_code;
DROP FUNCTION referral_code_next();
DROP FUNCTION referral_permute(bigint, text);
DROP FUNCTION referral_code_encode(bigint);
DROP SEQUENCE member_referral_seq;
DROP FUNCTION referral_key();
