-- Consent to the privacy notice by purpose and version (issue 18). One row per account: the
-- notice version consented to and the purposes agreed (`membership` required; the others
-- optional and withdrawable). Each grant and withdrawal is in the audit trail
-- (`grant_consent`, `withdraw_consent`, object `account`). A cancelled account loses its row.
--
-- (Key rotation needs no schema: ciphertexts carry their key id, `v1.<key id>.…`, and blind
-- indexes theirs, `<key id>:<hex>`, bare hex for the configured key `b0`.)
CREATE TABLE privacy_consents (
    account_id     uuid        PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    notice_version text        NOT NULL,
    purposes       text[]      NOT NULL,
    consented_at   timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
