//! Reading the audit trail within an admin's reach, newest first.

use zhijian_domain::admin::UnionPath;
use zhijian_domain::audit::{TrailReader, TrailWord};

use crate::db::{self, StoreError};
use crate::store::audit_trail::{self, AuditFilter, AuditRow};
use crate::usecases::Services;

/// Which rows to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailQuery {
    /// Only rows about this kind of object.
    pub object_kind: Option<TrailWord>,
    /// Only rows about this object.
    pub object_id: Option<TrailWord>,
    /// Only rows older than this position (the last row of the previous page).
    pub before: Option<i64>,
    /// Page size (1–100).
    pub limit: i64,
}

/// A page of the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailPage {
    /// Newest first, at most the page size.
    pub rows: Vec<AuditRow>,
    /// Whether older rows follow.
    pub more: bool,
}

/// One page of the trail of `scope` (the reader's subtree): rows whose actor acted for a
/// union of the subtree, or about an application or a member of it.
pub async fn list_trail(
    ctx: &Services,
    _reader: &TrailReader,
    scope: UnionPath,
    query: TrailQuery,
) -> Result<TrailPage, StoreError> {
    let limit = query.limit;
    let filter = AuditFilter {
        object_kind: query.object_kind.map(TrailWord::into_string),
        object_id: query.object_id.map(TrailWord::into_string),
        before: query.before,
        limit: limit + 1,
    };
    let mut rows = db::run(&ctx.pool, move |conn| {
        audit_trail::list(conn, &scope, &filter)
    })
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(TrailPage { rows, more })
}
