//! Coverage (issue 16): `GET /v1/admin/stats/overview` — a subtree's flows, active members,
//! coverage against the workforce estimate and target, the same-day rate and what is overdue,
//! with a row per child union and a time series — and `GET /v1/admin/stats/quarterly`, the
//! new-members report (新会员季报) as JSON, CSV (UTF-8 with BOM) or XLSX.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::UnionId;
use zhijian_domain::notification::on_time_rate;
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::stats::{Counter, Interval, Period, Quarter};
use zhijian_infra::store::coverage::{Flows, SubtreeFigures, UnionName};
use zhijian_infra::usecases::stats::{
    CoverageError, OverviewQuery, QuarterlyReport, coverage_overview, quarterly_report,
};

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::startup::AppState;

/// Query of `GET /v1/admin/stats/overview`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverviewParams {
    pub union: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub group: Option<String>,
    pub interval: Option<String>,
}

/// Query of `GET /v1/admin/stats/quarterly`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuarterlyParams {
    union: Option<i64>,
    year: Option<i32>,
    quarter: Option<u8>,
    format: Option<String>,
    snapshot: Option<bool>,
}

fn coverage_error(error: CoverageError) -> ApiError {
    match error {
        CoverageError::NotFound => ApiError::not_found(),
        CoverageError::Quarter(e) => ApiError::invalid(e.code(), e.to_string(), "quarter"),
        CoverageError::Store(e) => e.into(),
    }
}

fn union_of(id: Option<i64>, admin: &AdminIdentity) -> Result<UnionId, ApiError> {
    match id {
        Some(id) if id < 1 => Err(ApiError::invalid(
            ErrorCode::InvalidUnionId,
            "工会编号不正确",
            "union",
        )),
        Some(id) => Ok(UnionId::new(id)),
        None => Ok(admin.union_id),
    }
}

fn day(value: Option<&str>, field: &'static str) -> Result<Option<NaiveDate>, ApiError> {
    value
        .map(|text| {
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .ok()
                .filter(|date| (2000..=2999).contains(&date.year()))
                .ok_or_else(|| {
                    ApiError::invalid(ErrorCode::InvalidDate, "日期格式应为 YYYY-MM-DD", field)
                })
        })
        .transpose()
}

fn parse_overview(
    params: &OverviewParams,
    admin: &AdminIdentity,
    today: NaiveDate,
) -> Result<OverviewQuery, ApiError> {
    let to = day(params.to.as_deref(), "to")?.unwrap_or(today);
    let from = day(params.from.as_deref(), "from")?.unwrap_or_else(|| to.with_day(1).unwrap_or(to));
    let period =
        Period::new(from, to).map_err(|e| ApiError::invalid(e.code(), e.to_string(), "from"))?;
    let group = params
        .group
        .as_deref()
        .map(OccupationGroup::parse)
        .transpose()
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "group"))?;
    let interval = params
        .interval
        .as_deref()
        .map(Interval::parse)
        .transpose()
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "interval"))?
        .unwrap_or(Interval::Day);
    Ok(OverviewQuery {
        union: union_of(params.union, admin)?,
        period,
        group,
        interval,
    })
}

fn rate(part: i64, whole: Option<i64>) -> Option<f64> {
    whole
        .filter(|w| *w > 0)
        .map(|w| (part as f64 / w as f64 * 10_000.0).round() / 10_000.0)
}

fn counts(flows: &Flows) -> Value {
    let mut map = Map::new();
    for counter in Counter::ALL {
        map.insert(counter.column().to_owned(), json!(flows.get(*counter)));
    }
    Value::Object(map)
}

fn same_day_rate(flows: &Flows) -> Option<f64> {
    let decided = flows.get(Counter::Approved) + flows.get(Counter::Rejected);
    let on_time = flows.get(Counter::ApprovedOnTime) + flows.get(Counter::RejectedOnTime);
    on_time_rate(decided, on_time).map(|r| (r * 10_000.0).round() / 10_000.0)
}

fn figures(union: &UnionName, figures: &SubtreeFigures) -> Value {
    json!({
        "union": {"id": union.id, "name": union.name},
        "counts": counts(&figures.flows),
        "same_day_rate": same_day_rate(&figures.flows),
        "active_members": figures.active,
        "estimate": figures.estimate,
        "target": figures.target,
        "coverage": rate(figures.active, figures.estimate),
        "target_rate": figures.target.and_then(|t| rate(t, figures.estimate)),
        "referrals": figures.flows.get(Counter::Referrals),
    })
}

/// `GET /v1/admin/stats/overview`
pub async fn overview(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    params: web::Query<OverviewParams>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(overview_figures(&state, &admin, &params).await?))
}

