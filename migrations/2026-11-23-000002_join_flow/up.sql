-- The join flow: worker accounts, the union tree, admins, applications with their timeline,
-- members with their affiliation history, and the audit trail and outbox every transition
-- writes in its own transaction.

-- 工会组织: the union tree. `path` is the materialised path of ids (`/1/5/12/`), so "everything
-- under union X" is a prefix query.
CREATE TABLE unions (
    id            bigserial   PRIMARY KEY,
    name          text        NOT NULL CHECK (name <> ''),
    kind          text        NOT NULL CHECK (kind IN ('federation', 'enterprise', 'industry_federation', 'joint', 'pool')),
    parent_id     bigint      REFERENCES unions (id),
    region_code   varchar(12) NOT NULL REFERENCES regions (code),
    path          text        NOT NULL UNIQUE,
    credit_code   varchar(18),
    occupations   text[]      NOT NULL DEFAULT '{}',
    accepting     boolean     NOT NULL DEFAULT true,
    priority      integer     NOT NULL DEFAULT 0,
    review_opens  time        NOT NULL DEFAULT '09:00',
    review_closes time        NOT NULL DEFAULT '18:00',
    review_cutoff time        NOT NULL DEFAULT '16:00',
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'enterprise') = (credit_code IS NOT NULL)),
    CHECK (review_opens < review_cutoff AND review_cutoff <= review_closes)
);
CREATE INDEX unions_path_idx ON unions (path text_pattern_ops);
CREATE INDEX unions_region_idx ON unions (region_code, kind);
CREATE INDEX unions_credit_code_idx ON unions (credit_code) WHERE credit_code IS NOT NULL;
CREATE INDEX unions_parent_idx ON unions (parent_id);

-- A worker's login identity: a WeChat openid, a verified phone, or both.
CREATE TABLE accounts (
    id             uuid        PRIMARY KEY,
    wechat_openid  text        UNIQUE,
    wechat_unionid text,
    phone_cipher   text,
    phone_index    text        UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (wechat_openid IS NOT NULL OR phone_index IS NOT NULL),
    CHECK ((phone_cipher IS NULL) = (phone_index IS NULL))
);

-- Union administrators: one role, bound to one union, acting inside its subtree.
CREATE TABLE admins (
    id              uuid        PRIMARY KEY,
    username        text        NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9_.-]{3,64}$'),
    display_name    text        NOT NULL,
    password_hash   text        NOT NULL,
    role            text        NOT NULL CHECK (role IN ('reviewer', 'manager', 'viewer')),
    union_id        bigint      NOT NULL REFERENCES unions (id),
    failed_logins   integer     NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admins_union_idx ON admins (union_id);

