//! Personal-information rights (my data, cancellation) errors to HTTP.

use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::privacy_consent::ConsentError;
use zhijian_infra::usecases::privacy::{CancelError, GiveConsentError, MyDataError};

use super::auth::{unauthorized, verify_error, wechat_error};
use crate::error::ApiError;

/// `GET /v1/me/data`.
pub fn my_data_error(error: MyDataError) -> ApiError {
    match error {
        MyDataError::AccountGone => unauthorized(),
        MyDataError::Store(e) => e.into(),
    }
}

/// `PUT /v1/me/privacy-consent`.
pub fn give_consent_error(error: GiveConsentError) -> ApiError {
    match error {
        GiveConsentError::Refused(ConsentError::OutdatedVersion { .. }) => ApiError::new(
            ErrorCode::NoticeVersionOutdated,
            "隐私政策已有新版本，请阅读最新版本后再同意",
        )
        .with_field("notice_version"),
        GiveConsentError::Refused(ConsentError::RequiredMissing(_)) => ApiError::invalid(
            ErrorCode::RequiredPurposeMissing,
            "入会与会籍管理是提供服务所必需的用途，不能撤回；如不再使用请注销账号",
            "purposes",
        ),
        GiveConsentError::Store(e) => e.into(),
    }
}

/// `POST /v1/me/cancel`.
pub fn cancel_error(error: CancelError) -> ApiError {
    match error {
        CancelError::AccountGone => unauthorized(),
        CancelError::ProofNotApplicable => ApiError::invalid(
            ErrorCode::ConfirmationRequired,
            "请用本账号绑定的手机号验证码或本人微信重新确认注销",
            "method",
        ),
        CancelError::Code(e) => verify_error(e),
        CancelError::WeChat(e) => wechat_error(e),
        CancelError::WrongWeChatUser => ApiError::new(
            ErrorCode::WechatIdentityMismatch,
            "微信确认的不是本账号的微信用户，无法注销",
        )
        .with_field("code"),
        CancelError::Stale => ApiError::new(ErrorCode::Conflict, "申请状态刚刚发生变化，请重试"),
        CancelError::Store(e) => e.into(),
        CancelError::Redis(e) => e.into(),
    }
}
