//! Coverage statistics (issue 16): the overview of a subtree, the quarterly report of new
//! members (新会员季报) with its quarter-end snapshots, and the reconciliation of the counters
//! with the base tables (`zhijian stats verify` / `rebuild`).

use chrono::NaiveDate;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::ids::UnionId;
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::stats::{Interval, Period, Quarter, QuarterError};

use crate::db::StoreError;
use crate::store::counters::{self, Difference};
use crate::store::coverage::{self, Flows, JoinedRow, SubtreeFigures, UnionName};
use crate::usecases::Services;

/// Why a statistic could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// No such union, or outside the admin's subtree.
    #[error("not found")]
    NotFound,
    /// The quarter was refused (a snapshot of a quarter not yet ended).
    #[error(transparent)]
    Quarter(QuarterError),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

super::store_errors!(CoverageError);

/// Every difference between the counters and a recount from the base tables, for the unions
/// of `union`'s subtree (every union when `None`).
pub async fn verify_counters(
    ctx: &Services,
    union: Option<UnionId>,
) -> Result<Vec<Difference>, StoreError> {
    crate::db::run(&ctx.pool, move |conn| {
        counters::differences(conn, union.map(UnionId::get))
    })
    .await
}

/// Replaces the counters with the recount from the base tables (after loading base rows
/// directly, as the benchmark generator does). Answers the daily and gauge rows written.
pub async fn rebuild_counters(ctx: &Services) -> Result<(usize, usize), StoreError> {
    crate::db::run(&ctx.pool, counters::rebuild).await
}

/// What an overview is asked for.
#[derive(Debug, Clone)]
pub struct OverviewQuery {
    /// The union (its whole subtree).
    pub union: UnionId,
    /// The days.
    pub period: Period,
    /// One group, or all.
    pub group: Option<OccupationGroup>,
    /// The buckets of the time series.
    pub interval: Interval,
}

/// The overview of a subtree.
#[derive(Debug, Clone)]
pub struct CoverageOverview {
    /// The union and its figures.
    pub union: (UnionName, SubtreeFigures),
    /// Each child union and its subtree's figures.
    pub children: Vec<(UnionName, SubtreeFigures)>,
    /// The time series: first day of each bucket, with the bucket's sums.
    pub series: Vec<(NaiveDate, Flows)>,
    /// Per group: flows of the period and active members now.
    pub groups: Vec<(String, Flows, i64)>,
    /// Open applications past their deadline now.
    pub overdue: i64,
    /// The year whose estimates and targets coverage is measured against (`to`'s).
    pub year: i32,
}

fn visible(scope: &UnionPath, path: &str) -> bool {
    UnionPath::parse(path).is_ok_and(|p| scope.contains(&p))
}

/// The overview of `query.union`'s subtree (404 outside `scope`).
pub async fn coverage_overview(
    ctx: &Services,
    scope: UnionPath,
    query: OverviewQuery,
) -> Result<CoverageOverview, CoverageError> {
    let now = ctx.now();
    crate::db::run(&ctx.pool, move |conn| {
        let unions = coverage::union_and_children(conn, query.union.get())?;
        match unions.first() {
            Some(top) if top.id == query.union.get() && visible(&scope, &top.path) => {}
            _ => return Err(CoverageError::NotFound),
        }
        let (from, to) = (query.period.from(), query.period.to());
        let year = chrono::Datelike::year(&to);
        let group = query.group.map(|g| g.as_str());
        let read = coverage::overview(conn, unions, from, to, group, year, now)?;
        let mut per_union = read.per_union.into_iter();
        let union = per_union.next().ok_or(CoverageError::NotFound)?;
        let mut series: Vec<(NaiveDate, Flows)> = Vec::new();
        for (day, flows) in read.days {
            let bucket = query.interval.bucket(day);
            match series.last_mut() {
                Some((b, sums)) if *b == bucket => {
                    for (a, v) in sums.0.iter_mut().zip(&flows.0) {
                        *a += v;
                    }
                }
                _ => series.push((bucket, flows)),
            }
        }
        Ok(CoverageOverview {
            union,
            children: per_union.collect(),
            series,
            groups: read.groups,
            overdue: read.overdue,
            year,
        })
    })
    .await
}

/// New members per group, by group code.
pub type GroupCounts = Vec<(String, i64)>;

/// One child union of a quarterly report: id, name (then), new members by group.
pub type ReportChild = (i64, String, GroupCounts);

/// The quarterly report of new members (新会员季报) of one union.
#[derive(Debug, Clone)]
pub struct QuarterlyReport {
    /// The union (its name then, for a snapshot).
    pub union: (i64, String),
    /// The quarter.
    pub quarter: Quarter,
    /// New members by group of the union's whole subtree.
    pub total: GroupCounts,
    /// Each child union: id, name, new members by group.
    pub children: Vec<ReportChild>,
    /// `Some(taken_at)` when answered from the quarter-end snapshot, `None` when computed
    /// from the counters (the current quarter).
    pub snapshot: Option<chrono::DateTime<chrono::Utc>>,
}

