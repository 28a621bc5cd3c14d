//! Audit-trail reading errors to HTTP.

use zhijian_domain::audit::{InvalidTrailWord, MayNotReadTrail};
use zhijian_domain::error_code::ErrorCode;

use crate::error::ApiError;

/// 403 `forbidden`: reviewers do not read the trail.
pub fn may_not_read(error: MayNotReadTrail) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, error.to_string())
}

/// 400 `invalid_filter` on `field`.
pub fn invalid_filter(error: InvalidTrailWord, field: &'static str) -> ApiError {
    ApiError::invalid(ErrorCode::InvalidFilter, error.to_string(), field)
}

/// 400 `invalid_cursor`, field `cursor`.
pub fn invalid_cursor() -> ApiError {
    ApiError::invalid(
        ErrorCode::InvalidCursor,
        "分页游标无效，请从第一页重新查询",
        "cursor",
    )
}
