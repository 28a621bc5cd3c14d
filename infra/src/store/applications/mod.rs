//! Membership applications as stored: the row, its timeline, the admin's queue, the one
//! statement of a submission and the conditional updates of each transition.
//!
//! The transitions themselves are decided by `zhijian_domain::application::Application` and
//! orchestrated, one transaction each, by `crate::usecases::applications`; this module only
//! reads and writes. Every update carries the expected status and version, so a lost race
//! changes nothing.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::application::{Application, ApplicationEvent, ApplicationStatus};
use zhijian_domain::ids::{AccountId, ApplicationId, UnionId};
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::registry::{
    Education, EmploymentStatus, Ethnicity, Gender, HouseholdType, PoliticalStatus,
};
use zhijian_domain::routing::RoutingRule;

use crate::db::StoreError;
use crate::db::schema::{application_events, applications, members as members_table, unions};
use crate::db::types::Stored;
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::reference_cache::ReferenceCache;
use crate::store::unions::UnionRow;

mod queue;
mod submit;
mod write;

pub use queue::{QueueFilter, explain_queue, queue};
pub use submit::{SUBMIT_SQL, SubmitWrite, submit};
pub use write::{
    Corrected, Decision, set_member, update_corrected, update_status, write_transition,
};

/// An application as stored.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = applications)]
pub struct ApplicationRow {
    pub id: uuid::Uuid,
    pub account_id: uuid::Uuid,
    pub person_index: String,
    #[diesel(deserialize_as = Stored<ApplicationStatus>)]
    pub status: ApplicationStatus,
    pub version: i32,
    pub union_id: i64,
    #[diesel(deserialize_as = Stored<RoutingRule>)]
    pub routing_rule: RoutingRule,
    pub routing_explanation: String,
    pub due_at: Option<DateTime<Utc>>,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub returned_at: Option<DateTime<Utc>>,
    pub name: String,
    pub resident_id_cipher: String,
    pub phone_cipher: String,
    pub phone_index: String,
    #[diesel(deserialize_as = Stored<Gender>)]
    pub gender: Gender,
    pub birth_date: chrono::NaiveDate,
    #[diesel(deserialize_as = Stored<Ethnicity>)]
    pub ethnicity: Ethnicity,
    #[diesel(deserialize_as = Stored<Education>)]
    pub education: Education,
    #[diesel(deserialize_as = Stored<PoliticalStatus>)]
    pub political_status: PoliticalStatus,
    #[diesel(deserialize_as = Stored<HouseholdType>)]
    pub household_type: HouseholdType,
    pub household_region: Option<String>,
    #[diesel(deserialize_as = Stored<EmploymentStatus>)]
    pub employment_status: EmploymentStatus,
    #[diesel(deserialize_as = Stored<OccupationGroup>)]
    pub occupation: OccupationGroup,
    pub employer_name: String,
    pub employer_credit_code: Option<String>,
    pub platform: Option<String>,
    pub work_region: String,
    pub work_address: String,
    pub privacy_notice_version: String,
    pub consented_at: DateTime<Utc>,
    pub channel: String,
    pub referral_code: Option<String>,
    /// The member whose referral code the application carries, resolved at submission.
    pub referrer_member_id: Option<uuid::Uuid>,
    pub return_fields: Vec<String>,
    pub return_note: Option<String>,
    pub reject_code: Option<String>,
    pub reject_note: Option<String>,
    pub member_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the personal data was erased (cancellation or retention); the personal columns
    /// then hold placeholders only.
    pub erased_at: Option<DateTime<Utc>>,
}

impl ApplicationRow {
    /// The state the domain decides on.
    pub fn domain(&self) -> Application {
        Application {
            id: ApplicationId::from_uuid(self.id),
            status: self.status,
            union: UnionId::new(self.union_id),
            version: self.version,
            due_at: self.due_at,
            returned_at: self.returned_at,
        }
    }
}

