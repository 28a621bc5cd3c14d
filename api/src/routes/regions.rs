//! Region pickers: one region, and the regions directly under it.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::store::regions::RegionRow;
use zhijian_infra::usecases::reference;

use crate::error::ApiError;
use crate::startup::AppState;

/// A region as the pickers show it.
#[derive(Debug, Serialize)]
pub struct RegionView {
    /// Statistical code.
    pub code: String,
    /// Official name.
    pub name: String,
    /// `province`, `city`, `county`, `township` or `village`.
    pub level: &'static str,
    /// Code of the region one level up; absent for provinces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_code: Option<String>,
}

/// Body of `GET /v1/regions/{code}/children`.
#[derive(Debug, Serialize)]
pub struct RegionChildrenView {
    /// The region asked about.
    pub region: RegionView,
    /// Its children, ordered by code.
    pub items: Vec<RegionView>,
}

impl From<RegionRow> for RegionView {
    fn from(row: RegionRow) -> Self {
        let level = match row.level {
            1 => "province",
            2 => "city",
            3 => "county",
            4 => "township",
            _ => "village",
        };
        Self {
            code: row.code,
            name: row.name,
            level,
            parent_code: row.parent_code,
        }
    }
}

/// Parses the `{code}` path segment: 2, 4, 6, 9 or 12 digits.
fn parse_code(code: &str) -> Result<String, ApiError> {
    let valid_length = matches!(code.len(), 2 | 4 | 6 | 9 | 12);
    if valid_length && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err(ApiError::invalid(
            ErrorCode::InvalidRegionCode,
            "地区代码应为2、4、6、9或12位数字",
            "code",
        ))
    }
}

/// `GET /v1/regions/{code}`
pub async fn get_region(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = parse_code(&path)?;
    let row = reference::find_region(&state.services, code)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(RegionView::from(row)))
}

/// `GET /v1/regions/{code}/children`
pub async fn list_children(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = parse_code(&path)?;
    let (region, children) = reference::region_children(&state.services, code)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(RegionChildrenView {
        region: region.into(),
        items: children.into_iter().map(RegionView::from).collect(),
    }))
}
