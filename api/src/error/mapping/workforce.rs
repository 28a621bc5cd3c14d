//! Workforce use-case errors to HTTP.

use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::usecases::workforce::{ImportWorkforceError, WorkforceError};

use crate::error::ApiError;

impl From<WorkforceError> for ApiError {
    fn from(error: WorkforceError) -> Self {
        match error {
            WorkforceError::Forbidden(e) => ApiError::new(ErrorCode::Forbidden, e.to_string()),
            WorkforceError::NotFound => ApiError::not_found(),
            WorkforceError::Duplicate(e) => ApiError::invalid(e.code(), e.to_string(), "groups"),
            WorkforceError::Stale(group) => ApiError::new(
                ErrorCode::StaleVersion,
                format!("{}的底数和目标已被他人修改，请刷新后重试", group.label_zh()),
            ),
            WorkforceError::Store(e) => e.into(),
        }
    }
}

impl From<ImportWorkforceError> for ApiError {
    fn from(error: ImportWorkforceError) -> Self {
        match error {
            ImportWorkforceError::Forbidden(e) => {
                ApiError::new(ErrorCode::Forbidden, e.to_string())
            }
            ImportWorkforceError::Rows(problems) => ApiError::new(
                ErrorCode::InvalidWorkforceCsv,
                format!("CSV 文件有 {} 处错误，未导入任何数据", problems.len()),
            ),
            ImportWorkforceError::Store(e) => e.into(),
        }
    }
}
