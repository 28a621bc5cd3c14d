//! How an application looks in responses, to its applicant and to admins.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhijian_domain::application::{ApplicationStatus, RejectCode};
use zhijian_infra::store::applications::ApplicationRow;
use zhijian_infra::store::unions::UnionRow;
use zhijian_infra::usecases::applications::{ApplicationDetail, RenderError};

use crate::error::ApiError;

/// A union as named in other objects.
#[derive(Debug, Clone, Serialize)]
pub struct UnionRef {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

impl From<&UnionRow> for UnionRef {
    fn from(row: &UnionRow) -> Self {
        Self {
            id: row.id,
            name: row.name.clone(),
        }
    }
}

/// Why the application went where it went.
#[derive(Debug, Serialize)]
pub struct RoutingView {
    /// `employer_union`, `industry_federation`, `joint_union` or `pool`.
    pub rule: String,
    /// Chinese label of the rule.
    pub rule_label: &'static str,
    /// A sentence naming the union and the rule.
    pub explanation: String,
}

/// The applicant's real-name data.
#[derive(Debug, Serialize)]
pub struct ApplicantView {
    /// Name.
    pub name: String,
    /// Resident ID, masked unless the caller's role needs it.
    pub resident_id: String,
    /// Phone, masked unless the caller's role needs it.
    pub phone: String,
    /// Derived from the ID.
    pub gender: String,
    /// Derived from the ID.
    pub birth_date: chrono::NaiveDate,
    /// Ethnic group.
    pub ethnicity: String,
    /// Education.
    pub education: String,
    /// Political status.
    pub political_status: String,
    /// Household registration type.
    pub household_type: String,
    /// Household registration region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub household_region: Option<String>,
    /// Employment status.
    pub employment_status: String,
}

/// Where and how the applicant works.
#[derive(Debug, Serialize)]
pub struct WorkView {
    /// Occupation group.
    pub occupation: String,
    /// Chinese label of the group.
    pub occupation_label: &'static str,
    /// Employer or platform operator.
    pub employer_name: String,
    /// Employer's credit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employer_credit_code: Option<String>,
    /// Platform (app) worked through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Work region code.
    pub work_region: String,
    /// Work address.
    pub work_address: String,
}

/// What the union asked to correct.
#[derive(Debug, Serialize)]
pub struct ReturnView {
    /// Form fields to correct.
    pub fields: Vec<String>,
    /// A note from the union.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why the application was not approved.
#[derive(Debug, Serialize)]
pub struct RejectionView {
    /// Reason code.
    pub code: String,
    /// Chinese label of the reason.
    pub label: &'static str,
    /// A note from the union.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One step of the timeline.
#[derive(Debug, Serialize)]
pub struct TimelineEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// What happened (`submitted`, `approved`, …).
    pub event: String,
    /// The status afterwards.
    pub status: String,
    /// The union handling it afterwards.
    pub union: UnionRef,
    /// Why, when a reason was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An application in full.
#[derive(Debug, Serialize)]
pub struct ApplicationView {
    /// Id.
    pub id: uuid::Uuid,
    /// Status.
    pub status: String,
    /// Chinese label of the status.
    pub status_label: &'static str,
    /// Version, to send back with an admin decision.
    pub version: i32,
    /// The union handling it.
    pub union: UnionRef,
    /// Why that union.
    pub routing: RoutingView,
    /// When submitted.
    pub submitted_at: DateTime<Utc>,
    /// Review deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// Whether the deadline has passed while the application is still open.
    pub overdue: bool,
    /// When decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    /// Real-name data.
    pub applicant: ApplicantView,
    /// Work facts.
    pub work: WorkView,
    /// What to correct, when returned.
    #[serde(rename = "return", skip_serializing_if = "Option::is_none")]
    pub return_request: Option<ReturnView>,
    /// Why rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection: Option<RejectionView>,
    /// The membership number, once approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_number: Option<String>,
    /// Every transition.
    pub timeline: Vec<TimelineEntry>,
}

/// Builds the full view (personal data already masked or in clear, as the use case chose).
pub fn application_view(
    detail: &ApplicationDetail,
    now: DateTime<Utc>,
) -> Result<ApplicationView, ApiError> {
    let row = &detail.row;
    let status = row.status;
    let rejection = match &row.reject_code {
        Some(code) => Some(RejectionView {
            code: code.clone(),
            label: RejectCode::parse(code)
                .map_err(ApiError::internal)?
                .label_zh(),
            note: row.reject_note.clone(),
        }),
        None => None,
    };
    Ok(ApplicationView {
        id: row.id,
        status: status.as_str().to_owned(),
        status_label: status.label_zh(),
        version: row.version,
        union: UnionRef::from(&detail.union),
        routing: RoutingView {
            rule: row.routing_rule.as_str().to_owned(),
            rule_label: row.routing_rule.label_zh(),
            explanation: row.routing_explanation.clone(),
        },
        submitted_at: row.submitted_at,
        due_at: row.due_at,
        overdue: status.is_open()
            && row
                .due_at
                .is_some_and(|due| zhijian_domain::deadline::is_overdue(due, now)),
        decided_at: row.decided_at,
        applicant: ApplicantView {
            name: row.name.clone(),
            resident_id: detail.resident_id.clone(),
            phone: detail.phone.clone(),
            gender: row.gender.as_str().to_owned(),
            birth_date: row.birth_date,
            ethnicity: row.ethnicity.as_str().to_owned(),
            education: row.education.as_str().to_owned(),
            political_status: row.political_status.as_str().to_owned(),
            household_type: row.household_type.as_str().to_owned(),
            household_region: row.household_region.clone(),
            employment_status: row.employment_status.as_str().to_owned(),
        },
        work: WorkView {
            occupation: row.occupation.as_str().to_owned(),
            occupation_label: row.occupation.label_zh(),
            employer_name: row.employer_name.clone(),
            employer_credit_code: row.employer_credit_code.clone(),
            platform: row.platform.clone(),
            work_region: row.work_region.clone(),
            work_address: row.work_address.clone(),
        },
        return_request: (status == ApplicationStatus::Returned).then(|| ReturnView {
            fields: row.return_fields.clone(),
            note: row.return_note.clone(),
        }),
        rejection,
        membership_number: detail.membership_number.clone(),
        timeline: detail
            .timeline
            .iter()
            .map(|(event, union_name)| TimelineEntry {
                at: event.at,
                event: event.event.as_str().to_owned(),
                status: event.to_status.as_str().to_owned(),
                union: UnionRef {
                    id: event.union_id,
                    name: union_name.clone(),
                },
                reason: event.reason.clone(),
            })
            .collect(),
    })
}

/// The answer to a submission, as stored under its idempotency key.
pub fn submitted_body(
    detail: &ApplicationDetail,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, RenderError> {
    let view = application_view(detail, now).map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(view)?)
}

/// An application in a queue.
#[derive(Debug, Serialize)]
pub struct ApplicationSummary {
    /// Id.
    pub id: uuid::Uuid,
    /// Status.
    pub status: String,
    /// Version, to send back with a decision.
    pub version: i32,
    /// Applicant's name.
    pub name: String,
    /// Occupation group.
    pub occupation: String,
    /// The union handling it.
    pub union: UnionRef,
    /// Routing rule.
    pub routing_rule: String,
    /// When submitted.
    pub submitted_at: DateTime<Utc>,
    /// Review deadline.
    pub due_at: DateTime<Utc>,
    /// Minutes past the deadline (0 when not overdue).
    pub overdue_minutes: i64,
}

/// Builds a queue row.
pub fn summary(row: &ApplicationRow, union: &UnionRow, now: DateTime<Utc>) -> ApplicationSummary {
    let due_at = row.due_at.unwrap_or(row.submitted_at);
    ApplicationSummary {
        id: row.id,
        status: row.status.as_str().to_owned(),
        version: row.version,
        name: row.name.clone(),
        occupation: row.occupation.as_str().to_owned(),
        union: UnionRef::from(union),
        routing_rule: row.routing_rule.as_str().to_owned(),
        submitted_at: row.submitted_at,
        due_at,
        overdue_minutes: zhijian_domain::deadline::lateness(due_at, now)
            .map_or(0, |late| late.num_minutes()),
    }
}
