//! Second-factor use-case errors to HTTP: enrolment, removal, the second step of an admin's
//! sign-in, and the gate of managers without a factor.
//!
//! A wrong, replayed or malformed code is a 400 naming its field (`code` or `recovery_code`),
//! like a wrong SMS code; the sign-in challenge that is unknown, expired or spent is a 401
//! (`invalid_login_challenge`: sign in with the password again); a lock is 429
//! `account_locked` with `Retry-After`, exactly as at the password step.

use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::second_factor::{InvalidRecoveryCode, InvalidTotpCode};
use zhijian_infra::usecases::auth::{
    ConfirmEnrolmentError, RemoveSecondFactorError, SecondStepError, StartEnrolmentError,
};

use crate::error::ApiError;
use crate::error::mapping::auth::unauthorized;

/// The challenge of a 401 at the second step.
const CHALLENGE: &str = r#"Bearer realm="zhijian""#;

/// 403 `second_factor_required`: a manager without a confirmed factor may only enrol.
pub fn second_factor_required() -> ApiError {
    ApiError::new(
        ErrorCode::SecondFactorRequired,
        "管理员须先绑定双重验证（身份验证器应用），完成后才能使用其他功能",
    )
}

/// 400 `invalid_totp_code`, field `code`: not six digits.
pub fn invalid_totp_code(_: InvalidTotpCode) -> ApiError {
    ApiError::invalid(ErrorCode::InvalidTotpCode, "验证码应为 6 位数字", "code")
}

/// 400 `invalid_recovery_code`, field `recovery_code`: not a recovery code's shape.
pub fn invalid_recovery_code(_: InvalidRecoveryCode) -> ApiError {
    ApiError::invalid(
        ErrorCode::InvalidRecoveryCode,
        "恢复码格式不正确",
        "recovery_code",
    )
}

/// 400 `required`: neither a code nor a recovery code.
pub fn proof_required() -> ApiError {
    ApiError::invalid(
        ErrorCode::Required,
        "请填写身份验证器上的验证码，或一个恢复码",
        "code",
    )
}

/// 400 `invalid_field`: both a code and a recovery code.
pub fn one_proof_only() -> ApiError {
    ApiError::invalid(
        ErrorCode::InvalidField,
        "验证码和恢复码只需填写一个",
        "recovery_code",
    )
}

fn wrong_code() -> ApiError {
    ApiError::invalid(ErrorCode::InvalidTotpCode, "验证码不正确", "code")
}

fn code_reused() -> ApiError {
    ApiError::invalid(
        ErrorCode::TotpCodeReused,
        "该验证码已使用过，请等待身份验证器显示下一个验证码",
        "code",
    )
}

/// 429 `account_locked` with `Retry-After`, as at the password step.
fn locked(retry_after_secs: u64) -> ApiError {
    ApiError::new(
        ErrorCode::AccountLocked,
        "登录失败次数过多，账号已暂时锁定，请稍后再试",
    )
    .with_retry_after(retry_after_secs)
}

fn already_enrolled() -> ApiError {
    ApiError::new(
        ErrorCode::SecondFactorAlreadyEnrolled,
        "已绑定双重验证，无需重复绑定",
    )
}

/// `POST /v1/admin/me/second-factor`.
pub fn start_enrolment_error(error: StartEnrolmentError) -> ApiError {
    match error {
        StartEnrolmentError::AlreadyEnrolled => already_enrolled(),
        StartEnrolmentError::AdminGone => unauthorized(),
        StartEnrolmentError::Store(e) => e.into(),
    }
}

/// `POST /v1/admin/me/second-factor/confirm`.
pub fn confirm_enrolment_error(error: ConfirmEnrolmentError) -> ApiError {
    match error {
        ConfirmEnrolmentError::NotStarted => ApiError::new(
            ErrorCode::SecondFactorNotEnrolled,
            "请先开始绑定双重验证，再输入验证码确认",
        ),
        ConfirmEnrolmentError::AlreadyEnrolled => already_enrolled(),
        ConfirmEnrolmentError::WrongCode => wrong_code(),
        ConfirmEnrolmentError::AdminGone => unauthorized(),
        ConfirmEnrolmentError::Store(e) => e.into(),
    }
}

/// `DELETE /v1/admin/me/second-factor`.
pub fn remove_error(error: RemoveSecondFactorError) -> ApiError {
    match error {
        RemoveSecondFactorError::NotEnrolled => {
            ApiError::new(ErrorCode::SecondFactorNotEnrolled, "尚未绑定双重验证")
        }
        RemoveSecondFactorError::Mandatory => {
            ApiError::new(ErrorCode::Forbidden, "管理员必须使用双重验证，不能解除绑定")
        }
        RemoveSecondFactorError::WrongCode => wrong_code(),
        RemoveSecondFactorError::CodeReused => code_reused(),
        RemoveSecondFactorError::Locked { retry_after_secs } => locked(retry_after_secs),
        RemoveSecondFactorError::AdminGone => unauthorized(),
        RemoveSecondFactorError::Store(e) => e.into(),
    }
}

/// `POST /v1/admin/auth/second-factor`.
pub fn second_step_error(error: SecondStepError) -> ApiError {
    match error {
        SecondStepError::InvalidChallenge => ApiError::new(
            ErrorCode::InvalidLoginChallenge,
            "登录验证已过期或已使用，请重新输入用户名和密码",
        )
        .with_challenge(CHALLENGE),
        SecondStepError::WrongCode => wrong_code(),
        SecondStepError::CodeReused => code_reused(),
        SecondStepError::WrongRecoveryCode => ApiError::invalid(
            ErrorCode::InvalidRecoveryCode,
            "恢复码不正确或已使用",
            "recovery_code",
        ),
        SecondStepError::Locked { retry_after_secs } => locked(retry_after_secs),
        SecondStepError::Store(e) => e.into(),
        SecondStepError::Redis(e) => e.into(),
    }
}
