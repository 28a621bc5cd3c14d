//! Partner clients' access tokens and the extractor of the partner routes.
//!
//! A partner token is a JWT signed with HS256 under `auth.jwt_secret`, like the workers' and
//! admins', but with its own audience (`partners.audience`, `zhijian-partner`), `typ`
//! `partner`, the client id as `sub` and the granted scopes as `scope` (RFC 8693 §4.2 form:
//! names separated by spaces). The audience keeps the token families apart both ways: the
//! worker/admin check demands `auth.audience` and refuses it, and [`PartnerClient`] demands
//! the partner audience and refuses theirs.
//!
//! At every use the client is read from PostgreSQL (one primary-key read): a disabled client's
//! tokens stop at their next use. [`PartnerClient::require`] answers 403 `insufficient_scope`
//! with `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (RFC 6750 §3.1) and
//! takes a token from the client's bucket for the operation (429 with `Retry-After`,
//! `RateLimit-Policy` and `RateLimit`).

use std::collections::HashMap;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::partner::{PartnerOperation, Scopes, TokenBucket};

use crate::auth::LEEWAY_SECS;
use crate::error::ApiError;
use crate::error::mapping::auth::{invalid_token, missing_token};
use crate::settings::AuthConfig;
use crate::startup::AppState;

/// `[partners]` settings.
#[derive(Debug, Clone, Deserialize)]
pub struct PartnersConfig {
    /// The audience of partner tokens.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// How long a partner token lives.
    #[serde(default = "default_token_ttl")]
    pub token_ttl_secs: u64,
    /// How long a consent request's link works.
    #[serde(default = "default_request_ttl")]
    pub consent_request_ttl_secs: u64,
    /// The mini-program page that grants a consent request.
    #[serde(default = "default_consent_page")]
    pub consent_page: String,
    /// Token buckets.
    #[serde(default)]
    pub limits: PartnerLimits,
}

/// `[partners.limits]`: the default bucket and each client's own.
#[derive(Debug, Clone, Deserialize)]
pub struct PartnerLimits {
    /// For every client without its own entry.
    #[serde(default = "default_bucket")]
    pub default: TokenBucket,
    /// By client id.
    #[serde(default)]
    pub clients: HashMap<String, TokenBucket>,
}

impl Default for PartnerLimits {
    fn default() -> Self {
        Self {
            default: default_bucket(),
            clients: HashMap::new(),
        }
    }
}

fn default_audience() -> String {
    "zhijian-partner".into()
}
fn default_token_ttl() -> u64 {
    300
}
fn default_request_ttl() -> u64 {
    900
}
fn default_consent_page() -> String {
    "pages/partner-consent/index".into()
}
fn default_bucket() -> TokenBucket {
    TokenBucket {
        capacity: 30,
        per_minute: 120,
    }
}

impl Default for PartnersConfig {
    fn default() -> Self {
        Self {
            audience: default_audience(),
            token_ttl_secs: default_token_ttl(),
            consent_request_ttl_secs: default_request_ttl(),
            consent_page: default_consent_page(),
            limits: PartnerLimits::default(),
        }
    }
}

impl PartnersConfig {
    /// Checks the values at start-up.
    pub fn validate(&self) -> Result<(), String> {
        if self.audience.trim().is_empty() {
            return Err("partners.audience must not be empty".into());
        }
        if !(30..=3600).contains(&self.token_ttl_secs) {
            return Err("partners.token_ttl_secs must be between 30 and 3600".into());
        }
        if !(60..=86_400).contains(&self.consent_request_ttl_secs) {
            return Err("partners.consent_request_ttl_secs must be between 60 and 86400".into());
        }
        let buckets = std::iter::once(("default", &self.limits.default))
            .chain(self.limits.clients.iter().map(|(k, v)| (k.as_str(), v)));
        for (name, bucket) in buckets {
            if let Some(problem) = bucket.problem() {
                return Err(format!("partners.limits.{name}: {problem}"));
            }
        }
        Ok(())
    }

    /// The bucket of `client`.
    pub fn bucket(&self, client: Uuid) -> TokenBucket {
        self.limits
            .clients
            .get(&client.to_string())
            .copied()
            .unwrap_or(self.limits.default)
    }
}

/// The claims of a partner access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerClaims {
    /// The client id.
    pub sub: String,
    /// Always `partner`.
    pub typ: String,
    /// The granted scopes, separated by spaces.
    pub scope: String,
    /// Issuer (`auth.issuer`).
    pub iss: String,
    /// Audience (`partners.audience`).
    pub aud: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
}

/// The token type of partner tokens.
const PARTNER_TYP: &str = "partner";

/// Signs a partner token for `client` with `scopes`.
pub fn issue_partner_token(
    auth: &AuthConfig,
    partners: &PartnersConfig,
    client: Uuid,
    scopes: &Scopes,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let ttl = i64::try_from(partners.token_ttl_secs).map_err(ApiError::internal)?;
    let claims = PartnerClaims {
        sub: client.to_string(),
        typ: PARTNER_TYP.to_owned(),
        scope: scopes.to_oauth(),
        iss: auth.issuer.clone(),
        aud: partners.audience.clone(),
        iat: now.timestamp(),
        exp: now.timestamp() + ttl,
    };
    let key = EncodingKey::from_secret(auth.jwt_secret.expose().as_bytes());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).map_err(ApiError::internal)
}

