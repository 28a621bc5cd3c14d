//! The audit trail within the admin's reach, newest first: every transition, every sign-in,
//! every unmasked view of personal data — who (kind, id, role), for which union, on which
//! object, what, why, when, under which request. Managers and viewers read it; reviewers,
//! whose own actions it records, do not.
//!
//! A row is within reach when the actor acted for a union of the admin's subtree, or when it
//! is about an application or a member of that subtree (`zhijian_infra::store::audit_trail`).

use actix_web::{HttpResponse, web};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zhijian_domain::audit::{TrailReader, TrailWord};
use zhijian_infra::store::audit_trail::AuditRow;
use zhijian_infra::usecases::audit::{self, TrailPage, TrailQuery};

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::error::mapping::audit as errors;
use crate::startup::AppState;
use crate::views::application::UnionRef;

/// Query of `GET /v1/admin/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only rows about this kind of object (`application`, `member`, `admin`, `transfer` …).
    pub object_kind: Option<String>,
    /// Only rows about this object (its id).
    pub object_id: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
}

/// One row of the trail.
#[derive(Debug, Serialize)]
pub struct AuditEntryView {
    /// Position in the trail (newer rows have larger ids).
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// `applicant`, `member`, `admin`, `system` or `partner`.
    pub actor_kind: String,
    /// Account, admin or client id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// The admin's role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_role: Option<String>,
    /// The union the actor acted for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub union: Option<UnionRef>,
    /// What kind of object.
    pub object_kind: String,
    /// Which object.
    pub object_id: String,
    /// What was done (`submit`, `approve`, `view_personal_data`, `login` …).
    pub action: String,
    /// Why, when a reason was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The request it happened in (`X-Request-Id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A page of the trail.
#[derive(Debug, Serialize)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditEntryView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn entry(row: AuditRow) -> AuditEntryView {
    AuditEntryView {
        id: row.id,
        at: row.at,
        actor_kind: row.actor_kind,
        actor_id: row.actor_id,
        actor_role: row.role,
        union: row
            .union_id
            .zip(row.union_name)
            .map(|(id, name)| UnionRef { id, name }),
        object_kind: row.object_kind,
        object_id: row.object_id,
        action: row.action,
        reason: row.reason,
        request_id: row.request_id,
    }
}

fn encode_cursor(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("audit|{id}"))
}

fn decode_cursor(cursor: &str) -> Result<i64, ApiError> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| errors::invalid_cursor())?;
    let text = String::from_utf8(raw).map_err(|_| errors::invalid_cursor())?;
    text.strip_prefix("audit|")
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(errors::invalid_cursor)
}

/// The query, parsed: page size, filters, cursor (in that order of checking).
pub(crate) fn parse_query(query: &AuditQuery) -> Result<TrailQuery, ApiError> {
    let word = |value: Option<&str>, max, field| {
        value
            .map(|v| TrailWord::parse(v, max).map_err(|e| errors::invalid_filter(e, field)))
            .transpose()
    };
    let limit = crate::pagination::page_size(query.limit)?;
    Ok(TrailQuery {
        object_kind: word(
            query.object_kind.as_deref(),
            TrailWord::MAX_KIND_CHARS,
            "object_kind",
        )?,
        object_id: word(
            query.object_id.as_deref(),
            TrailWord::MAX_ID_CHARS,
            "object_id",
        )?,
        before: query.cursor.as_deref().map(decode_cursor).transpose()?,
        limit,
    })
}

pub(crate) fn page(trail: TrailPage) -> AuditPage {
    let next_cursor = trail
        .more
        .then(|| trail.rows.last().map(|row| encode_cursor(row.id)))
        .flatten();
    AuditPage {
        items: trail.rows.into_iter().map(entry).collect(),
        next_cursor,
    }
}

/// `GET /v1/admin/audit`
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let reader = TrailReader::authorize(admin.role).map_err(errors::may_not_read)?;
    let query = parse_query(&query)?;
    let scope = admin
        .subtree()
        .ok_or_else(|| ApiError::internal("an admin session with a malformed union path"))?;
    let trail = audit::list_trail(&state.services, &reader, scope, query).await?;
    Ok(HttpResponse::Ok().json(page(trail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        assert!(decode_cursor("not-base64!").is_err());
        let foreign = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("123|abc");
        assert!(decode_cursor(&foreign).is_err());
    }
}
