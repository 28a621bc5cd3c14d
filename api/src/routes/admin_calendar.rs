//! The working-day calendar for admins: read a year, replace a year (the whole list of its
//! overrides, as JSON or as the CSV of `data/calendar/`), and the status of the years the
//! deployment needs. Any admin reads; only a manager of a root union replaces (the calendar is
//! national).
//!
//! A replacement names the version it replaces (0 for a year not loaded yet): in the JSON body
//! (`{version, days}`), or — for `text/csv`, whose body is the file itself — in the `version`
//! query parameter. A lost race is 409 `stale_version`, as for every admin write.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zhijian_domain::calendar_year::{CalendarDay, CalendarYear, DayInput, YearCalendar};
use zhijian_infra::store::calendar::CalendarSource;
use zhijian_infra::usecases::calendar::{self, CalendarStatus, CalendarYearState};

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::error::mapping::calendar as errors;
use crate::startup::AppState;

/// One override of the ordinary week.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarDayView {
    /// `YYYY-MM-DD`, Beijing.
    pub date: String,
    /// `work` (调休上班, a weekend worked) or `rest` (holiday or bridged day off).
    pub kind: String,
    /// The festival it belongs to (may be empty).
    #[serde(default)]
    pub holiday: Option<String>,
}

/// Body of `GET` and `PUT /v1/admin/calendar/{year}`.
#[derive(Debug, Serialize)]
pub struct CalendarYearView {
    /// The year.
    pub year: i32,
    /// Name it in a replacement; 0 while the year is not loaded.
    pub version: i32,
    /// Whether the year's arrangements have been loaded.
    pub loaded: bool,
    /// The overrides, in date order.
    pub days: Vec<CalendarDayView>,
    /// When the year was last replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// How: `migration` (shipped), `json` or `csv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

fn day_view(day: &CalendarDay) -> CalendarDayView {
    CalendarDayView {
        date: day.date.to_string(),
        kind: day.kind.as_str().to_owned(),
        holiday: Some(day.holiday.as_str().to_owned()),
    }
}

fn year_view(state: CalendarYearState) -> CalendarYearView {
    CalendarYearView {
        year: state.year.get(),
        version: state.version(),
        loaded: state.loaded.is_some(),
        days: state.days.iter().map(day_view).collect(),
        updated_at: state.loaded.as_ref().map(|row| row.updated_at),
        source: state.loaded.map(|row| row.source),
    }
}

fn parse_year(path: &str) -> Result<CalendarYear, ApiError> {
    let number = path
        .parse::<i64>()
        .map_err(|_| errors::year_error(zhijian_domain::calendar_year::CalendarYearError))?;
    CalendarYear::new(number).map_err(errors::year_error)
}

/// `GET /v1/admin/calendar/{year}`
pub async fn get_year(
    state: web::Data<AppState>,
    _admin: AdminIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let year = parse_year(&path)?;
    let stored = calendar::read_year(&state.services, year).await?;
    Ok(HttpResponse::Ok().json(year_view(stored)))
}

/// JSON body of `PUT /v1/admin/calendar/{year}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceCalendarYearRequest {
    /// The version read (0 for a year not loaded).
    pub version: i32,
    /// Every override of the year.
    pub days: Vec<CalendarDayView>,
}

/// Query of `PUT /v1/admin/calendar/{year}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceCalendarYearQuery {
    /// With `text/csv`: the version read (0 for a year not loaded).
    pub version: Option<i32>,
}

fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The year's new list, the version it replaces and how it came, from either body.
fn replacement(
    req: &HttpRequest,
    year: CalendarYear,
    body: &[u8],
    query_version: Option<i32>,
) -> Result<(YearCalendar, i32, CalendarSource), ApiError> {
    if media_type(req) == "text/csv" {
        let version = query_version.ok_or_else(errors::version_required)?;
        let calendar = YearCalendar::from_csv(year, body).map_err(errors::input_error)?;
        return Ok((calendar, version, CalendarSource::Csv));
    }
    let request: ReplaceCalendarYearRequest = crate::json::parse_body(req, body)?;
    if query_version.is_some() {
        return Err(errors::version_in_query_with_json());
    }
    let entries = request.days.into_iter().map(|day| DayInput {
        date: day.date,
        kind: day.kind,
        holiday: day.holiday,
    });
    let calendar = YearCalendar::parse(year, entries).map_err(errors::input_error)?;
    Ok((calendar, request.version, CalendarSource::Json))
}

/// `PUT /v1/admin/calendar/{year}`: replaces every override of the year.
pub async fn replace_year(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ReplaceCalendarYearQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let year = parse_year(&path)?;
    let (calendar, version, source) = replacement(&req, year, &body, query.version)?;
    let replaced =
        calendar::replace_year(&state.services, admin.actor()?, calendar, version, source).await?;
    state
        .metrics
        .set_calendar_missing_years(replaced.missing_years.len());
    Ok(HttpResponse::Ok().json(year_view(replaced.year)))
}

/// One year in the status.
#[derive(Debug, Serialize)]
pub struct CalendarYearStatusView {
    /// The year.
    pub year: i32,
    /// Whether its arrangements are loaded.
    pub loaded: bool,
    /// How many overrides it has.
    pub days: i64,
    /// Its version (0 while not loaded).
    pub version: i32,
    /// When it was last replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// Body of `GET /v1/admin/calendar/status`.
#[derive(Debug, Serialize)]
pub struct CalendarStatusView {
    /// Today, Beijing.
    pub today: NaiveDate,
    /// Every loaded year and every year due, in order.
    pub years: Vec<CalendarYearStatusView>,
    /// The years due and not loaded: their deadlines follow the ordinary week.
    pub missing_years: Vec<i32>,
}

fn status_view(status: CalendarStatus) -> CalendarStatusView {
    CalendarStatusView {
        today: status.today,
        years: status
            .years
            .into_iter()
            .map(|year| CalendarYearStatusView {
                year: year.year,
                loaded: year.loaded.is_some(),
                days: year.days,
                version: year.loaded.as_ref().map_or(0, |row| row.version),
                updated_at: year.loaded.map(|row| row.updated_at),
            })
            .collect(),
        missing_years: status.missing_years,
    }
}

/// `GET /v1/admin/calendar/status`
pub async fn status(
    state: web::Data<AppState>,
    _admin: AdminIdentity,
) -> Result<HttpResponse, ApiError> {
    let status = calendar::calendar_status(&state.services).await?;
    state
        .metrics
        .set_calendar_missing_years(status.missing_years.len());
    Ok(HttpResponse::Ok().json(status_view(status)))
}
