//! Working-day calendar errors to HTTP: a bad year in the path, a bad entry of a year's list
//! (named `days[i].date|kind|holiday` in a JSON body, `line[n].date|kind|holiday` in a CSV
//! file, `n` being the line of the file with the header as line 1), a refused or lost
//! replacement.

use zhijian_domain::calendar_year::{CalendarInputError, CalendarYearError, Position};
use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::usecases::calendar::ReplaceYearError;

use crate::error::ApiError;

/// 400 `invalid_calendar_year`, field `year`.
pub fn year_error(error: CalendarYearError) -> ApiError {
    ApiError::invalid(error.code(), error.to_string(), "year")
}

/// 400 with the entry, line or list at fault.
pub fn input_error(error: CalendarInputError) -> ApiError {
    let field = match &error {
        CalendarInputError::Empty => Some("days".to_owned()),
        CalendarInputError::NotUtf8 => None,
        CalendarInputError::Header => Some("line[1]".to_owned()),
        CalendarInputError::Row { line } => Some(format!("line[{line}]")),
        CalendarInputError::Day { at, problem } => Some(match at {
            Position::Item(i) => format!("days[{i}].{}", problem.column().as_str()),
            Position::Line(n) => format!("line[{n}].{}", problem.column().as_str()),
        }),
    };
    let api = ApiError::new(error.code(), error.to_string());
    match field {
        Some(field) => api.with_field(field),
        None => api,
    }
}

/// 400 `required` on `version`: a CSV body names the version it replaces in the query.
pub fn version_required() -> ApiError {
    ApiError::invalid(
        ErrorCode::Required,
        "上传 CSV 时请在查询参数 version 中填写读取到的版本号（未载入的年份为 0）",
        "version",
    )
}

/// 400 `invalid_query_parameter` on `version`: a JSON body carries its version itself.
pub fn version_in_query_with_json() -> ApiError {
    ApiError::invalid(
        ErrorCode::InvalidQueryParameter,
        "JSON 请求的版本号请填写在请求体的 version 中",
        "version",
    )
}

impl From<ReplaceYearError> for ApiError {
    fn from(error: ReplaceYearError) -> Self {
        match error {
            ReplaceYearError::Forbidden(e) => ApiError::new(e.code(), e.to_string()),
            ReplaceYearError::Stale => ApiError::new(
                ErrorCode::StaleVersion,
                "该年度工作日历已被他人修改，请刷新后重试",
            ),
            ReplaceYearError::Store(e) => e.into(),
        }
    }
}
