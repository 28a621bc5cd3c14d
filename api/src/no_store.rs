//! `Cache-Control: no-store` on every answer that may carry personal data.
//!
//! The API's answers name people: applicants, members, their resident ID and phone (masked or,
//! for reviewers, in clear), tokens. None of it may sit in a browser cache, a proxy or a CDN, so
//! every response under `/v1/` answers `Cache-Control: no-store` and `Pragma: no-cache` (for
//! HTTP/1.0 caches) unless its handler chose a policy itself. Public reference data — the
//! region picker and the vocabularies — carries nothing personal and is left cacheable.

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};

/// Paths whose answers are public reference data, never personal.
const PUBLIC_PREFIXES: &[&str] = &[
    "/v1/regions/",
    "/v1/occupations",
    "/v1/unions/",
    // Service stations: a public map; the phone is the station's, not a person's.
    "/v1/stations/",
];

/// Whether an answer to `path` must not be stored by any cache.
pub fn is_private(path: &str) -> bool {
    path.starts_with("/v1/") && !PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Middleware (`App::wrap_fn`): adds the headers to private answers, errors included.
pub fn no_store<S, B>(
    req: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<B>, Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    let private = is_private(req.path());
    let response = service.call(req);
    async move {
        let mut response = response.await?;
        if private {
            let headers = response.headers_mut();
            if !headers.contains_key(header::CACHE_CONTROL) {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_answers_are_private_reference_data_is_not() {
        assert!(is_private("/v1/applications/mine"));
        assert!(is_private(
            "/v1/admin/applications/0190a000-0000-7000-8000-000000000000"
        ));
        assert!(is_private("/v1/auth/wechat"));
        assert!(!is_private("/v1/regions/500237"));
        assert!(!is_private("/v1/occupations"));
        assert!(!is_private("/v1/unions/12"));
        assert!(!is_private("/v1/stations/nearby"));
        assert!(!is_private("/v1/stations/12"));
        assert!(is_private("/v1/admin/stations/12/redemptions"));
        assert!(is_private("/v1/regionsx"));
        assert!(!is_private("/healthz"));
    }
}
