-- B1 against its own SQL: pgbench replays exactly the statements the server sends for one
-- submission (captured from the server by integration-tests/tests/api/statements.rs, which fails
-- when this file and the server drift apart), with fresh parameters: a new application id,
-- person, idempotency key, made from the last submission the server answered
-- (bench/sql/templates.sql, table bench_submit_template; written to a union outside the busy
-- county) by the first statement, which the
-- server does not send (one more round trip for pgbench than for the server).
--   pgbench -n -M prepared -c 16 -j 2 -T 15 -f bench/sql/submit.sql zhijian_bench
-- Casts after a variable give the type diesel binds (pgbench sends its variables untyped).

-- not sent by the server
SELECT n.person, '{' || n.person || '}' AS persons, '{active,transferring,retained}' AS statuses,
       t.account_id AS account, 1 AS one, t.application ->> 'privacy_notice_version' AS notice,
       '{membership}' AS purposes, now() AS now, t.key_scope AS scope,
       'replay-' || n.id AS key, t.request_hash AS hash, t.response_status AS status,
       jsonb_set(t.answer, '{id}', to_jsonb(n.id::text))::text AS answer,
       jsonb_set(jsonb_set(jsonb_set(t.application, '{id}', to_jsonb(n.id::text)),
                           '{person_index}', to_jsonb(n.person)),
                 '{union_id}', to_jsonb(t.elsewhere))::text AS application,
       (SELECT jsonb_agg(jsonb_set(e - 'id', '{application_id}', to_jsonb(n.id::text)))
        FROM jsonb_array_elements(t.events) AS e)::text AS events,
       n.id::text AS request_id,
       jsonb_set(t.payload, '{application_id}', to_jsonb(n.id::text))::text AS payload,
       r.regions::text AS regions, 'none' AS credit_code, c.covered::text AS covered,
       (SELECT COALESCE(array_agg(u.id ORDER BY u.id), '{}') FROM unions u
        WHERE u.closed_at IS NULL AND u.kind = 'joint'
          AND (u.region_code = ANY (r.regions) OR u.id = ANY (c.covered)))::text AS joint
FROM bench_submit_template t,
     LATERAL (SELECT gen_random_uuid() AS id,
                     md5(random()::text) || md5(random()::text) AS person) n,
     LATERAL (SELECT ARRAY[t.work_region, left(t.work_region, 9), left(t.work_region, 6),
                           left(t.work_region, 4), left(t.work_region, 2)] AS regions) r,
     LATERAL (SELECT COALESCE(array_agg(uc.union_id), '{}') AS covered FROM union_coverage uc
              WHERE uc.region_code = ANY (r.regions)) c
\gset

-- the consent gate of every worker write (api/src/auth.rs): the account's notice version
SELECT "privacy_consents"."notice_version" FROM "privacy_consents" WHERE ("privacy_consents"."account_id" = :account::uuid) LIMIT :one::int8;

SELECT "union_coverage"."union_id" FROM "union_coverage" WHERE ("union_coverage"."region_code" = ANY(:regions::text[]));

SELECT "unions"."id", "unions"."name", "unions"."kind", "unions"."parent_id", "unions"."region_code", "unions"."path", "unions"."credit_code", "unions"."occupations", "unions"."accepting", "unions"."priority", "unions"."review_opens", "unions"."review_closes", "unions"."review_cutoff", "unions"."version", "unions"."created_at", "unions"."updated_at", "unions"."closed_at", "unions"."successor_id" FROM "unions" WHERE (("unions"."closed_at" IS NULL) AND ((("unions"."region_code" = ANY(:regions::text[])) OR ("unions"."credit_code" = :credit_code::text)) OR ("unions"."id" = ANY(:covered::int8[]))));

SELECT "union_coverage"."union_id", "union_coverage"."region_code" FROM "union_coverage" WHERE ("union_coverage"."union_id" = ANY(:joint::int8[])) ORDER BY "union_coverage"."union_id", "union_coverage"."region_code";

SELECT (SELECT coalesce(max(revision), 0) FROM calendar_years);