/// Checks a partner token's algorithm, signature, `iss`, `aud`, `typ`, `exp`, `iat`.
pub fn verify_partner_token(
    auth: &AuthConfig,
    partners: &PartnersConfig,
    token: &str,
    now: DateTime<Utc>,
) -> Option<PartnerClaims> {
    if token.len() > 4096 {
        return None;
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[&auth.issuer]);
    validation.set_audience(&[&partners.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_exp = false;
    validation.leeway = 0;
    let key = DecodingKey::from_secret(auth.jwt_secret.expose().as_bytes());
    let claims = jsonwebtoken::decode::<PartnerClaims>(token, &key, &validation)
        .ok()?
        .claims;
    let now = now.timestamp();
    let fresh = claims.exp + LEEWAY_SECS >= now && claims.iat <= now + LEEWAY_SECS;
    (fresh && claims.typ == PARTNER_TYP).then_some(claims)
}

/// The partner client calling (a partner token of an enabled client).
#[derive(Clone)]
pub struct PartnerClient {
    /// The client id.
    pub client_id: Uuid,
    /// The scopes the token grants (within the client's).
    pub scopes: Scopes,
    state: web::Data<AppState>,
}

impl std::fmt::Debug for PartnerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerClient")
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl PartnerClient {
    /// 403 `insufficient_scope` unless the token grants `operation`'s scope; then one token of
    /// the client's bucket for it (429 when empty).
    pub async fn require(&self, operation: PartnerOperation) -> Result<(), ApiError> {
        if !operation.allowed_by(&self.scopes) {
            let needed: Vec<&str> = operation.scopes().iter().map(|s| s.as_str()).collect();
            return Err(ApiError::new(
                ErrorCode::InsufficientScope,
                "访问令牌的授权范围不足以执行该操作",
            )
            .with_challenge(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                needed.join(" ")
            )));
        }
        let state = &self.state;
        let bucket = state.settings.partners.bucket(self.client_id);
        let taken = zhijian_infra::redis::partner_limits::take(
            &state.redis,
            &self.client_id.to_string(),
            operation.as_str(),
            bucket,
            state.services.now(),
        )
        .await?;
        if taken.allowed {
            return Ok(());
        }
        Err(
            ApiError::new(ErrorCode::TooManyRequests, "请求过于频繁，请稍后重试")
                .with_retry_after(taken.retry_after_secs)
                .with_header("RateLimit-Policy", bucket.policy(operation.as_str()))
                .with_header(
                    "RateLimit",
                    format!(
                        "\"{}\";r={};t={}",
                        operation.as_str(),
                        taken.remaining,
                        taken.retry_after_secs
                    ),
                ),
        )
    }
}

impl FromRequest for PartnerClient {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        // The same bearer parsing as worker and admin tokens: only the token's audience differs.
        let prepared = crate::auth::app_state(req)
            .and_then(|state| Ok((state, crate::auth::bearer(req)?.ok_or_else(missing_token)?)));
        Box::pin(async move {
            let (state, token) = prepared?;
            let settings = &state.settings;
            let claims = verify_partner_token(
                &settings.auth,
                &settings.partners,
                &token,
                state.services.now(),
            )
            .ok_or_else(invalid_token)?;
            let client_id = Uuid::parse_str(&claims.sub).map_err(|_| invalid_token())?;
            let scopes = Scopes::parse_oauth(&claims.scope).map_err(|_| invalid_token())?;
            zhijian_infra::usecases::partners::enabled_client(&state.services, client_id)
                .await?
                .ok_or_else(invalid_token)?;
            Ok(PartnerClient {
                client_id,
                scopes,
                state,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhijian_infra::crypto::secret::Secret;

    fn auth() -> AuthConfig {
        AuthConfig {
            jwt_secret: Secret::new("0123456789abcdef0123456789abcdef-test"),
            issuer: "zhijian".into(),
            audience: "zhijian-api".into(),
            access_ttl_secs: 900,
            refresh_ttl_secs: 3600,
            refresh_reuse_grace_secs: 10,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_partner_token_verifies_only_as_a_partner_token_and_expires() {
        let partners = PartnersConfig::default();
        let scopes = Scopes::parse(["members:verify"]).unwrap();
        let client = Uuid::now_v7();
        let token = issue_partner_token(&auth(), &partners, client, &scopes, now()).unwrap();
        let claims = verify_partner_token(&auth(), &partners, &token, now()).unwrap();
        assert_eq!(claims.sub, client.to_string());
        assert_eq!(claims.scope, "members:verify");
        // Not a worker/admin token: their audience differs.
        assert!(crate::auth::verify_access_token(&auth(), &token, now()).is_err());
        let later = now() + chrono::Duration::seconds(300 + LEEWAY_SECS + 1);
        assert!(verify_partner_token(&auth(), &partners, &token, later).is_none());
        let worker = crate::auth::issue_access_token(
            &auth(),
            zhijian_infra::redis::sessions::SessionKind::Worker,
            "a",
            "s",
            now(),
        )
        .unwrap();
        assert!(verify_partner_token(&auth(), &partners, &worker, now()).is_none());
    }
}
