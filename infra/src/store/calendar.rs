//! The working-day calendar, from the `calendar_days` table.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::calendar::{DayKind, WorkingCalendar};

use crate::db::StoreError;
use crate::db::schema::calendar_days;

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
