-- Coverage counters (issue 16): per union × occupation group × Beijing day, kept in the
-- transaction of each event at the union AND each of its ancestors, so a subtree's figures are
-- the rows of one union (a range of days), never a scan of applications or members.
--
-- `slot` spreads the rows a busy day would share (the root's, a province's) over a few rows:
-- each transaction writes the slot of its backend (`pg_backend_pid() % 8`), readers sum the
-- slots. Two submissions on two connections never wait on the same counter row.
--
-- What each column counts, and where (the recount below is the definition):
--   submitted                 submission events, at the union that received them
--   approved, rejected        decisions, at the deciding union, on the decision's day
--   *_on_time                 of those, decided no later than the deadline (`due_at`)
--   returned                  returns for correction, at the returning union
--   applications_withdrawn    applications the applicant withdrew
--   joined                    members created by an approval (= approved)
--   transferred_in/out        completed transfers, at unions the member entered/left (a union
--                             holding both sides of a transfer counts neither)
--   retained … deceased       member lifecycle events, at the member's union then
--   referrals                 approved applications carrying a referrer, at the referrer's union
-- The group of a member is the occupation of the application that made them a member.
CREATE TABLE union_stats_daily (
    union_id               bigint   NOT NULL REFERENCES unions (id),
    day                    date     NOT NULL,
    occupation             text     NOT NULL,
    slot                   smallint NOT NULL DEFAULT 0,
    submitted              integer  NOT NULL DEFAULT 0,
    approved               integer  NOT NULL DEFAULT 0,
    approved_on_time       integer  NOT NULL DEFAULT 0,
    rejected               integer  NOT NULL DEFAULT 0,
    rejected_on_time       integer  NOT NULL DEFAULT 0,
    returned               integer  NOT NULL DEFAULT 0,
    applications_withdrawn integer  NOT NULL DEFAULT 0,
    joined                 integer  NOT NULL DEFAULT 0,
    transferred_in         integer  NOT NULL DEFAULT 0,
    transferred_out        integer  NOT NULL DEFAULT 0,
    retained               integer  NOT NULL DEFAULT 0,
    reactivated            integer  NOT NULL DEFAULT 0,
    withdrawn              integer  NOT NULL DEFAULT 0,
    expelled               integer  NOT NULL DEFAULT 0,
    deceased               integer  NOT NULL DEFAULT 0,
    referrals              integer  NOT NULL DEFAULT 0,
    PRIMARY KEY (union_id, day, occupation, slot)
);

-- Active members (active or transferring) per union × group, a gauge kept like the counters.
CREATE TABLE union_stats_active (
    union_id   bigint   NOT NULL REFERENCES unions (id),
    occupation text     NOT NULL,
    slot       smallint NOT NULL DEFAULT 0,
    active     integer  NOT NULL DEFAULT 0,
    PRIMARY KEY (union_id, occupation, slot)
);

-- Applications waiting for a decision (pending review or pooled) per union × deadline, a gauge
-- kept like the counters (`infinity` for none): what is overdue at an instant is the rows with
-- an earlier deadline — one row per deadline (one a working day), not one per application.
CREATE TABLE union_stats_pending (
    union_id bigint      NOT NULL REFERENCES unions (id),
    due_at   timestamptz NOT NULL,
    slot     smallint    NOT NULL DEFAULT 0,
    pending  integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (union_id, due_at, slot)
);

-- The group of each timeline step as it was then (a correction may change it).
ALTER TABLE application_events ADD COLUMN occupation text;

-- The union and its ancestors, root first.
CREATE FUNCTION union_chain(u bigint) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT string_to_array(btrim(path, '/'), '/')::bigint[] FROM unions WHERE id = u
$$;

-- The counters recounted from the base tables: the definition `zhijian stats verify` checks
-- and `zhijian stats rebuild` writes.
CREATE FUNCTION union_stats_recount()
RETURNS TABLE (
    union_id bigint, day date, occupation text,
    submitted bigint, approved bigint, approved_on_time bigint, rejected bigint,
    rejected_on_time bigint, returned bigint, applications_withdrawn bigint, joined bigint,
    transferred_in bigint, transferred_out bigint, retained bigint, reactivated bigint,
    withdrawn bigint, expelled bigint, deceased bigint, referrals bigint)
