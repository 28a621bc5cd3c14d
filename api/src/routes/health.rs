//! Liveness, readiness and metrics.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use zhijian_domain::error_code::ErrorCode;

use crate::error::ApiError;
use crate::startup::AppState;

/// Body of `/healthz` and a successful `/readyz`.
#[derive(Debug, Serialize)]
pub struct StatusView {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(StatusView { status: "ok" })
}

/// `GET /readyz`: PostgreSQL and Redis both answer; 503 with the envelope otherwise.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (postgres, redis) = futures_util::future::join(
        zhijian_infra::db::ping(&state.services.pool),
        state.redis.ping(),
    )
    .await;
    let message = match (&postgres, &redis) {
        (Ok(()), Ok(())) => return Ok(HttpResponse::Ok().json(StatusView { status: "ready" })),
        (Err(e), Ok(())) => {
            log::warn!("readiness: postgres: {e}");
            "数据库暂时不可用，请稍后重试"
        }
        (Ok(()), Err(e)) => {
            log::warn!("readiness: redis: {e}");
            "缓存服务暂时不可用，请稍后重试"
        }
        (Err(p), Err(r)) => {
            log::warn!("readiness: postgres: {p}; redis: {r}");
            "数据库和缓存服务暂时不可用，请稍后重试"
        }
    };
    Err(ApiError::new(ErrorCode::NotReady, message)
        .with_retry_after(crate::error::RETRY_AFTER_UNAVAILABLE))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let text = state
        .metrics
        .render(state.services.pool.state(), state.services.pool.max_size())
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}
