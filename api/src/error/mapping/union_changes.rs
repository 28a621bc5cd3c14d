//! Closing and moving unions: use-case errors to HTTP.

use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::usecases::unions::close::CloseError;
use zhijian_infra::usecases::unions::moving::MoveError;

use crate::error::ApiError;

fn stale() -> ApiError {
    ApiError::new(ErrorCode::StaleVersion, "该工会已被他人修改，请刷新后重试")
}

fn move_in_progress() -> ApiError {
    ApiError::new(
        ErrorCode::UnionMoveInProgress,
        "另一项工会隶属关系调整正在进行，请稍后重试",
    )
}

impl From<CloseError> for ApiError {
    fn from(error: CloseError) -> Self {
        match error {
            CloseError::Forbidden(e) => ApiError::new(e.code(), e.to_string()),
            CloseError::NotFound => ApiError::not_found(),
            CloseError::SuccessorNotFound => ApiError::not_found().with_field("successor_id"),
            CloseError::Stale => stale(),
            CloseError::Refused(e) => {
                let field = match e.code() {
                    ErrorCode::SuccessorInsideClosedUnion | ErrorCode::SuccessorRequired => {
                        Some("successor_id")
                    }
                    _ => None,
                };
                let error = ApiError::new(e.code(), e.to_string());
                match field {
                    Some(field) => error.with_field(field),
                    None => error,
                }
            }
            CloseError::TransferBetween => ApiError::new(
                ErrorCode::TransferInProgress,
                "该工会与承接工会之间有未办结的会籍转接，请先办结或撤回",
            ),
            CloseError::MoveInProgress => move_in_progress(),
            CloseError::Store(e) => e.into(),
        }
    }
}

impl From<MoveError> for ApiError {
    fn from(error: MoveError) -> Self {
        match error {
            MoveError::Forbidden(e) => ApiError::new(e.code(), e.to_string()),
            MoveError::NotFound => ApiError::not_found(),
            MoveError::ParentNotFound => ApiError::not_found().with_field("parent_id"),
            MoveError::Stale => stale(),
            MoveError::Refused(e) => {
                let error = ApiError::new(e.code(), e.to_string());
                if e.code() == ErrorCode::UnionIsRoot {
                    error
                } else {
                    error.with_field("parent_id")
                }
            }
            MoveError::MoveInProgress => move_in_progress(),
            MoveError::Store(e) => e.into(),
        }
    }
}
