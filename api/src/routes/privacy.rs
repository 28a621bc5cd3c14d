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
use crate::error::mapping::privacy::{cancel_error, my_data_error};
use crate::startup::AppState;
use crate::views::privacy::{CancelledView, my_data_view};

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