/// The report of `union` for `quarter`: an ended quarter answers from its snapshot (taken now
/// for the quarter just ended if the quarter-end job has not yet), the current one and an
/// older one without a snapshot from the counters; `snapshot_only` refuses a quarter not yet
/// ended, and finds nothing for an older one without a snapshot.
pub async fn quarterly_report(
    ctx: &Services,
    scope: UnionPath,
    union: UnionId,
    quarter: Quarter,
    snapshot_only: bool,
) -> Result<QuarterlyReport, CoverageError> {
    let now = ctx.now();
    let today = zhijian_domain::calendar::local_date(now);
    if snapshot_only {
        quarter
            .check_snapshot(today)
            .map_err(CoverageError::Quarter)?;
    }
    crate::db::run(&ctx.pool, move |conn| {
        let unions = coverage::union_and_children(conn, union.get())?;
        let top = match unions.first() {
            Some(top) if top.id == union.get() && visible(&scope, &top.path) => top.clone(),
            _ => return Err(CoverageError::NotFound),
        };
        let number = i16::from(quarter.quarter());
        // Only the quarter just ended may be snapshotted on demand (the job's quarter, if a
        // request comes first): a snapshot never changes, so one taken for an older quarter
        // would freeze figures from before the counters held them. An older quarter without a
        // snapshot is answered from the counters, or not at all when the snapshot is insisted on.
        let snapshot_due = quarter == Quarter::of(today).previous();
        let kept = if quarter.ended(today) {
            coverage::snapshot_taken(conn, quarter.year(), number)?
        } else {
            None
        };
        if snapshot_only && kept.is_none() && !snapshot_due {
            return Err(CoverageError::NotFound);
        }
        let (rows, snapshot) = if kept.is_some() || (quarter.ended(today) && snapshot_due) {
            let taken = match kept {
                Some(taken) => taken,
                None => {
                    coverage::take_snapshot(
                        conn,
                        quarter.year(),
                        number,
                        quarter.first_day(),
                        quarter.last_day(),
                        now,
                    )?;
                    coverage::snapshot_taken(conn, quarter.year(), number)?.unwrap_or(now)
                }
            };
            (
                coverage::joined_snapshot(conn, union.get(), quarter.year(), number)?,
                Some(taken),
            )
        } else {
            (
                coverage::joined_live(conn, union.get(), quarter.first_day(), quarter.last_day())?,
                None,
            )
        };
        Ok(assemble(top, &unions[1..], quarter, rows, snapshot))
    })
    .await
}

fn assemble(
    top: UnionName,
    children_now: &[UnionName],
    quarter: Quarter,
    rows: Vec<JoinedRow>,
    snapshot: Option<chrono::DateTime<chrono::Utc>>,
) -> QuarterlyReport {
    let by_group = |id: i64| -> GroupCounts {
        rows.iter()
            .filter(|r| r.union_id == id)
            .map(|r| (r.occupation.clone(), r.joined))
            .collect()
    };
    let name = rows
        .iter()
        .find(|r| r.union_id == top.id)
        .map_or(top.name.clone(), |r| r.union_name.clone());
    let mut children: Vec<ReportChild> = children_now
        .iter()
        .map(|c| {
            let then = rows
                .iter()
                .find(|r| r.union_id == c.id)
                .map_or(c.name.clone(), |r| r.union_name.clone());
            (c.id, then, by_group(c.id))
        })
        .collect();
    // A snapshot's children are those of then: one moved away since still shows.
    for row in &rows {
        if row.union_id != top.id && !children.iter().any(|(id, _, _)| *id == row.union_id) {
            children.push((row.union_id, row.union_name.clone(), by_group(row.union_id)));
        }
    }
    children.sort_by_key(|(id, _, _)| *id);
    QuarterlyReport {
        union: (top.id, name),
        quarter,
        total: by_group(top.id),
        children,
        snapshot,
    }
}

/// The quarter-end job: takes the snapshot of the quarter that ended before Beijing day
/// `today`, once. Answers whether it was taken now.
pub async fn take_quarter_snapshot(ctx: &Services) -> Result<bool, StoreError> {
    let now = ctx.now();
    let quarter = Quarter::of(zhijian_domain::calendar::local_date(now)).previous();
    crate::db::run(&ctx.pool, move |conn| {
        coverage::take_snapshot(
            conn,
            quarter.year(),
            i16::from(quarter.quarter()),
            quarter.first_day(),
            quarter.last_day(),
            now,
        )
    })
    .await
}
