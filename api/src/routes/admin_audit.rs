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
use zhijian_domain::admin::AdminRole;
use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::db;
use zhijian_infra::store::audit_trail::{self, AuditFilter, AuditRow};

use crate::auth::AdminIdentity;
use crate::error::ApiError;
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
    let bad = || {
        ApiError::invalid(
            ErrorCode::InvalidCursor,
            "分页游标无效，请从第一页重新查询",
            "cursor",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    text.strip_prefix("audit|")
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(bad)
}

/// A filter value: trimmed, non-empty, at most `max` characters of `[A-Za-z0-9_.:-]`.
fn filter_value(
    value: Option<&str>,
    max: usize,
    field: &'static str,
) -> Result<Option<String>, ApiError> {
    let Some(value) = value.map(str::trim) else {
        return Ok(None);
    };
    let valid = !value.is_empty()
        && value.chars().count() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
    if valid {
        Ok(Some(value.to_owned()))
    } else {
        Err(ApiError::invalid(
            ErrorCode::InvalidFilter,
            "筛选条件格式不正确",
            field,
        ))
    }
}

/// Managers and viewers read the trail; reviewers do not.
fn may_read_audit(role: AdminRole) -> bool {
    matches!(role, AdminRole::Manager | AdminRole::Viewer)
}

/// `GET /v1/admin/audit`
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    if !may_read_audit(admin.role) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "当前角色不能查看审计日志",
        ));
    }
    let limit = crate::pagination::page_size(query.limit)?;
    let filter = AuditFilter {
        object_kind: filter_value(query.object_kind.as_deref(), 32, "object_kind")?,
        object_id: filter_value(query.object_id.as_deref(), 64, "object_id")?,
        before: query.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: limit + 1,
    };
    let scope = admin.actor()?.union_path;
    let mut rows = db::run(&state.pool, move |conn| {
        audit_trail::list(conn, &scope, &filter)
    })
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more {
        rows.last().map(|row| encode_cursor(row.id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(AuditPage {
        items: rows.into_iter().map(entry).collect(),
        next_cursor,
    }))
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

    #[test]
    fn only_managers_and_viewers_read_the_trail() {
        assert!(may_read_audit(AdminRole::Manager));
        assert!(may_read_audit(AdminRole::Viewer));
        assert!(!may_read_audit(AdminRole::Reviewer));
    }

    #[test]
    fn filters_are_short_plain_words() {
        assert_eq!(
            filter_value(Some(" application "), 32, "f")
                .unwrap()
                .as_deref(),
            Some("application")
        );
        assert!(filter_value(Some(""), 32, "f").is_err());
        assert!(filter_value(Some("a'; drop"), 32, "f").is_err());
        assert!(filter_value(Some(&"a".repeat(33)), 32, "f").is_err());
        assert_eq!(filter_value(None, 32, "f").unwrap(), None);
    }
}
