//! Per-IP caps of the public routes that anyone can call without signing in: the card check
//! of `POST /v1/cards/verify` (a scanner could otherwise try forged payloads at will) and the
//! reference data (`/v1/regions/…`, `/v1/occupations`, `/v1/unions/{id}`). The nearby-stations
//! search has its own cap (`stations.nearby_per_ip`).
//!
//! Counted in Redis like the other caps ([`zhijian_infra::redis::rate_limit`]), so every server
//! shares them. Over the cap: 429 `too_many_requests` with `Retry-After`. With Redis down the
//! request is served uncounted (a warning in the log): these routes must not fail because a
//! counter cannot be kept.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError, web};
use serde::Deserialize;
use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::redis::rate_limit::{self, RateLimit, Verdict};

use crate::error::ApiError;
use crate::startup::AppState;

/// `[public_limits]` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PublicLimitsConfig {
    /// `POST /v1/cards/verify` per client address.
    pub cards_verify_per_ip: RateLimit,
    /// The reference routes together, per client address.
    pub reference_per_ip: RateLimit,
}

impl Default for PublicLimitsConfig {
    fn default() -> Self {
        Self {
            cards_verify_per_ip: RateLimit {
                limit: 60,
                window_secs: 60,
            },
            reference_per_ip: RateLimit {
                limit: 600,
                window_secs: 60,
            },
        }
    }
}

impl PublicLimitsConfig {
    /// Checks the values and says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        for (key, cap) in [
            ("cards_verify_per_ip", self.cards_verify_per_ip),
            ("reference_per_ip", self.reference_per_ip),
        ] {
            if cap.limit == 0 || cap.window_secs == 0 {
                return Err(format!(
                    "public_limits.{key} needs a positive limit and window_secs"
                ));
            }
        }
        Ok(())
    }
}

/// The cap `path` is counted against, with its bucket name.
fn bucket(path: &str, config: &PublicLimitsConfig) -> Option<(&'static str, RateLimit)> {
    if path == "/v1/cards/verify" {
        return Some(("cards_verify", config.cards_verify_per_ip));
    }
    let reference = path.starts_with("/v1/regions/")
        || path == "/v1/occupations"
        || path.starts_with("/v1/unions/");
    reference.then_some(("reference", config.reference_per_ip))
}

/// Middleware (`middleware::from_fn`): counts the public routes' requests per client address
/// before serving them.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let counted = req.app_data::<web::Data<AppState>>().and_then(|state| {
        let (name, cap) = bucket(req.path(), &state.settings.public_limits)?;
        let ip = crate::routes::auth::client_ip(
            req.request(),
            state.settings.server.trust_forwarded_for,
        );
        Some((state.clone(), name, cap, ip))
    });
    if let Some((state, name, cap, ip)) = counted {
        match rate_limit::hit(&state.redis, &state.services.pii, name, ip, cap).await {
            Ok(Verdict::Limited { retry_after_secs }) => {
                let refused = ApiError::new(ErrorCode::TooManyRequests, "请求过于频繁，请稍后再试")
                    .with_retry_after(retry_after_secs);
                let response = refused.error_response().map_into_right_body();
                return Ok(req.into_response(response));
            }
            Ok(Verdict::Allowed) => {}
            Err(e) => log::warn!("public route cap {name} is not counted: {e}"),
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}
