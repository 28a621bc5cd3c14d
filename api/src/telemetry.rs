//! Request ids, access logs and request metrics, and the JSON envelope for actix's own errors.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{ResponseError, web};
use zhijian_infra::log_context;

use crate::error;
use crate::startup::AppState;

/// The header carrying the request id, in both directions.
pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Accepts a caller's request id when it is short and plain; otherwise makes one.
pub fn request_id_for(req: &ServiceRequest) -> Arc<str> {
    req.headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(Arc::from)
        .unwrap_or_else(|| Arc::from(uuid::Uuid::now_v7().simple().to_string()))
}

/// The middleware body: runs the request inside its log scope, then stamps the id on the
/// response, records metrics and writes one access-log line.
pub fn observe<B, S>(
    req: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<B, S>
where
    S: actix_web::dev::Service<
            ServiceRequest,
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    S::Future: 'static,
    B: MessageBody,
{
    let request_id = request_id_for(&req);
    let started = Instant::now();
    let method = req.method().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let future = log_context::sync_scope(request_id.clone(), || service.call(req));
    async move {
        let mut response = log_context::scope(request_id.clone(), future).await?;
        let elapsed = started.elapsed();
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response
                .headers_mut()
                .insert(REQUEST_ID_HEADER.clone(), value);
        }
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let status = response.status().as_u16();
        if let Some(state) = state {
            state
                .metrics
                .observe(&method, &route, status, elapsed.as_secs_f64());
        }
        let latency_ms = (elapsed.as_secs_f64() * 10_000.0).round() / 10.0;
        log_context::sync_scope(request_id.clone(), || {
            log::info!(
                request_id = &*request_id,
                method = method.as_str(),
                route = route.as_str(),
                status = status,
                latency_ms = latency_ms;
                "request"
            );
        });
        Ok(response)
    }
}

/// Rewrites every error response that is not already our JSON envelope (actix's own 404, 405,
/// 413, 415 …) into it, keeping headers such as `Allow`.
pub fn envelope_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|res: ServiceResponse<B>| {
        let is_json = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
        // JSON is already the envelope; HTML is the console's own error page.
        if is_json {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        let (req, old) = res.into_parts();
        let mut new = error::for_status(old.status()).error_response();
        for (name, value) in old.headers() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                new.headers_mut().insert(name.clone(), value.clone());
            }
        }
        let res: ServiceResponse<EitherBody<B, BoxBody>> =
            ServiceResponse::new(req, new).map_into_right_body();
        Ok(ErrorHandlerResponse::Response(res))
    })
}
