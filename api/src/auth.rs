//! Who is calling: access tokens (JWT) and the extractors of signed-in workers and admins.
//!
//! Access tokens are short-lived JWTs signed with HS256 (the only algorithm accepted: a token
//! whose header names another, `none` included, is refused before its signature is looked at).
//! Claims: `sub` (account or admin id), `sid` (session id), `typ` (`worker` or `admin`), `iss`,
//! `aud`, `iat`, `exp` — no personal data. `exp` and `iat` are checked against the server's
//! clock (the one that issued them), with [`LEEWAY_SECS`] of tolerance.
//!
//! A valid signature is not enough: the session named by `sid` must still be live in Redis
//! (`zhijian_infra::redis::sessions`), which is what makes logout and refresh-token reuse revocation
//! take effect at once. A worker token on an admin route, or the reverse, is refused.
//!
//! An admin's role, union and status are not taken from the session: every admin request
//! reads the admin's standing from PostgreSQL (one primary-key read), so a disabled admin's
//! token is refused (401, like an ended session) and a new role or union applies at the next
//! request. [`AdminIdentity`] is gated by [`gate`] (an admin holding a one-time password may
//! only reach the self routes: 403 `password_change_required`); [`AdminSelf`] is not, and is
//! what those self routes take (`GET /v1/admin/me`, `POST /v1/admin/me/password`, logout).
//! Refusals are 401 `unauthorized` with `WWW-Authenticate: Bearer` (an [`ApiError`] with its
//! challenge, `crate::error::mapping::auth`); Redis down is 503.
//!
//! Admin routes take [`AdminIdentity`], which is gated ([`gate`]): a manager without a confirmed
//! second factor (TOTP) gets 403 `second_factor_required` everywhere but on the self routes
//! that take [`AdminSelf`] (enrolling the factor, signing out).

use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use zhijian_domain::admin::{AdminRole, UnionPath};
use zhijian_domain::admin_management::AdminStanding;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::{AccountId, AdminId, UnionId};
use zhijian_domain::second_factor;
use zhijian_infra::redis::sessions::{Session, SessionKind};
use zhijian_infra::usecases::auth::{self as sign_in, AuthContext, SessionPolicy, SignedIn};

use crate::error::ApiError;
use crate::error::mapping::admins::password_change_required;
use crate::error::mapping::auth::{invalid_token, missing_token};
use crate::error::mapping::second_factor::second_factor_required;
use crate::settings::AuthConfig;
use crate::startup::AppState;

/// Seconds of clock difference tolerated on `exp` and `iat`.
pub const LEEWAY_SECS: i64 = 10;
/// Longest bearer token looked at; anything longer is refused unread.
const MAX_TOKEN_LEN: usize = 4096;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Account id (worker) or admin id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    /// Whose token: `worker` or `admin`.
    pub typ: SessionKind,
    /// Issuer (`auth.issuer`).
    pub iss: String,
    /// Audience (`auth.audience`).
    pub aud: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
}

/// Why an access token was refused (all answered alike: 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejected {
    /// Not a JWT, wrong algorithm, bad signature, wrong `iss`/`aud`, or a missing claim.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Past `exp` (or issued in the future).
    #[error("expired token")]
    Expired,
}

/// Signs an access token for session `session_id` of `subject`.
pub fn issue_access_token(
    config: &AuthConfig,
    kind: SessionKind,
    subject: &str,
    session_id: &str,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let ttl = i64::try_from(config.access_ttl_secs).map_err(ApiError::internal)?;
    let claims = AccessClaims {
        sub: subject.to_owned(),
        sid: session_id.to_owned(),
        typ: kind,
        iss: config.issuer.clone(),
        aud: config.audience.clone(),
        iat: now.timestamp(),
        exp: now.timestamp() + ttl,
    };
    let key = EncodingKey::from_secret(config.jwt_secret.expose().as_bytes());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).map_err(ApiError::internal)
}

