-- The parameters of the pgbench replays (bench/sql/submit.sql, bench/sql/approve.sql), made by
-- scripts/bench.sh in the bench database only, after B1 (they start from a real submission).

-- The last submission the server answered: each replayed submission is this one with a new id,
-- person and idempotency key (the same tables, indexes and JSON sizes), written to a union
-- outside the busy county.
DROP TABLE IF EXISTS bench_submit_template;
CREATE TABLE bench_submit_template AS
WITH last AS MATERIALIZED (
    -- the server's last answered submission (the two-row baseline writes applications too,
    -- without a key)
    SELECT (response_body ->> 'id')::uuid AS id FROM idempotency_keys
    WHERE response_status = 201 AND response_body ? 'id'
    ORDER BY created_at DESC LIMIT 1),
a AS MATERIALIZED (SELECT * FROM applications WHERE id = (SELECT id FROM last))
SELECT to_jsonb(a) AS application,
       (SELECT jsonb_agg(to_jsonb(e) ORDER BY e.id) FROM application_events e
        WHERE e.application_id = a.id) AS events,
       k.scope AS key_scope, k.request_hash, k.response_status, k.response_body AS answer,
       o.payload, a.id AS template_id, a.work_region, a.occupation, a.employer_credit_code,
       a.account_id,
       -- the replay's rows go to a joint union outside the busy county, out of the queue B4
       -- and B8 approve from (their sealed values were sealed for the template's id)
       (SELECT u.id FROM unions u WHERE u.kind = 'joint' AND u.closed_at IS NULL
          AND u.region_code NOT LIKE '500237%' ORDER BY u.id LIMIT 1) AS elsewhere
FROM a,
     LATERAL (SELECT * FROM idempotency_keys k WHERE k.response_body ->> 'id' = a.id::text
              LIMIT 1) k,
     LATERAL (SELECT payload FROM outbox o
              WHERE o.aggregate_id = a.id::text AND o.event_type = 'application.submitted'
              LIMIT 1) o;

-- The busy county's pending applications, one per replayed approval, taken in turn
-- (`nextval('bench_approve_next')`), each with what the server reads of it.
DROP TABLE IF EXISTS bench_approve_queue;
DROP SEQUENCE IF EXISTS bench_approve_next;
CREATE SEQUENCE bench_approve_next;
CREATE TABLE bench_approve_queue AS
SELECT row_number() OVER (ORDER BY a.submitted_at) AS n, a.id, a.version
FROM applications a
JOIN unions u ON u.id = a.union_id
WHERE a.status = 'pending_review'
  AND u.path LIKE (SELECT path FROM unions WHERE region_code = '500237' AND kind = 'federation'
                   ORDER BY id LIMIT 1) || '%'
LIMIT 300000;
CREATE UNIQUE INDEX ON bench_approve_queue (n);
ANALYZE bench_approve_queue;
