//! Same-day review statistics (当天审核率): counters per union and Beijing day, updated in the
//! transaction of each decision, and their sums over a union's subtree.
//!
//! A decision is an approval or a rejection (returning for correction, forwarding and
//! assigning are not); it is on time when made no later than the application's deadline.
//! Pending and overdue counts are the applications waiting now (pending review or pooled),
//! read through the queue index.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text, Timestamptz};
use diesel::upsert::excluded;
use zhijian_domain::application::ApplicationStatus;

use crate::db::StoreError;
use crate::db::schema::review_stats_daily;
use crate::store::applications::ApplicationRow;

/// Counts a decision just written to `application` (approved or rejected; anything else is
/// ignored) in its union's counters for the Beijing day of `now`. Call it inside the
/// decision's transaction.
pub fn record_decision(
    conn: &mut PgConnection,
    application: &ApplicationRow,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (approved, rejected) = match application.status {
        ApplicationStatus::Approved => (1, 0),
        ApplicationStatus::Rejected => (0, 1),
        _ => return Ok(()),
    };
    let decided_at = application.decided_at.unwrap_or(now);
    let on_time = i32::from(zhijian_domain::notification::decided_on_time(
        decided_at,
        application.due_at,
    ));
    diesel::insert_into(review_stats_daily::table)
        .values((
            review_stats_daily::union_id.eq(application.union_id),
            review_stats_daily::day.eq(zhijian_domain::calendar::local_date(decided_at)),
            review_stats_daily::decided.eq(1),
            review_stats_daily::decided_on_time.eq(on_time),
            review_stats_daily::approved.eq(approved),
            review_stats_daily::rejected.eq(rejected),
        ))
        .on_conflict((review_stats_daily::union_id, review_stats_daily::day))
        .do_update()
        .set((
            review_stats_daily::decided
                .eq(review_stats_daily::decided + excluded(review_stats_daily::decided)),
            review_stats_daily::decided_on_time
                .eq(review_stats_daily::decided_on_time
                    + excluded(review_stats_daily::decided_on_time)),
            review_stats_daily::approved
                .eq(review_stats_daily::approved + excluded(review_stats_daily::approved)),
            review_stats_daily::rejected
                .eq(review_stats_daily::rejected + excluded(review_stats_daily::rejected)),
        ))
        .execute(conn)?;
    Ok(())
}

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
             SELECT COALESCE(sum(s.decided), 0)::bigint AS decided, \
                    COALESCE(sum(s.decided_on_time), 0)::bigint AS decided_on_time, \
                    COALESCE(sum(s.approved), 0)::bigint AS approved, \
                    COALESCE(sum(s.rejected), 0)::bigint AS rejected \
             FROM review_stats_daily s JOIN unions u ON u.id = s.union_id \
             WHERE u.path LIKE c.path || '%' AND s.day BETWEEN $2 AND $3) d \
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
