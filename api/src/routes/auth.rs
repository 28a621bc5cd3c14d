//! Signing in and out: workers by WeChat or by SMS code, admins by password; token refresh;
//! binding a verified phone; and `GET /v1/me`.
//!
//! Error codes (all in the `{code, message, field?}` envelope; every 401 carries
//! `WWW-Authenticate: Bearer`, every 429 and 503 `Retry-After`):
//! - 400 `invalid_wechat_code` (field `code`): the `wx.login` / `getPhoneNumber` code is empty,
//!   invalid, expired or already used — get a new one from WeChat and retry;
//! - 400 `invalid_phone` (field `phone`, or `code` for a WeChat phone outside the mainland);
//! - 400 `invalid_sms_purpose` (field `purpose`);
//! - 400 `invalid_sms_code` (field `code`): wrong digits, the code stays valid;
//! - 400 `sms_code_expired` (field `code`): no live code (expired, used, voided by five wrong
//!   attempts, or never sent) — request a new one;
//! - 400 `phone_unreachable` (field `phone`): the provider cannot deliver to the number;
//! - 401 `unauthorized`, `invalid_credentials`, `invalid_refresh_token`,
//!   `refresh_token_reused` (the whole sign-in is revoked);
//! - 403 `wechat_user_blocked`;
//! - 409 `phone_taken`: the phone belongs to another account;
//! - 429 `too_many_requests` (an SMS cap or WeChat's rate limit), `account_locked` (admin:
//!   five failed sign-ins lock for fifteen minutes; `Retry-After` says until when);
//! - 503 `service_unavailable`: PostgreSQL, Redis, WeChat or the SMS provider is down.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zhijian_domain::admin::AdminRole;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::{AccountId, AdminId, UnionId};
use zhijian_domain::phone::PhoneNumber;
use zhijian_domain::ports::{SmsError, WeChatError};
use zhijian_infra::db::{self, StoreError};
use zhijian_infra::redis::RedisUnavailable;
use zhijian_infra::redis::sessions::{AdminScope, RefreshError, SessionKind, UnknownAdminLogins};
use zhijian_infra::redis::sms_codes::{
    IssueError, Requester, SmsPurpose, VerificationCodes, VerifyError,
};
use zhijian_infra::store::accounts::{self, AccountRow, BindPhoneError};
use zhijian_infra::store::admins::{self, AdminRecord, LoginOutcome};

use crate::auth::{self, AdminIdentity, MaybeWorker, TokenPair, WorkerIdentity};
use crate::error::ApiError;
use crate::startup::AppState;

/// Longest WeChat code accepted (they are 32 characters today).
const MAX_WECHAT_CODE_LEN: usize = 128;

/// Body of `POST /v1/auth/wechat` and `POST /v1/auth/wechat-phone`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeChatCodeRequest {
    /// The code from `wx.login` (sign-in) or from the `getPhoneNumber` button (phone).
    pub code: String,
}

/// Body of `POST /v1/auth/sms-codes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsCodeRequest {
    /// Mainland mobile number.
    pub phone: String,
    /// `login` or `bind_phone` (the latter needs a worker token).
    pub purpose: String,
}

/// Body of `POST /v1/auth/phone` and `POST /v1/me/phone`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneCodeRequest {
    /// Mainland mobile number the code was sent to.
    pub phone: String,
    /// The six digits received.
    pub code: String,
}

impl std::fmt::Debug for PhoneCodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneCodeRequest { .. }")
    }
}

/// Body of `POST /v1/auth/refresh`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token of the latest sign-in or refresh.
    pub refresh_token: String,
}

/// Body of `POST /v1/admin/auth/login`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminLoginRequest {
    /// Login name (case-insensitive).
    pub username: String,
    /// Password.
    pub password: String,
}

/// Answer of `POST /v1/auth/sms-codes`.
#[derive(Debug, Serialize)]
pub struct SmsCodeSentView {
    /// Seconds the code stays valid.
    pub expires_in: u64,
    /// Seconds before another code may be requested for this phone.
    pub resend_after: u64,
}

