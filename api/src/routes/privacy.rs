//! Personal-information rights of the signed-in worker: `GET /v1/me/data` (PIPL art. 45) and
//! `POST /v1/me/cancel` (注销, PIPL art. 47).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::sign_in::WeChatCode;
use zhijian_infra::usecases::privacy::{self, CancelProof};

use crate::auth::{WorkerIdentity, context};
use crate::error::ApiError;
use crate::error::mapping::auth::invalid_wechat_code;
use crate::error::mapping::privacy::{cancel_error, give_consent_error, my_data_error};
use crate::startup::AppState;
use crate::views::privacy::{CancelledView, my_data_view, privacy_consent_view};
use zhijian_domain::privacy_consent::Purpose;

/// `GET /v1/me/data`: everything held about the worker (audited; `Cache-Control: no-store`).
pub async fn my_data(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
) -> Result<HttpResponse, ApiError> {
    let data = privacy::my_data(&state.services, worker.account_id)
        .await
        .map_err(my_data_error)?;
    Ok(HttpResponse::Ok().json(my_data_view(&data, state.services.now())?))
}

/// `GET /v1/me/privacy-consent`: the worker's consent to the privacy notice by purpose.
pub async fn get_privacy_consent(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
) -> Result<HttpResponse, ApiError> {
    let row = privacy::my_consent(&state.services, worker.account_id).await?;
    let current = &state.settings.privacy.notice_version;
    Ok(HttpResponse::Ok().json(privacy_consent_view(current, row.as_ref())))
}

/// Body of `PUT /v1/me/privacy-consent`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConsentRequest {
    /// The notice version the worker read (must be the current one).
    pub notice_version: String,
    /// Every purpose agreed; those left out are withdrawn.
    pub purposes: Vec<String>,
}

/// `PUT /v1/me/privacy-consent`: consent to the current notice for the listed purposes
/// (grants and withdrawals audited).
pub async fn put_privacy_consent(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    body: web::Json<PrivacyConsentRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let purposes = body
        .purposes
        .iter()
        .map(|p| Purpose::parse(p.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            ApiError::invalid(
                ErrorCode::InvalidField,
                "同意的用途不在隐私政策所列范围内",
                "purposes",
            )
        })?;
    let current = state.settings.privacy.notice_version.clone();
    let row = privacy::give_consent(
        &state.services,
        worker.account_id,
        current.clone(),
        body.notice_version.trim().to_owned(),
        purposes,
    )
    .await
    .map_err(give_consent_error)?;
    Ok(HttpResponse::Ok().json(privacy_consent_view(&current, Some(&row))))
}

/// Body of `POST /v1/me/cancel`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// `sms` (a `cancel` code sent to the account's phone) or `wechat` (a fresh `wx.login`
    /// code).
    pub method: String,
    /// The code.
    pub code: String,
}

impl CancelRequest {
    fn proof(&self) -> Result<CancelProof, ApiError> {
        match self.method.trim() {
            "sms" => Ok(CancelProof::Sms(self.code.clone())),
            "wechat" => Ok(CancelProof::WeChat(
                WeChatCode::parse(&self.code).map_err(invalid_wechat_code)?,
            )),
            _ => Err(ApiError::invalid(
                ErrorCode::InvalidField,
                "确认方式应为 sms 或 wechat",
                "method",
            )),
        }
    }
}

/// `POST /v1/me/cancel`: cancels the account; every session ends.
pub async fn cancel(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    body: web::Json<CancelRequest>,
) -> Result<HttpResponse, ApiError> {
    let proof = body.proof()?;
    let wechat = state.wechat.as_ref();
    let done = privacy::cancel_account(&context(&state), wechat, worker.account_id, proof)
        .await
        .map_err(cancel_error)?;
    Ok(HttpResponse::Ok().json(CancelledView::from(done)))
}
