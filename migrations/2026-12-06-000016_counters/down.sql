DROP TABLE quarterly_snapshot_rows;
DROP TABLE quarterly_snapshots;
DROP FUNCTION quarterly_snapshots_immutable();
CREATE TABLE review_stats_daily (
    union_id        bigint  NOT NULL REFERENCES unions (id),
    day             date    NOT NULL,
    decided         integer NOT NULL DEFAULT 0 CHECK (decided >= 0),
    decided_on_time integer NOT NULL DEFAULT 0 CHECK (decided_on_time >= 0 AND decided_on_time <= decided),
    approved        integer NOT NULL DEFAULT 0 CHECK (approved >= 0),
    rejected        integer NOT NULL DEFAULT 0 CHECK (rejected >= 0),
    PRIMARY KEY (union_id, day)
);
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
DROP FUNCTION union_stats_pending_recount();
DROP FUNCTION union_stats_active_recount();
DROP FUNCTION union_stats_recount();
DROP FUNCTION union_chain(bigint);
ALTER TABLE application_events DROP COLUMN occupation;
DROP TABLE union_stats_pending;
DROP TABLE union_stats_active;
DROP TABLE union_stats_daily;
