-- Consent to the privacy notice by purpose and version (issue 18). One row per account: the
-- notice version consented to and the purposes agreed (`membership` required; the others
-- optional and withdrawable). Each grant and withdrawal is in the audit trail
-- (`grant_consent`, `withdraw_consent`, object `account`). A cancelled account loses its row.
--
-- (Key rotation needs no column: ciphertexts carry their key id, `v1.<key id>.…`, and blind
-- indexes theirs, `<key id>:<hex>`, bare hex for the configured key `b0`; `pii_keys` below
-- registers which keys may be in use.)
CREATE TABLE privacy_consents (
    account_id     uuid        PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    notice_version text        NOT NULL,
    purposes       text[]      NOT NULL,
    consented_at   timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

-- The keys that may hold personal data: every key ever made active (a server registers its
-- active keys at start, `zhijian keys rotate` the one it activates), until `zhijian keys
-- retire` finds no row under it. A server refuses to start when one of these is missing from
-- its configuration — a check that reads this small table, not every row.
CREATE TABLE pii_keys (
    kind          text        NOT NULL CHECK (kind IN ('encryption', 'blind_index')),
    key_id        text        NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, key_id)
);

-- The keys the rows already use (once, at the upgrade: a scan of every sealed and indexed
-- column, without the statement timeout of the pool).
SET LOCAL statement_timeout = 0;
INSERT INTO pii_keys (kind, key_id)
SELECT DISTINCT 'encryption', split_part(v, '.', 2) FROM (
    SELECT phone_cipher FROM accounts
    UNION ALL SELECT phone_cipher FROM admins
    UNION ALL SELECT resident_id_cipher FROM applications
    UNION ALL SELECT phone_cipher FROM applications
    UNION ALL SELECT resident_id_cipher FROM import_member_rows
    UNION ALL SELECT phone_cipher FROM import_member_rows
    UNION ALL SELECT secret_cipher FROM admin_second_factors
) AS sealed (v)
WHERE v IS NOT NULL AND v <> ''
ON CONFLICT DO NOTHING;
INSERT INTO pii_keys (kind, key_id)
SELECT DISTINCT 'blind_index',
       CASE WHEN position(':' IN v) = 0 THEN 'b0' ELSE split_part(v, ':', 1) END FROM (
    SELECT phone_index FROM accounts
    UNION ALL SELECT person_index FROM applications
    UNION ALL SELECT phone_index FROM applications
    UNION ALL SELECT person_index FROM members
    UNION ALL SELECT person_index FROM import_member_rows
    UNION ALL SELECT phone_index FROM import_member_rows
    UNION ALL SELECT code_hash FROM admin_recovery_codes
) AS indexed (v)
WHERE v IS NOT NULL AND v NOT LIKE 'erased:%'
ON CONFLICT DO NOTHING;
