//! The one error type of the API and its JSON envelope `{code, message, field?}`.
//!
//! Every error — ours, and actix's own (malformed JSON, wrong content type, body too large,
//! unknown route, wrong method) — leaves the server in this shape, through the one
//! [`ResponseError`] below. The code comes from the catalogue
//! ([`zhijian_domain::error_code::ErrorCode`]); its HTTP status is decided once, in
//! [`status::of`]. Use-case errors become an [`ApiError`] in [`mapping`], and only there. 5xx
//! bodies are generic; the cause goes to the log only.

pub mod mapping;
pub mod status;

#[cfg(test)]
mod contract;

use std::borrow::Cow;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::db::StoreError;
use zhijian_infra::redis::RedisUnavailable;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_UNAVAILABLE: u64 = 5;

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// Stable machine-readable code from the catalogue (`invalid_phone`, `not_found`, …).
    pub code: ErrorCode,
    /// A message a worker can read, in Chinese.
    pub message: Cow<'static, str>,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<Cow<'static, str>>,
}

/// An error answered to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    retry_after: Option<u64>,
    /// The rare extras (a challenge, more headers), boxed to keep the error small.
    extra: Option<Box<Extra>>,
}

/// What few errors carry besides their body: a `WWW-Authenticate` challenge, more headers.
#[derive(Debug, Clone, Default)]
struct Extra {
    challenge: Option<Cow<'static, str>>,
    headers: Vec<(&'static str, String)>,
}

impl ApiError {
    /// An error with its code and message; the status is the code's ([`status::of`]).
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status: status::of(code),
            body: ErrorBody {
                code,
                message: message.into(),
                field: None,
            },
            retry_after: None,
            extra: None,
        }
    }

    /// Names the request field at fault.
    pub fn with_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.body.field = Some(field.into());
        self
    }

    /// Adds a `WWW-Authenticate` challenge (RFC 6750 §3) to a 401.
    pub fn with_challenge(mut self, challenge: impl Into<Cow<'static, str>>) -> Self {
        self.extra.get_or_insert_default().challenge = Some(challenge.into());
        self
    }

    /// Adds a response header (the `RateLimit` headers of a 429).
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.extra
            .get_or_insert_default()
            .headers
            .push((name, value));
        self
    }

    /// Asks the client to retry after `seconds`.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 400 for a value that failed validation.
    pub fn invalid(
        code: ErrorCode,
        message: impl Into<Cow<'static, str>>,
        field: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(code, message).with_field(field)
    }

    /// 404: the object does not exist or is outside the caller's reach (never 403 with details).
    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "请求的内容不存在")
    }

    /// 503 with `Retry-After`: a dependency is down; nothing was lost, try again.
    pub fn unavailable() -> Self {
        Self::new(ErrorCode::ServiceUnavailable, "服务暂时不可用，请稍后重试")
            .with_retry_after(RETRY_AFTER_UNAVAILABLE)
    }

    /// 500: a bug. The cause is logged here and never sent to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        log::error!("internal error: {cause}");
        Self::new(ErrorCode::InternalError, "服务器内部错误，请稍后重试")
    }

    /// The code of the error (what the body says).
    pub fn code(&self) -> ErrorCode {
        self.body.code
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The envelope.
    pub fn body(&self) -> &ErrorBody {
        &self.body
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.body.code,
            self.body.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(seconds)));
        }
        if let Some(extra) = &self.extra {
            if let Some(challenge) = &extra.challenge
                && let Ok(value) = HeaderValue::from_str(challenge)
            {
                response.insert_header((header::WWW_AUTHENTICATE, value));
            }
            for (name, value) in &extra.headers {
                if let Ok(value) = HeaderValue::from_str(value) {
                    response.insert_header((*name, value));
                }
            }
        }
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        response.json(&self.body)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => {
                log::warn!("postgres unavailable: {cause}");
                ApiError::unavailable()
            }
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(constraint) => {
                log::warn!("unexpected conflict on {constraint}");
                ApiError::new(ErrorCode::Conflict, "数据已被修改，请刷新后重试")
            }
            StoreError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl From<RedisUnavailable> for ApiError {
    fn from(error: RedisUnavailable) -> Self {
        log::warn!("{error}");
        ApiError::unavailable()
    }
}

