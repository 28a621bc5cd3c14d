//! Same-day review statistics (当天审核率) of a union's subtree, with a row per child union to
//! drill down: decisions in a period of Beijing days, how many met their deadline, and what is
//! waiting (and overdue) now.

use actix_web::{HttpResponse, web};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::UnionId;
use zhijian_domain::notification::on_time_rate;
use zhijian_infra::store::review_stats::ReviewFigures;
use zhijian_infra::usecases::applications::review_stats;

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::error::mapping::stats_error;
use crate::startup::AppState;
use crate::views::application::UnionRef;

/// Longest period one request may cover.
const MAX_DAYS: i64 = 366;

/// Query of `GET /v1/admin/stats/review`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewStatsQuery {
    /// A union inside the admin's subtree (default: the admin's own union).
    pub union_id: Option<i64>,
    /// First day, `YYYY-MM-DD` (Beijing); default: the first day of `to`'s month.
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (Beijing), included; default: today.
    pub to: Option<String>,
}

/// The figures of one union's subtree.
#[derive(Debug, Serialize)]
pub struct ReviewFiguresView {
    /// The union.
    pub union: UnionRef,
    /// Approvals and rejections in the period.
    pub decided: i64,
    /// Of those, made no later than the deadline.
    pub decided_on_time: i64,
    /// `decided_on_time / decided`, four decimals; `null` when nothing was decided.
    pub on_time_rate: Option<f64>,
    /// Approved in the period.
    pub approved: i64,
    /// Rejected in the period.
    pub rejected: i64,
    /// Waiting for a decision now (pending review or pooled).
    pub pending: i64,
    /// Of those, past their deadline now.
    pub overdue: i64,
}

/// Answer of `GET /v1/admin/stats/review`.
#[derive(Debug, Serialize)]
pub struct ReviewStatsView {
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period (included).
    pub to: NaiveDate,
    /// The chosen union, over its whole subtree.
    pub union: ReviewFiguresView,
    /// Each child union, over its own subtree.
    pub children: Vec<ReviewFiguresView>,
}

fn view(figures: ReviewFigures) -> ReviewFiguresView {
    ReviewFiguresView {
        union: UnionRef {
            id: figures.union_id,
            name: figures.union_name,
        },
        decided: figures.decided,
        decided_on_time: figures.decided_on_time,
        on_time_rate: on_time_rate(figures.decided, figures.decided_on_time)
            .map(|rate| (rate * 10_000.0).round() / 10_000.0),
        approved: figures.approved,
        rejected: figures.rejected,
        pending: figures.pending,
        overdue: figures.overdue,
    }
}

fn day(value: Option<&str>, field: &'static str) -> Result<Option<NaiveDate>, ApiError> {
    value
        .map(|text| {
            // Years PostgreSQL's `date` and the statistics can hold; outside them chrono still
            // parses (`-5000-01-01`) and the database would refuse the value: a 500.
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .ok()
                .filter(|date| (2000..=2999).contains(&date.year()))
                .ok_or_else(|| {
                    ApiError::invalid(ErrorCode::InvalidDate, "日期格式应为 YYYY-MM-DD", field)
                })
        })
        .transpose()
}

/// The period of a query: `from..=to`, Beijing days, at most [`MAX_DAYS`].
fn period(query: &ReviewStatsQuery, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let to = day(query.to.as_deref(), "to")?.unwrap_or(today);
    let from = day(query.from.as_deref(), "from")?.unwrap_or_else(|| to.with_day(1).unwrap_or(to));
    if from > to {
        return Err(ApiError::invalid(
            ErrorCode::InvalidDateRange,
            "开始日期不能晚于结束日期",
            "from",
        ));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::invalid(
            ErrorCode::DateRangeTooLong,
            "统计区间不能超过366天",
            "from",
        ));
    }
    Ok((from, to))
}

/// The union asked about: the query's, or the admin's own.
fn union_of(query: &ReviewStatsQuery, admin: &AdminIdentity) -> Result<UnionId, ApiError> {
    match query.union_id {
        Some(id) if id < 1 => Err(ApiError::invalid(
            ErrorCode::InvalidUnionId,
            "工会编号不正确",
            "union_id",
        )),
        Some(id) => Ok(UnionId::new(id)),
        None => Ok(admin.union_id),
    }
}

/// `GET /v1/admin/stats/review`
pub async fn review(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    query: web::Query<ReviewStatsQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(review_figures(&state, &admin, &query).await?))
}

/// The figures of `GET /v1/admin/stats/review` (also the console's figures page).
pub(crate) async fn review_figures(
    state: &AppState,
    admin: &AdminIdentity,
    query: &ReviewStatsQuery,
) -> Result<ReviewStatsView, ApiError> {
    let today = zhijian_domain::calendar::local_date(state.services.now());
    let (from, to) = period(query, today)?;
    let union_id = union_of(query, admin)?;
    let Some(scope) = admin.subtree() else {
        return Err(ApiError::not_found());
    };
    let (own, children) = review_stats(&state.services, scope, union_id, from, to)
        .await
        .map_err(stats_error)?;
    Ok(ReviewStatsView {
        from,
        to,
        union: view(own),
        children: children.into_iter().map(view).collect(),
    })
}