/// Checks an access token's algorithm, signature, `iss`, `aud`, `exp`, `iat` and claims.
pub fn verify_access_token(
    config: &AuthConfig,
    token: &str,
    now: DateTime<Utc>,
) -> Result<AccessClaims, TokenRejected> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenRejected::Invalid("too long".into()));
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&[&config.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // `exp` must be present (above) but is compared below with the server's clock, the one
    // that set it, rather than the library's reading of the system clock.
    validation.validate_exp = false;
    validation.leeway = 0;
    let key = DecodingKey::from_secret(config.jwt_secret.expose().as_bytes());
    let claims = jsonwebtoken::decode::<AccessClaims>(token, &key, &validation)
        .map_err(|e| TokenRejected::Invalid(e.to_string()))?
        .claims;
    let now = now.timestamp();
    if claims.exp + LEEWAY_SECS < now || claims.iat > now + LEEWAY_SECS {
        return Err(TokenRejected::Expired);
    }
    Ok(claims)
}

/// The body of every sign-in and refresh: `{access_token, token_type, expires_in,
/// refresh_token}`.
#[derive(Serialize)]
pub struct TokenPair {
    /// The JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// Opaque; spend it once at `POST /v1/auth/refresh`.
    pub refresh_token: String,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What the sign-in use cases reach on this server: its sessions (`auth.refresh_ttl_secs`,
/// `auth.refresh_reuse_grace_secs`) and verification codes (`sms_policy`).
pub fn context(state: &AppState) -> AuthContext<'_> {
    let auth = &state.settings.auth;
    AuthContext {
        services: &state.services,
        redis: &state.redis,
        sessions: SessionPolicy {
            ttl: Duration::from_secs(auth.refresh_ttl_secs),
            reuse_grace: Duration::from_secs(auth.refresh_reuse_grace_secs),
        },
        sms_policy: &state.settings.sms_policy,
    }
}

/// The token pair of a sign-in or refresh: the access token signed for its session at its
/// `issued_at` (so a refresh answered again within the grace signs the same token), and its
/// refresh token.
pub fn token_pair(state: &AppState, signed_in: SignedIn) -> Result<TokenPair, ApiError> {
    let auth = &state.settings.auth;
    let session = &signed_in.session;
    let access_token = issue_access_token(
        auth,
        session.kind,
        &session.subject,
        &session.id,
        signed_in.issued_at,
    )?;
    Ok(TokenPair {
        access_token,
        token_type: "Bearer",
        expires_in: auth.access_ttl_secs,
        refresh_token: signed_in.refresh_token,
    })
}

/// A signed-in worker (an `Authorization: Bearer` worker token of a live session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerIdentity {
    /// The worker's account.
    pub account_id: AccountId,
    /// The session the token belongs to.
    pub session_id: String,
}

/// A signed-in admin (an admin token of a live session), with the reach of their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminIdentity {
    /// The admin.
    pub admin_id: AdminId,
    /// Their role.
    pub role: AdminRole,
    /// The union the role is bound to.
    pub union_id: UnionId,
    /// That union's materialised path (`/1/5/12/`); the admin acts in this subtree only.
    pub union_path: String,
    /// The session the token belongs to.
    pub session_id: String,
}

impl AdminIdentity {
    /// The admin as the use cases record them (audit rows, scope checks).
    pub fn actor(&self) -> Result<zhijian_infra::store::applications::AdminActor, ApiError> {
        Ok(zhijian_infra::store::applications::AdminActor {
            admin_id: self.admin_id.as_uuid(),
            role: self.role.as_str(),
            union_path: UnionPath::parse(&self.union_path).map_err(ApiError::internal)?,
        })
    }

    /// The admin's subtree, parsed.
    pub fn subtree(&self) -> Option<UnionPath> {
        UnionPath::parse(&self.union_path).ok()
    }

    /// Whether the union at `union_path` is the admin's union or lies below it. Callers answer
    /// 404 (never 403) when it does not. A malformed path is outside.
    pub fn can_see(&self, union_path: &str) -> bool {
        UnionPath::parse(union_path).is_ok_and(|other| self.can_see_path(&other))
    }

    /// [`AdminIdentity::can_see`] for a parsed path.
    pub fn can_see_path(&self, union_path: &UnionPath) -> bool {
        self.subtree().is_some_and(|own| own.contains(union_path))
    }

    /// `Ok` when the admin can see `union_path`, otherwise the 404 to answer.
    pub fn ensure_can_see(&self, union_path: &str) -> Result<(), ApiError> {
        if self.can_see(union_path) {
            Ok(())
        } else {
            Err(ApiError::not_found())
        }
    }
}

/// A signed-in admin on a self route (`GET /v1/admin/me`, `POST /v1/admin/me/password`,
/// logout): like [`AdminIdentity`], disabled admins refused, but not held by [`gate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSelf(pub AdminIdentity);