-- 入会申请. Resident ID and phone exist only as ciphertext plus a blind index.
CREATE TABLE applications (
    id                   uuid        PRIMARY KEY,
    account_id           uuid        NOT NULL REFERENCES accounts (id),
    person_index         text        NOT NULL,
    status               text        NOT NULL CHECK (status IN ('pending_review', 'pooled', 'returned', 'approved', 'rejected', 'withdrawn', 'expired')),
    version              integer     NOT NULL DEFAULT 1,
    union_id             bigint      NOT NULL REFERENCES unions (id),
    routing_rule         text        NOT NULL,
    routing_explanation  text        NOT NULL,
    due_at               timestamptz,
    submitted_at         timestamptz NOT NULL,
    decided_at           timestamptz,
    returned_at          timestamptz,
    name                 text        NOT NULL,
    resident_id_cipher   text        NOT NULL,
    phone_cipher         text        NOT NULL,
    phone_index          text        NOT NULL,
    gender               text        NOT NULL,
    birth_date           date        NOT NULL,
    ethnicity            text        NOT NULL,
    education            text        NOT NULL,
    political_status     text        NOT NULL,
    household_type       text        NOT NULL,
    household_region     varchar(12) REFERENCES regions (code),
    employment_status    text        NOT NULL,
    occupation           text        NOT NULL,
    employer_name        text        NOT NULL,
    employer_credit_code varchar(18),
    platform             text,
    work_region          varchar(12) NOT NULL REFERENCES regions (code),
    work_address         text        NOT NULL,
    privacy_notice_version text      NOT NULL,
    consented_at         timestamptz NOT NULL,
    channel              text        NOT NULL,
    referral_code        text,
    return_fields        text[]      NOT NULL DEFAULT '{}',
    return_note          text,
    reject_code          text,
    reject_note          text,
    member_id            uuid,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
-- One open application per person, nationwide.
CREATE UNIQUE INDEX applications_one_open_per_person
    ON applications (person_index) WHERE status IN ('pending_review', 'pooled', 'returned');
-- The admin queue: a union's applications by status, earliest deadline first (keyset).
CREATE INDEX applications_queue_idx ON applications (union_id, status, due_at, id);
CREATE INDEX applications_account_idx ON applications (account_id, submitted_at DESC);

-- Every transition of an application: the timeline shown to the applicant and the admins.
CREATE TABLE application_events (
    id             bigserial   PRIMARY KEY,
    application_id uuid        NOT NULL REFERENCES applications (id),
    event          text        NOT NULL,
    from_status    text,
    to_status      text        NOT NULL,
    union_id       bigint      NOT NULL REFERENCES unions (id),
    actor_kind     text        NOT NULL CHECK (actor_kind IN ('applicant', 'admin', 'system')),
    actor_id       uuid,
    reason         text,
    at             timestamptz NOT NULL
);
CREATE INDEX application_events_application_idx ON application_events (application_id, id);

-- 会员. One row per person (blind index of the ID); the membership number never changes.
CREATE TABLE members (
    id                uuid        PRIMARY KEY,
    person_index      text        NOT NULL UNIQUE,
    account_id        uuid        NOT NULL REFERENCES accounts (id),
    membership_number varchar(16) NOT NULL UNIQUE,
    union_id          bigint      NOT NULL REFERENCES unions (id),
    name              text        NOT NULL,
    joined_on         date        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('active', 'transferring', 'retained', 'withdrawn', 'expelled', 'deceased')),
    version           integer     NOT NULL DEFAULT 1,
    application_id    uuid        NOT NULL REFERENCES applications (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX members_union_idx ON members (union_id, status);
CREATE INDEX members_account_idx ON members (account_id);
ALTER TABLE applications ADD CONSTRAINT applications_member_fk FOREIGN KEY (member_id) REFERENCES members (id);

-- Append-only membership history: which union, from when, until when, why.
CREATE TABLE affiliations (
    id          bigserial   PRIMARY KEY,
    member_id   uuid        NOT NULL REFERENCES members (id),
    union_id    bigint      NOT NULL REFERENCES unions (id),
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    reason      text        NOT NULL
);
CREATE INDEX affiliations_member_idx ON affiliations (member_id, started_at);
CREATE UNIQUE INDEX affiliations_one_open ON affiliations (member_id) WHERE ended_at IS NULL;

-- Per-county, per-year sequence of membership numbers, updated in the approval transaction.
CREATE TABLE membership_counters (
    county_code varchar(6) NOT NULL,
    year        smallint   NOT NULL,
    last_value  integer    NOT NULL,
    PRIMARY KEY (county_code, year)
);

-- Who did what to which object, when, why, under which request.
CREATE TABLE audit_log (
    id          bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_kind  text        NOT NULL CHECK (actor_kind IN ('applicant', 'member', 'admin', 'system', 'partner')),
    actor_id    text,
    role        text,
    union_id    bigint      REFERENCES unions (id),
    object_kind text        NOT NULL,
    object_id   text        NOT NULL,
    action      text        NOT NULL,
    reason      text,
    request_id  text
);
CREATE INDEX audit_log_union_idx ON audit_log (union_id, id);
CREATE INDEX audit_log_object_idx ON audit_log (object_kind, object_id, id);

-- Events written in the business transaction, delivered after commit by the dispatcher.
CREATE TABLE outbox (
    id              bigserial   PRIMARY KEY,
    event_type      text        NOT NULL,
    aggregate_id    text        NOT NULL,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL,
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    delivered_at    timestamptz
);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at, id) WHERE status = 'pending';

-- Writes retried with the same Idempotency-Key answer the first response.
CREATE TABLE idempotency_keys (
    scope           text        NOT NULL,
    key             text        NOT NULL,
    request_hash    text        NOT NULL,
    response_status smallint    NOT NULL,
    response_body   jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
