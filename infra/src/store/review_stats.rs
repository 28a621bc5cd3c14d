//! Same-day review statistics (当天审核率): read from the coverage counters
//! ([`crate::store::counters`]: decided = approved + rejected, on time = both `_on_time`
//! parts), which already hold each union's whole subtree.
//!
//! A decision is an approval or a rejection (returning for correction, forwarding and
//! assigning are not); it is on time when made no later than the application's deadline.
//! Pending and overdue counts are the applications waiting now (pending review or pooled),
//! read through the queue index.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text, Timestamptz};

use crate::db::StoreError;

/// The review figures of one union's subtree.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ReviewFigures {
    /// The union.
    #[diesel(sql_type = BigInt)]
    pub union_id: i64,
    /// Its name.
    #[diesel(sql_type = Text)]
    pub union_name: String,
    /// Approvals and rejections in the period.
    #[diesel(sql_type = BigInt)]
    pub decided: i64,
    /// Of those, made no later than the deadline.
    #[diesel(sql_type = BigInt)]
    pub decided_on_time: i64,
    /// Approved in the period.
    #[diesel(sql_type = BigInt)]
    pub approved: i64,
    /// Rejected in the period.
    #[diesel(sql_type = BigInt)]
    pub rejected: i64,
    /// Waiting for a decision now.
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    /// Of those, past their deadline now.
    #[diesel(sql_type = BigInt)]
    pub overdue: i64,
}

/// Figures for the subtree of union `union_id` and for the subtree of each of its children,
/// over the Beijing days `from..=to`; `None` when the union does not exist.
pub fn subtree_figures(
    conn: &mut PgConnection,
    union_id: i64,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Option<(ReviewFigures, Vec<ReviewFigures>)>, StoreError> {
    let rows: Vec<ReviewFigures> = diesel::sql_query(
        "SELECT c.id AS union_id, c.name AS union_name, \
                d.decided, d.decided_on_time, d.approved, d.rejected, p.pending, p.overdue \
         FROM unions c \
         CROSS JOIN LATERAL ( \
             SELECT COALESCE(sum(s.approved + s.rejected), 0)::bigint AS decided, \
                    COALESCE(sum(s.approved_on_time + s.rejected_on_time), 0)::bigint \
                        AS decided_on_time, \
                    COALESCE(sum(s.approved), 0)::bigint AS approved, \
                    COALESCE(sum(s.rejected), 0)::bigint AS rejected \
             FROM union_stats_daily s \
             WHERE s.union_id = c.id AND s.day BETWEEN $2 AND $3) d \
         CROSS JOIN LATERAL ( \
             SELECT count(*) AS pending, count(*) FILTER (WHERE a.due_at < $4) AS overdue \
             FROM applications a JOIN unions u ON u.id = a.union_id \
             WHERE u.path LIKE c.path || '%' AND a.status IN ('pending_review', 'pooled')) p \
         WHERE c.id = $1 OR c.parent_id = $1 \
         ORDER BY (c.id = $1) DESC, c.id",
    )
    .bind::<BigInt, _>(union_id)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Timestamptz, _>(now)
    .load(conn)?;
    let mut rows = rows.into_iter();
    match rows.next() {
        Some(own) if own.union_id == union_id => Ok(Some((own, rows.collect()))),
        _ => Ok(None),
    }
}