/// What an admin may reach beyond the self routes, decided from their standing — the one
/// place for it. While a one-time password is in use: nothing (403 `password_change_required`);
/// a manager without a confirmed second factor: nothing but enrolling it (403
/// `second_factor_required`).
pub fn gate(standing: &AdminStanding) -> Result<(), ApiError> {
    gate_standing(standing)?;
    // Station staff have their own few routes ([`StaffIdentity`]); nothing else.
    if standing.role.is_station_staff() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "站点管理员只能核销本站点的会员权益",
        ));
    }
    Ok(())
}

/// The part of [`gate`] every role's routes share, station staff's included: a one-time
/// password to change, a manager's second factor to enrol.
pub fn gate_standing(standing: &AdminStanding) -> Result<(), ApiError> {
    if standing.must_change_password {
        return Err(password_change_required());
    }
    if second_factor::mandatory_for(standing.role) && !standing.second_factor_enrolled {
        return Err(second_factor_required());
    }
    Ok(())
}

/// A worker identity when the request carries a token; `None` without an `Authorization`
/// header. A token that is present but invalid is still refused (401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaybeWorker(pub Option<WorkerIdentity>);

/// The bearer token of a request: `None` without an `Authorization` header, `Err` when the
/// header is not `Bearer <token>`.
pub(crate) fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| invalid_token())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(invalid_token)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(invalid_token());
    }
    Ok(Some(token.to_owned()))
}

/// The application state, registered by `startup`.
pub(crate) fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("AppState is not registered"))
}

/// Verifies `token` as a `kind` token and returns its live session.
async fn authenticate(
    state: &AppState,
    token: &str,
    kind: SessionKind,
) -> Result<Session, ApiError> {
    let claims =
        verify_access_token(&state.settings.auth, token, state.services.now()).map_err(|e| {
            log::debug!("access token refused: {e}");
            invalid_token()
        })?;
    if claims.typ != kind {
        return Err(invalid_token());
    }
    let session = sign_in::live_session(&context(state), &claims.sid)
        .await?
        .ok_or_else(invalid_token)?;
    if session.kind != kind || session.subject != claims.sub {
        return Err(invalid_token());
    }
    Ok(session)
}

fn worker_of(session: Session) -> Result<WorkerIdentity, ApiError> {
    let account_id = AccountId::parse(&session.subject).map_err(|_| invalid_token())?;
    Ok(WorkerIdentity {
        account_id,
        session_id: session.id,
    })
}

/// The admin of `session` as they are now (their standing read from PostgreSQL): a disabled
/// or deleted admin's session is refused like an ended one.
async fn admin_of(
    state: &AppState,
    session: Session,
) -> Result<(AdminIdentity, AdminStanding), ApiError> {
    let admin_id = AdminId::parse(&session.subject).map_err(|_| invalid_token())?;
    if session.admin.is_none() {
        return Err(invalid_token());
    }
    let standing = zhijian_infra::usecases::admins::admin_standing(&state.services, admin_id)
        .await?
        .filter(|standing| !standing.disabled)
        .ok_or_else(invalid_token)?;
    let identity = AdminIdentity {
        admin_id,
        role: standing.role,
        union_id: standing.union_id,
        union_path: standing.union_path.to_string(),
        session_id: session.id,
    };
    Ok((identity, standing))
}

/// The admin of admin session `sid` (what a console session names) and their standing, as
/// for a bearer token: `None` when the session ended, is not an admin's, or the admin is
/// disabled.
pub async fn admin_of_session(
    state: &AppState,
    sid: &str,
) -> Result<Option<(AdminIdentity, AdminStanding)>, ApiError> {
    let Some(session) = sign_in::live_session(&context(state), sid).await? else {
        return Ok(None);
    };
    if session.kind != SessionKind::Admin {
        return Ok(None);
    }
    match admin_of(state, session).await {
        Ok(admin) => Ok(Some(admin)),
        Err(e) if e.status() == actix_web::http::StatusCode::UNAUTHORIZED => Ok(None),
        Err(e) => Err(e),
    }
}

/// The signed-in admin of `req` and their standing.
fn admin_from_request(
    req: &HttpRequest,
) -> LocalBoxFuture<'static, Result<(AdminIdentity, AdminStanding), ApiError>> {
    let prepared =
        app_state(req).and_then(|state| Ok((state, bearer(req)?.ok_or_else(missing_token)?)));
    Box::pin(async move {
        let (state, token) = prepared?;
        let session = authenticate(&state, &token, SessionKind::Admin).await?;
        admin_of(&state, session).await
    })
}

