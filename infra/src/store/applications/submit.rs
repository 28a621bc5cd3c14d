//! The one statement of a submission ([`SUBMIT_SQL`]).

use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::json;

use super::{ApplicationRow, EventRow};
use crate::db::StoreError;
use crate::store::idempotency::{Answer, IdempotencyKey, KeyReused};

/// The unique index that keeps one open application per person, nationwide.
pub(crate) const ONE_OPEN_PER_PERSON: &str = "applications_one_open_per_person";

/// What the one statement of [`submit`] reports.
#[derive(QueryableByName)]
struct SubmitWritten {
    /// The person holds a current membership: nothing was written.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    current_member: bool,
    /// The person has an open application under an older blind-index key.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    open_elsewhere: bool,
    /// The application and everything with it were written.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    inserted: bool,
}

/// One statement (so one round trip and its own transaction) for the whole submission: the
/// current-membership check, the idempotency key with the answer, the application, its
/// timeline, the coverage counters, the audit row, the outbox event and `NOTIFY outbox`. Each insert depends on the one
/// before through `app`, so either everything is written or nothing is.
pub const SUBMIT_SQL: &str = "
WITH member AS (
    SELECT EXISTS (
        SELECT 1 FROM members WHERE person_index = ANY ($3) AND status = ANY ($4)
    ) AS current,
    -- an open application under an older blind-index key (during a rotation: the unique
    -- index sees only equal strings, and the new row's index is under the current key)
    EXISTS (
        SELECT 1 FROM applications
        WHERE person_index = ANY (($3)[2:]) AND status IN ('pending_review', 'pooled', 'returned')
    ) AS open_elsewhere
),
claim AS (
    INSERT INTO idempotency_keys (scope, key, request_hash, response_status, response_body)
    SELECT $5, $6, $7, $8, $9 FROM member
    WHERE NOT member.current AND NOT member.open_elsewhere AND $5 IS NOT NULL
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
    FROM jsonb_populate_record(NULL::applications, $1)
    WHERE NOT (SELECT current OR open_elsewhere FROM member)
      AND ($5 IS NULL OR EXISTS (SELECT 1 FROM claim))
    RETURNING id, account_id, submitted_at, union_id, occupation, status, due_at
),
steps AS (
    INSERT INTO application_events (
        application_id, event, from_status, to_status, union_id, actor_kind, actor_id, reason, at,
        occupation)
    SELECT e.application_id, e.event, e.from_status, e.to_status, e.union_id, e.actor_kind,
           e.actor_id, e.reason, e.at, (SELECT occupation FROM app)
    FROM jsonb_populate_recordset(NULL::application_events, $2) WITH ORDINALITY AS e
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
    SELECT submitted_at, 'applicant', account_id::text, 'application', id::text, 'submit', $10
    FROM app
),
queued AS (
    INSERT INTO outbox (event_type, aggregate_id, payload, created_at, next_attempt_at)
    SELECT 'application.submitted', id::text, $11, submitted_at, submitted_at FROM app
    RETURNING id
),
notified AS (
    SELECT pg_notify('outbox', '') FROM queued
)
-- naming `notified` is what makes PostgreSQL run it; it has a row exactly when `app` has
SELECT (SELECT current FROM member) AS current_member,
       (SELECT open_elsewhere FROM member) AS open_elsewhere,
       (SELECT count(*) FROM notified) = 1 AS inserted";

/// [`SUBMIT_SQL`] with its parameters, as a statement diesel prepares once per connection
/// (`diesel::sql_query` is parsed and planned by PostgreSQL at every call).
struct SubmitStatement<'a> {
    application: serde_json::Value,
    events: serde_json::Value,
    person_indexes: &'a [String],
    current_statuses: Vec<&'static str>,
    key_scope: Option<&'a str>,
    key: Option<&'a str>,
    key_request_hash: Option<&'a str>,
    answer_status: i16,
    answer_body: &'a serde_json::Value,
    request_id: Option<String>,
    payload: serde_json::Value,
}

/// The cache identity of [`SubmitStatement`]: its text never changes.
struct SubmitStatementId;

