//! The working-day calendar: its days (`calendar_days`, the overrides of the ordinary week) and
//! its years (`calendar_years`: a year is loaded when it has a row there; each replacement of a
//! year bumps its `version` and takes a new `revision` from one sequence).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};
use zhijian_domain::calendar::{DayKind, WorkingCalendar};
use zhijian_domain::calendar_year::{CalendarDay, CalendarYear, HolidayName, YearCalendar};

use crate::db::StoreError;
use crate::db::schema::{calendar_days, calendar_years};

/// Loads every override (holidays and adjusted working days) into a calendar.
pub fn load(conn: &mut PgConnection) -> Result<WorkingCalendar, StoreError> {
    let rows: Vec<(chrono::NaiveDate, String)> = calendar_days::table
        .select((calendar_days::day, calendar_days::kind))
        .load(conn)?;
    let overrides = rows
        .into_iter()
        .map(|(day, kind)| {
            DayKind::parse(&kind)
                .map(|kind| (day, kind))
                .map_err(|_| StoreError::broken(format!("calendar day {day} has kind {kind:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(WorkingCalendar::new(overrides))
}

/// The calendar's revision: the largest `revision` of any year, 0 before any. It changes with
/// every replacement of a year, so a server compares it with the revision of the calendar it
/// holds in memory (one index lookup).
pub fn revision(conn: &mut PgConnection) -> Result<i64, StoreError> {
    Ok(diesel::select(diesel::dsl::sql::<BigInt>(
        "(SELECT coalesce(max(revision), 0) FROM calendar_years)",
    ))
    .get_result(conn)?)
}

/// How a year's days came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarSource {
    /// Shipped by a migration.
    Migration,
    /// A JSON list through the API.
    Json,
    /// A CSV file through the API.
    Csv,
}

impl CalendarSource {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Migration => "migration",
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }
}

/// A loaded year.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = calendar_years)]
pub struct YearRow {
    /// The year.
    pub year: i16,
    /// Bumped by every replacement (1 when first loaded).
    pub version: i32,
    /// The calendar revision this replacement took.
    pub revision: i64,
    /// When the year was last replaced.
    pub updated_at: DateTime<Utc>,
    /// By whom (`None`: shipped by a migration).
    pub updated_by: Option<uuid::Uuid>,
    /// `migration`, `json` or `csv`.
    pub source: String,
}

/// Every loaded year, in order.
pub fn loaded_years(conn: &mut PgConnection) -> Result<Vec<YearRow>, StoreError> {
    Ok(calendar_years::table
        .select(YearRow::as_select())
        .order(calendar_years::year)
        .load(conn)?)
}

fn year_key(year: CalendarYear) -> Result<i16, StoreError> {
    i16::try_from(year.get()).map_err(|_| StoreError::broken(format!("year {year}")))
}

/// The row of `year`, if loaded.
pub fn find_year(
    conn: &mut PgConnection,
    year: CalendarYear,
) -> Result<Option<YearRow>, StoreError> {
    Ok(calendar_years::table
        .find(year_key(year)?)
        .select(YearRow::as_select())
        .first(conn)
        .optional()?)
}

/// The overrides of `year`, in date order.
pub fn days_of_year(
    conn: &mut PgConnection,
    year: CalendarYear,
) -> Result<Vec<CalendarDay>, StoreError> {
    let rows: Vec<(NaiveDate, String, String)> = calendar_days::table
        .filter(calendar_days::day.between(year.first_day(), year.last_day()))
        .select((
            calendar_days::day,
            calendar_days::kind,
            calendar_days::holiday,
        ))
        .order(calendar_days::day)
        .load(conn)?;
    rows.into_iter()
        .map(|(date, kind, holiday)| {
            let kind = DayKind::parse(&kind).map_err(|_| {
                StoreError::broken(format!("calendar day {date} has kind {kind:?}"))
            })?;
            let holiday = HolidayName::parse(&holiday).map_err(|e| {
                StoreError::broken(format!("calendar day {date} has holiday name: {e}"))
            })?;
            Ok(CalendarDay {
                date,
                kind,
                holiday,
            })
        })
        .collect()
}

/// How many overrides each year has, for the years that have any.
pub fn days_per_year(conn: &mut PgConnection) -> Result<Vec<(i32, i64)>, StoreError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Integer)]
        year: i32,
        #[diesel(sql_type = BigInt)]
        days: i64,
    }
    let counts: Vec<Count> = diesel::sql_query(
        "SELECT extract(year FROM day)::int AS year, count(*) AS days \
         FROM calendar_days GROUP BY 1 ORDER BY 1",
    )
    .load(conn)?;
    Ok(counts.into_iter().map(|c| (c.year, c.days)).collect())
}