WITH member AS (
    SELECT EXISTS (
        SELECT 1 FROM members WHERE person_index = ANY (:persons::text[]) AND status = ANY (:statuses::text[])
    ) AS current,
    EXISTS (
        SELECT 1 FROM applications
        WHERE person_index = ANY ((:persons::text[])[2:]) AND status IN ('pending_review', 'pooled', 'returned')
    ) AS open_elsewhere
),
claim AS (
    INSERT INTO idempotency_keys (scope, key, request_hash, response_status, response_body)
    SELECT :scope::text, :key::text, :hash::text, :status::int2, :answer::jsonb FROM member WHERE NOT member.current AND NOT member.open_elsewhere AND :scope::text IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
),
app AS (
    INSERT INTO applications (
        id, account_id, person_index, status, version, union_id, routing_rule,
        routing_explanation, due_at, submitted_at, decided_at, returned_at, name,
        resident_id_cipher, phone_cipher, phone_index, gender, birth_date, ethnicity, education,
        political_status, household_type, household_region, employment_status, occupation,
        employer_name, employer_credit_code, platform, work_region, work_address,
        privacy_notice_version, consented_at, channel, referral_code, return_fields, return_note,
        reject_code, reject_note, member_id, created_at, updated_at, referrer_member_id)
    SELECT
        id, account_id, person_index, status, version, union_id, routing_rule,
        routing_explanation, due_at, submitted_at, decided_at, returned_at, name,
        resident_id_cipher, phone_cipher, phone_index, gender, birth_date, ethnicity, education,
        political_status, household_type, household_region, employment_status, occupation,
        employer_name, employer_credit_code, platform, work_region, work_address,
        privacy_notice_version, consented_at, channel, referral_code, return_fields, return_note,
        reject_code, reject_note, member_id, created_at, updated_at, referrer_member_id
    FROM jsonb_populate_record(NULL::applications, :application::jsonb)
    WHERE NOT (SELECT current OR open_elsewhere FROM member) AND (:scope::text IS NULL OR EXISTS (SELECT 1 FROM claim))
    RETURNING id, account_id, submitted_at, union_id, occupation, status, due_at
),
steps AS (
    INSERT INTO application_events (
        application_id, event, from_status, to_status, union_id, actor_kind, actor_id, reason, at,
        occupation)
    SELECT e.application_id, e.event, e.from_status, e.to_status, e.union_id, e.actor_kind,
           e.actor_id, e.reason, e.at, (SELECT occupation FROM app)
    FROM jsonb_populate_recordset(NULL::application_events, :events::jsonb) WITH ORDINALITY AS e
    WHERE EXISTS (SELECT 1 FROM app)
    ORDER BY e.ordinality
),
-- the coverage counters (`store::counters`): one submission at the union and each ancestor
counted AS (
    INSERT INTO union_stats_daily (union_id, day, occupation, slot, submitted)
    SELECT c.id, (app.submitted_at AT TIME ZONE 'Asia/Shanghai')::date, app.occupation,
           (pg_backend_pid() % 8)::smallint, 1
    FROM app CROSS JOIN LATERAL unnest(union_chain(app.union_id)) AS c(id)
    ORDER BY c.id
    ON CONFLICT (union_id, day, occupation, slot)
    DO UPDATE SET submitted = union_stats_daily.submitted + 1
),
waiting AS (
    INSERT INTO union_stats_pending (union_id, due_at, slot, pending)
    SELECT c.id, COALESCE(app.due_at, 'infinity'), (pg_backend_pid() % 8)::smallint, 1
    FROM app CROSS JOIN LATERAL unnest(union_chain(app.union_id)) AS c(id)
    WHERE app.status IN ('pending_review', 'pooled')
    ORDER BY c.id
    ON CONFLICT (union_id, due_at, slot)
    DO UPDATE SET pending = union_stats_pending.pending + 1
),
audit AS (
    INSERT INTO audit_log (at, actor_kind, actor_id, object_kind, object_id, action, request_id)
    SELECT submitted_at, 'applicant', account_id::text, 'application', id::text, 'submit', :request_id::text
    FROM app
),
queued AS (
    INSERT INTO outbox (event_type, aggregate_id, payload, created_at, next_attempt_at)
    SELECT 'application.submitted', id::text, :payload::jsonb, submitted_at, submitted_at FROM app
    RETURNING id
),
notified AS (
    SELECT pg_notify('outbox', '') FROM queued
)
-- naming `notified` is what makes PostgreSQL run it; it has a row exactly when `app` has
SELECT (SELECT current FROM member) AS current_member,
       (SELECT open_elsewhere FROM member) AS open_elsewhere,
       (SELECT count(*) FROM notified) = 1 AS inserted;

-- the application's consent block as the account's first consent to the privacy notice
-- (infra/src/usecases/privacy/consent.rs), in its own transaction after the submission
BEGIN;

INSERT INTO "privacy_consents" ("account_id", "notice_version", "purposes", "consented_at", "updated_at") VALUES (:account::uuid, :notice::text, :purposes::text[], :now::timestamptz, :now::timestamptz) ON CONFLICT DO NOTHING;

COMMIT;
