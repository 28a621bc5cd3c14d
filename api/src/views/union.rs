//! How a union looks to its admins (`AdminUnion` in `openapi.yaml`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhijian_infra::store::union_admin::{NamedRegion, NamedUnion, UnionDetail};

use crate::error::ApiError;

/// A union named by another: its parent, its successor.
#[derive(Debug, Serialize)]
pub struct UnionLink {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A region with its name.
#[derive(Debug, Serialize)]
pub struct RegionLink {
    /// Statistical code.
    pub code: String,
    /// Official name.
    pub name: String,
}

/// Review hours, Beijing time, `HH:MM`.
#[derive(Debug, Serialize)]
pub struct ReviewHoursView {
    /// Opening.
    pub opens: String,
    /// Cut-off: later submissions are due the next working day.
    pub cutoff: String,
    /// Closing: when applications fall due.
    pub closes: String,
}

/// A union as its admins see it.
#[derive(Debug, Serialize)]
pub struct AdminUnionView {
    /// Id.
    pub id: i64,
    /// Official name.
    pub name: String,
    /// `federation`, `enterprise`, `industry_federation`, `joint` or `pool`.
    pub kind: &'static str,
    /// The kind in Chinese.
    pub kind_label: &'static str,
    /// The union above; absent for a root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<UnionLink>,
    /// The region it is of.
    pub region: RegionLink,
    /// Materialised path of ids, root first.
    pub path: String,
    /// The regions a joint union covers instead of its own; empty: its own region.
    pub coverage: Vec<RegionLink>,
    /// The occupation groups an industry federation serves.
    pub occupations: Vec<String>,
    /// An enterprise union's employer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<String>,
    /// Whether routing may send it applications.
    pub accepting: bool,
    /// Review hours for the applications routed from now on.
    pub review_hours: ReviewHoursView,
    /// `active` or `closed`.
    pub status: &'static str,
    /// The union that took over, once closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successor: Option<UnionLink>,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Send back with an edit.
    pub version: i32,
}

fn link(union: &NamedUnion) -> UnionLink {
    UnionLink {
        id: union.id,
        name: union.name.clone(),
    }
}

fn region(region: &NamedRegion) -> RegionLink {
    RegionLink {
        code: region.code.clone(),
        name: region.name.clone(),
    }
}

/// The view of a union.
pub fn admin_union_view(detail: &UnionDetail) -> Result<AdminUnionView, ApiError> {
    let union = &detail.union;
    let hours = union.review_hours().map_err(ApiError::from)?;
    let time = |t: chrono::NaiveTime| t.format("%H:%M").to_string();
    Ok(AdminUnionView {
        id: union.id,
        name: union.name.clone(),
        kind: union.kind.as_str(),
        kind_label: union.kind.label_zh(),
        parent: detail.parent.as_ref().map(link),
        region: region(&detail.region),
        path: union.path.clone(),
        coverage: detail.coverage.iter().map(region).collect(),
        occupations: union.occupations.clone(),
        credit_code: union.credit_code.clone(),
        accepting: union.accepting,
        review_hours: ReviewHoursView {
            opens: time(hours.opens()),
            cutoff: time(hours.cutoff()),
            closes: time(hours.closes()),
        },
        status: if union.closed_at.is_some() {
            "closed"
        } else {
            "active"
        },
        successor: detail.successor.as_ref().map(link),
        created_at: union.created_at,
        updated_at: union.updated_at,
        version: union.version,
    })
}
