//! `review_queue`: a page of the admin's queue (or pool), earliest deadline first.

use chrono::{DateTime, Utc};
use zhijian_domain::admin::UnionPath;

use crate::db::StoreError;
use crate::store::applications::{self, ApplicationRow, QueueFilter};
use crate::store::unions::UnionRow;
use crate::usecases::Services;

/// A page of the queue.
#[derive(Debug)]
pub struct QueuePage {
    /// The applications with their unions, earliest deadline first.
    pub rows: Vec<(ApplicationRow, UnionRow)>,
    /// The keyset position `(due_at, id)` to continue after, when there is more.
    pub next: Option<(DateTime<Utc>, uuid::Uuid)>,
    /// The instant the page was read at (for lateness).
    pub now: DateTime<Utc>,
}

/// The applications of `scope`'s subtree matching `filter`, `filter.limit` of them, and
/// where the next page starts.
pub async fn review_queue(
    ctx: &Services,
    scope: UnionPath,
    filter: QueueFilter,
) -> Result<QueuePage, StoreError> {
    let now = ctx.now();
    let limit = filter.limit;
    let mut probe = filter;
    probe.limit = limit + 1;
    let mut rows = crate::db::run(&ctx.pool, move |conn| {
        applications::queue(conn, &scope, &probe, now)
    })
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = if more {
        rows.last()
            .map(|(row, _)| (row.due_at.unwrap_or(row.submitted_at), row.id))
    } else {
        None
    };
    Ok(QueuePage { rows, next, now })
}
