//! A partner's webhook endpoints and delivery log (`webhooks:manage`):
//! `/v1/partner/webhooks/endpoints` (register — the `whsec_` secret shown once —, list, show,
//! rotate the secret with an overlap during which every message carries two signatures,
//! disable), `/v1/partner/webhooks/deliveries` and `…/{id}/redeliver`.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::partner::{PartnerOperation, SecretOverlap};
use zhijian_infra::usecases::partners::{self, WebhookEndpointError};
use zhijian_infra::webhooks::store::{Delivery, Endpoint, EndpointError, RedeliverError};

use crate::error::ApiError;
use crate::partner_auth::PartnerClient;
use crate::startup::AppState;

fn id_of(path: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(path)
        .map_err(|_| ApiError::invalid(ErrorCode::InvalidPathParameter, "编号格式不正确", "id"))
}

fn endpoint_error(error: WebhookEndpointError) -> ApiError {
    match error {
        WebhookEndpointError::Url(e) => ApiError::invalid(
            ErrorCode::WebhookUrlRefused,
            format!("推送地址不被接受（{}）：须为公网 https 地址", e.code()),
            "url",
        ),
        WebhookEndpointError::Endpoint(e) => match e {
            EndpointError::NotFound => ApiError::not_found(),
            EndpointError::Stale => {
                ApiError::new(ErrorCode::StaleVersion, "推送地址已被修改，请刷新后重试")
                    .with_field("version")
            }
            EndpointError::UnknownEventType(_) | EndpointError::NoEventTypes => {
                ApiError::invalid(ErrorCode::InvalidEventType, e.to_string(), "event_types")
            }
            EndpointError::Secret(cause) => ApiError::internal(cause),
            EndpointError::Store(e) => e.into(),
        },
    }
}

/// An endpoint as the partner sees it.
#[derive(Debug, Serialize)]
pub struct EndpointView {
    /// Id.
    pub id: Uuid,
    /// Where messages go.
    pub url: String,
    /// The event types it receives.
    pub event_types: Vec<String>,
    /// Disabled since.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Registered at.
    pub created_at: DateTime<Utc>,
    /// Version, to send back with a rotation.
    pub version: i32,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> Self {
        Self {
            id: e.id,
            url: e.url.clone(),
            event_types: e.event_types.clone(),
            disabled_at: e.disabled_at,
            created_at: e.created_at,
            version: e.version,
        }
    }
}

/// An endpoint with its signing secret, shown once.
#[derive(Serialize)]
pub struct EndpointSecretView {
    /// The endpoint.
    pub endpoint: EndpointView,
    /// `whsec_…` (Standard Webhooks).
    pub secret: String,
}

fn no_store(status: actix_web::http::StatusCode) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"));
    response
}

/// `POST /v1/partner/webhooks/endpoints` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointRequest {
    /// `https://…` on a public address.
    pub url: String,
    /// Event types to receive.
    pub event_types: Vec<String>,
}

/// `POST /v1/partner/webhooks/endpoints`
pub async fn create_endpoint(
    state: web::Data<AppState>,
    partner: PartnerClient,
    body: web::Json<CreateEndpointRequest>,
) -> Result<HttpResponse, ApiError> {
    partner.require(PartnerOperation::Webhooks).await?;
    let body = body.into_inner();
    let (endpoint, secret) = partners::create_webhook_endpoint(
        &state.services,
        partner.client_id,
        body.url,
        body.event_types,
        state.settings.webhooks.policy(),
    )
    .await
    .map_err(endpoint_error)?;
    Ok(
        no_store(actix_web::http::StatusCode::CREATED).json(EndpointSecretView {
            endpoint: EndpointView::from(&endpoint),
            secret: secret.expose(),
        }),
    )
}

/// `GET /v1/partner/webhooks/endpoints`
pub async fn list_endpoints(
    state: web::Data<AppState>,
    partner: PartnerClient,
) -> Result<HttpResponse, ApiError> {
    partner.require(PartnerOperation::Webhooks).await?;
    let endpoints = partners::list_webhook_endpoints(&state.services, partner.client_id).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": endpoints.iter().map(EndpointView::from).collect::<Vec<_>>()
    })))
}

/// `GET /v1/partner/webhooks/endpoints/{id}`
pub async fn get_endpoint(
    state: web::Data<AppState>,
    partner: PartnerClient,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    partner.require(PartnerOperation::Webhooks).await?;
    let endpoint =
        partners::get_webhook_endpoint(&state.services, partner.client_id, id_of(&path)?)
            .await
            .map_err(endpoint_error)?;
    Ok(HttpResponse::Ok().json(EndpointView::from(&endpoint)))
}

