//! How a membership looks to admins and in its history: the member, the affiliation periods
//! (each with the number held in it) and the status changes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use zhijian_infra::store::member_lifecycle::{MemberEventRow, MemberRecord};
use zhijian_infra::store::members::{AffiliationRow, MemberRow};
use zhijian_infra::store::unions::UnionRow;

use crate::error::ApiError;
use crate::views::application::UnionRef;

/// A member in lists and after a change.
#[derive(Debug, Serialize)]
pub struct MemberView {
    /// Member id.
    pub id: uuid::Uuid,
    /// The current membership number.
    pub membership_number: String,
    /// Name.
    pub name: String,
    /// `active`, `transferring`, `retained`, `withdrawn`, `expelled`, `deceased`.
    pub status: String,
    /// Chinese label of the status.
    pub status_label: &'static str,
    /// Version, to send back with an admin decision.
    pub version: i32,
    /// The union the member belongs to (the source union while a transfer is open).
    pub union: UnionRef,
    /// The day the membership began; never changes across transfers.
    pub joined_on: NaiveDate,
}

/// One period of membership in one union.
#[derive(Debug, Serialize)]
pub struct AffiliationView {
    /// The union.
    pub union: UnionRef,
    /// Start.
    pub from: DateTime<Utc>,
    /// End; absent for the current period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    /// Why it began: `joined` or `transfer`.
    pub reason: String,
    /// Why it ended: `transfer`, `withdrawn`, `expelled` or `deceased`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<String>,
    /// The number held in this period (a member who joins again gets a new one).
    pub membership_number: String,
}

/// One change of the membership's status.
#[derive(Debug, Serialize)]
pub struct MemberEventView {
    /// When.
    pub at: DateTime<Utc>,
    /// What happened (`retained`, `transfer_started`, …).
    pub event: String,
    /// Chinese label of the event.
    pub event_label: &'static str,
    /// Status before.
    pub from_status: String,
    /// Status after.
    pub to_status: String,
    /// The member's union afterwards.
    pub union: UnionRef,
    /// The number held at the time.
    pub membership_number: String,
    /// Who acted: `member`, `admin` or `system`.
    pub actor: String,
    /// A reason code (`unemployed`, `retired`, `employer_closed`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// Free-text reason or note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The transfer this step belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_id: Option<uuid::Uuid>,
}

/// A member with the whole history, for admins.
#[derive(Debug, Serialize)]
pub struct MemberDetailView {
    /// The member.
    #[serde(flatten)]
    pub member: MemberView,
    /// Affiliation periods, oldest first.
    pub affiliations: Vec<AffiliationView>,
    /// Status changes, oldest first.
    pub events: Vec<MemberEventView>,
}

/// Builds the member view.
pub fn member_view(member: &MemberRow, union: &UnionRow) -> Result<MemberView, ApiError> {
    let status = member.status;
    Ok(MemberView {
        id: member.id,
        membership_number: member.membership_number.clone(),
        name: member.name.clone(),
        status: status.as_str().to_owned(),
        status_label: status.label_zh(),
        version: member.version,
        union: UnionRef::from(union),
        joined_on: member.joined_on,
    })
}

/// Builds the affiliation periods.
pub fn affiliation_views(rows: &[(AffiliationRow, String)]) -> Vec<AffiliationView> {
    rows.iter()
        .map(|(row, union_name)| AffiliationView {
            union: UnionRef {
                id: row.union_id,
                name: union_name.clone(),
            },
            from: row.started_at,
            to: row.ended_at,
            reason: row.reason.clone(),
            end_reason: row.end_reason.clone(),
            membership_number: row.membership_number.clone(),
        })
        .collect()
}

fn event_view((row, union_name): &(MemberEventRow, String)) -> Result<MemberEventView, ApiError> {
    let event = row.event;
    Ok(MemberEventView {
        at: row.at,
        event: event.as_str().to_owned(),
        event_label: event.label_zh(),
        from_status: row.from_status.as_str().to_owned(),
        to_status: row.to_status.as_str().to_owned(),
        union: UnionRef {
            id: row.union_id,
            name: union_name.clone(),
        },
        membership_number: row.membership_number.clone(),
        actor: row.actor_kind.clone(),
        reason_code: row.reason_code.clone(),
        reason: row.reason.clone(),
        transfer_id: row.transfer_id,
    })
}

/// Builds the full view.
pub fn member_detail_view(record: &MemberRecord) -> Result<MemberDetailView, ApiError> {
    Ok(MemberDetailView {
        member: member_view(&record.member, &record.union)?,
        affiliations: affiliation_views(&record.affiliations),
        events: record
            .events
            .iter()
            .map(event_view)
            .collect::<Result<_, _>>()?,
    })
}