LANGUAGE sql STABLE AS $$
WITH own AS (
    SELECT ae.union_id AS u, (ae.at AT TIME ZONE 'Asia/Shanghai')::date AS day,
           COALESCE(ae.occupation, a.occupation) AS occ,
           CASE ae.event WHEN 'withdrawn' THEN 'applications_withdrawn' ELSE ae.event END AS k
    FROM application_events ae JOIN applications a ON a.id = ae.application_id
    WHERE ae.event IN ('submitted', 'returned', 'withdrawn')
    UNION ALL
    SELECT a.union_id, (a.decided_at AT TIME ZONE 'Asia/Shanghai')::date, a.occupation,
           a.status || CASE WHEN a.due_at IS NULL OR a.decided_at <= a.due_at
                            THEN '_on_time' ELSE '' END
    FROM applications a
    WHERE a.status IN ('approved', 'rejected') AND a.decided_at IS NOT NULL
      -- A register brought in by an import (issue 14) is no review and no new member of the
      -- day it was loaded: its members count in the active gauge only.
      AND a.channel <> 'import'
    UNION ALL
    SELECT a.union_id, (a.decided_at AT TIME ZONE 'Asia/Shanghai')::date, a.occupation, 'joined'
    FROM members m JOIN applications a ON a.id = m.application_id
    WHERE a.channel <> 'import'
    UNION ALL
    SELECT me.union_id, (me.at AT TIME ZONE 'Asia/Shanghai')::date, a.occupation, me.event
    FROM member_events me
    JOIN members m ON m.id = me.member_id
    JOIN applications a ON a.id = m.application_id
    WHERE me.event IN ('retained', 'reactivated', 'withdrawn', 'expelled', 'deceased')
    UNION ALL
    SELECT COALESCE((SELECT af.union_id FROM affiliations af
                     WHERE af.member_id = a.referrer_member_id AND af.started_at <= a.decided_at
                     ORDER BY af.started_at DESC, af.id DESC LIMIT 1), r.union_id),
           (a.decided_at AT TIME ZONE 'Asia/Shanghai')::date, a.occupation, 'referrals'
    FROM applications a JOIN members r ON r.id = a.referrer_member_id
    WHERE a.status = 'approved' AND a.decided_at IS NOT NULL
),
own_counted AS (
    SELECT u, day, occ, k, count(*) AS n FROM own GROUP BY 1, 2, 3, 4
),
moves AS (
    SELECT t.from_union_id AS f, t.to_union_id AS t, (t.completed_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
           a.occupation AS occ, count(*) AS n
    FROM transfers t
    JOIN members m ON m.id = t.member_id
    JOIN applications a ON a.id = m.application_id
    WHERE t.status = 'completed' AND t.completed_at IS NOT NULL
    GROUP BY 1, 2, 3, 4
),
expanded AS (
    SELECT c.id, o.day, o.occ, o.k, o.n
    FROM own_counted o CROSS JOIN LATERAL unnest(union_chain(o.u)) AS c(id)
    UNION ALL
    SELECT c.id, mv.day, mv.occ, 'transferred_in', mv.n
    FROM moves mv CROSS JOIN LATERAL unnest(union_chain(mv.t)) AS c(id)
    WHERE c.id <> ALL (union_chain(mv.f))
    UNION ALL
    SELECT c.id, mv.day, mv.occ, 'transferred_out', mv.n
    FROM moves mv CROSS JOIN LATERAL unnest(union_chain(mv.f)) AS c(id)
    WHERE c.id <> ALL (union_chain(mv.t))
)
SELECT id, day, occ,
       sum(n) FILTER (WHERE k = 'submitted')::bigint,
       sum(n) FILTER (WHERE k IN ('approved', 'approved_on_time'))::bigint,
       sum(n) FILTER (WHERE k = 'approved_on_time')::bigint,
       sum(n) FILTER (WHERE k IN ('rejected', 'rejected_on_time'))::bigint,
       sum(n) FILTER (WHERE k = 'rejected_on_time')::bigint,
       sum(n) FILTER (WHERE k = 'returned')::bigint,
       sum(n) FILTER (WHERE k = 'applications_withdrawn')::bigint,
       sum(n) FILTER (WHERE k = 'joined')::bigint,
       sum(n) FILTER (WHERE k = 'transferred_in')::bigint,
       sum(n) FILTER (WHERE k = 'transferred_out')::bigint,
       sum(n) FILTER (WHERE k = 'retained')::bigint,
       sum(n) FILTER (WHERE k = 'reactivated')::bigint,
       sum(n) FILTER (WHERE k = 'withdrawn')::bigint,
       sum(n) FILTER (WHERE k = 'expelled')::bigint,
       sum(n) FILTER (WHERE k = 'deceased')::bigint,
       sum(n) FILTER (WHERE k = 'referrals')::bigint
FROM expanded
GROUP BY 1, 2, 3
$$;

-- Active members recounted from the base tables.
CREATE FUNCTION union_stats_active_recount()
RETURNS TABLE (union_id bigint, occupation text, active bigint)
LANGUAGE sql STABLE AS $$
    WITH own AS (
        SELECT m.union_id AS u, a.occupation AS occ, count(*) AS n
        FROM members m JOIN applications a ON a.id = m.application_id
        WHERE m.status IN ('active', 'transferring')
        GROUP BY 1, 2
    )
    SELECT c.id, own.occ, sum(own.n)::bigint
    FROM own CROSS JOIN LATERAL unnest(union_chain(own.u)) AS c(id)
    GROUP BY 1, 2
$$;

-- Waiting applications recounted from the base tables.
CREATE FUNCTION union_stats_pending_recount()
RETURNS TABLE (union_id bigint, due_at timestamptz, pending bigint)
LANGUAGE sql STABLE AS $$
    WITH own AS (
        SELECT a.union_id AS u, COALESCE(a.due_at, 'infinity') AS due, count(*) AS n
        FROM applications a WHERE a.status IN ('pending_review', 'pooled')
        GROUP BY 1, 2
    )
    SELECT c.id, own.due, sum(own.n)::bigint
    FROM own CROSS JOIN LATERAL unnest(union_chain(own.u)) AS c(id)
    GROUP BY 1, 2
$$;

-- The counters start from what is already there.
INSERT INTO union_stats_daily (
    union_id, day, occupation, submitted, approved, approved_on_time, rejected,
    rejected_on_time, returned, applications_withdrawn, joined, transferred_in,
    transferred_out, retained, reactivated, withdrawn, expelled, deceased, referrals)
SELECT union_id, day, occupation, COALESCE(submitted, 0), COALESCE(approved, 0),
       COALESCE(approved_on_time, 0), COALESCE(rejected, 0), COALESCE(rejected_on_time, 0),
       COALESCE(returned, 0), COALESCE(applications_withdrawn, 0), COALESCE(joined, 0),
       COALESCE(transferred_in, 0), COALESCE(transferred_out, 0), COALESCE(retained, 0),
       COALESCE(reactivated, 0), COALESCE(withdrawn, 0), COALESCE(expelled, 0),
       COALESCE(deceased, 0), COALESCE(referrals, 0)
FROM union_stats_recount();
INSERT INTO union_stats_active (union_id, occupation, active)
SELECT union_id, occupation, active FROM union_stats_active_recount();
INSERT INTO union_stats_pending (union_id, due_at, pending)
SELECT union_id, due_at, pending FROM union_stats_pending_recount();

-- The same-day review figures are read from the counters now (approved + rejected and their
-- on-time parts): one source for one figure.
DROP TABLE review_stats_daily;

-- 新会员季报 snapshots: at each quarter's end (Beijing) the new members by group of every
-- union's subtree, with its parent and name as they were then. Immutable: written once per
-- quarter (`quarterly_snapshots` marks it taken), never updated or deleted.
CREATE TABLE quarterly_snapshots (
    year     integer     NOT NULL,
    quarter  smallint    NOT NULL CHECK (quarter BETWEEN 1 AND 4),
    taken_at timestamptz NOT NULL,
    PRIMARY KEY (year, quarter)
);
CREATE TABLE quarterly_snapshot_rows (
    year       integer  NOT NULL,
    quarter    smallint NOT NULL,
    union_id   bigint   NOT NULL REFERENCES unions (id),
    parent_id  bigint,
    union_name text     NOT NULL,
    occupation text     NOT NULL,
    joined     bigint   NOT NULL CHECK (joined >= 0),
    PRIMARY KEY (year, quarter, union_id, occupation),
    FOREIGN KEY (year, quarter) REFERENCES quarterly_snapshots (year, quarter)
);
CREATE INDEX quarterly_snapshot_rows_parent ON quarterly_snapshot_rows (year, quarter, parent_id);

CREATE FUNCTION quarterly_snapshots_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'quarterly snapshots are immutable';
END
$$;
CREATE TRIGGER quarterly_snapshots_immutable
    BEFORE UPDATE OR DELETE ON quarterly_snapshots
    FOR EACH ROW EXECUTE FUNCTION quarterly_snapshots_immutable();
CREATE TRIGGER quarterly_snapshot_rows_immutable
    BEFORE UPDATE OR DELETE ON quarterly_snapshot_rows
    FOR EACH ROW EXECUTE FUNCTION quarterly_snapshots_immutable();
