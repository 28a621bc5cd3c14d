//! The conditional updates of an application's transitions: each applies only if the status
//! and version are still what was read, and answers `None` otherwise (a lost race).

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::application::{RejectReason, Transition};
use zhijian_domain::form::FormField;
use zhijian_domain::ids::UnionId;
use zhijian_domain::reason::Reason;

use super::ApplicationRow;
use super::submit::ONE_OPEN_PER_PERSON;
use crate::db::StoreError;
use crate::db::schema::applications;
use crate::db::types::Stored;

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
        fields: Vec<FormField>,
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
    /// The audit action.
    pub fn action(&self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject(_) => "reject",
            Decision::Return { .. } => "return",
            Decision::Forward { .. } => "forward",
            Decision::Assign { .. } => "assign",
        }
    }

    /// The reason written to the timeline, the audit row and the outbox event.
    pub fn reason_text(&self) -> Option<String> {
        match self {
            Decision::Approve | Decision::Assign { .. } => None,
            Decision::Reject(reason) => Some(match reason.note() {
                Some(note) => format!("{}：{}", reason.code().label_zh(), note.as_str()),
                None => reason.code().label_zh().to_owned(),
            }),
            Decision::Return { fields, note } => {
                let fields = fields
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join("、");
                Some(match note {
                    Some(note) => format!("需修改：{fields}；{}", note.as_str()),
                    None => format!("需修改：{fields}"),
                })
            }
            Decision::Forward { reason, .. } => Some(reason.as_str().to_owned()),
        }
    }
}

/// Applies an admin's decision: status, version and union, with what the decision sets.
pub fn write_transition(
    conn: &mut PgConnection,
    row: &ApplicationRow,
    transition: &Transition,
    decision: &Decision,
    now: DateTime<Utc>,
) -> Result<Option<ApplicationRow>, StoreError> {
    let target = applications::table
        .filter(applications::id.eq(row.id))
        .filter(applications::status.eq(Stored(transition.from)))
        .filter(applications::version.eq(row.version));
    let common = (
        applications::status.eq(Stored(transition.to)),
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
                applications::reject_code.eq(Stored(reason.code())),
                applications::reject_note.eq(reason.note().map(Reason::as_str)),
            ))
            .returning(ApplicationRow::as_returning())
            .get_result(conn),
        Decision::Return { fields, note } => query
            .set((
                common,
                applications::returned_at.eq(now),
                applications::return_fields
                    .eq(fields.iter().map(|f| f.as_str()).collect::<Vec<_>>()),
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

/// Links an approved application to the member it created; answers the row as it is now.
pub fn set_member(
    conn: &mut PgConnection,
    id: uuid::Uuid,
    member: uuid::Uuid,
) -> Result<ApplicationRow, StoreError> {
    Ok(diesel::update(applications::table.find(id))
        .set(applications::member_id.eq(member))
        .returning(ApplicationRow::as_returning())
        .get_result(conn)?)
}

/// Applies an applicant's transition that changes nothing else (a withdrawal).
pub fn update_status(
    conn: &mut PgConnection,
    row: &ApplicationRow,
    transition: &Transition,
    now: DateTime<Utc>,
) -> Result<Option<ApplicationRow>, StoreError> {
    let target = applications::table
        .filter(applications::id.eq(row.id))
        .filter(applications::status.eq(Stored(transition.from)))
        .filter(applications::version.eq(row.version));
    Ok(diesel::update(target)
        .set((
            applications::status.eq(Stored(transition.to)),
            applications::version.eq(transition.new_version),
            applications::updated_at.eq(now),
        ))
        .returning(ApplicationRow::as_returning())
        .get_result(conn)
        .optional()?)
}

/// What [`update_corrected`] did.
#[derive(Debug)]
pub enum Corrected {
    /// The corrected application, back in review.
    Updated(Box<ApplicationRow>),
    /// The status or version changed since it was read.
    Stale,
    /// The corrected person has another open application.
    OpenApplicationExists,
}

/// Writes the corrected form `c` over `row` with the applicant's transition (resubmission):
/// new personal data, routing and deadline, the list of fields to fix emptied.
pub fn update_corrected(
    conn: &mut PgConnection,
    row: &ApplicationRow,
    transition: &Transition,
    c: &ApplicationRow,
    now: DateTime<Utc>,
) -> Result<Corrected, StoreError> {
    let target = applications::table
        .filter(applications::id.eq(row.id))
        .filter(applications::status.eq(Stored(transition.from)))
        .filter(applications::version.eq(row.version));
    let updated = diesel::update(target)
        .set((
            applications::status.eq(Stored(transition.to)),
            applications::version.eq(transition.new_version),
            applications::updated_at.eq(now),
            applications::due_at.eq(c.due_at),
            applications::name.eq(&c.name),
            applications::resident_id_cipher.eq(&c.resident_id_cipher),
            applications::person_index.eq(&c.person_index),
            applications::phone_cipher.eq(&c.phone_cipher),
            applications::phone_index.eq(&c.phone_index),
            applications::gender.eq(Stored(c.gender)),
            applications::birth_date.eq(c.birth_date),
            (
                applications::ethnicity.eq(Stored(c.ethnicity)),
                applications::education.eq(Stored(c.education)),
                applications::political_status.eq(Stored(c.political_status)),
                applications::household_type.eq(Stored(c.household_type)),
                applications::household_region.eq(&c.household_region),
                applications::employment_status.eq(Stored(c.employment_status)),
                applications::occupation.eq(Stored(c.occupation)),
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
                applications::routing_rule.eq(Stored(c.routing_rule)),
                applications::routing_explanation.eq(&c.routing_explanation),
                applications::referral_code.eq(&c.referral_code),
                applications::referrer_member_id.eq(c.referrer_member_id),
            ),
        ))
        .returning(ApplicationRow::as_returning())
        .get_result(conn)
        .optional();
    match updated {
        Ok(Some(row)) => Ok(Corrected::Updated(Box::new(row))),
        Ok(None) => Ok(Corrected::Stale),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        )) if info.constraint_name() == Some(ONE_OPEN_PER_PERSON) => {
            Ok(Corrected::OpenApplicationExists)
        }
        Err(e) => Err(e.into()),
    }
}
