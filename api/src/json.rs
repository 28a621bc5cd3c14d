//! JSON bodies read by hand where the raw bytes matter (idempotency fingerprints), and the
//! `Idempotency-Key` header.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use actix_web::http::header;
use serde::de::DeserializeOwned;
use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::store::idempotency::IdempotencyKey;

use crate::error::{self, ApiError};

/// Parses a JSON body, answering actix-style envelope errors (415, 400 with the field).
pub fn parse_body<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(error::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    serde_json::from_slice(body).map_err(|e| error::deserialize_error(&e))
}

/// The `Idempotency-Key` header, if sent: 1–128 characters of `[A-Za-z0-9_-]`. The request is
/// fingerprinted by its canonical JSON, so key order and whitespace do not matter.
pub fn idempotency_key(
    req: &HttpRequest,
    scope: String,
    body: &[u8],
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| {
            !k.is_empty()
                && k.len() <= 128
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .ok_or_else(|| {
            ApiError::invalid(
                ErrorCode::InvalidIdempotencyKey,
                "Idempotency-Key 应为1至128位字母、数字、- 或 _",
                "Idempotency-Key",
            )
        })?;
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .map(|v| v.to_string().into_bytes())
        .unwrap_or_else(|_| body.to_vec());
    Ok(Some(IdempotencyKey::new(scope, key.to_owned(), &canonical)))
}

/// 422: the key was used before with a different request.
pub fn key_reused() -> ApiError {
    ApiError::new(
        ErrorCode::IdempotencyKeyReused,
        "该 Idempotency-Key 已用于内容不同的请求",
    )
    .with_field("Idempotency-Key")
}

/// The answer of an idempotent write: the first response (now or replayed), or 422 when the
/// key was used with a different request.
pub fn idempotent_response(
    outcome: Result<
        zhijian_infra::store::idempotency::Answer,
        zhijian_infra::store::idempotency::KeyReused,
    >,
) -> Result<actix_web::HttpResponse, ApiError> {
    match outcome {
        Ok((status, body)) => {
            let status = StatusCode::from_u16(status).map_err(ApiError::internal)?;
            Ok(actix_web::HttpResponse::build(status).json(body))
        }
        Err(_) => Err(key_reused()),
    }
}

/// An optional query parameter from a controlled vocabulary, naming `field` when it is not one
/// of the values.
pub fn optional_choice<T>(
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, zhijian_domain::vocab::UnknownValue>,
    field: &'static str,
) -> Result<Option<T>, ApiError> {
    value
        .map(parse)
        .transpose()
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), field))
}

/// A free-text reason (`Reason`) from the request field `field`.
pub fn reason(
    value: &str,
    field: &'static str,
) -> Result<zhijian_domain::reason::Reason, ApiError> {
    zhijian_domain::reason::Reason::parse(value)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), field))
}

/// An optional free-text reason: blank or absent is `None`.
pub fn optional_reason(
    value: Option<&str>,
    field: &'static str,
) -> Result<Option<zhijian_domain::reason::Reason>, ApiError> {
    zhijian_domain::reason::Reason::parse_optional(value)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), field))
}

/// The `{id}` of an application path.
pub fn application_id(path: &str) -> Result<zhijian_domain::ids::ApplicationId, ApiError> {
    zhijian_domain::ids::ApplicationId::parse(path).map_err(|_| {
        ApiError::invalid(
            zhijian_domain::error_code::ErrorCode::InvalidApplicationId,
            "申请编号格式不正确",
            "id",
        )
    })
}
