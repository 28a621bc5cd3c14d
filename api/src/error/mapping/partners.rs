//! Partner use-case errors to HTTP.

use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::usecases::partners::{
    ClientError, GrantError, IntakeError, PartnerReadError, VerifyError, WithdrawConsentError,
};

use super::submit_error;
use crate::error::ApiError;

/// The admin routes of partner clients.
pub fn client_error(error: ClientError) -> ApiError {
    match error {
        ClientError::NotAllowed => ApiError::new(
            ErrorCode::Forbidden,
            "只有根工会（省级总工会）的管理员可以管理合作平台",
        ),
        ClientError::NotFound => ApiError::not_found(),
        ClientError::Stale => ApiError::new(
            ErrorCode::StaleVersion,
            "合作平台信息已被他人修改，请刷新后重试",
        )
        .with_field("version"),
        ClientError::State(e) => ApiError::new(e.code(), e.to_string()),
        ClientError::Store(e) => e.into(),
    }
}

/// `POST /v1/me/consents`.
pub fn grant_error(error: GrantError) -> ApiError {
    match error {
        GrantError::NotFound => ApiError::not_found(),
        GrantError::RequestExpired => ApiError::new(
            ErrorCode::ConsentRequestExpired,
            "该授权请求已使用或已过期，请回到合作平台重新发起",
        )
        .with_field("request_code"),
        GrantError::UserIdTaken => {
            ApiError::new(ErrorCode::Conflict, "合作平台的该用户已由其他账号授权")
        }
        GrantError::Store(e) => e.into(),
    }
}

/// `POST /v1/me/consents/{id}/withdraw`.
pub fn withdraw_consent_error(error: WithdrawConsentError) -> ApiError {
    match error {
        WithdrawConsentError::NotFound => ApiError::not_found(),
        WithdrawConsentError::Store(e) => e.into(),
    }
}

/// `POST /v1/partner/applications`: without a live consent, as if the worker did not exist.
pub fn intake_error(error: IntakeError) -> ApiError {
    match error {
        IntakeError::NoConsent => ApiError::not_found(),
        IntakeError::Submit(e) => submit_error(e),
    }
}

/// `GET /v1/partner/applications/{id}`.
pub fn partner_read_error(error: PartnerReadError) -> ApiError {
    match error {
        PartnerReadError::NotFound => ApiError::not_found(),
        PartnerReadError::Store(e) => e.into(),
    }
}

/// `POST /v1/partner/members/verify`.
pub fn verify_error(error: VerifyError) -> ApiError {
    match error {
        VerifyError::NotFound => ApiError::not_found(),
        VerifyError::Store(e) => e.into(),
    }
}