impl crate::db::NumberedStatement for SubmitStatement<'_> {
    type Id = SubmitStatementId;
    const FIXED_TEXT: bool = true;

    fn sql(&self) -> &str {
        SUBMIT_SQL
    }

    fn bind<'b>(
        &'b self,
        n: usize,
        out: &mut diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, Jsonb, Nullable, SmallInt, Text};
        match n {
            1 => out.push_bind_param::<Jsonb, _>(&self.application),
            2 => out.push_bind_param::<Jsonb, _>(&self.events),
            3 => out.push_bind_param::<Array<Text>, _>(&self.person_indexes),
            4 => out.push_bind_param::<Array<Text>, _>(&self.current_statuses),
            5 => out.push_bind_param::<Nullable<Text>, _>(&self.key_scope),
            6 => out.push_bind_param::<Nullable<Text>, _>(&self.key),
            7 => out.push_bind_param::<Nullable<Text>, _>(&self.key_request_hash),
            8 => out.push_bind_param::<SmallInt, _>(&self.answer_status),
            9 => out.push_bind_param::<Jsonb, _>(self.answer_body),
            10 => out.push_bind_param::<Nullable<Text>, _>(&self.request_id),
            11 => out.push_bind_param::<Jsonb, _>(&self.payload),
            _ => Err(diesel::result::Error::QueryBuilderError(
                format!("SUBMIT_SQL has no parameter ${n}").into(),
            )),
        }
    }
}

/// What [`submit`] did.
#[derive(Debug)]
pub enum SubmitWrite {
    /// The application and everything with it were written, `answer` stored under the key.
    Fresh,
    /// The key was used before with the same body: its first answer.
    Replay(Answer),
    /// The key was used before with another body.
    KeyReused(KeyReused),
    /// The person holds a current membership: nothing was written.
    AlreadyMember,
    /// The person has another open application: nothing was written.
    OpenApplicationExists,
}

/// Submits an application: the row, its first timeline steps, an audit row and an outbox event,
/// with `answer` stored under the idempotency key — in one statement. A retry with the same key
/// gets the first answer back, whether the first attempt committed long ago or is committing
/// concurrently (the key's insert waits for it); the same key with another body is refused.
pub fn submit(
    conn: &mut PgConnection,
    row: &ApplicationRow,
    events: &[EventRow],
    person_indexes: &[String],
    key: Option<&IdempotencyKey>,
    answer: &Answer,
) -> Result<SubmitWrite, StoreError> {
    use zhijian_domain::member::MemberStatus;

    let current: Vec<&str> = MemberStatus::ALL
        .iter()
        .filter(|s| s.is_current())
        .map(|s| s.as_str())
        .collect();
    let encode = |value: serde_json::Result<serde_json::Value>| {
        value.map_err(|e| StoreError::broken(format!("encoding a submission: {e}")))
    };
    let statement = SubmitStatement {
        application: encode(serde_json::to_value(row))?,
        events: encode(serde_json::to_value(events))?,
        person_indexes,
        current_statuses: current,
        key_scope: key.map(|k| k.scope.as_str()),
        key: key.map(|k| k.key.as_str()),
        key_request_hash: key.map(|k| k.request_hash.as_str()),
        answer_status: i16::try_from(answer.0).unwrap_or(200),
        answer_body: &answer.1,
        request_id: crate::log_context::current().map(|id| id.to_string()),
        payload: json!({"application_id": row.id, "account_id": row.account_id, "union_id": row.union_id, "status": row.status, "due_at": row.due_at}),
    };
    let written = crate::db::Numbered(statement).get_result::<SubmitWritten>(conn);
    let written = match written {
        Ok(written) => written,
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        )) if info.constraint_name() == Some(ONE_OPEN_PER_PERSON) => {
            return Ok(SubmitWrite::OpenApplicationExists);
        }
        Err(e) => return Err(e.into()),
    };
    if written.inserted {
        return Ok(SubmitWrite::Fresh);
    }
    // Nothing was written: the key was used before (its first use wins, even over a membership
    // gained since), or the person is a member.
    if let Some(key) = key
        && let Some(first) = crate::store::idempotency::first_answer(conn, key)?
    {
        return Ok(match first {
            Ok(answer) => SubmitWrite::Replay(answer),
            Err(reused) => SubmitWrite::KeyReused(reused),
        });
    }
    if written.current_member {
        return Ok(SubmitWrite::AlreadyMember);
    }
    if written.open_elsewhere {
        return Ok(SubmitWrite::OpenApplicationExists);
    }
    Err(StoreError::broken(
        "a submission wrote nothing and has no first answer",
    ))
}
