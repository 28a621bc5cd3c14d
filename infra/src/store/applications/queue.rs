//! The admin's queue: a keyset page of a subtree's applications, earliest deadline first.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::application::ApplicationStatus;
use zhijian_domain::occupation::OccupationGroup;

use super::ApplicationRow;
use crate::db::StoreError;
use crate::db::schema::{applications, unions};
use crate::store::unions::UnionRow;

/// The admin's queue: filters, and the keyset position after which to continue.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only this status (default: pending_review).
    pub status: Option<ApplicationStatus>,
    /// Only this occupation group.
    pub occupation: Option<OccupationGroup>,
    /// Only applications past their deadline (`Some(true)`) or not yet (`Some(false)`).
    pub overdue: Option<bool>,
    /// Continue after this `(due_at, id)`.
    pub after: Option<(DateTime<Utc>, uuid::Uuid)>,
    /// Page size.
    pub limit: i64,
}

/// Applications in the subtree under `scope`, earliest deadline first, keyset-paginated.
///
/// The ids come from [`crate::db::sql::subtree::SubtreePage`] on
/// `applications_anchor_queue_idx (anchor_id, status, due_at, id)` for an anchor's subtree
/// (a county admin's page is one index range) and `applications_queue_idx (union_id, status,
/// due_at, id)` for deeper ones, index-only; those rows are then loaded with their unions.
/// The cost follows the number of parts, not the number of applications (BENCHMARKS.md, B2):
/// reading every part's first `limit` keys instead visited `parts × limit` index tuples;
/// sorting the subtree's whole queue (the plain join) read every pending row of the county on
/// each page; one part per union made a county admin's page 62 index descents, each deeper as
/// the table grew.
pub fn queue(
    conn: &mut PgConnection,
    scope: &UnionPath,
    filter: &QueueFilter,
    now: DateTime<Utc>,
) -> Result<Vec<(ApplicationRow, UnionRow)>, StoreError> {
    let ids: Vec<uuid::Uuid> = queue_page(scope, filter, now).load_ids(conn)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<(ApplicationRow, UnionRow)> = applications::table
        .inner_join(unions::table)
        .filter(applications::id.eq_any(&ids))
        .select((ApplicationRow::as_select(), UnionRow::as_select()))
        .load(conn)?;
    rows.sort_by_key(|(row, _)| (row.due_at, row.id));
    Ok(rows)
}

/// The plan of [`queue`]'s id statement, run once: `EXPLAIN (ANALYZE, BUFFERS)` of the very
/// statement the server executes, with these values (`make bench` keeps it with its logs).
pub fn explain_queue(
    conn: &mut PgConnection,
    scope: &UnionPath,
    filter: &QueueFilter,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    queue_page(scope, filter, now).explain(conn)
}

/// The page [`queue`] reads. A filter not given leaves its condition out of the text (each
/// form is prepared once per connection). The subtree is a range of `unions_path_idx`
/// (text_pattern_ops) rather than `LIKE`: with a pattern unknown until execution, PostgreSQL
/// cannot use the index in a generic plan, so it re-planned the statement at every call.
fn queue_page<'a>(
    scope: &'a UnionPath,
    filter: &QueueFilter,
    now: DateTime<Utc>,
) -> crate::db::sql::subtree::SubtreePage<'a> {
    use crate::db::sql::subtree::{Param, QUEUE, SubtreePage};
    // $5 occupation, $6 now (overdue: before it, or not), $7 and $8 the cursor.
    let conditions = QUEUE.conditions(&[
        filter.occupation.map(|_| 0),
        filter.overdue.map(|overdue| if overdue { 0 } else { 1 }),
        filter.after.map(|_| 0),
    ]);
    SubtreePage {
        part_values: vec![
            filter
                .status
                .unwrap_or(ApplicationStatus::PendingReview)
                .as_str(),
        ],
        limit: filter.limit,
        extra: vec![
            filter
                .occupation
                .map(|o| Param::Text(o.as_str().to_owned())),
            filter.overdue.map(|_| Param::Time(now)),
            filter.after.map(|(due, _)| Param::Time(due)),
            filter.after.map(|(_, id)| Param::Uuid(id)),
        ],
        ..QUEUE.page(scope, conditions)
    }
}
