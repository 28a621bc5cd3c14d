//! Membership applications: submit, read, and every transition — each one transaction with its
//! timeline event, audit row and outbox event.
//!
//! Transitions are decided by `zhijian_domain::application::Application`; this module loads the
//! state, asks the domain, and writes the answer with one conditional update carrying the
//! expected version, so a lost race changes nothing.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::json;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::application::{
    Application, ApplicationEvent, ApplicationStatus, RejectReason, Transition,
};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::{AccountId, ApplicationId, UnionId};
use zhijian_domain::reason::Reason;

use crate::db::StoreError;
use crate::db::schema::{application_events, applications, members as members_table, unions};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::idempotency::{Answer, IdempotencyKey, Idempotent, KeyReused};
use crate::store::members::{self, MemberRow};
use crate::store::outbox;
use crate::store::reference_cache::ReferenceCache;
use crate::store::unions::UnionRow;

/// An application as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = applications)]
pub struct ApplicationRow {
    pub id: uuid::Uuid,
    pub account_id: uuid::Uuid,
    pub person_index: String,
    pub status: String,
    pub version: i32,
    pub union_id: i64,
    pub routing_rule: String,
    pub routing_explanation: String,
    pub due_at: Option<DateTime<Utc>>,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub returned_at: Option<DateTime<Utc>>,
    pub name: String,
    pub resident_id_cipher: String,
    pub phone_cipher: String,
    pub phone_index: String,
    pub gender: String,
    pub birth_date: chrono::NaiveDate,
    pub ethnicity: String,
    pub education: String,
    pub political_status: String,
    pub household_type: String,
    pub household_region: Option<String>,
    pub employment_status: String,
    pub occupation: String,
    pub employer_name: String,
    pub employer_credit_code: Option<String>,
    pub platform: Option<String>,
    pub work_region: String,
    pub work_address: String,
    pub privacy_notice_version: String,
    pub consented_at: DateTime<Utc>,
    pub channel: String,
    pub referral_code: Option<String>,
    pub return_fields: Vec<String>,
    pub return_note: Option<String>,
    pub reject_code: Option<String>,
    pub reject_note: Option<String>,
    pub member_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ApplicationRow {
    /// The state the domain decides on.
    pub fn domain(&self) -> Result<Application, StoreError> {
        Ok(Application {
            id: ApplicationId::from_uuid(self.id),
            status: ApplicationStatus::parse(&self.status).map_err(|_| {
                StoreError::Internal(format!(
                    "application {} has status {:?}",
                    self.id, self.status
                ))
            })?,
            union: UnionId::new(self.union_id),
            version: self.version,
            due_at: self.due_at,
            returned_at: self.returned_at,
        })
    }
}

/// One step of an application's timeline.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = application_events)]
pub struct EventRow {
    pub id: i64,
    pub application_id: uuid::Uuid,
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub union_id: i64,
    pub actor_kind: String,
    pub actor_id: Option<uuid::Uuid>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// Why a use case refused, in terms the API maps to a status.
#[derive(Debug, thiserror::Error)]
pub enum ApplicationError {
    /// No such application, or outside the caller's reach.
    #[error("not found")]
    NotFound,
    /// The person already holds a current membership.
    #[error("already a member")]
    AlreadyMember,
    /// The person already has an open application.
    #[error("an open application exists")]
    OpenApplicationExists,
    /// The state changed under the caller, or the transition is not allowed in this state.
    #[error("{message}")]
    Conflict {
        /// Stable code from the domain.
        code: ErrorCode,
        /// The domain's message.
        message: String,
    },
    /// The request names something invalid for this transition.
    #[error("{message}")]
    Invalid {
        /// Stable code from the domain.
        code: ErrorCode,
        /// The domain's message.
        message: String,
        /// The request field.
        field: &'static str,
    },
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ApplicationError {
    fn from(error: diesel::result::Error) -> Self {
        ApplicationError::Store(error.into())
    }
}

fn conflict(code: ErrorCode, message: impl ToString) -> ApplicationError {
    ApplicationError::Conflict {
        code,
        message: message.to_string(),
    }
}

/// Whether a current membership (active, transferring, retained) exists for this person.
pub fn is_current_member(conn: &mut PgConnection, person_index: &str) -> Result<bool, StoreError> {
    let statuses: Vec<String> = members_table::table
        .filter(members_table::person_index.eq(person_index))
        .select(members_table::status)
        .load(conn)?;
    Ok(statuses
        .iter()
        .any(|s| matches!(s.as_str(), "active" | "transferring" | "retained")))
}

#[expect(
    clippy::too_many_arguments,
    reason = "one row of the timeline, column by column"
)]
fn insert_event(
    conn: &mut PgConnection,
    application: uuid::Uuid,
    event: ApplicationEvent,
    from: Option<ApplicationStatus>,
    to: ApplicationStatus,
    union: i64,
    actor_kind: &str,
    actor_id: Option<uuid::Uuid>,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::insert_into(application_events::table)
        .values((
            application_events::application_id.eq(application),
            application_events::event.eq(event.as_str()),
            application_events::from_status.eq(from.map(ApplicationStatus::as_str)),
            application_events::to_status.eq(to.as_str()),
            application_events::union_id.eq(union),
            application_events::actor_kind.eq(actor_kind),
            application_events::actor_id.eq(actor_id),
            application_events::reason.eq(reason),
            application_events::at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The application with its union, if it exists.
pub fn find_with_union(
    conn: &mut PgConnection,
    id: ApplicationId,
) -> Result<Option<(ApplicationRow, UnionRow)>, StoreError> {
    Ok(applications::table
        .inner_join(unions::table)
        .filter(applications::id.eq(id.as_uuid()))
        .select((ApplicationRow::as_select(), UnionRow::as_select()))
        .first(conn)
        .optional()?)
}

/// The timeline of an application, oldest first, with each step's union name.
pub fn timeline(
    conn: &mut PgConnection,
    id: ApplicationId,
) -> Result<Vec<(EventRow, String)>, StoreError> {
    Ok(application_events::table
        .inner_join(unions::table.on(unions::id.eq(application_events::union_id)))
        .filter(application_events::application_id.eq(id.as_uuid()))
        .order(application_events::id.asc())
        .select((EventRow::as_select(), unions::name))
        .load(conn)?)
}

/// An account's applications, newest first, with their unions.
pub fn list_for_account(
    conn: &mut PgConnection,
    account: AccountId,
) -> Result<Vec<(ApplicationRow, UnionRow)>, StoreError> {
    Ok(applications::table
        .inner_join(unions::table)
        .filter(applications::account_id.eq(account.as_uuid()))
        .order((applications::submitted_at.desc(), applications::id.desc()))
        .select((ApplicationRow::as_select(), UnionRow::as_select()))
        .limit(100)
        .load(conn)?)
}

/// The admin's queue: filters, and the keyset position after which to continue.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only this status (default: pending_review).
    pub status: Option<ApplicationStatus>,
    /// Only this occupation group.
    pub occupation: Option<String>,
    /// Only applications past their deadline (`Some(true)`) or not yet (`Some(false)`).
    pub overdue: Option<bool>,
    /// Continue after this `(due_at, id)`.
    pub after: Option<(DateTime<Utc>, uuid::Uuid)>,
    /// Page size.
    pub limit: i64,
}

/// Applications in the subtree under `scope`, earliest deadline first, keyset-paginated.
///
/// The ids come from [`crate::db::sql::subtree::SubtreePage`] on
/// `applications_anchor_queue_idx (anchor_id, status, due_at, id)` for an anchor's subtree
/// (a county admin's page is one index range) and `applications_queue_idx (union_id, status,
/// due_at, id)` for deeper ones, index-only; those rows are then loaded with their unions.
/// The cost follows the number of parts, not the number of applications (BENCHMARKS.md, B2):
/// reading every part's first `limit` keys instead visited `parts × limit` index tuples;
/// sorting the subtree's whole queue (the plain join) read every pending row of the county on
/// each page; one part per union made a county admin's page 62 index descents, each deeper as
/// the table grew.
pub fn queue(
    conn: &mut PgConnection,
    scope: &UnionPath,
    filter: &QueueFilter,
    now: DateTime<Utc>,
) -> Result<Vec<(ApplicationRow, UnionRow)>, StoreError> {
    let ids: Vec<uuid::Uuid> = queue_page(scope, filter, now).load_ids(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<(ApplicationRow, UnionRow)> = applications::table
        .inner_join(unions::table)
        .filter(applications::id.eq_any(&ids))
        .select((ApplicationRow::as_select(), UnionRow::as_select()))
        .load(conn)?;
    rows.sort_by_key(|(row, _)| (row.due_at, row.id));
    Ok(rows)
}

/// The plan of [`queue`]'s id statement, run once: `EXPLAIN (ANALYZE, BUFFERS)` of the very
/// statement the server executes, with these values (`make bench` keeps it with its logs).
pub fn explain_queue(
    conn: &mut PgConnection,
    scope: &UnionPath,
    filter: &QueueFilter,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    queue_page(scope, filter, now).explain(conn)
}

/// The page [`queue`] reads. A filter not given leaves its condition out of the text (each
/// form is prepared once per connection). The subtree is a range of `unions_path_idx`
/// (text_pattern_ops) rather than `LIKE`: with a pattern unknown until execution, PostgreSQL
/// cannot use the index in a generic plan, so it re-planned the statement at every call.
fn queue_page<'a>(
    scope: &'a UnionPath,
    filter: &QueueFilter,
    now: DateTime<Utc>,
) -> crate::db::sql::subtree::SubtreePage<'a> {
    use crate::db::sql::subtree::Param;
    // $5 occupation, $6 now, $7 and $8 the cursor.
    let mut conditions = " AND a.due_at IS NOT NULL".to_owned();
    if filter.occupation.is_some() {
        conditions.push_str(" AND a.occupation = $5");
    }
    match filter.overdue {
        Some(true) => conditions.push_str(" AND a.due_at < $6"),
        Some(false) => conditions.push_str(" AND a.due_at >= $6"),
        None => {}
    }
    if filter.after.is_some() {
        conditions.push_str(" AND (a.due_at, a.id) > ($7, $8)");
    }
    crate::db::sql::subtree::SubtreePage {
        table: "applications",
        part_column: "status",
        keys: &["due_at", "id"],
        descending: false,
        distinct: false,
        past_all: &[
            "'infinity'::timestamptz",
            "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid",
        ],
        scope,
        part_values: vec![
            filter
                .status
                .unwrap_or(ApplicationStatus::PendingReview)
                .as_str(),
        ],
        limit: filter.limit,
        conditions,
        extra: vec![
            filter.occupation.clone().map(Param::Text),
            filter.overdue.map(|_| Param::Time(now)),
            filter.after.map(|(due, _)| Param::Time(due)),
            filter.after.map(|(_, id)| Param::Uuid(id)),
        ],
    }
}

/// What an admin decided.
#[derive(Debug, Clone)]
pub enum Decision {
    /// 通过: creates the member.
    Approve,
    /// 不予通过, with a reason.
    Reject(RejectReason),
    /// 退回修改: what to correct.
    Return {
        /// Form fields to correct.
        fields: Vec<String>,
        /// A note to the applicant.
        note: Option<Reason>,
    },
    /// 转交 to another union.
    Forward {
        /// Target union.
        to: UnionId,
        /// Why.
        reason: Reason,
    },
    /// 分派 out of the pool.
    Assign {
        /// Target union.
        to: UnionId,
        /// The new deadline, under the target's review hours.
        due_at: DateTime<Utc>,
    },
}

impl Decision {
    fn action(&self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject(_) => "reject",
            Decision::Return { .. } => "return",
            Decision::Forward { .. } => "forward",
            Decision::Assign { .. } => "assign",
        }
    }
}

/// An admin acting on an application.
#[derive(Debug, Clone)]
pub struct AdminActor {
    /// The admin.
    pub admin_id: uuid::Uuid,
    /// Their role.
    pub role: &'static str,
    /// The union their role is bound to.
    pub union_path: UnionPath,
}

/// The result of a decision.
#[derive(Debug)]
pub struct Decided {
    /// The application after the change.
    pub application: ApplicationRow,
    /// The member created by an approval.
    pub member: Option<MemberRow>,
}

/// Applies `decision` to application `id` if it lies inside the admin's subtree and is still
/// at `expected_version`: one transaction with the timeline event, audit row, outbox event
/// and — for an approval — the member, its number and first affiliation.
pub fn decide(
    conn: &mut PgConnection,
    id: ApplicationId,
    expected_version: i32,
    admin: &AdminActor,
    decision: &Decision,
    now: DateTime<Utc>,
) -> Result<Decided, ApplicationError> {
    conn.transaction(|conn| {
        let (row, union) = find_with_union(conn, id)?.ok_or(ApplicationError::NotFound)?;
        if !admin.union_path.contains(&union.union_path()?) {
            return Err(ApplicationError::NotFound);
        }
        let state = row.domain()?;
        let transition = transition_for(conn, &state, expected_version, admin, decision)?;
        let reason = reason_text(decision);
        let updated = write_transition(conn, &row, &transition, decision, now)?
            .ok_or_else(|| conflict(ErrorCode::StaleVersion, "该申请已被他人处理，请刷新后重试"))?;
        crate::store::review_stats::record_decision(conn, &updated, now)?;
        let member = match decision {
            Decision::Approve => {
                let member = members::create_from_application(conn, &updated, now)?;
                diesel::update(applications::table.find(updated.id))
                    .set(applications::member_id.eq(member.id))
                    .execute(conn)?;
                Some(member)
            }
            _ => None,
        };
        insert_event(
            conn,
            row.id,
            transition.event,
            Some(transition.from),
            transition.to,
            transition.union.get(),
            "admin",
            Some(admin.admin_id),
            reason.as_deref(),
            now,
        )?;
        let actor = Actor {
            kind: "admin",
            id: Some(admin.admin_id.to_string()),
            role: Some(admin.role),
            union_id: Some(admin.union_path.union().get()),
        };
        audit::record(
            conn,
            &AuditEntry {
                at: now,
                actor: &actor,
                object_kind: "application",
                object_id: row.id.to_string(),
                action: decision.action(),
                reason: reason.clone(),
            },
        )?;
        outbox::enqueue(
            conn,
            &format!("application.{}", transition.event.as_str()),
            &row.id.to_string(),
            &json!({
                "application_id": row.id,
                "account_id": row.account_id,
                "union_id": transition.union.get(),
                "status": transition.to.as_str(),
                "reason": reason,
                "membership_number": member.as_ref().map(|m| m.membership_number.clone()),
            }),
            now,
        )?;
        let application = applications::table
            .find(row.id)
            .select(ApplicationRow::as_select())
            .first(conn)?;
        Ok(Decided {
            application,
            member,
        })
    })
}

fn transition_for(
    conn: &mut PgConnection,
    state: &Application,
    expected: i32,
    admin: &AdminActor,
    decision: &Decision,
) -> Result<Transition, ApplicationError> {
    let map =
        |code: ErrorCode, message: String, invalid_field: Option<&'static str>| match invalid_field
        {
            Some(field) => ApplicationError::Invalid {
                code,
                message,
                field,
            },
            None => ApplicationError::Conflict { code, message },
        };
    match decision {
        Decision::Approve => state
            .approve(expected)
            .map_err(|e| map(e.code(), e.to_string(), None)),
        Decision::Reject(reason) => state
            .reject(expected, reason)
            .map_err(|e| map(e.code(), e.to_string(), None)),
        Decision::Return { fields, note } => state
            .return_for_correction(expected, fields, note.as_ref())
            .map_err(|e| {
                let field = matches!(
                    e,
                    zhijian_domain::application::ReturnError::NoFieldsToFix
                        | zhijian_domain::application::ReturnError::BlankField
                )
                .then_some("fields");
                map(e.code(), e.to_string(), field)
            }),
        Decision::Forward { to, reason } => {
            check_target(conn, *to, None)?;
            state.forward(expected, *to, reason).map_err(|e| {
                let field = matches!(e, zhijian_domain::application::ForwardError::SameUnion)
                    .then_some("union_id");
                map(e.code(), e.to_string(), field)
            })
        }
        Decision::Assign { to, .. } => {
            check_target(conn, *to, Some(&admin.union_path))?;
            state.assign(expected, *to).map_err(|e| {
                let field = matches!(e, zhijian_domain::application::AssignError::SameUnion)
                    .then_some("union_id");
                map(e.code(), e.to_string(), field)
            })
        }
    }
}

/// A forward or assignment target must exist, accept applications and not be a pool.
/// Forwarding may leave the admin's subtree (to the right union elsewhere); assignment may not.
fn check_target(
    conn: &mut PgConnection,
    to: UnionId,
    within: Option<&UnionPath>,
) -> Result<(), ApplicationError> {
    let invalid = |message: &str| ApplicationError::Invalid {
        code: ErrorCode::InvalidTargetUnion,
        message: message.to_owned(),
        field: "union_id",
    };
    let target = crate::store::unions::find(conn, to)?.ok_or_else(|| invalid("目标工会不存在"))?;
    if !target.candidate()?.takes_applications() {
        return Err(invalid("目标工会暂不受理入会申请"));
    }
    if let Some(scope) = within
        && !scope.contains(&target.union_path()?)
    {
        return Err(invalid("只能分派给本级及下级工会"));
    }
    Ok(())
}

fn reason_text(decision: &Decision) -> Option<String> {
    match decision {
        Decision::Approve | Decision::Assign { .. } => None,
        Decision::Reject(reason) => Some(match reason.note() {
            Some(note) => format!("{}：{}", reason.code().label_zh(), note.as_str()),
            None => reason.code().label_zh().to_owned(),
        }),
        Decision::Return { fields, note } => Some(match note {
            Some(note) => format!("需修改：{}；{}", fields.join("、"), note.as_str()),
            None => format!("需修改：{}", fields.join("、")),
        }),
        Decision::Forward { reason, .. } => Some(reason.as_str().to_owned()),
    }
}

/// The conditional update: applies only if status and version are still what was read.
fn write_transition(
    conn: &mut PgConnection,
    row: &ApplicationRow,
    transition: &Transition,
    decision: &Decision,
    now: DateTime<Utc>,
) -> Result<Option<ApplicationRow>, StoreError> {
    let target = applications::table
        .filter(applications::id.eq(row.id))
        .filter(applications::status.eq(transition.from.as_str()))
        .filter(applications::version.eq(row.version));
    let common = (
        applications::status.eq(transition.to.as_str()),
        applications::version.eq(transition.new_version),
        applications::union_id.eq(transition.union.get()),
        applications::updated_at.eq(now),
    );
    let query = diesel::update(target);
    let result = match decision {
        Decision::Approve => query
            .set((common, applications::decided_at.eq(now)))
            .returning(ApplicationRow::as_returning())
            .get_result(conn),
        Decision::Reject(reason) => query
            .set((
                common,
                applications::decided_at.eq(now),
                applications::reject_code.eq(reason.code().as_str()),
                applications::reject_note.eq(reason.note().map(Reason::as_str)),
            ))
            .returning(ApplicationRow::as_returning())
            .get_result(conn),
        Decision::Return { fields, note } => query
            .set((
                common,
                applications::returned_at.eq(now),
                applications::return_fields.eq(fields),
                applications::return_note.eq(note.as_ref().map(Reason::as_str)),
            ))
            .returning(ApplicationRow::as_returning())
            .get_result(conn),
        Decision::Forward { .. } => query
            .set(common)
            .returning(ApplicationRow::as_returning())
            .get_result(conn),
        Decision::Assign { due_at, .. } => query
            .set((common, applications::due_at.eq(due_at)))
            .returning(ApplicationRow::as_returning())
            .get_result(conn),
    };
    Ok(result.optional()?)
}

/// The applicant withdraws an open application.
pub fn withdraw(
    conn: &mut PgConnection,
    id: ApplicationId,
    account: AccountId,
    now: DateTime<Utc>,
) -> Result<ApplicationRow, ApplicationError> {
    applicant_transition(
        conn,
        id,
        account,
        now,
        |state| state.withdraw().map_err(|e| conflict(e.code(), e)),
        None,
    )
}

/// The applicant corrects a returned application: new form data, back to pending review.
pub fn resubmit(
    conn: &mut PgConnection,
    id: ApplicationId,
    account: AccountId,
    corrected: &ApplicationRow,
    now: DateTime<Utc>,
) -> Result<ApplicationRow, ApplicationError> {
    applicant_transition(
        conn,
        id,
        account,
        now,
        |state| state.resubmit().map_err(|e| conflict(e.code(), e)),
        Some(corrected),
    )
}

fn applicant_transition(
    conn: &mut PgConnection,
    id: ApplicationId,
    account: AccountId,
    now: DateTime<Utc>,
    decide: impl FnOnce(&Application) -> Result<Transition, ApplicationError>,
    corrected: Option<&ApplicationRow>,
) -> Result<ApplicationRow, ApplicationError> {
    conn.transaction(|conn| {
        let row: ApplicationRow = applications::table
            .filter(applications::id.eq(id.as_uuid()))
            .filter(applications::account_id.eq(account.as_uuid()))
            .select(ApplicationRow::as_select())
            .first(conn)
            .optional()?
            .ok_or(ApplicationError::NotFound)?;
        let transition = decide(&row.domain()?)?;
        let target = applications::table
            .filter(applications::id.eq(row.id))
            .filter(applications::status.eq(transition.from.as_str()))
            .filter(applications::version.eq(row.version));
        let updated: Option<ApplicationRow> = match corrected {
            None => diesel::update(target)
                .set((
                    applications::status.eq(transition.to.as_str()),
                    applications::version.eq(transition.new_version),
                    applications::updated_at.eq(now),
                ))
                .returning(ApplicationRow::as_returning())
                .get_result(conn)
                .optional()?,
            Some(c) => diesel::update(target)
                .set((
                    applications::status.eq(transition.to.as_str()),
                    applications::version.eq(transition.new_version),
                    applications::updated_at.eq(now),
                    applications::due_at.eq(c.due_at),
                    applications::name.eq(&c.name),
                    applications::resident_id_cipher.eq(&c.resident_id_cipher),
                    applications::person_index.eq(&c.person_index),
                    applications::phone_cipher.eq(&c.phone_cipher),
                    applications::phone_index.eq(&c.phone_index),
                    applications::gender.eq(&c.gender),
                    applications::birth_date.eq(c.birth_date),
                    (
                        applications::ethnicity.eq(&c.ethnicity),
                        applications::education.eq(&c.education),
                        applications::political_status.eq(&c.political_status),
                        applications::household_type.eq(&c.household_type),
                        applications::household_region.eq(&c.household_region),
                        applications::employment_status.eq(&c.employment_status),
                        applications::occupation.eq(&c.occupation),
                        applications::employer_name.eq(&c.employer_name),
                        applications::employer_credit_code.eq(&c.employer_credit_code),
                        applications::platform.eq(&c.platform),
                        applications::work_region.eq(&c.work_region),
                        applications::work_address.eq(&c.work_address),
                    ),
                    (
                        applications::privacy_notice_version.eq(&c.privacy_notice_version),
                        applications::consented_at.eq(c.consented_at),
                        applications::return_fields.eq(Vec::<String>::new()),
                        applications::union_id.eq(c.union_id),
                        applications::routing_rule.eq(&c.routing_rule),
                        applications::routing_explanation.eq(&c.routing_explanation),
                    ),
                ))
                .returning(ApplicationRow::as_returning())
                .get_result(conn)
                .optional()
                .map_err(|e| match e {
                    diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, ref info)
                        if info.constraint_name() == Some("applications_one_open_per_person") =>
                    {
                        ApplicationError::OpenApplicationExists
                    }
                    other => other.into(),
                })?,
        };
        let updated = updated.ok_or_else(|| conflict(ErrorCode::StaleVersion, "该申请已被他人处理，请刷新后重试"))?;
        insert_event(conn, row.id, transition.event, Some(transition.from), transition.to, updated.union_id, "applicant", Some(row.account_id), None, now)?;
        let actor = Actor { kind: "applicant", id: Some(row.account_id.to_string()), role: None, union_id: None };
        audit::record(conn, &AuditEntry {
            at: now,
            actor: &actor,
            object_kind: "application",
            object_id: row.id.to_string(),
            action: transition.event.as_str(),
            reason: None,
        })?;
        outbox::enqueue(
            conn,
            &format!("application.{}", transition.event.as_str()),
            &row.id.to_string(),
            &json!({"application_id": row.id, "account_id": row.account_id, "union_id": updated.union_id, "status": updated.status}),
            now,
        )?;
        Ok(updated)
    })
}