/// Answer of `GET /v1/me`: the signed-in worker's account.
#[derive(Debug, Serialize)]
pub struct MeView {
    /// Account id.
    pub account_id: AccountId,
    /// The bound phone, masked (`138****1234`); absent when none is bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Whether the account signs in with WeChat.
    pub wechat_linked: bool,
}

/// A union as named in the admin profile.
#[derive(Debug, Serialize)]
pub struct AdminUnionView {
    /// Id.
    pub id: UnionId,
    /// Name.
    pub name: String,
}

/// The signed-in admin.
#[derive(Debug, Serialize)]
pub struct AdminProfileView {
    /// Admin id.
    pub id: AdminId,
    /// Login name.
    pub username: String,
    /// Name shown in the admin UI.
    pub display_name: String,
    /// `reviewer`, `manager` or `viewer`.
    pub role: AdminRole,
    /// The union the role is bound to (the admin acts in its subtree).
    pub union: AdminUnionView,
}

/// Answer of `POST /v1/admin/auth/login`: the token pair and the admin's profile.
#[derive(Debug, Serialize)]
pub struct AdminLoginView {
    /// The tokens.
    #[serde(flatten)]
    pub tokens: TokenPair,
    /// Who signed in.
    pub admin: AdminProfileView,
}

/// The errors of these routes: the envelope of [`ApiError`], plus the `WWW-Authenticate:
/// Bearer` challenge on a 401.
#[derive(Debug)]
pub struct AuthRouteError(ApiError);

impl std::fmt::Display for AuthRouteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for AuthRouteError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = self.0.error_response();
        if self.0.status() == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer realm="zhijian""#),
            );
        }
        response
    }
}

impl From<ApiError> for AuthRouteError {
    fn from(error: ApiError) -> Self {
        Self(error)
    }
}

impl From<StoreError> for AuthRouteError {
    fn from(error: StoreError) -> Self {
        Self(error.into())
    }
}

impl From<RedisUnavailable> for AuthRouteError {
    fn from(error: RedisUnavailable) -> Self {
        Self(error.into())
    }
}

impl From<BindPhoneError> for AuthRouteError {
    fn from(error: BindPhoneError) -> Self {
        Self(match error {
            BindPhoneError::PhoneTaken => {
                ApiError::new(ErrorCode::PhoneTaken, "该手机号已绑定其他账号")
            }
            BindPhoneError::AccountNotFound => unauthorized(),
            BindPhoneError::Store(e) => e.into(),
        })
    }
}

type Answer = Result<HttpResponse, AuthRouteError>;

/// `POST /v1/auth/wechat`: sign in (or up) with a `wx.login` code.
pub async fn wechat_login(
    state: web::Data<AppState>,
    body: web::Json<WeChatCodeRequest>,
) -> Answer {
    let code = wechat_code(&body.code)?;
    // The session key stays here: it is dropped with `identity`, never stored or sent.
    let identity = state
        .wechat
        .code_to_session(code)
        .await
        .map_err(wechat_error)?;
    let (openid, unionid, now) = (identity.openid, identity.unionid, state.clock.now());
    let account = db::run(&state.pool, move |conn| {
        accounts::find_or_create_by_openid(conn, &openid, unionid.as_deref(), now)
    })
    .await?;
    log::info!(
        "worker signed in (method: wechat, account_id: {})",
        account.id
    );
    let tokens = auth::sign_in(&state, SessionKind::Worker, &account.id.to_string(), None).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// `POST /v1/auth/sms-codes`: send a verification code, unless a cap is reached.
pub async fn send_sms_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: MaybeWorker,
    body: web::Json<SmsCodeRequest>,
) -> Answer {
    let phone = parse_phone(&body.phone)?;
    let purpose = SmsPurpose::parse(&body.purpose).ok_or_else(|| {
        ApiError::invalid(ErrorCode::InvalidSmsPurpose, "验证码用途不正确", "purpose")
    })?;
    if purpose == SmsPurpose::BindPhone && caller.0.is_none() {
        return Err(unauthorized().into());
    }
    let ip = client_ip(&req, state.settings.server.trust_forwarded_for);
    let requester = Requester {
        ip,
        account: caller.0.map(|worker| worker.account_id),
    };
    let issued = codes(&state)
        .issue(
            &phone,
            purpose,
            requester,
            state.clock.now(),
            state.sms.as_ref(),
        )
        .await
        .map_err(issue_error)?;
    Ok(HttpResponse::Accepted().json(SmsCodeSentView {
        expires_in: issued.expires_in,
        resend_after: issued.resend_after,
    }))
}

