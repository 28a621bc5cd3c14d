//! Membership and transfer use-case errors to HTTP.

use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::store::member_lifecycle::MembershipError;

use crate::error::ApiError;

/// Maps the membership and transfer use-case errors to HTTP.
pub fn membership_error(error: MembershipError) -> ApiError {
    match error {
        MembershipError::NotFound => ApiError::not_found(),
        MembershipError::NotAMember => {
            ApiError::new(ErrorCode::NotAMember, "您还不是工会会员，请先提交入会申请")
        }
        MembershipError::Forbidden { code, message } => ApiError::new(code, message),
        MembershipError::Conflict { code, message } => ApiError::new(code, message),
        MembershipError::Invalid {
            code,
            message,
            field: Some(field),
        } => ApiError::invalid(code, message, field),
        MembershipError::Invalid {
            code,
            message,
            field: None,
        } => ApiError::new(code, message),
        MembershipError::Store(e) => e.into(),
    }
}