/// Records that an admin saw an application's personal data in clear.
pub fn audit_unmasked_view(
    conn: &mut PgConnection,
    id: uuid::Uuid,
    admin: &AdminActor,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let actor = Actor {
        kind: "admin",
        id: Some(admin.admin_id.to_string()),
        role: Some(admin.role),
        union_id: Some(admin.union_path.union().get()),
    };
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &actor,
            object_kind: "application",
            object_id: id.to_string(),
            action: "view_personal_data",
            reason: None,
        },
    )
}

/// What `submit` needs besides the form: the routing facts and the clock.
#[derive(Debug, Clone)]
pub struct SubmitFacts {
    /// Where the applicant works.
    pub work_region: zhijian_domain::region::RegionCode,
    /// The occupation group.
    pub occupation: zhijian_domain::occupation::OccupationGroup,
    /// The employer's credit code, when given.
    pub employer: Option<zhijian_domain::credit_code::CreditCode>,
}

/// Why a work or household region was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionProblem {
    /// The code is not in the regions table.
    Unknown,
    /// The work region must be a township/street or a village/community.
    TooCoarse,
}

/// Checks a work region: it exists, at township or village level.
pub fn check_work_region(
    conn: &mut PgConnection,
    cache: &ReferenceCache,
    region: &zhijian_domain::region::RegionCode,
) -> Result<Result<(), RegionProblem>, StoreError> {
    use zhijian_domain::region::RegionLevel;
    if !matches!(region.level(), RegionLevel::Township | RegionLevel::Village) {
        return Ok(Err(RegionProblem::TooCoarse));
    }
    Ok(if cache.region_exists(conn, region)? {
        Ok(())
    } else {
        Err(RegionProblem::Unknown)
    })
}