impl FromRequest for WorkerIdentity {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let prepared =
            app_state(req).and_then(|state| Ok((state, bearer(req)?.ok_or_else(missing_token)?)));
        let gated = is_gated_write(req.method(), req.path());
        Box::pin(async move {
            let (state, token) = prepared?;
            let worker = worker_of(authenticate(&state, &token, SessionKind::Worker).await?)?;
            if gated {
                require_current_consent(&state, worker.account_id).await?;
            }
            Ok(worker)
        })
    }
}

/// Whether a worker's request is a write the consent gate applies to: every method but
/// `GET`/`HEAD`/`OPTIONS`, except giving consent itself, cancelling the account (always
/// possible, PIPL art. 47) and the sign-in routes (`/v1/auth/…`: signing out, codes).
fn is_gated_write(method: &actix_web::http::Method, path: &str) -> bool {
    use actix_web::http::Method;
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        && path != "/v1/me/privacy-consent"
        && path != "/v1/me/cancel"
        && !path.starts_with("/v1/auth/")
}

/// 403 `consent_required` when the worker's consent names an older notice version than
/// `privacy.notice_version`.
async fn require_current_consent(state: &AppState, account: AccountId) -> Result<(), ApiError> {
    let current = &state.settings.privacy.notice_version;
    let standing =
        zhijian_infra::usecases::privacy::standing(&state.services, account, current).await?;
    if standing.blocks_writes() {
        return Err(ApiError::new(
            ErrorCode::ConsentRequired,
            "隐私政策已更新，请阅读并重新同意后再继续操作",
        ));
    }
    Ok(())
}

impl FromRequest for MaybeWorker {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let prepared = app_state(req).and_then(|state| Ok((state, bearer(req)?)));
        Box::pin(async move {
            match prepared? {
                (_, None) => Ok(MaybeWorker(None)),
                (state, Some(token)) => Ok(MaybeWorker(Some(worker_of(
                    authenticate(&state, &token, SessionKind::Worker).await?,
                )?))),
            }
        })
    }
}

impl FromRequest for AdminIdentity {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let admin = admin_from_request(req);
        Box::pin(async move {
            let (identity, standing) = admin.await?;
            gate(&standing)?;
            Ok(identity)
        })
    }
}

/// A signed-in admin of any role, station staff included: for the routes station staff may
/// use (redeeming benefits, their station's redemptions). Every other admin route takes
/// [`AdminIdentity`], which answers station staff 403; both hold a one-time password or a
/// manager's missing second factor the same way ([`gate_standing`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffIdentity(pub AdminIdentity);

impl FromRequest for StaffIdentity {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let admin = admin_from_request(req);
        Box::pin(async move {
            let (identity, standing) = admin.await?;
            gate_standing(&standing)?;
            Ok(StaffIdentity(identity))
        })
    }
}

