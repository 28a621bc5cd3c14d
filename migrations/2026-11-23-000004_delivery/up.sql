-- Same-day operations: delivery of outbox events (every attempt recorded), admins' phones for
-- their notices, deadline alerts sent once per application and deadline, same-day review
-- counters, and an append-only audit trail.

-- The dispatcher claims a row by setting a lease (`claimed_until`); a server that dies
-- mid-delivery leaves the lease to expire and another one takes the row over. `failed`: a
-- permanent provider error (invalid or blacklisted number), not retried; `dead`: still failing
-- after the configured number of attempts.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'delivered', 'failed', 'dead'));
ALTER TABLE outbox
    ADD COLUMN claimed_until timestamptz,
    ADD COLUMN last_error    text;

-- One row per provider call made for an outbox event: which channel, to whom (by id, never
-- by phone number), through which provider, under which of our ids (`out_id`: Tencent
-- `SessionContext`, Aliyun `OutId`; the same for every attempt at the same recipient, so a
-- duplicate after a crash is recognisable), and what came back. `fallback`: WeChat could not
-- reach the worker (no subscription grant, 43101) and SMS was used instead.
CREATE TABLE deliveries (
    id             bigserial   PRIMARY KEY,
    outbox_id      bigint      NOT NULL REFERENCES outbox (id),
    attempt        integer     NOT NULL CHECK (attempt >= 1),
    channel        text        NOT NULL CHECK (channel IN ('wechat', 'sms')),
    recipient_kind text        NOT NULL CHECK (recipient_kind IN ('worker', 'admin')),
    recipient_id   text        NOT NULL,
    provider       text        NOT NULL,
    out_id         text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('ok', 'failed', 'fallback')),
    retryable      boolean     NOT NULL DEFAULT false,
    error_code     text,
    error_message  text,
    provider_ref   text,
    duration_ms    integer     NOT NULL DEFAULT 0,
    at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_outbox_idx ON deliveries (outbox_id, id);
CREATE INDEX deliveries_out_id_idx ON deliveries (out_id);

-- Admins receive their notices (new application, deadline in one hour, overdue) by SMS.
-- Sealed like every phone (`PiiCipher`, context `phone`); NULL: no SMS notices.
ALTER TABLE admins ADD COLUMN phone_cipher text;

-- "Deadline in one hour" and "overdue" fire once per application, deadline and union: the
-- scan inserts here and writes the outbox event in the same transaction, and only when the
-- insert did insert. A new deadline (resubmitted, assigned) or a new union (forwarded) may
-- alert again.
CREATE TABLE deadline_alerts (
    application_id uuid        NOT NULL REFERENCES applications (id),
    kind           text        NOT NULL CHECK (kind IN ('due_soon', 'overdue')),
    due_at         timestamptz NOT NULL,
    union_id       bigint      NOT NULL REFERENCES unions (id),
    at             timestamptz NOT NULL,
    PRIMARY KEY (application_id, kind, due_at, union_id)
);

-- The deadline scan looks at open applications by deadline only.
CREATE INDEX applications_open_due_idx ON applications (due_at)
    WHERE status IN ('pending_review', 'pooled');

-- Same-day review counters (当天审核率), per union and Beijing day, updated in the decision's
-- own transaction; statistics sum day rows over a subtree instead of counting applications.
CREATE TABLE review_stats_daily (
    union_id        bigint  NOT NULL REFERENCES unions (id),
    day             date    NOT NULL,
    decided         integer NOT NULL DEFAULT 0 CHECK (decided >= 0),
    decided_on_time integer NOT NULL DEFAULT 0 CHECK (decided_on_time >= 0 AND decided_on_time <= decided),
    approved        integer NOT NULL DEFAULT 0 CHECK (approved >= 0),
    rejected        integer NOT NULL DEFAULT 0 CHECK (rejected >= 0),
    PRIMARY KEY (union_id, day)
);

-- Decisions made before this migration.
INSERT INTO review_stats_daily (union_id, day, decided, decided_on_time, approved, rejected)
SELECT union_id,
       (decided_at AT TIME ZONE 'Asia/Shanghai')::date,
       count(*),
       count(*) FILTER (WHERE due_at IS NULL OR decided_at <= due_at),
       count(*) FILTER (WHERE status = 'approved'),
       count(*) FILTER (WHERE status = 'rejected')
FROM applications
WHERE decided_at IS NOT NULL AND status IN ('approved', 'rejected')
GROUP BY 1, 2;

-- The audit trail is append-only whoever connects: the trigger refuses UPDATE, DELETE and
-- TRUNCATE even for a superuser or the table's owner. Where the application connects as an
-- ordinary role, that role also loses the privileges themselves.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_append_only_rows
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_append_only_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM %I', current_user);
    END IF;
END;
$$;
