//! Sign-in use-case errors to HTTP.
//!
//! Every 401 of the sign-in routes and of the token extractors carries a `WWW-Authenticate:
//! Bearer` challenge (RFC 6750 §3); a token that was presented and refused says
//! `error="invalid_token"`. Every 429 and 503 carries `Retry-After`.

use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::phone::PhoneNumberError;
use zhijian_domain::ports::{SmsError, WeChatError};
use zhijian_domain::sign_in::InvalidWeChatCode;
use zhijian_infra::redis::RedisUnavailable;
use zhijian_infra::redis::sessions::RefreshError;
use zhijian_infra::redis::sms_codes::{IssueError, VerifyError};
use zhijian_infra::usecases::auth::{
    AdminLoginError, BindPhoneError, MeError, PhoneLoginError, SendCodeError, WeChatLoginError,
};

use crate::error::ApiError;

/// The challenge of a 401 without (or before looking at) a token.
const CHALLENGE: &str = r#"Bearer realm="zhijian""#;
/// The challenge of a 401 for a token that was presented and refused.
const INVALID_TOKEN_CHALLENGE: &str = r#"Bearer realm="zhijian", error="invalid_token""#;

/// 401: the request carries no `Authorization: Bearer` header.
pub fn missing_token() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "请先登录").with_challenge(CHALLENGE)
}

/// 401: the token is invalid, expired, of the other kind, or of an ended session.
pub fn invalid_token() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "请先登录").with_challenge(INVALID_TOKEN_CHALLENGE)
}

/// 401 `unauthorized` of a sign-in route (the account is gone, or a `bind_phone` code asked
/// for without a token).
pub fn unauthorized() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "请先登录").with_challenge(CHALLENGE)
}

/// 400 `invalid_wechat_code`, field `code`.
pub fn invalid_wechat_code(_: InvalidWeChatCode) -> ApiError {
    ApiError::invalid(
        ErrorCode::InvalidWechatCode,
        "微信授权凭证无效，请重试",
        "code",
    )
}

/// 400 `invalid_phone`, field `phone`.
pub fn invalid_phone(error: PhoneNumberError) -> ApiError {
    ApiError::invalid(ErrorCode::InvalidPhone, error.to_string(), "phone")
}

/// 400 `invalid_sms_purpose`, field `purpose`.
pub fn invalid_sms_purpose() -> ApiError {
    ApiError::invalid(ErrorCode::InvalidSmsPurpose, "验证码用途不正确", "purpose")
}

/// `POST /v1/auth/wechat`.
pub fn wechat_login_error(error: WeChatLoginError) -> ApiError {
    match error {
        WeChatLoginError::WeChat(e) => wechat_error(e),
        WeChatLoginError::Store(e) => e.into(),
        WeChatLoginError::Redis(e) => e.into(),
    }
}

/// `POST /v1/auth/sms-codes`.
pub fn send_code_error(error: SendCodeError) -> ApiError {
    match error {
        SendCodeError::SignInRequired => unauthorized(),
        SendCodeError::Issue(e) => issue_error(e),
    }
}

/// `POST /v1/auth/phone`.
pub fn phone_login_error(error: PhoneLoginError) -> ApiError {
    match error {
        PhoneLoginError::Code(e) => verify_error(e),
        PhoneLoginError::Store(e) => e.into(),
        PhoneLoginError::Redis(e) => e.into(),
    }
}

/// `POST /v1/auth/wechat-phone` and `POST /v1/me/phone`.
pub fn bind_phone_error(error: BindPhoneError) -> ApiError {
    match error {
        BindPhoneError::WeChat(e) => wechat_error(e),
        BindPhoneError::NotMainland => not_mainland(),
        BindPhoneError::Code(e) => verify_error(e),
        BindPhoneError::PhoneTaken => {
            ApiError::new(ErrorCode::PhoneTaken, "该手机号已绑定其他账号")
        }
        BindPhoneError::AccountGone => unauthorized(),
        BindPhoneError::Store(e) => e.into(),
    }
}

/// `GET /v1/me`.
pub fn me_error(error: MeError) -> ApiError {
    match error {
        MeError::AccountGone => unauthorized(),
        MeError::Store(e) => e.into(),
    }
}

