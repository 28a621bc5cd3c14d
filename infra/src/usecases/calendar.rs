//! The working-day calendar as admins see and load it: read a year, replace a year (the whole
//! list of its overrides: holidays, bridged days off, adjusted working weekends), and the status
//! of the years a deployment needs.
//!
//! Replacing a year is one transaction: the year's row in `calendar_years` is created (version
//! 0 → 1) or bumped if the admin saw the current version, its days are written again, and the
//! audit row records the change (counts before → after and each date added, removed or
//! changed). The new revision makes every server reload the calendar at its next deadline
//! (`store::reference_cache`). Deadlines already given are stored with their applications and
//! never move.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::Connection;
use diesel::pg::PgConnection;
use zhijian_domain::admin::AdminRole;
use zhijian_domain::calendar_year::{
    CalendarDay, CalendarDiff, CalendarYear, MayNotEditCalendar, YearCalendar, may_edit_calendar,
    missing_years as missing_of,
};

use crate::db::{self, StoreError};
use crate::store::applications::AdminActor;
use crate::store::audit::{self, AuditEntry};
use crate::store::calendar::{self as store, CalendarSource, Replacement, YearRow};
use crate::usecases::Services;

/// How many changed dates the audit row lists one by one.
const AUDIT_LISTED_CHANGES: usize = 60;

/// A year of the calendar as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarYearState {
    /// The year.
    pub year: CalendarYear,
    /// Its bookkeeping row; `None` when the year is not loaded (version 0).
    pub loaded: Option<YearRow>,
    /// Its overrides, in date order.
    pub days: Vec<CalendarDay>,
}

impl CalendarYearState {
    /// The version a replacement must name: the row's, or 0 when not loaded.
    pub fn version(&self) -> i32 {
        self.loaded.as_ref().map_or(0, |row| row.version)
    }
}

fn read_in(conn: &mut PgConnection, year: CalendarYear) -> Result<CalendarYearState, StoreError> {
    Ok(CalendarYearState {
        year,
        loaded: store::find_year(conn, year)?,
        days: store::days_of_year(conn, year)?,
    })
}

/// Year `year` of the calendar (any admin may read it).
pub async fn read_year(
    ctx: &Services,
    year: CalendarYear,
) -> Result<CalendarYearState, StoreError> {
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| read_in(conn, year))
    })
    .await
}

/// Why a year was not replaced.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceYearError {
    /// Not a manager of a root union.
    #[error(transparent)]
    Forbidden(#[from] MayNotEditCalendar),
    /// The year's version is no longer the one the admin saw.
    #[error("the calendar year changed since it was read")]
    Stale,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ReplaceYearError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// A replaced year, and the years still missing after it (for the monitoring gauge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// The year as now stored.
    pub year: CalendarYearState,
    /// The years due today that are not loaded.
    pub missing_years: Vec<i32>,
}

/// Replaces every override of `calendar`'s year, if the admin is a manager of a root union and
/// the year is still at `expected_version` (0: not loaded yet). Audited with the change.
pub async fn replace_year(
    ctx: &Services,
    admin: AdminActor,
    calendar: YearCalendar,
    expected_version: i32,
    source: CalendarSource,
) -> Result<Replaced, ReplaceYearError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let role = AdminRole::parse(admin.role)
                .map_err(|_| StoreError::broken(format!("admin role {:?}", admin.role)))?;
            let union = crate::store::unions::find(conn, admin.union_path.union())?;
            let is_root = union.is_some_and(|u| u.parent_id.is_none());
            may_edit_calendar(role, is_root)?;
            let year = calendar.year();
            let before = store::days_of_year(conn, year)?;
            let replacement = Replacement {
                expected_version,
                by: admin.admin_id,
                source,
                at: now,
            };
            let row = store::replace_year(conn, &calendar, replacement)?
                .ok_or(ReplaceYearError::Stale)?;
            let diff = CalendarDiff::between(&before, calendar.days());
            let reason = diff.describe(
                year,
                before.len(),
                calendar.days().len(),
                AUDIT_LISTED_CHANGES,
            );
            audit::record(
                conn,
                &AuditEntry {
                    at: now,
                    actor: &admin.audit_actor(),
                    object_kind: "calendar",
                    object_id: year.to_string(),
                    action: "replace_year",
                    reason: Some(format!(
                        "{reason}（版本 {expected_version} → {}，{}）",
                        row.version,
                        source.as_str()
                    )),
                },
            )?;
            let missing_years = missing_in(conn, today(now))?;
            Ok(Replaced {
                year: CalendarYearState {
                    year,
                    loaded: Some(row),
                    days: calendar.days().to_vec(),
                },
                missing_years,
            })
        })
    })
    .await
}

/// One year in the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearStatus {
    /// The year.
    pub year: i32,
    /// Its row, when loaded.
    pub loaded: Option<YearRow>,
    /// How many overrides it has.
    pub days: i64,
}

/// What admins and monitoring need to know about the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarStatus {
    /// Today's Beijing date.
    pub today: NaiveDate,
    /// Every loaded year and every year due, in order.
    pub years: Vec<YearStatus>,
    /// The years due today that are not loaded (their deadlines follow the ordinary week).
    pub missing_years: Vec<i32>,
}

/// Today's Beijing date at `now`.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    zhijian_domain::calendar::local_date(now)
}

fn missing_in(conn: &mut PgConnection, today: NaiveDate) -> Result<Vec<i32>, StoreError> {
    let loaded = store::loaded_years(conn)?;
    Ok(missing_of(today, |year| {
        loaded.iter().any(|row| i32::from(row.year) == year)
    }))
}

/// The calendar's status on the server's today.
pub async fn calendar_status(ctx: &Services) -> Result<CalendarStatus, StoreError> {
    let today = today(ctx.now());
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let loaded = store::loaded_years(conn)?;
            let counts = store::days_per_year(conn)?;
            let missing_years = missing_of(today, |year| {
                loaded.iter().any(|row| i32::from(row.year) == year)
            });
            let mut years: Vec<i32> = loaded
                .iter()
                .map(|row| i32::from(row.year))
                .chain(zhijian_domain::calendar_year::years_due(today))
                .collect();
            years.sort_unstable();
            years.dedup();
            let years = years
                .into_iter()
                .map(|year| YearStatus {
                    year,
                    loaded: loaded
                        .iter()
                        .find(|row| i32::from(row.year) == year)
                        .cloned(),
                    days: counts
                        .iter()
                        .find(|(y, _)| *y == year)
                        .map_or(0, |(_, days)| *days),
                })
                .collect();
            Ok(CalendarStatus {
                today,
                years,
                missing_years,
            })
        })
    })
    .await
}

/// The years due on `today` that are not loaded (the start-up warning and the monitoring
/// gauge).
pub async fn missing_years(
    pool: &crate::db::PgPool,
    today: NaiveDate,
) -> Result<Vec<i32>, StoreError> {
    db::run(pool, move |conn| missing_in(conn, today)).await
}