/// The envelope for a status produced by actix itself (no route, wrong method, …).
pub fn for_status(status: StatusCode) -> ApiError {
    let (code, message): (ErrorCode, &'static str) = match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "请求的内容不存在"),
        StatusCode::METHOD_NOT_ALLOWED => (ErrorCode::MethodNotAllowed, "不支持该请求方法"),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "请求内容过大"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::UnsupportedMediaType,
            "请求内容类型必须是 application/json",
        ),
        StatusCode::NOT_ACCEPTABLE => (ErrorCode::NotAcceptable, "无法提供所请求的格式"),
        StatusCode::UNAUTHORIZED => (ErrorCode::Unauthorized, "请先登录"),
        StatusCode::FORBIDDEN => (ErrorCode::Forbidden, "没有权限执行该操作"),
        StatusCode::REQUEST_TIMEOUT => (ErrorCode::RequestTimeout, "请求超时，请重试"),
        StatusCode::URI_TOO_LONG => (ErrorCode::UriTooLong, "请求地址过长"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (ErrorCode::HeadersTooLarge, "请求头过大"),
        StatusCode::SERVICE_UNAVAILABLE => {
            (ErrorCode::ServiceUnavailable, "服务暂时不可用，请稍后重试")
        }
        s if s.is_client_error() => (ErrorCode::BadRequest, "请求格式不正确"),
        _ => (ErrorCode::InternalError, "服务器内部错误，请稍后重试"),
    };
    let mut error = ApiError::new(code, message);
    error.status = status;
    error
}

/// Turns a serde_json error into the envelope, naming the field where serde does.
pub fn deserialize_error(e: &serde_json::Error) -> ApiError {
    let text = e.to_string();
    let field = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| {
            text.split_once(prefix)
                .and_then(|(_, rest)| rest.split_once('`'))
                .map(|(f, _)| f.to_owned())
        });
    match (e.classify(), field) {
        (serde_json::error::Category::Data, Some(field)) if text.starts_with("missing field") => {
            ApiError::invalid(ErrorCode::MissingField, "缺少必填项", field)
        }
        (serde_json::error::Category::Data, Some(field)) => {
            ApiError::invalid(ErrorCode::UnknownField, "包含不支持的字段", field)
        }
        (serde_json::error::Category::Data, None) => {
            ApiError::new(ErrorCode::InvalidField, "字段类型或取值不正确")
        }
        _ => ApiError::new(ErrorCode::MalformedJson, "请求内容不是有效的 JSON"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn every_error_is_the_json_envelope_with_its_status() {
        let cases = [
            (
                ApiError::from(StoreError::unavailable("down")),
                503,
                "service_unavailable",
            ),
            (ApiError::from(StoreError::NotFound), 404, "not_found"),
            (
                ApiError::from(StoreError::Conflict("x".into())),
                409,
                "conflict",
            ),
            (
                ApiError::from(StoreError::broken("boom")),
                500,
                "internal_error",
            ),
            (
                ApiError::from(RedisUnavailable("down".into())),
                503,
                "service_unavailable",
            ),
            (
                ApiError::invalid(ErrorCode::InvalidPhone, "手机号码格式不正确", "phone"),
                400,
                "invalid_phone",
            ),
            (
                for_status(StatusCode::METHOD_NOT_ALLOWED),
                405,
                "method_not_allowed",
            ),
            (
                for_status(StatusCode::PAYLOAD_TOO_LARGE),
                413,
                "payload_too_large",
            ),
            (
                for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
                415,
                "unsupported_media_type",
            ),
        ];
        for (error, status, code) in cases {
            let response = error.error_response();
            assert_eq!(response.status().as_u16(), status, "{code}");
            assert_eq!(
                response
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .map(|v| v.as_bytes()),
                Some(&b"application/json"[..])
            );
            if status == 503 {
                assert_eq!(
                    response
                        .headers()
                        .get(header::RETRY_AFTER)
                        .map(|v| v.as_bytes()),
                    Some(&b"5"[..])
                );
            }
            let body: serde_json::Value =
                serde_json::from_slice(&to_bytes(response.into_body()).await.unwrap()).unwrap();
            assert_eq!(body["code"], code);
            assert!(!body["message"].as_str().unwrap().is_empty());
        }
    }

    #[test]
    fn an_internal_error_never_shows_its_cause() {
        let error = ApiError::internal("secret table name");
        assert!(!error.body().message.contains("secret"));
    }
}
