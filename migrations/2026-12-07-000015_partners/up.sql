-- Partner platforms (issue 15): their OAuth clients, the worker's consent to each of them
-- (PIPL art. 23), the consent requests a partner's app opens in the mini-program, and the
-- applications a partner submitted on a consenting worker's behalf.

-- A partner's OAuth 2.0 client (client credentials). The secret is stored as a keyed hash
-- (HMAC-SHA256 under the server's blind-index key); during a rotation the previous hash stays
-- valid until previous_secret_expires_at.
CREATE TABLE partner_clients (
    id                         uuid        PRIMARY KEY,
    name                       text        NOT NULL,
    contact                    text        NOT NULL,
    scopes                     text[]      NOT NULL,
    secret_hash                text        NOT NULL,
    previous_secret_hash       text,
    previous_secret_expires_at timestamptz,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    disabled_at                timestamptz,
    version                    integer     NOT NULL DEFAULT 1,
    CHECK ((previous_secret_hash IS NULL) = (previous_secret_expires_at IS NULL))
);

-- A request a partner made for a worker's consent: the short code the mini-program link
-- carries, the partner's own id of its user, the purposes asked for; single use, expires.
CREATE TABLE partner_consent_requests (
    code            text        PRIMARY KEY,
    client_id       uuid        NOT NULL REFERENCES partner_clients (id),
    partner_user_id text        NOT NULL,
    purposes        text[]      NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX partner_consent_requests_expiry_idx ON partner_consent_requests (expires_at);

-- A worker's separate consent to provide their personal information to one partner, for the
-- listed purposes, under the stated notice version. Live while withdrawn_at is NULL; at most
-- one live consent per worker and partner, and per partner user id.
CREATE TABLE partner_consents (
    id              uuid        PRIMARY KEY,
    account_id      uuid        NOT NULL REFERENCES accounts (id),
    client_id       uuid        NOT NULL REFERENCES partner_clients (id),
    purposes        text[]      NOT NULL,
    notice_version  text        NOT NULL,
    partner_user_id text,
    request_code    text        REFERENCES partner_consent_requests (code),
    granted_at      timestamptz NOT NULL,
    withdrawn_at    timestamptz
);
CREATE UNIQUE INDEX partner_consents_live_idx ON partner_consents (account_id, client_id)
    WHERE withdrawn_at IS NULL;
CREATE UNIQUE INDEX partner_consents_user_idx ON partner_consents (client_id, partner_user_id)
    WHERE withdrawn_at IS NULL AND partner_user_id IS NOT NULL;
CREATE INDEX partner_consents_account_idx ON partner_consents (account_id, granted_at DESC);

-- Which partner submitted an application, under which consent (channel `partner`).
CREATE TABLE partner_applications (
    application_id uuid        PRIMARY KEY REFERENCES applications (id),
    client_id      uuid        NOT NULL REFERENCES partner_clients (id),
    consent_id     uuid        NOT NULL REFERENCES partner_consents (id),
    created_at     timestamptz NOT NULL
);
CREATE INDEX partner_applications_client_idx ON partner_applications (client_id);

-- Partner clients and consents are audited (object kinds `partner_client`, `partner_consent`),
-- added to whatever list the constraint holds, so other migrations compose in any order.
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
        || replace(definition, 'ARRAY[', 'ARRAY[''partner_client''::text, ''partner_consent''::text, ');
END;
$$;