/// `POST /v1/auth/phone`: sign in (or up) with a phone and its `login` code.
pub async fn phone_login(state: web::Data<AppState>, body: web::Json<PhoneCodeRequest>) -> Answer {
    let phone = parse_phone(&body.phone)?;
    codes(&state)
        .verify(&phone, SmsPurpose::Login, &body.code)
        .await
        .map_err(verify_error)?;
    let (pii, now) = (state.pii.clone(), state.clock.now());
    let account = db::run(&state.pool, move |conn| {
        accounts::find_or_create_by_phone(conn, &pii, &phone, now)
    })
    .await?;
    log::info!(
        "worker signed in (method: phone, account_id: {})",
        account.id
    );
    let tokens = auth::sign_in(&state, SessionKind::Worker, &account.id.to_string(), None).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// `POST /v1/auth/wechat-phone`: bind the phone WeChat verified (`getPhoneNumber`).
pub async fn bind_wechat_phone(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    body: web::Json<WeChatCodeRequest>,
) -> Answer {
    let code = wechat_code(&body.code)?;
    let number = state
        .wechat
        .phone_number(code)
        .await
        .map_err(wechat_error)?;
    let phone = PhoneNumber::parse(&number).map_err(|_| not_mainland())?;
    let account = bind_phone(&state, worker.account_id, phone).await?;
    Ok(HttpResponse::Ok().json(me_view(&state, &account)?))
}

/// `POST /v1/me/phone`: bind a phone verified by a `bind_phone` SMS code.
pub async fn bind_sms_phone(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    body: web::Json<PhoneCodeRequest>,
) -> Answer {
    let phone = parse_phone(&body.phone)?;
    codes(&state)
        .verify(&phone, SmsPurpose::BindPhone, &body.code)
        .await
        .map_err(verify_error)?;
    let account = bind_phone(&state, worker.account_id, phone).await?;
    Ok(HttpResponse::Ok().json(me_view(&state, &account)?))
}

/// `POST /v1/auth/refresh`: spend a refresh token for a new pair (worker or admin).
pub async fn refresh(state: web::Data<AppState>, body: web::Json<RefreshRequest>) -> Answer {
    let rotated = auth::sessions(&state)
        .rotate(body.refresh_token.trim())
        .await
        .map_err(|e| match e {
            RefreshError::Invalid => {
                ApiError::new(ErrorCode::InvalidRefreshToken, "登录已失效，请重新登录")
            }
            RefreshError::Reused { .. } => ApiError::new(
                ErrorCode::RefreshTokenReused,
                "登录凭证已被使用过，为保护账号安全已退出登录，请重新登录",
            ),
            RefreshError::Redis(e) => e.into(),
        })?;
    Ok(HttpResponse::Ok().json(auth::token_pair(
        &state,
        &rotated.session,
        rotated.refresh_token,
    )?))
}

/// `POST /v1/auth/logout`: end the worker's session; its tokens stop working at once.
pub async fn logout(state: web::Data<AppState>, worker: WorkerIdentity) -> Answer {
    auth::sessions(&state).end(&worker.session_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v1/me`: the signed-in worker's account.
pub async fn me(state: web::Data<AppState>, worker: WorkerIdentity) -> Answer {
    let id = worker.account_id;
    let account = db::run(&state.pool, move |conn| accounts::find(conn, id))
        .await?
        .ok_or_else(unauthorized)?;
    Ok(HttpResponse::Ok().json(me_view(&state, &account)?))
}

/// `POST /v1/admin/auth/login`: password sign-in of a union admin.
pub async fn admin_login(state: web::Data<AppState>, body: web::Json<AdminLoginRequest>) -> Answer {
    let admin = authenticate_admin(&state, body.into_inner()).await?;
    log::info!(
        "admin signed in (admin_id: {}, union_id: {})",
        admin.id,
        admin.union_id
    );
    let scope = AdminScope {
        role: admin.role,
        union_id: admin.union_id,
        union_path: admin.union_path.clone(),
    };
    let tokens = auth::sign_in(
        &state,
        SessionKind::Admin,
        &admin.id.to_string(),
        Some(scope),
    )
    .await?;
    let union = AdminUnionView {
        id: admin.union_id,
        name: admin.union_name,
    };
    let profile = AdminProfileView {
        id: admin.id,
        username: admin.username,
        display_name: admin.display_name,
        role: admin.role,
        union,
    };
    Ok(HttpResponse::Ok().json(AdminLoginView {
        tokens,
        admin: profile,
    }))
}

/// `POST /v1/admin/auth/logout`: end the admin's session.
pub async fn admin_logout(state: web::Data<AppState>, admin: AdminIdentity) -> Answer {
    auth::sessions(&state).end(&admin.session_id).await?;
    let (id, now) = (admin.admin_id, state.clock.now());
    // The session is already over; a missing audit row must not make the logout fail.
    if let Err(e) = db::run(&state.pool, move |conn| {
        admins::record_logout(conn, id, now)
    })
    .await
    {
        log::warn!("admin {id} signed out, but the audit row was not written: {e}");
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Checks the password (with the lockout) and answers unknown usernames exactly like wrong
/// passwords, lockout included.
async fn authenticate_admin(
    state: &AppState,
    body: AdminLoginRequest,
) -> Result<AdminRecord, AuthRouteError> {
    let username = admins::normalise_username(&body.username);
    let now = state.clock.now();
    let typed = body.username;
    let outcome = db::run(&state.pool, move |conn| {
        admins::attempt_login(conn, &typed, &body.password, now)
    })
    .await?;
    let lock = admins::LOCKOUT.to_std().unwrap_or_default();
    let unknown =
        UnknownAdminLogins::new(&state.redis, admins::MAX_FAILED_LOGINS.unsigned_abs(), lock);
    match outcome {
        LoginOutcome::Success(admin) => Ok(admin),
        LoginOutcome::WrongPassword { locked_until: None } => Err(invalid_credentials().into()),
        LoginOutcome::WrongPassword {
            locked_until: Some(until),
        }
        | LoginOutcome::Locked { until } => Err(account_locked(seconds_until(until, now)).into()),
        LoginOutcome::UnknownUser => {
            if let Some(seconds) = unknown.locked_for(&username).await? {
                return Err(account_locked(seconds).into());
            }
            match unknown.record_failure(&username).await? {
                Some(seconds) => Err(account_locked(seconds).into()),
                None => Err(invalid_credentials().into()),
            }
        }
    }
}

async fn bind_phone(
    state: &AppState,
    account: AccountId,
    phone: PhoneNumber,
) -> Result<AccountRow, AuthRouteError> {
    let (pii, now) = (state.pii.clone(), state.clock.now());
    let row = db::run(&state.pool, move |conn| {
        accounts::bind_phone(conn, &pii, account, &phone, now)
    })
    .await?;
    log::info!("phone bound (account_id: {account})");
    Ok(row)
}

fn me_view(state: &AppState, account: &AccountRow) -> Result<MeView, ApiError> {
    Ok(MeView {
        account_id: account.account_id(),
        phone: account.phone(&state.pii)?.map(|phone| phone.masked()),
        wechat_linked: account.wechat_linked(),
    })
}

fn codes(state: &AppState) -> VerificationCodes<'_> {
    VerificationCodes::new(&state.redis, &state.pii, &state.settings.sms_policy)
}

fn parse_phone(raw: &str) -> Result<PhoneNumber, ApiError> {
    PhoneNumber::parse(raw)
        .map_err(|e| ApiError::invalid(ErrorCode::InvalidPhone, e.to_string(), "phone"))
}

fn wechat_code(raw: &str) -> Result<&str, ApiError> {
    let code = raw.trim();
    // Real codes are short printable ASCII; anything else (control characters, NUL) is refused
    // before it reaches the provider or the database.
    let printable = code.bytes().all(|b| b.is_ascii_graphic());
    if code.is_empty() || code.len() > MAX_WECHAT_CODE_LEN || !printable {
        return Err(ApiError::invalid(
            ErrorCode::InvalidWechatCode,
            "微信授权凭证无效，请重试",
            "code",
        ));
    }
    Ok(code)
}

/// The client's address for the per-IP caps: the TCP peer, or the address a trusted proxy
/// forwarded when `server.trust_forwarded_for` is on.
fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> Option<IpAddr> {
    let forwarded = trust_forwarded_for
        .then(|| {
            req.connection_info()
                .realip_remote_addr()
                .map(str::to_owned)
        })
        .flatten()
        .and_then(|addr| {
            addr.parse::<IpAddr>()
                .ok()
                .or_else(|| addr.parse::<SocketAddr>().ok().map(|s| s.ip()))
        });
    forwarded.or_else(|| req.peer_addr().map(|addr| addr.ip()))
}

fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((until - now).num_seconds())
        .unwrap_or(0)
        .max(1)
}

fn unauthorized() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "请先登录")
}

fn invalid_credentials() -> ApiError {
    ApiError::new(ErrorCode::InvalidCredentials, "用户名或密码不正确")
}

fn account_locked(seconds: u64) -> ApiError {
    ApiError::new(
        ErrorCode::AccountLocked,
        "登录失败次数过多，账号已暂时锁定，请稍后再试",
    )
    .with_retry_after(seconds)
}

fn too_many_requests(seconds: u64, message: &'static str) -> ApiError {
    ApiError::new(ErrorCode::TooManyRequests, message).with_retry_after(seconds)
}

fn not_mainland() -> ApiError {
    ApiError::invalid(ErrorCode::InvalidPhone, "仅支持中国大陆手机号", "code")
}

fn wechat_error(error: WeChatError) -> ApiError {
    match error {
        WeChatError::InvalidCode => ApiError::invalid(
            ErrorCode::InvalidWechatCode,
            "微信授权凭证无效或已使用，请重试",
            "code",
        ),
        WeChatError::UserBlocked => ApiError::new(
            ErrorCode::WechatUserBlocked,
            "微信账号存在风险，暂时无法登录",
        ),
        WeChatError::RateLimited => too_many_requests(60, "微信服务繁忙，请稍后再试"),
        // The adapter's answer for a verified phone outside the mainland.
        WeChatError::Other { code: 0, .. } => not_mainland(),
        other => {
            log::warn!("wechat: {other}");
            ApiError::unavailable()
        }
    }
}

fn issue_error(error: IssueError) -> ApiError {
    match error {
        IssueError::Limited { retry_after_secs } => {
            too_many_requests(retry_after_secs, "验证码发送过于频繁，请稍后再试")
        }
        IssueError::Sms(SmsError::RateLimited) => {
            too_many_requests(60, "验证码发送过于频繁，请稍后再试")
        }
        IssueError::Sms(SmsError::InvalidNumber) => {
            ApiError::invalid(ErrorCode::InvalidPhone, "手机号码无效", "phone")
        }
        IssueError::Sms(SmsError::Blacklisted) => ApiError::invalid(
            ErrorCode::PhoneUnreachable,
            "该号码无法接收短信，请使用其他号码",
            "phone",
        ),
        IssueError::Sms(SmsError::Unavailable(cause)) => {
            log::warn!("sms: verification code not sent: {cause}");
            ApiError::unavailable()
        }
        IssueError::Redis(e) => e.into(),
    }
}

fn verify_error(error: VerifyError) -> ApiError {
    match error {
        VerifyError::Wrong { .. } => {
            ApiError::invalid(ErrorCode::InvalidSmsCode, "验证码不正确", "code")
        }
        VerifyError::Expired { voided: true } => ApiError::invalid(
            ErrorCode::SmsCodeExpired,
            "验证码错误次数过多，已失效，请重新获取",
            "code",
        ),
        VerifyError::Expired { voided: false } => ApiError::invalid(
            ErrorCode::SmsCodeExpired,
            "验证码已失效，请重新获取",
            "code",
        ),
        VerifyError::Redis(e) => e.into(),
    }
}