/// `POST /v1/partner/webhooks/endpoints/{id}/rotate-secret` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateEndpointSecretRequest {
    /// The version read.
    pub version: i32,
    /// How long the previous secret keeps signing (0 – 604800 seconds).
    pub overlap_secs: i64,
}

/// `POST /v1/partner/webhooks/endpoints/{id}/rotate-secret`
pub async fn rotate_secret(
    state: web::Data<AppState>,
    partner: PartnerClient,
    path: web::Path<String>,
    body: web::Json<RotateEndpointSecretRequest>,
) -> Result<HttpResponse, ApiError> {
    partner.require(PartnerOperation::Webhooks).await?;
    SecretOverlap::from_secs(body.overlap_secs)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "overlap_secs"))?;
    let (endpoint, secret) = partners::rotate_webhook_secret(
        &state.services,
        partner.client_id,
        id_of(&path)?,
        body.version,
        Duration::seconds(body.overlap_secs),
    )
    .await
    .map_err(endpoint_error)?;
    Ok(
        no_store(actix_web::http::StatusCode::OK).json(EndpointSecretView {
            endpoint: EndpointView::from(&endpoint),
            secret: secret.expose(),
        }),
    )
}

/// `POST /v1/partner/webhooks/endpoints/{id}/disable`
pub async fn disable_endpoint(
    state: web::Data<AppState>,
    partner: PartnerClient,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    partner.require(PartnerOperation::Webhooks).await?;
    let endpoint =
        partners::disable_webhook_endpoint(&state.services, partner.client_id, id_of(&path)?)
            .await
            .map_err(endpoint_error)?;
    Ok(HttpResponse::Ok().json(EndpointView::from(&endpoint)))
}

/// A delivery in the log.
#[derive(Debug, Serialize)]
pub struct DeliveryView {
    /// Id.
    pub id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// `webhook-id`.
    pub msg_id: String,
    /// Event type.
    pub event_type: String,
    /// Attempts made.
    pub attempt: i32,
    /// `pending`, `delivered`, `failed`, `dead`.
    pub status: String,
    /// The receiver's last status code.
    pub response_code: Option<i32>,
    /// The last error class.
    pub error: Option<String>,
    /// Queued at.
    pub created_at: DateTime<Utc>,
    /// Delivered at.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Next attempt at.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        Self {
            id: d.id,
            endpoint_id: d.endpoint_id,
            msg_id: d.msg_id.clone(),
            event_type: d.event_type.clone(),
            attempt: d.attempt,
            status: d.status.clone(),
            response_code: d.response_code,
            error: d.error.clone(),
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            next_attempt_at: d.next_attempt_at,
        }
    }
}

/// `GET /v1/partner/webhooks/deliveries` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// One endpoint's only.
    #[serde(default)]
    pub endpoint_id: Option<Uuid>,
    /// Rows created before this instant (the last row's `created_at` of the previous page).
    #[serde(default)]
    pub before: Option<DateTime<Utc>>,
    /// At most this many (1–200, default 50).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `GET /v1/partner/webhooks/deliveries`
pub async fn list_deliveries(
    state: web::Data<AppState>,
    partner: PartnerClient,
    query: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse, ApiError> {
    partner.require(PartnerOperation::Webhooks).await?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid(
            ErrorCode::InvalidField,
            "limit 应为1至200",
            "limit",
        ));
    }
    let rows = partners::list_webhook_deliveries(
        &state.services,
        partner.client_id,
        query.endpoint_id,
        query.before,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": rows.iter().map(DeliveryView::from).collect::<Vec<_>>()
    })))
}

/// `POST /v1/partner/webhooks/deliveries/{id}/redeliver`
pub async fn redeliver(
    state: web::Data<AppState>,
    partner: PartnerClient,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    partner.require(PartnerOperation::Webhooks).await?;
    let delivery = partners::redeliver_webhook(&state.services, partner.client_id, id_of(&path)?)
        .await
        .map_err(|e| match e {
            RedeliverError::NotFound => ApiError::not_found(),
            RedeliverError::Pending => ApiError::new(
                ErrorCode::WebhookDeliveryPending,
                "该消息仍在投递中，无需重新投递",
            ),
            RedeliverError::EndpointDisabled => {
                ApiError::new(ErrorCode::WebhookEndpointDisabled, "该推送地址已停用")
            }
            RedeliverError::Store(e) => e.into(),
        })?;
    Ok(HttpResponse::Accepted().json(DeliveryView::from(&delivery)))
}