/// Where a submission goes and by when it must be decided.
#[derive(Debug, Clone)]
pub struct Routed {
    /// The routing decision, with its explanation.
    pub decision: zhijian_domain::routing::RoutingDecision,
    /// The chosen union.
    pub union: UnionRow,
    /// The review deadline.
    pub due_at: DateTime<Utc>,
}

/// Routes the facts over the stored union tree and computes the deadline under the chosen
/// union's review hours and the working-day calendar.
pub fn route_and_schedule(
    conn: &mut PgConnection,
    cache: &ReferenceCache,
    facts: &SubmitFacts,
    now: DateTime<Utc>,
) -> Result<Routed, ApplicationError> {
    let (decision, union) = crate::store::unions::route(
        conn,
        &zhijian_domain::routing::RoutingFacts {
            work_region: facts.work_region.clone(),
            occupation: facts.occupation,
            employer_credit_code: facts.employer.clone(),
        },
    )?
    .map_err(|e| ApplicationError::Conflict {
        code: e.code(),
        message: e.to_string(),
    })?;
    let calendar = cache.calendar(conn)?;
    let due_at = zhijian_domain::deadline::due_at(now, &calendar, &union.review_hours()?);
    Ok(Routed {
        decision,
        union,
        due_at,
    })
}

/// The timeline of a new submission as it will be written: the domain's steps, at the
/// submission time, in the routed union, by the applicant. Ids are assigned when written (0
/// here); the answer to the submission is rendered from these.
pub fn submitted_events(
    row: &ApplicationRow,
    steps: &[zhijian_domain::application::SubmissionStep],
) -> Vec<EventRow> {
    steps
        .iter()
        .map(|(event, from, to)| EventRow {
            id: 0,
            application_id: row.id,
            event: event.as_str().to_owned(),
            from_status: from.map(|s| s.as_str().to_owned()),
            to_status: to.as_str().to_owned(),
            union_id: row.union_id,
            actor_kind: "applicant".to_owned(),
            actor_id: Some(row.account_id),
            reason: None,
            at: row.submitted_at,
        })
        .collect()
}