impl FromRequest for AdminSelf {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let admin = admin_from_request(req);
        Box::pin(async move { Ok(AdminSelf(admin.await?.0)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::StatusCode;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use zhijian_infra::crypto::secret::Secret;

    fn config() -> AuthConfig {
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
        DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn sign(claims: &serde_json::Value, alg: Algorithm, secret: &str) -> String {
        jsonwebtoken::encode(
            &Header::new(alg),
            claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn claims() -> serde_json::Value {
        serde_json::json!({
            "sub": "a", "sid": "s", "typ": "worker", "iss": "zhijian", "aud": "zhijian-api",
            "iat": now().timestamp(), "exp": now().timestamp() + 900,
        })
    }

    #[test]
    fn a_token_signs_and_verifies_and_carries_no_personal_data() {
        let token = issue_access_token(&config(), SessionKind::Admin, "a1", "s1", now()).unwrap();
        let claims = verify_access_token(&config(), &token, now()).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.sid.as_str(), claims.typ),
            ("a1", "s1", SessionKind::Admin)
        );
        assert_eq!(claims.exp - claims.iat, 900);
        let payload = token.split('.').nth(1).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["aud", "exp", "iat", "iss", "sid", "sub", "typ"]);
    }

    #[test]
    fn expiry_is_checked_against_the_given_clock_with_a_small_leeway() {
        let token = issue_access_token(&config(), SessionKind::Worker, "a", "s", now()).unwrap();
        let later = |secs| now() + chrono::TimeDelta::seconds(secs);
        assert!(verify_access_token(&config(), &token, later(900 + LEEWAY_SECS)).is_ok());
        assert_eq!(
            verify_access_token(&config(), &token, later(901 + LEEWAY_SECS)),
            Err(TokenRejected::Expired)
        );
        assert_eq!(
            verify_access_token(&config(), &token, later(-60)),
            Err(TokenRejected::Expired)
        );
    }

    #[test]
    fn another_algorithm_key_issuer_audience_or_typ_is_refused() {
        let secret = config().jwt_secret.expose().to_owned();
        assert!(
            verify_access_token(
                &config(),
                &sign(&claims(), Algorithm::HS256, &secret),
                now()
            )
            .is_ok()
        );
        assert!(
            verify_access_token(
                &config(),
                &sign(&claims(), Algorithm::HS384, &secret),
                now()
            )
            .is_err()
        );
        assert!(
            verify_access_token(
                &config(),
                &sign(
                    &claims(),
                    Algorithm::HS256,
                    "another-secret-of-32-bytes-....."
                ),
                now()
            )
            .is_err()
        );
        for (claim, value) in [("iss", "other"), ("aud", "other"), ("typ", "partner")] {
            let mut bad = claims();
            bad[claim] = value.into();
            assert!(
                verify_access_token(&config(), &sign(&bad, Algorithm::HS256, &secret), now())
                    .is_err(),
                "{claim}"
            );
        }
        for claim in ["exp", "sub", "sid", "typ", "iat"] {
            let mut bad = claims();
            bad.as_object_mut().unwrap().remove(claim);
            assert!(
                verify_access_token(&config(), &sign(&bad, Algorithm::HS256, &secret), now())
                    .is_err(),
                "{claim}"
            );
        }
    }

    #[test]
    fn an_unsigned_token_is_refused() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}"),
        ] {
            assert!(verify_access_token(&config(), &token, now()).is_err());
        }
    }

    #[test]
    fn an_admin_sees_its_own_subtree_only() {
        let admin = AdminIdentity {
            admin_id: AdminId::from_uuid(uuid::Uuid::nil()),
            role: AdminRole::Reviewer,
            union_id: UnionId::new(5),
            union_path: "/1/5/".into(),
            session_id: "s".into(),
        };
        assert!(admin.can_see("/1/5/"));
        assert!(admin.can_see("/1/5/12/"));
        assert!(!admin.can_see("/1/"));
        assert!(!admin.can_see("/1/50/"));
        assert!(!admin.can_see("garbage"));
        assert_eq!(
            admin.ensure_can_see("/1/6/").unwrap_err().status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn a_manager_without_a_second_factor_is_gated_and_nobody_else() {
        let standing = |role, second_factor_enrolled, must_change_password| AdminStanding {
            admin_id: AdminId::from_uuid(uuid::Uuid::nil()),
            role,
            union_id: UnionId::new(5),
            union_path: UnionPath::parse("/1/5/").unwrap(),
            disabled: false,
            must_change_password,
            second_factor_enrolled,
        };
        let code = |role, enrolled, must| {
            gate(&standing(role, enrolled, must))
                .err()
                .map(|e| (e.status(), e.code().as_str()))
        };
        assert_eq!(
            code(AdminRole::Manager, false, false),
            Some((StatusCode::FORBIDDEN, "second_factor_required"))
        );
        assert_eq!(code(AdminRole::Manager, true, false), None);
        assert_eq!(code(AdminRole::Reviewer, false, false), None);
        assert_eq!(code(AdminRole::Viewer, false, false), None);
        assert_eq!(
            code(AdminRole::Manager, false, true),
            Some((StatusCode::FORBIDDEN, "password_change_required"))
        );
        assert_eq!(
            code(AdminRole::Reviewer, false, true),
            Some((StatusCode::FORBIDDEN, "password_change_required"))
        );
    }

    #[actix_web::test]
    async fn a_refusal_is_401_with_a_bearer_challenge() {
        use actix_web::ResponseError as _;
        use zhijian_infra::redis::RedisUnavailable;
        let response = invalid_token().error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(challenge.starts_with("Bearer"));
        let unavailable = ApiError::from(RedisUnavailable("down".into())).error_response();
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(unavailable.headers().get(header::RETRY_AFTER).is_some());
    }
}
