//! How a transfer looks in responses, to the member and to the admins of both unions.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhijian_domain::routing::{RoutingRule, UnionKind};
use zhijian_infra::store::transfers::TransferDetail;

use crate::error::ApiError;
use crate::views::application::{RoutingView, UnionRef};

/// The member a transfer moves.
#[derive(Debug, Serialize)]
pub struct TransferMember {
    /// Member id.
    pub id: uuid::Uuid,
    /// Name.
    pub name: String,
    /// Membership number; it stays the same in the new union.
    pub membership_number: String,
}

/// Who refused, and why.
#[derive(Debug, Serialize)]
pub struct TransferRejection {
    /// `source` (the union the member leaves) or `target`.
    pub by: String,
    /// Why.
    pub reason: String,
}

/// A transfer in full.
#[derive(Debug, Serialize)]
pub struct TransferView {
    /// Id.
    pub id: uuid::Uuid,
    /// `requested`, `released`, `completed`, `rejected` or `cancelled`.
    pub status: String,
    /// Chinese label of the status.
    pub status_label: &'static str,
    /// Version, to send back with an admin decision.
    pub version: i32,
    /// The member moving.
    pub member: TransferMember,
    /// The union the member leaves.
    pub from_union: UnionRef,
    /// The union the member joins.
    pub to_union: UnionRef,
    /// Whether the target is a county pool (no union covered the new job).
    pub into_pool: bool,
    /// How routing chose the target, when the member gave job facts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<RoutingView>,
    /// The member's reason for moving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the member asked.
    pub requested_at: DateTime<Utc>,
    /// While waiting for the source: when it is released without it (3 working days).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_due_at: Option<DateTime<Utc>>,
    /// When the source released (or the silence did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
    /// Whether the release came from the source's silence.
    pub auto_released: bool,
    /// When the membership moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Who refused, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection: Option<TransferRejection>,
    /// When it was cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// Builds the view.
pub fn transfer_view(detail: &TransferDetail) -> Result<TransferView, ApiError> {
    let row = &detail.transfer;
    let status = row.status;
    let routing = match (&row.routing_rule, &row.routing_explanation) {
        (Some(rule), Some(explanation)) => {
            let rule = RoutingRule::parse(rule).map_err(ApiError::internal)?;
            Some(RoutingView {
                rule: rule.as_str().to_owned(),
                rule_label: rule.label_zh(),
                explanation: explanation.clone(),
            })
        }
        _ => None,
    };
    let rejection = match (&row.rejected_by, &row.reject_reason) {
        (Some(by), Some(reason)) => Some(TransferRejection {
            by: by.clone(),
            reason: reason.clone(),
        }),
        _ => None,
    };
    Ok(TransferView {
        id: row.id,
        status: status.as_str().to_owned(),
        status_label: status.label_zh(),
        version: row.version,
        member: TransferMember {
            id: detail.member.id,
            name: detail.member.name.clone(),
            membership_number: detail.member.membership_number.clone(),
        },
        from_union: UnionRef::from(&detail.from),
        to_union: UnionRef::from(&detail.to),
        into_pool: detail.to.kind == UnionKind::Pool,
        routing,
        reason: row.reason.clone(),
        requested_at: row.requested_at,
        release_due_at: detail.release_due_at,
        released_at: row.released_at,
        auto_released: row.auto_released,
        completed_at: row.completed_at,
        rejection,
        cancelled_at: row.cancelled_at,
    })
}

/// Builds the views of a list.
pub fn transfer_views(details: &[TransferDetail]) -> Result<Vec<TransferView>, ApiError> {
    details.iter().map(transfer_view).collect()
}