/// What the one statement of [`submit`] reports.
#[derive(QueryableByName)]
struct SubmitWritten {
    /// The person holds a current membership: nothing was written.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    current_member: bool,
    /// The application and everything with it were written.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    inserted: bool,
}

/// One statement (so one round trip and its own transaction) for the whole submission: the
/// current-membership check, the idempotency key with the answer, the application, its
/// timeline, the audit row, the outbox event and `NOTIFY outbox`. Each insert depends on the one
/// before through `app`, so either everything is written or nothing is.
pub const SUBMIT_SQL: &str = "
WITH member AS (
    SELECT EXISTS (
        SELECT 1 FROM members WHERE person_index = $3 AND status = ANY ($4)
    ) AS current
),
claim AS (
    INSERT INTO idempotency_keys (scope, key, request_hash, response_status, response_body)
    SELECT $5, $6, $7, $8, $9 FROM member WHERE NOT member.current AND $5 IS NOT NULL
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
        reject_code, reject_note, member_id, created_at, updated_at)
    SELECT
        id, account_id, person_index, status, version, union_id, routing_rule,
        routing_explanation, due_at, submitted_at, decided_at, returned_at, name,
        resident_id_cipher, phone_cipher, phone_index, gender, birth_date, ethnicity, education,
        political_status, household_type, household_region, employment_status, occupation,
        employer_name, employer_credit_code, platform, work_region, work_address,
        privacy_notice_version, consented_at, channel, referral_code, return_fields, return_note,
        reject_code, reject_note, member_id, created_at, updated_at
    FROM jsonb_populate_record(NULL::applications, $1)
    WHERE NOT (SELECT current FROM member) AND ($5 IS NULL OR EXISTS (SELECT 1 FROM claim))
    RETURNING id, account_id, submitted_at
),
steps AS (
    INSERT INTO application_events (
        application_id, event, from_status, to_status, union_id, actor_kind, actor_id, reason, at)
    SELECT e.application_id, e.event, e.from_status, e.to_status, e.union_id, e.actor_kind,
           e.actor_id, e.reason, e.at
    FROM jsonb_populate_recordset(NULL::application_events, $2) WITH ORDINALITY AS e
    WHERE EXISTS (SELECT 1 FROM app)
    ORDER BY e.ordinality
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
       (SELECT count(*) FROM notified) = 1 AS inserted";

/// [`SUBMIT_SQL`] with its parameters, as a statement diesel prepares once per connection
/// (`diesel::sql_query` is parsed and planned by PostgreSQL at every call).
struct SubmitStatement<'a> {
    application: serde_json::Value,
    events: serde_json::Value,
    person_index: &'a str,
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
            3 => out.push_bind_param::<Text, _>(&self.person_index),
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

/// Submits an application: the row, its first timeline steps, an audit row and an outbox event,
/// with `answer` stored under the idempotency key — in one statement. A retry with the same key
/// gets the first answer back, whether the first attempt committed long ago or is committing
/// concurrently (the key's insert waits for it); the same key with another body is refused.
pub fn submit(
    conn: &mut PgConnection,
    row: &ApplicationRow,
    events: &[EventRow],
    key: Option<&IdempotencyKey>,
    answer: &Answer,
) -> Result<Result<Idempotent<()>, KeyReused>, ApplicationError> {
    use zhijian_domain::member::MemberStatus;

    let current: Vec<&str> = MemberStatus::ALL
        .iter()
        .filter(|s| s.is_current())
        .map(|s| s.as_str())
        .collect();
    let encode = |value: serde_json::Result<serde_json::Value>| {
        value.map_err(|e| StoreError::Internal(format!("encoding a submission: {e}")))
    };
    let statement = SubmitStatement {
        application: encode(serde_json::to_value(row))?,
        events: encode(serde_json::to_value(events))?,
        person_index: &row.person_index,
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
        )) if info.constraint_name() == Some("applications_one_open_per_person") => {
            return Err(ApplicationError::OpenApplicationExists);
        }
        Err(e) => return Err(e.into()),
    };
    if written.inserted {
        return Ok(Ok(Idempotent::Fresh(())));
    }
    // Nothing was written: the key was used before (its first use wins, even over a membership
    // gained since), or the person is a member.
    if let Some(key) = key
        && let Some(first) = crate::store::idempotency::first_answer(conn, key)?
    {
        return Ok(first.map(|(status, body)| Idempotent::Replay { status, body }));
    }
    if written.current_member {
        return Err(ApplicationError::AlreadyMember);
    }
    Err(StoreError::Internal("a submission wrote nothing and has no first answer".into()).into())
}
