-- The second factor of union admins (issue 13): a TOTP secret per admin (RFC 6238), sealed with
-- the PII cipher, confirmed by a first code; the last time step a code was accepted for, so a
-- code works once within its window; and ten single-use recovery codes, stored as keyed hashes.
CREATE TABLE admin_second_factors (
    admin_id uuid PRIMARY KEY REFERENCES admins (id) ON DELETE CASCADE,
    -- `v1.<key id>.<nonce>.<ciphertext>` of the base32 secret (context `admin_second_factors.secret`)
    secret_cipher text NOT NULL,
    -- NULL while the enrolment waits for its first code
    confirmed_at timestamptz,
    -- the RFC 6238 time step (Unix seconds / 30) of the last accepted code
    last_used_step bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE admin_recovery_codes (
    id bigserial PRIMARY KEY,
    admin_id uuid NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    -- HMAC-SHA256 (blind-index key) of the admin id and the normalised code
    code_hash text NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT admin_recovery_codes_hash_key UNIQUE (admin_id, code_hash)
);
