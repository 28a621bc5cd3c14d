//! Admin-management errors to HTTP: the manager's routes (`/v1/admin/admins…`) and the
//! admin's own (`/v1/admin/me…`), and the gate of the admin extractor.
//!
//! Refusals: not a manager → 403 `forbidden`; a union or admin outside the subtree → 404;
//! disabling oneself → 409 `cannot_disable_self`; the last active manager of a union disabled,
//! demoted or moved away → 409 `last_active_manager`; a lost race → 409 `stale_version`; a
//! wrong current password → 400 `wrong_current_password` on `current_password` (counted toward
//! the lockout, which answers 429 `account_locked`).

use zhijian_domain::admin_management::ManageRefusal;
use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::usecases::admins::{
    ChangePasswordError, CreateAdminError, ManageAdminError, ReadAdminError,
};

use crate::error::ApiError;

/// 403 `password_change_required`: the admin signed in with a one-time password and may
/// only read their profile, change the password or sign out.
pub fn password_change_required() -> ApiError {
    ApiError::new(
        ErrorCode::PasswordChangeRequired,
        "请先修改初始密码（POST /v1/admin/me/password），再进行其他操作",
    )
}

/// A management rule's refusal. `field` names the request field a refused grant is about.
pub fn refusal(refusal: ManageRefusal) -> ApiError {
    match refusal {
        ManageRefusal::OutsideSubtree => ApiError::not_found(),
        ManageRefusal::AboveOwnRank | ManageRefusal::StationStaff => {
            ApiError::new(refusal.code(), refusal.to_string()).with_field("role")
        }
        other => ApiError::new(other.code(), other.to_string()),
    }
}

fn stale() -> ApiError {
    ApiError::new(ErrorCode::StaleVersion, "该账号已被他人修改，请刷新后重试")
}

impl From<CreateAdminError> for ApiError {
    fn from(error: CreateAdminError) -> Self {
        match error {
            CreateAdminError::Refused(r) => refusal(r),
            CreateAdminError::UnionNotFound | CreateAdminError::StationNotFound => {
                ApiError::not_found()
            }
            CreateAdminError::StationClosed => {
                ApiError::new(ErrorCode::StationClosed, "该站点已关闭，不能再设站点管理员")
            }
            CreateAdminError::UsernameTaken => {
                ApiError::new(ErrorCode::UsernameTaken, "该用户名已被使用，请换一个")
                    .with_field("username")
            }
            CreateAdminError::WeakPassword(e) => {
                ApiError::invalid(e.code(), e.to_string(), "password")
            }
            CreateAdminError::KeyReused(_) => crate::json::key_reused(),
            CreateAdminError::Store(e) => e.into(),
        }
    }
}

impl From<ManageAdminError> for ApiError {
    fn from(error: ManageAdminError) -> Self {
        match error {
            ManageAdminError::Refused(r) => refusal(r),
            ManageAdminError::NotFound => ApiError::not_found(),
            ManageAdminError::Stale => stale(),
            ManageAdminError::AlreadyDisabled => {
                ApiError::new(ErrorCode::AdminAlreadyDisabled, "该账号已停用")
            }
            ManageAdminError::NotDisabled => {
                ApiError::new(ErrorCode::AdminNotDisabled, "该账号未停用，无需启用")
            }
            ManageAdminError::Store(e) => e.into(),
        }
    }
}

impl From<ReadAdminError> for ApiError {
    fn from(error: ReadAdminError) -> Self {
        match error {
            ReadAdminError::Refused(r) => refusal(r),
            ReadAdminError::NotFound => ApiError::not_found(),
            ReadAdminError::Store(e) => e.into(),
        }
    }
}

impl From<ChangePasswordError> for ApiError {
    fn from(error: ChangePasswordError) -> Self {
        match error {
            ChangePasswordError::WrongCurrent => ApiError::invalid(
                ErrorCode::WrongCurrentPassword,
                "当前密码不正确",
                "current_password",
            ),
            ChangePasswordError::Locked { retry_after_secs } => ApiError::new(
                ErrorCode::AccountLocked,
                "密码错误次数过多，账号已暂时锁定，请稍后再试",
            )
            .with_retry_after(retry_after_secs),
            ChangePasswordError::Weak(e) => {
                ApiError::invalid(e.code(), e.to_string(), "new_password")
            }
            ChangePasswordError::NotFound => crate::error::mapping::auth::invalid_token(),
            ChangePasswordError::Store(e) => e.into(),
            ChangePasswordError::Redis(e) => e.into(),
        }
    }
}