/// `POST /v1/auth/refresh`.
pub fn refresh_error(error: RefreshError) -> ApiError {
    match error {
        RefreshError::Invalid => {
            ApiError::new(ErrorCode::InvalidRefreshToken, "登录已失效，请重新登录")
                .with_challenge(CHALLENGE)
        }
        RefreshError::Reused { .. } => ApiError::new(
            ErrorCode::RefreshTokenReused,
            "登录凭证已被使用过，为保护账号安全已退出登录，请重新登录",
        )
        .with_challenge(CHALLENGE),
        RefreshError::Redis(e) => e.into(),
    }
}

/// `POST /v1/admin/auth/login`.
pub fn admin_login_error(error: AdminLoginError) -> ApiError {
    match error {
        AdminLoginError::InvalidCredentials => {
            ApiError::new(ErrorCode::InvalidCredentials, "用户名或密码不正确")
                .with_challenge(CHALLENGE)
        }
        AdminLoginError::Locked { retry_after_secs } => ApiError::new(
            ErrorCode::AccountLocked,
            "登录失败次数过多，账号已暂时锁定，请稍后再试",
        )
        .with_retry_after(retry_after_secs),
        AdminLoginError::Store(e) => e.into(),
        AdminLoginError::Redis(e) => e.into(),
    }
}

/// Redis down while signing out: 503.
pub fn logout_error(error: RedisUnavailable) -> ApiError {
    error.into()
}

fn too_many_requests(seconds: u64, message: &'static str) -> ApiError {
    ApiError::new(ErrorCode::TooManyRequests, message).with_retry_after(seconds)
}

fn not_mainland() -> ApiError {
    ApiError::invalid(ErrorCode::InvalidPhone, "仅支持中国大陆手机号", "code")
}

pub(crate) fn wechat_error(error: WeChatError) -> ApiError {
    match error {
        WeChatError::InvalidCode => ApiError::invalid(
            ErrorCode::InvalidWechatCode,
            "微信授权凭证无效或已使用，请重试",
            "code",
        ),
        WeChatError::UserBlocked => ApiError::new(
            ErrorCode::WechatUserBlocked,
            "微信账号存在风险，暂时无法登录",
        ),
        WeChatError::RateLimited => too_many_requests(60, "微信服务繁忙，请稍后再试"),
        // The adapter's answer for a verified phone outside the mainland.
        WeChatError::Other { code: 0, .. } => not_mainland(),
        other => {
            log::warn!("wechat: {other}");
            ApiError::unavailable()
        }
    }
}

fn issue_error(error: IssueError) -> ApiError {
    match error {
        IssueError::Limited { retry_after_secs } => {
            too_many_requests(retry_after_secs, "验证码发送过于频繁，请稍后再试")
        }
        IssueError::Sms(SmsError::RateLimited) => {
            too_many_requests(60, "验证码发送过于频繁，请稍后再试")
        }
        IssueError::Sms(SmsError::InvalidNumber) => {
            ApiError::invalid(ErrorCode::InvalidPhone, "手机号码无效", "phone")
        }
        IssueError::Sms(SmsError::Blacklisted) => ApiError::invalid(
            ErrorCode::PhoneUnreachable,
            "该号码无法接收短信，请使用其他号码",
            "phone",
        ),
        IssueError::Sms(SmsError::Unavailable(cause)) => {
            log::warn!("sms: verification code not sent: {cause}");
            ApiError::unavailable()
        }
        IssueError::Redis(e) => e.into(),
    }
}

pub(crate) fn verify_error(error: VerifyError) -> ApiError {
    match error {
        VerifyError::Wrong { .. } => {
            ApiError::invalid(ErrorCode::InvalidSmsCode, "验证码不正确", "code")
        }
        VerifyError::Expired { voided: true } => ApiError::invalid(
            ErrorCode::SmsCodeExpired,
            "验证码错误次数过多，已失效，请重新获取",
            "code",
        ),
        VerifyError::Expired { voided: false } => ApiError::invalid(
            ErrorCode::SmsCodeExpired,
            "验证码已失效，请重新获取",
            "code",
        ),
        VerifyError::Redis(e) => e.into(),
    }
}
