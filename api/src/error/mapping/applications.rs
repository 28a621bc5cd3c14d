//! Application use-case errors to HTTP.

use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::store::applications::ApplicationError;

use crate::error::ApiError;

/// Maps the use-case errors to HTTP.
pub fn application_error(error: ApplicationError) -> ApiError {
    match error {
        ApplicationError::NotFound => ApiError::not_found(),
        ApplicationError::AlreadyMember => ApiError::new(
            ErrorCode::AlreadyMember,
            "您已是工会会员，无需重复入会；工作地变动请申请会籍转接",
        ),
        ApplicationError::OpenApplicationExists => ApiError::new(
            ErrorCode::ApplicationExists,
            "您已有一份正在办理的入会申请，请勿重复提交",
        ),
        ApplicationError::Conflict { code, message } => ApiError::new(code, message),
        ApplicationError::Invalid {
            code,
            message,
            field,
        } => ApiError::invalid(code, message, field),
        ApplicationError::Store(e) => e.into(),
    }
}
