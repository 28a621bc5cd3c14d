-- Membership that follows the worker (一次入会、动态接转): transfers between unions, the
-- lifecycle history of each membership, and the membership number held in each affiliation
-- period, so a former member's old number stays in the history after they join again.

-- 会籍转接. The member stays in the source union (members.union_id) until completion.
CREATE TABLE transfers (
    id                   uuid        PRIMARY KEY,
    member_id            uuid        NOT NULL REFERENCES members (id),
    from_union_id        bigint      NOT NULL REFERENCES unions (id),
    to_union_id          bigint      NOT NULL REFERENCES unions (id),
    status               text        NOT NULL CHECK (status IN ('requested', 'released', 'completed', 'rejected', 'cancelled')),
    version              integer     NOT NULL DEFAULT 1,
    -- Set when the member named target facts and routing chose the union.
    routing_rule         text,
    routing_explanation  text,
    work_region          varchar(12) REFERENCES regions (code),
    occupation           text,
    employer_credit_code varchar(18),
    -- The member's own words on why they move.
    reason               text,
    requested_at         timestamptz NOT NULL,
    released_at          timestamptz,
    released_by          uuid,
    auto_released        boolean     NOT NULL DEFAULT false,
    decided_at           timestamptz,
    decided_by           uuid,
    completed_at         timestamptz,
    cancelled_at         timestamptz,
    rejected_by          text        CHECK (rejected_by IN ('source', 'target')),
    reject_reason        text,
    updated_at           timestamptz NOT NULL,
    CHECK (from_union_id <> to_union_id),
    CHECK ((routing_rule IS NULL) = (routing_explanation IS NULL)),
    CHECK ((status = 'rejected') = (rejected_by IS NOT NULL AND reject_reason IS NOT NULL)),
    CHECK ((status = 'completed') = (completed_at IS NOT NULL)),
    CHECK (NOT auto_released OR released_at IS NOT NULL)
);
-- At most one open transfer per member.
CREATE UNIQUE INDEX transfers_one_open_per_member
    ON transfers (member_id) WHERE status IN ('requested', 'released');
-- The admin lists: outgoing by the source union, incoming by the target (keyset on
-- requested_at, id).
CREATE INDEX transfers_out_idx ON transfers (from_union_id, status, requested_at, id);
CREATE INDEX transfers_in_idx ON transfers (to_union_id, status, requested_at, id);
-- The member's own list.
CREATE INDEX transfers_member_idx ON transfers (member_id, requested_at DESC);
-- The auto-release scan: transfers still waiting for a silent source union.
CREATE INDEX transfers_auto_release_idx ON transfers (requested_at, id) WHERE status = 'requested';

-- Every change of a membership's status: retained (with why), reactivated, withdrawn,
-- expelled, deceased, and the transfer steps. Append-only; shown to admins of the member's
-- unions.
CREATE TABLE member_events (
    id                bigserial   PRIMARY KEY,
    member_id         uuid        NOT NULL REFERENCES members (id),
    event             text        NOT NULL,
    from_status       text        NOT NULL,
    to_status         text        NOT NULL,
    union_id          bigint      NOT NULL REFERENCES unions (id),
    membership_number varchar(16) NOT NULL,
    transfer_id       uuid        REFERENCES transfers (id),
    actor_kind        text        NOT NULL CHECK (actor_kind IN ('member', 'admin', 'system')),
    actor_id          uuid,
    reason_code       text,
    reason            text,
    at                timestamptz NOT NULL
);
CREATE INDEX member_events_member_idx ON member_events (member_id, id);

-- Each affiliation period records the number the member held in it (a member who withdraws
-- and joins again gets a new number; the old one stays here), and why the period ended.
ALTER TABLE affiliations ADD COLUMN membership_number varchar(16);
UPDATE affiliations a SET membership_number = m.membership_number FROM members m WHERE m.id = a.member_id;
ALTER TABLE affiliations ALTER COLUMN membership_number SET NOT NULL;
ALTER TABLE affiliations ADD COLUMN end_reason text;
ALTER TABLE affiliations ADD CONSTRAINT affiliations_end_reason_check
    CHECK ((ended_at IS NULL) = (end_reason IS NULL));
-- Admins of a past union find the members who passed through it.
CREATE INDEX affiliations_union_idx ON affiliations (union_id, member_id);
