//! The partner routes (`/v1/partner/…`), each behind a partner token with its scope and the
//! client's rate limit ([`PartnerClient::require`]): consent requests, intake on a consenting
//! worker's behalf, reading the partner's own applications, member verification.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use serde::Deserialize;
use zhijian_domain::calendar::local_date;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::MemberId;
use zhijian_domain::partner::{PartnerOperation, PartnerUserId, Purposes};
use zhijian_domain::resident_id::ResidentId;
use zhijian_domain::text::PersonName;
use zhijian_infra::store::idempotency::IdempotencyKey;
use zhijian_infra::usecases::partners::{self, Verified};

use crate::card::{self, CardRejected};
use crate::error::ApiError;
use crate::error::mapping::partners::{intake_error, partner_read_error, verify_error};
use crate::json;
use crate::partner_auth::PartnerClient;
use crate::routes::applications::SubmitApplicationRequest;
use crate::startup::AppState;
use crate::views::partner::{
    MemberVerificationView, consent_request_view, partner_application_view,
};

fn user_id(value: &str) -> Result<PartnerUserId, ApiError> {
    PartnerUserId::parse(value)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "partner_user_id"))
}

/// `POST /v1/partner/consent-requests` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequestRequest {
    /// The partner's own id of its user.
    pub partner_user_id: String,
    /// What the consent is asked for.
    pub purposes: Vec<String>,
}

/// `POST /v1/partner/consent-requests`: a code and mini-program link for the partner's app.
pub async fn create_consent_request(
    state: web::Data<AppState>,
    partner: PartnerClient,
    body: web::Json<ConsentRequestRequest>,
) -> Result<HttpResponse, ApiError> {
    partner.require(PartnerOperation::ConsentRequest).await?;
    let user = user_id(&body.partner_user_id)?;
    let purposes = Purposes::parse(body.purposes.iter().map(String::as_str))
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "purposes"))?;
    let partners_config = &state.settings.partners;
    let ttl = Duration::seconds(
        i64::try_from(partners_config.consent_request_ttl_secs).map_err(ApiError::internal)?,
    );
    let row =
        partners::create_consent_request(&state.services, partner.client_id, user, purposes, ttl)
            .await?;
    Ok(HttpResponse::Created().json(consent_request_view(&row, &partners_config.consent_page)))
}

/// `POST /v1/partner/applications` body: the partner's id of the consenting worker and the
/// real-name form of `POST /v1/applications`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerSubmitRequest {
    /// The partner's id of the worker, as recorded by the worker's consent.
    pub partner_user_id: String,
    /// The form.
    pub form: SubmitApplicationRequest,
}

/// `POST /v1/partner/applications` (an `Idempotency-Key` is required).
pub async fn submit_application(
    state: web::Data<AppState>,
    partner: PartnerClient,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    partner.require(PartnerOperation::SubmitApplication).await?;
    let request: PartnerSubmitRequest = json::parse_body(&req, &body)?;
    let key: IdempotencyKey =
        json::idempotency_key(&req, format!("partner:{}", partner.client_id), &body)?.ok_or_else(
            || {
                ApiError::invalid(
                    ErrorCode::IdempotencyKeyRequired,
                    "代提交入会申请必须带 Idempotency-Key 请求头",
                    "Idempotency-Key",
                )
            },
        )?;
    let user = user_id(&request.partner_user_id)?;
    let submission = request.form.parse(local_date(state.services.now()))?;
    let render = |detail: &zhijian_infra::usecases::applications::ApplicationDetail| {
        Ok(serde_json::to_value(partner_application_view(
            &detail.row,
            &detail.union,
        ))?)
    };
    let submitted = partners::submit_for_partner(
        &state.services,
        partner.client_id,
        user,
        key,
        submission,
        render,
    )
    .await
    .map_err(intake_error)?;
    json::idempotent_response(Ok(submitted.into_answer()))
}

/// `GET /v1/partner/applications/{id}`: only the partner's own, only under live consent.
pub async fn get_application(
    state: web::Data<AppState>,
    partner: PartnerClient,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    partner.require(PartnerOperation::ReadApplication).await?;
    let id = json::application_id(&path)?;
    let (row, union) = partners::partner_application(&state.services, partner.client_id, id)
        .await
        .map_err(partner_read_error)?;
    Ok(HttpResponse::Ok().json(partner_application_view(&row, &union)))
}

/// `POST /v1/partner/members/verify` body: a card payload, or name + resident ID.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyMemberRequest {
    /// The scanned member card payload.
    #[serde(default)]
    pub payload: Option<String>,
    /// The name as on the ID card (with `resident_id`).
    #[serde(default)]
    pub name: Option<String>,
    /// The resident ID number (with `name`).
    #[serde(default)]
    pub resident_id: Option<String>,
}

fn verification(verified: Verified) -> MemberVerificationView {
    match verified {
        Verified::NotMember => MemberVerificationView {
            member: false,
            union_name: None,
            status: None,
            member_since: None,
        },
        Verified::Member {
            union_name,
            status,
            member_since,
        } => MemberVerificationView {
            member: status.is_current(),
            union_name: Some(union_name),
            status: Some(status.as_str().to_owned()),
            member_since: Some(member_since),
        },
    }
}

/// `POST /v1/partner/members/verify` (audited, rate-limited).
pub async fn verify_member(
    state: web::Data<AppState>,
    partner: PartnerClient,
    body: web::Json<VerifyMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    partner.require(PartnerOperation::VerifyMember).await?;
    let services = &state.services;
    let verified = match (&body.payload, &body.name, &body.resident_id) {
        (Some(payload), None, None) => {
            if payload.is_empty() || payload.len() > card::MAX_PAYLOAD_LEN {
                return Err(ApiError::invalid(
                    ErrorCode::InvalidCardPayload,
                    "会员卡二维码内容无效",
                    "payload",
                ));
            }
            match card::verify(&state.settings.card, payload, services.now()) {
                Ok(id) => {
                    partners::verify_member_by_card(
                        services,
                        partner.client_id,
                        MemberId::from_uuid(id),
                    )
                    .await?
                }
                Err(CardRejected::Invalid | CardRejected::Expired) => Verified::NotMember,
            }
        }
        (None, Some(name), Some(resident_id)) => {
            let name = PersonName::parse(name)
                .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "name"))?;
            let resident_id = ResidentId::parse(resident_id, local_date(services.now()))
                .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "resident_id"))?;
            partners::verify_member_by_identity(services, partner.client_id, name, resident_id)
                .await
                .map_err(verify_error)?
        }
        _ => {
            return Err(ApiError::invalid(
                ErrorCode::Required,
                "请提供会员卡二维码内容（payload），或姓名（name）与身份证号（resident_id）",
                "payload",
            ));
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"))
        .json(verification(verified)))
}
