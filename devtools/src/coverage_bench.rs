//! B6: the coverage overview (`GET /v1/admin/stats/overview`) at three levels of the
//! generated tree — the root holding the most members, its busiest city federation and the
//! busy county 巫山县 — timed as the server reads it (`store::coverage`: the union and its
//! children, then the counters of a quarter), on one connection.
//!
//! The generated tree has one root per province (no national federation above them): the
//! "root" here is the province root with the most members. What the overview costs is the
//! counter rows of one union and of its children over the period, whatever its subtree holds.

use std::time::Instant;

use chrono::{Duration, NaiveDate};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable};
use zhijian_infra::db::StoreError;
use zhijian_infra::store::coverage;

/// The timings of one level.
#[derive(Debug, Clone)]
pub struct LevelTiming {
    /// `root`, `city` or `county`.
    pub level: &'static str,
    /// The union timed.
    pub union_id: i64,
    /// Its child unions.
    pub children: usize,
    /// Median, microseconds.
    pub p50_us: u64,
    /// 95th percentile, microseconds.
    pub p95_us: u64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
}

#[derive(QueryableByName)]
struct Day {
    #[diesel(sql_type = Nullable<Date>)]
    day: Option<NaiveDate>,
}

fn pick(conn: &mut PgConnection, sql: &str) -> Result<Option<i64>, StoreError> {
    Ok(diesel::sql_query(sql).get_result::<Id>(conn)?.id)
}

/// Times `queries` overviews of the last 90 days of counters at each level.
pub fn time_overview(
    conn: &mut PgConnection,
    queries: usize,
) -> Result<Vec<LevelTiming>, StoreError> {
    let root = pick(
        conn,
        "SELECT (SELECT u.id FROM unions u JOIN union_stats_active s ON s.union_id = u.id \
         WHERE u.parent_id IS NULL GROUP BY u.id ORDER BY sum(s.active) DESC, u.id LIMIT 1) AS id",
    )?;
    let Some(root) = root else {
        return Ok(Vec::new());
    };
    let city = pick(
        conn,
        &format!(
            "SELECT (SELECT u.id FROM unions u JOIN union_stats_active s ON s.union_id = u.id \
             WHERE u.parent_id = {root} AND u.kind = 'federation' \
             GROUP BY u.id ORDER BY sum(s.active) DESC, u.id LIMIT 1) AS id"
        ),
    )?;
    let county = pick(
        conn,
        "SELECT (SELECT id FROM unions WHERE region_code = '500237' AND kind = 'federation' \
         ORDER BY id LIMIT 1) AS id",
    )?;
    let to = diesel::sql_query("SELECT max(day) AS day FROM union_stats_daily")
        .get_result::<Day>(conn)?
        .day
        .unwrap_or(NaiveDate::MIN);
    let from = to - Duration::days(89);
    let now = chrono::Utc::now();
    let mut timings = Vec::new();
    for (level, union) in [("root", Some(root)), ("city", city), ("county", county)] {
        let Some(union) = union else { continue };
        let mut samples = Vec::with_capacity(queries);
        let mut children = 0;
        for _ in 0..queries.max(1) {
            let started = Instant::now();
            let unions = coverage::union_and_children(conn, union)?;
            children = unions.len().saturating_sub(1);
            let read = coverage::overview(conn, unions, from, to, None, 2026, now)?;
            std::hint::black_box(read.per_union.len());
            samples.push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        }
        samples.sort_unstable();
        let at = |q: usize| samples[(samples.len() * q / 100).min(samples.len() - 1)];
        timings.push(LevelTiming {
            level,
            union_id: union,
            children,
            p50_us: at(50),
            p95_us: at(95),
        });
    }
    Ok(timings)
}
