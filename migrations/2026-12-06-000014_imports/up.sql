-- Bulk import of a register (issue 14): one row per import with its state, counts and
-- progress (kept here so a restart loses nothing), the problems of its report, and the staged
-- member rows phase one writes with COPY (already parsed and encrypted) and phase two moves
-- into the real tables in one transaction.

CREATE TABLE imports (
    id             uuid        PRIMARY KEY,
    union_id       bigint      NOT NULL REFERENCES unions (id),
    kind           text        NOT NULL CHECK (kind IN ('members', 'unions')),
    mode           text        NOT NULL CHECK (mode IN ('all', 'valid_only')),
    status         text        NOT NULL CHECK (status IN ('validating', 'validated', 'committing', 'committed', 'failed')),
    content_sha256 text        NOT NULL,
    charset        text        NOT NULL,
    source         text        NOT NULL CHECK (source IN ('api', 'cli')),
    actor_id       uuid        NOT NULL,
    rows_total     integer     NOT NULL DEFAULT 0,
    rows_valid     integer     NOT NULL DEFAULT 0,
    rows_invalid   integer     NOT NULL DEFAULT 0,
    rows_committed integer     NOT NULL DEFAULT 0,
    warnings       integer     NOT NULL DEFAULT 0,
    failure        text,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    committed_at   timestamptz
);
-- The same file sent again by the same union is the same import (unless that one failed).
CREATE UNIQUE INDEX imports_same_file ON imports (union_id, kind, content_sha256) WHERE status <> 'failed';
CREATE INDEX imports_union_idx ON imports (union_id, created_at DESC);

CREATE TABLE import_problems (
    id          bigserial PRIMARY KEY,
    import_id   uuid      NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    line        integer   NOT NULL,
    column_name text      NOT NULL,
    code        text      NOT NULL,
    message     text      NOT NULL,
    severity    text      NOT NULL CHECK (severity IN ('error', 'warning'))
);
CREATE INDEX import_problems_import_idx ON import_problems (import_id, line, id);

-- Phase one's output, phase two's input; deleted once committed.
CREATE TABLE import_member_rows (
    import_id          uuid        NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    line               integer     NOT NULL,
    valid              boolean     NOT NULL DEFAULT true,
    person_index       text        NOT NULL,
    name               text        NOT NULL,
    resident_id_cipher text        NOT NULL,
    phone_cipher       text        NOT NULL,
    phone_index        text        NOT NULL,
    gender             text        NOT NULL,
    birth_date         date        NOT NULL,
    union_id           bigint      NOT NULL,
    county             varchar(6)  NOT NULL,
    work_region        varchar(12) NOT NULL,
    joined_on          date        NOT NULL,
    given_number       varchar(16),
    unusable_number    text,
    occupation         text        NOT NULL,
    employer_name      text,
    platform           text,
    PRIMARY KEY (import_id, line)
);

-- An imported member has no sign-in of their own until they claim the membership: their
-- application and member point at a placeholder account (no openid, no phone), replaced by the
-- worker's own account at the claim.
ALTER TABLE accounts ADD COLUMN imported boolean NOT NULL DEFAULT false;
ALTER TABLE accounts DROP CONSTRAINT accounts_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_check
    CHECK (wechat_openid IS NOT NULL OR phone_index IS NOT NULL OR imported);


-- A union sheet's rows as read (small: a county's tree), replayed by the commit.
CREATE TABLE import_union_rows (
    import_id uuid    NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    line      integer NOT NULL,
    cells     text[]  NOT NULL,
    PRIMARY KEY (import_id, line)
);
