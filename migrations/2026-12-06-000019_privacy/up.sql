-- Personal-information rights (issue 18): account cancellation (注销) and the erasure of the
-- personal data of applications that never led to membership.

-- A cancelled account stays as a tombstone: its identifiers (openid, unionid, phone) are
-- cleared, so they can sign up again as a new account.
ALTER TABLE accounts ADD COLUMN cancelled_at timestamptz;
ALTER TABLE accounts DROP CONSTRAINT accounts_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_check
    CHECK (wechat_openid IS NOT NULL OR phone_index IS NOT NULL OR imported
           OR cancelled_at IS NOT NULL);

-- An erased application keeps its status, union, occupation group, dates and channel (the
-- statistics); its personal data is replaced by fixed placeholders (nothing decryptable or
-- searchable remains) and `erased_at` says when.
ALTER TABLE applications ADD COLUMN erased_at timestamptz;

-- The closed applications the retention sweep erases, oldest first, found by index.
CREATE INDEX applications_erasable_idx ON applications (updated_at)
    WHERE erased_at IS NULL AND member_id IS NULL
      AND status IN ('rejected', 'withdrawn', 'expired');

-- A member's registry entry outlives the account that applied (cancellation unlinks it).
ALTER TABLE members ALTER COLUMN account_id DROP NOT NULL;

-- Reveals of personal data, counted per admin for the hourly cap (the worker's "my data" finds
-- them by object through audit_log_object_idx).
CREATE INDEX audit_log_reveals_by_admin_idx ON audit_log (actor_id, at)
    WHERE action = 'view_personal_data';

-- The audit trail records a worker's export of their data and the cancellation of their
-- account (object kind `account`, object id the account). Added to whatever list the
-- constraint holds, so the migrations of other kinds compose in any order.
DO $$
DECLARE
    definition text;
BEGIN
    SELECT pg_get_constraintdef(oid) INTO definition
    FROM pg_constraint
    WHERE conname = 'audit_log_object_kind' AND conrelid = 'audit_log'::regclass;
    IF definition IS NULL OR position('ARRAY[' IN definition) = 0 THEN
        RAISE EXCEPTION 'audit_log_object_kind has an unexpected form: %', definition;
    END IF;
    EXECUTE 'ALTER TABLE audit_log DROP CONSTRAINT audit_log_object_kind';
    EXECUTE 'ALTER TABLE audit_log ADD CONSTRAINT audit_log_object_kind '
        || replace(definition, 'ARRAY[', 'ARRAY[''account''::text, ');
END;
$$;
