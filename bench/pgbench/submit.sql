-- B1 baseline: what PostgreSQL alone does for a submission — the application row and its
-- outbox row in one transaction, into the same tables (same indexes, same triggers) as the
-- server. Variables from scripts/bench.sh (-D): account (an account id), union_id (a joint
-- union of the busy county), cipher (a sealed value of the real length).
-- person_index: 64 hex characters, like the HMAC blind index, random so the one-open-per-person
-- unique index accepts it.
BEGIN;
INSERT INTO applications (
    id, account_id, person_index, status, version, union_id, routing_rule, routing_explanation,
    due_at, submitted_at, name, resident_id_cipher, phone_cipher, phone_index, gender, birth_date,
    ethnicity, education, political_status, household_type, employment_status, occupation,
    employer_name, platform, work_region, work_address, privacy_notice_version, consented_at,
    channel)
VALUES (
    gen_random_uuid(), :account::uuid, md5(random()::text) || md5(random()::text), 'pending_review', 1,
    :union_id::bigint, 'joint_union', '按规则3（属地联合工会）分派至 高唐街道联合工会（500237001）',
    now() + interval '8 hours', now(), '张三', :cipher::text, :cipher::text,
    md5(random()::text) || md5(random()::text), 'male', '1990-01-01', 'han', 'senior_high',
    'masses', 'agricultural', 'flexible', 'delivery_rider', '巫山县某配送站', '某平台',
    '500237001009', '巫山县高唐街道广东中路1号', '2026-01', now(), 'mini_program')
RETURNING id \gset
INSERT INTO outbox (event_type, aggregate_id, payload, created_at, next_attempt_at)
VALUES ('application.submitted', :id::text,
        jsonb_build_object('application_id', :id::text, 'account_id', :account::text, 'union_id', :union_id::bigint,
                           'status', 'pending_review', 'due_at', now() + interval '8 hours'),
        now(), now());
END;