/// The body of `GET /v1/admin/stats/overview` (also the console's figures page).
pub(crate) async fn overview_figures(
    state: &AppState,
    admin: &AdminIdentity,
    params: &OverviewParams,
) -> Result<Value, ApiError> {
    let today = zhijian_domain::calendar::local_date(state.services.now());
    let query = parse_overview(params, admin, today)?;
    let scope = admin.subtree().ok_or_else(ApiError::not_found)?;
    let (period, group, interval) = (query.period, query.group, query.interval);
    let read = coverage_overview(&state.services, scope, query)
        .await
        .map_err(coverage_error)?;
    let mut totals = figures(&read.union.0, &read.union.1);
    totals["overdue"] = json!(read.overdue);
    Ok(json!({
        "from": period.from(), "to": period.to(), "year": read.year,
        "group": group.map(|g| g.as_str()), "interval": interval.as_str(),
        "union": totals,
        "children": read.children.iter().map(|(u, f)| figures(u, f)).collect::<Vec<_>>(),
        "series": read.series.iter().map(|(start, f)| json!({"start": start, "counts": counts(f)})).collect::<Vec<_>>(),
        "groups": read.groups.iter().map(|(g, f, active)| json!({"group": g, "counts": counts(f), "active_members": active})).collect::<Vec<_>>(),
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Xlsx,
}

fn parse_quarterly(
    params: &QuarterlyParams,
    admin: &AdminIdentity,
    today: NaiveDate,
) -> Result<(UnionId, Quarter, Format), ApiError> {
    let current = Quarter::of(today);
    let quarter = Quarter::new(
        params.year.unwrap_or(current.year()),
        params.quarter.unwrap_or(current.quarter()),
    )
    .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "quarter"))?;
    let format = match params.format.as_deref().map(str::trim) {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some("xlsx") => Format::Xlsx,
        Some(_) => {
            return Err(ApiError::invalid(
                ErrorCode::InvalidReportFormat,
                "报表格式应为 json、csv 或 xlsx",
                "format",
            ));
        }
    };
    Ok((union_of(params.union, admin)?, quarter, format))
}

/// `GET /v1/admin/stats/quarterly`
pub async fn quarterly(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    params: web::Query<QuarterlyParams>,
) -> Result<HttpResponse, ApiError> {
    let today = zhijian_domain::calendar::local_date(state.services.now());
    let (union, quarter, format) = parse_quarterly(&params, &admin, today)?;
    let scope = admin.subtree().ok_or_else(ApiError::not_found)?;
    let snapshot_only = params.snapshot.unwrap_or(false);
    let report = quarterly_report(&state.services, scope, union, quarter, snapshot_only)
        .await
        .map_err(coverage_error)?;
    match format {
        Format::Json => Ok(HttpResponse::Ok().json(report_json(&report))),
        Format::Csv => Ok(download(
            &report,
            "csv",
            "text/csv; charset=utf-8",
            report_csv(&report),
        )),
        Format::Xlsx => {
            let body = report_xlsx(&report).map_err(ApiError::internal)?;
            let kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
            Ok(download(&report, "xlsx", kind, body))
        }
    }
}

fn download(
    report: &QuarterlyReport,
    ext: &str,
    kind: &'static str,
    body: Vec<u8>,
) -> HttpResponse {
    let name = format!(
        "new-members-{}-{}Q{}.{ext}",
        report.union.0,
        report.quarter.year(),
        report.quarter.quarter()
    );
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, kind))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body)
}

fn group_counts(rows: &[(String, i64)]) -> (Map<String, Value>, i64) {
    let mut map = Map::new();
    let mut total = 0;
    for group in OccupationGroup::ALL {
        let n = rows
            .iter()
            .filter(|(g, _)| g == group.as_str())
            .map(|(_, n)| *n)
            .sum::<i64>();
        total += n;
        map.insert(group.as_str().to_owned(), json!(n));
    }
    (map, total)
}

fn report_json(report: &QuarterlyReport) -> Value {
    let row = |id: i64, name: &str, rows: &[(String, i64)]| {
        let (by_group, total) = group_counts(rows);
        json!({"union": {"id": id, "name": name}, "by_group": by_group, "total": total})
    };
    json!({
        "year": report.quarter.year(),
        "quarter": report.quarter.quarter(),
        "from": report.quarter.first_day(),
        "to": report.quarter.last_day(),
        "source": if report.snapshot.is_some() { "snapshot" } else { "live" },
        "taken_at": report.snapshot,
        "subtree": row(report.union.0, &report.union.1, &report.total),
        "children": report.children.iter().map(|(id, name, rows)| row(*id, name, rows)).collect::<Vec<_>>(),
    })
}

/// The report as a table: a header, a row per child union, the subtree's total last.
fn report_table(report: &QuarterlyReport) -> Vec<Vec<String>> {
    let mut header = vec!["工会".to_owned()];
    header.extend(OccupationGroup::ALL.iter().map(|g| g.label_zh().to_owned()));
    header.push("合计".to_owned());
    let line = |name: String, rows: &[(String, i64)]| {
        let (by_group, total) = group_counts(rows);
        let mut cells = vec![name];
        cells.extend(by_group.values().map(ToString::to_string));
        cells.push(total.to_string());
        cells
    };
    let mut table = vec![header];
    for (_, name, rows) in &report.children {
        table.push(line(name.clone(), rows));
    }
    table.push(line(format!("{}（合计）", report.union.1), &report.total));
    table
}

fn report_csv(report: &QuarterlyReport) -> Vec<u8> {
    let quote = |cell: &str| {
        if cell.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", cell.replace('"', "\"\""))
        } else {
            cell.to_owned()
        }
    };
    let mut out = String::from("\u{feff}");
    for row in report_table(report) {
        out.push_str(&row.iter().map(|c| quote(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

fn report_xlsx(report: &QuarterlyReport) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(format!(
        "{}年第{}季度",
        report.quarter.year(),
        report.quarter.quarter()
    ))?;
    for (r, row) in report_table(report).iter().enumerate() {
        let r = u32::try_from(r).unwrap_or(u32::MAX);
        for (c, cell) in row.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            match cell.parse::<f64>() {
                Ok(n) if r > 0 && c > 0 => sheet.write_number(r, c, n)?,
                _ => sheet.write_string(r, c, cell)?,
            };
        }
    }
    book.save_to_buffer()
}