/// One step of an application's timeline.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = application_events)]
pub struct EventRow {
    pub id: i64,
    pub application_id: uuid::Uuid,
    #[diesel(deserialize_as = Stored<ApplicationEvent>)]
    pub event: ApplicationEvent,
    pub from_status: Option<String>,
    #[diesel(deserialize_as = Stored<ApplicationStatus>)]
    pub to_status: ApplicationStatus,
    pub union_id: i64,
    pub actor_kind: String,
    pub actor_id: Option<uuid::Uuid>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// Why storing a membership from an application was refused (see
/// `crate::store::members::create_from_application`).
#[derive(Debug, thiserror::Error)]
pub enum ApplicationError {
    /// The person already holds a current membership.
    #[error("already a member")]
    AlreadyMember,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ApplicationError {
    fn from(error: diesel::result::Error) -> Self {
        ApplicationError::Store(error.into())
    }
}

/// Whether a current membership (active, transferring, retained) exists for this person
/// (`person`: the person's blind indexes under every key, [`PiiCipher::blind_indexes`]).
///
/// [`PiiCipher::blind_indexes`]: crate::crypto::pii::PiiCipher::blind_indexes
pub fn is_current_member(conn: &mut PgConnection, person: &[String]) -> Result<bool, StoreError> {
    let statuses: Vec<String> = members_table::table
        .filter(members_table::person_index.eq_any(person))
        .select(members_table::status)
        .load(conn)?;
    Ok(statuses
        .iter()
        .any(|s| matches!(s.as_str(), "active" | "transferring" | "retained")))
}

/// Whether another application of this person is open (pending review, pooled or returned).
pub fn other_open_application(
    conn: &mut PgConnection,
    person: &[String],
    except: ApplicationId,
) -> Result<bool, StoreError> {
    let open: Vec<Stored<ApplicationStatus>> = ApplicationStatus::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| Stored(*s))
        .collect();
    Ok(diesel::select(diesel::dsl::exists(
        applications::table
            .filter(applications::person_index.eq_any(person))
            .filter(applications::id.ne(except.as_uuid()))
            .filter(applications::status.eq_any(open)),
    ))
    .get_result(conn)?)
}

/// One step of the timeline to write.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The application.
    pub application: uuid::Uuid,
    /// What happened.
    pub event: ApplicationEvent,
    /// The status before.
    pub from: Option<ApplicationStatus>,
    /// The status after.
    pub to: ApplicationStatus,
    /// The union handling it afterwards.
    pub union: i64,
    /// `applicant` or `admin`.
    pub actor_kind: &'a str,
    /// The account or admin.
    pub actor_id: Option<uuid::Uuid>,
    /// Why, when a reason was given.
    pub reason: Option<&'a str>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Appends a step to an application's timeline.
pub fn insert_event(conn: &mut PgConnection, event: &NewEvent<'_>) -> Result<(), StoreError> {
    diesel::insert_into(application_events::table)
        .values((
            application_events::application_id.eq(event.application),
            application_events::event.eq(Stored(event.event)),
            application_events::from_status.eq(event.from.map(ApplicationStatus::as_str)),
            application_events::to_status.eq(Stored(event.to)),
            application_events::union_id.eq(event.union),
            application_events::actor_kind.eq(event.actor_kind),
            application_events::actor_id.eq(event.actor_id),
            application_events::reason.eq(event.reason),
            application_events::at.eq(event.at),
            // the group as it is at this step (a correction may change it later)
            application_events::occupation.eq(applications::table
                .filter(applications::id.eq(event.application))
                .select(applications::occupation)
                .single_value()),
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

/// The application if it belongs to `account`.
pub fn find_for_account(
    conn: &mut PgConnection,
    id: ApplicationId,
    account: AccountId,
) -> Result<Option<ApplicationRow>, StoreError> {
    Ok(applications::table
        .filter(applications::id.eq(id.as_uuid()))
        .filter(applications::account_id.eq(account.as_uuid()))
        .select(ApplicationRow::as_select())
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

impl AdminActor {
    /// The admin as the audit trail names them.
    pub fn audit_actor(&self) -> Actor {
        Actor {
            kind: "admin",
            id: Some(self.admin_id.to_string()),
            role: Some(self.role),
            union_id: Some(self.union_path.union().get()),
        }
    }
}

/// Records that an admin saw an application's personal data in clear.
pub fn audit_unmasked_view(
    conn: &mut PgConnection,
    id: uuid::Uuid,
    admin: &AdminActor,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &admin.audit_actor(),
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
            event: *event,
            from_status: from.map(|s| s.as_str().to_owned()),
            to_status: *to,
            union_id: row.union_id,
            actor_kind: "applicant".to_owned(),
            actor_id: Some(row.account_id),
            reason: None,
            at: row.submitted_at,
        })
        .collect()
}