/// Who replaces a year, and how.
#[derive(Debug, Clone, Copy)]
pub struct Replacement {
    /// The version the admin saw (0: the year was not loaded).
    pub expected_version: i32,
    /// The admin.
    pub by: uuid::Uuid,
    /// JSON or CSV.
    pub source: CalendarSource,
    /// When.
    pub at: DateTime<Utc>,
}

/// Replaces every override of the year with `calendar`'s if the year is still at
/// `expected_version` (0: not loaded): the year's row is created or bumped (version + 1, a new
/// revision), then its days are deleted and written again. `None` when the version moved (the
/// row update or insert is the lock that orders two replacements of one year).
pub fn replace_year(
    conn: &mut PgConnection,
    calendar: &YearCalendar,
    replacement: Replacement,
) -> Result<Option<YearRow>, StoreError> {
    let year = calendar.year();
    let key = year_key(year)?;
    // Replacements one at a time (each locks every year's row, a few dozen at most), so
    // revisions are taken in commit order: with two at once, the later revision could commit
    // first, and a server caching `max(revision)` in between would never see the earlier one.
    // Readers are not blocked.
    calendar_years::table
        .select(calendar_years::year)
        .for_update()
        .load::<i16>(conn)?;
    let row = if replacement.expected_version == 0 {
        diesel::insert_into(calendar_years::table)
            .values((
                calendar_years::year.eq(key),
                calendar_years::version.eq(1),
                calendar_years::updated_at.eq(replacement.at),
                calendar_years::updated_by.eq(Some(replacement.by)),
                calendar_years::source.eq(replacement.source.as_str()),
            ))
            .on_conflict(calendar_years::year)
            .do_nothing()
            .returning(YearRow::as_returning())
            .get_result(conn)
            .optional()?
    } else {
        diesel::update(
            calendar_years::table
                .find(key)
                .filter(calendar_years::version.eq(replacement.expected_version)),
        )
        .set((
            calendar_years::version.eq(calendar_years::version + 1),
            calendar_years::revision.eq(diesel::dsl::sql::<BigInt>("nextval('calendar_revision')")),
            calendar_years::updated_at.eq(replacement.at),
            calendar_years::updated_by.eq(Some(replacement.by)),
            calendar_years::source.eq(replacement.source.as_str()),
        ))
        .returning(YearRow::as_returning())
        .get_result(conn)
        .optional()?
    };
    let Some(row) = row else {
        return Ok(None);
    };
    diesel::delete(
        calendar_days::table.filter(calendar_days::day.between(year.first_day(), year.last_day())),
    )
    .execute(conn)?;
    let rows: Vec<_> = calendar
        .days()
        .iter()
        .map(|day| {
            (
                calendar_days::day.eq(day.date),
                calendar_days::kind.eq(day.kind.as_str()),
                calendar_days::holiday.eq(day.holiday.as_str()),
                calendar_days::updated_at.eq(replacement.at),
            )
        })
        .collect();
    diesel::insert_into(calendar_days::table)
        .values(&rows)
        .execute(conn)?;
    Ok(Some(row))
}
