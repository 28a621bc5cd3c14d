//! The worker's consents to partner platforms (PIPL art. 23): grant (from a partner's request,
//! one tap, or directly to a named partner), list, withdraw (`/v1/me/consents`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::partner::{ConsentRequestCode, Purposes};
use zhijian_domain::text::PrivacyNoticeVersion;
use zhijian_infra::usecases::partners::{self, ConsentView, GrantTarget};

use crate::auth::WorkerIdentity;
use crate::error::ApiError;
use crate::error::mapping::partners::{grant_error, withdraw_consent_error};
use crate::startup::AppState;
use crate::views::partner::{PartnerConsentView, consent_view};

/// `POST /v1/me/consents` body: a request's code, or a partner and purposes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantConsentRequest {
    /// The code of the partner's consent request (the mini-program `scene`).
    #[serde(default)]
    pub request_code: Option<String>,
    /// The partner, when granting without a request.
    #[serde(default)]
    pub partner_id: Option<String>,
    /// The purposes, when granting without a request.
    #[serde(default)]
    pub purposes: Option<Vec<String>>,
    /// The version of the partner-sharing notice the worker read.
    pub notice_version: String,
}

impl GrantConsentRequest {
    fn target(&self) -> Result<GrantTarget, ApiError> {
        match (&self.request_code, &self.partner_id, &self.purposes) {
            (Some(code), None, None) => Ok(GrantTarget::Request(
                ConsentRequestCode::parse(code)
                    .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "request_code"))?,
            )),
            (None, Some(partner), Some(purposes)) => Ok(GrantTarget::Client {
                client_id: Uuid::parse_str(partner).map_err(|_| {
                    ApiError::invalid(
                        ErrorCode::InvalidField,
                        "合作平台编号格式不正确",
                        "partner_id",
                    )
                })?,
                purposes: Purposes::parse(purposes.iter().map(String::as_str))
                    .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "purposes"))?,
            }),
            _ => Err(ApiError::invalid(
                ErrorCode::Required,
                "请提供授权请求码（request_code），或合作平台（partner_id）与用途（purposes）",
                "request_code",
            )),
        }
    }
}

fn view(consent: &ConsentView) -> PartnerConsentView {
    consent_view(&consent.consent, &consent.partner_name)
}

/// `POST /v1/me/consents`
pub async fn grant(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    body: web::Json<GrantConsentRequest>,
) -> Result<HttpResponse, ApiError> {
    let target = body.target()?;
    let notice = PrivacyNoticeVersion::parse(&body.notice_version)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "notice_version"))?;
    let granted = partners::grant_consent(&state.services, worker.account_id, target, notice)
        .await
        .map_err(grant_error)?;
    Ok(HttpResponse::Created().json(view(&granted)))
}

/// Body of `GET /v1/me/consents`.
#[derive(Debug, serde::Serialize)]
pub struct ConsentList {
    /// Newest first, live and withdrawn.
    pub items: Vec<PartnerConsentView>,
}

/// `GET /v1/me/consents`
pub async fn list(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
) -> Result<HttpResponse, ApiError> {
    let consents = partners::list_consents(&state.services, worker.account_id).await?;
    Ok(HttpResponse::Ok().json(ConsentList {
        items: consents.iter().map(view).collect(),
    }))
}

/// `POST /v1/me/consents/{id}/withdraw`: in force at once.
pub async fn withdraw(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = Uuid::parse_str(&path).map_err(|_| {
        ApiError::invalid(ErrorCode::InvalidPathParameter, "授权编号格式不正确", "id")
    })?;
    let withdrawn = partners::withdraw_consent(&state.services, worker.account_id, id)
        .await
        .map_err(withdraw_consent_error)?;
    Ok(HttpResponse::Ok().json(view(&withdrawn)))
}
