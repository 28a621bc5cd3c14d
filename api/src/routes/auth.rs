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
//!
//! An admin with a second factor gets a challenge from the password step instead of tokens;
//! `crate::routes::second_factor` completes the sign-in.

use std::net::{IpAddr, SocketAddr};

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use zhijian_domain::admin::AdminRole;
use zhijian_domain::ids::{AccountId, AdminId, UnionId};
use zhijian_domain::phone::PhoneNumber;
use zhijian_domain::sign_in::WeChatCode;
use zhijian_infra::redis::sms_codes::{Requester, SmsPurpose};
use zhijian_infra::usecases::auth::{
    self as sign_in, AccountProfile, AdminLogin, AdminSignedIn, LoginChallenge,
};

use crate::auth::{self, AdminSelf, MaybeWorker, TokenPair, WorkerIdentity, context};
use crate::error::ApiError;
use crate::error::mapping::auth as errors;
use crate::startup::AppState;

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
    /// Signed in with a one-time password: only the self routes answer until it is changed
    /// (`POST /v1/admin/me/password`).
    pub must_change_password: bool,
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

type Answer = Result<HttpResponse, ApiError>;

/// `POST /v1/auth/wechat`: sign in (or up) with a `wx.login` code.
pub async fn wechat_login(
    state: web::Data<AppState>,
    body: web::Json<WeChatCodeRequest>,
) -> Answer {
    let code = WeChatCode::parse(&body.code).map_err(errors::invalid_wechat_code)?;
    let signed_in = sign_in::wechat_login(&context(&state), state.wechat.as_ref(), &code)
        .await
        .map_err(errors::wechat_login_error)?;
    worker_sign_in(&state, signed_in).await
}

/// `POST /v1/auth/sms-codes`: send a verification code, unless a cap is reached.
pub async fn send_sms_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: MaybeWorker,
    body: web::Json<SmsCodeRequest>,
) -> Answer {
    let phone = PhoneNumber::parse(&body.phone).map_err(errors::invalid_phone)?;
    let purpose = SmsPurpose::parse(&body.purpose).ok_or_else(errors::invalid_sms_purpose)?;
    let requester = Requester {
        ip: client_ip(&req, state.settings.server.trust_forwarded_for),
        account: caller.0.map(|worker| worker.account_id),
    };
    let sms = state.sms.as_ref();
    let issued = sign_in::send_sms_code(&context(&state), sms, &phone, purpose, requester)
        .await
        .map_err(errors::send_code_error)?;
    Ok(HttpResponse::Accepted().json(SmsCodeSentView {
        expires_in: issued.expires_in,
        resend_after: issued.resend_after,
    }))
}

/// `POST /v1/auth/phone`: sign in (or up) with a phone and its `login` code.
pub async fn phone_login(state: web::Data<AppState>, body: web::Json<PhoneCodeRequest>) -> Answer {
    let phone = PhoneNumber::parse(&body.phone).map_err(errors::invalid_phone)?;
    let signed_in = sign_in::phone_login(&context(&state), phone, &body.code)
        .await
        .map_err(errors::phone_login_error)?;
    worker_sign_in(&state, signed_in).await
}

/// The answer of a worker's sign-in: the token pair, and whether the worker must consent to
/// the current privacy notice before writing (their consent names an older version).
#[derive(Serialize)]
pub struct WorkerSignInView {
    /// The token pair.
    #[serde(flatten)]
    pub tokens: auth::TokenPair,
    /// The notice version in force (`privacy.notice_version`).
    pub privacy_notice_version: String,
    /// `true`: `PUT /v1/me/privacy-consent` before any write (403 `consent_required`).
    pub privacy_consent_required: bool,
}

async fn worker_sign_in(state: &AppState, signed_in: sign_in::SignedIn) -> Answer {
    let account = AccountId::parse(&signed_in.session.subject)
        .map_err(|_| ApiError::internal("a worker session without an account id"))?;
    let current = state.settings.privacy.notice_version.clone();
    let standing =
        zhijian_infra::usecases::privacy::standing(&state.services, account, &current).await?;
    Ok(HttpResponse::Ok().json(WorkerSignInView {
        tokens: auth::token_pair(state, signed_in)?,
        privacy_notice_version: current,
        privacy_consent_required: standing.blocks_writes(),
    }))
}

/// `POST /v1/auth/wechat-phone`: bind the phone WeChat verified (`getPhoneNumber`).
pub async fn bind_wechat_phone(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    body: web::Json<WeChatCodeRequest>,
) -> Answer {
    let code = WeChatCode::parse(&body.code).map_err(errors::invalid_wechat_code)?;
    let wechat = state.wechat.as_ref();
    let account = sign_in::bind_wechat_phone(&context(&state), wechat, worker.account_id, &code)
        .await
        .map_err(errors::bind_phone_error)?;
    Ok(HttpResponse::Ok().json(MeView::from(account)))
}

/// `POST /v1/me/phone`: bind a phone verified by a `bind_phone` SMS code.
pub async fn bind_sms_phone(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    body: web::Json<PhoneCodeRequest>,
) -> Answer {
    let phone = PhoneNumber::parse(&body.phone).map_err(errors::invalid_phone)?;
    let account = sign_in::bind_sms_phone(&context(&state), worker.account_id, phone, &body.code)
        .await
        .map_err(errors::bind_phone_error)?;
    Ok(HttpResponse::Ok().json(MeView::from(account)))
}

/// `POST /v1/auth/refresh`: spend a refresh token for a new pair (worker or admin).
pub async fn refresh(state: web::Data<AppState>, body: web::Json<RefreshRequest>) -> Answer {
    let signed_in = sign_in::refresh(&context(&state), &body.refresh_token)
        .await
        .map_err(errors::refresh_error)?;
    Ok(HttpResponse::Ok().json(auth::token_pair(&state, signed_in)?))
}

/// `POST /v1/auth/logout`: end the worker's session; its tokens stop working at once.
pub async fn logout(state: web::Data<AppState>, worker: WorkerIdentity) -> Answer {
    sign_in::logout(&context(&state), &worker.session_id)
        .await
        .map_err(errors::logout_error)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v1/me`: the signed-in worker's account.
pub async fn me(state: web::Data<AppState>, worker: WorkerIdentity) -> Answer {
    let account = sign_in::me(&state.services, worker.account_id)
        .await
        .map_err(errors::me_error)?;
    Ok(HttpResponse::Ok().json(MeView::from(account)))
}

/// Answer of `POST /v1/admin/auth/login` for an admin with a second factor: the challenge
/// `POST /v1/admin/auth/second-factor` completes with a code.
#[derive(Serialize)]
pub struct AdminLoginChallengeView {
    /// Always `true`.
    pub second_factor_required: bool,
    /// Single-use, bound to the admin.
    pub challenge: String,
    /// Seconds it stays valid.
    pub expires_in: u64,
}

/// `POST /v1/admin/auth/login`: password sign-in of a union admin; with a second factor, the
/// first of two steps.
pub async fn admin_login(state: web::Data<AppState>, body: web::Json<AdminLoginRequest>) -> Answer {
    let AdminLoginRequest { username, password } = body.into_inner();
    let login = sign_in::admin_login(&context(&state), username, password)
        .await
        .map_err(errors::admin_login_error)?;
    match login {
        AdminLogin::SignedIn(signed_in) => {
            Ok(HttpResponse::Ok().json(admin_login_view(&state, *signed_in)?))
        }
        AdminLogin::SecondFactorRequired(LoginChallenge {
            challenge,
            expires_in,
        }) => Ok(HttpResponse::Ok().json(AdminLoginChallengeView {
            second_factor_required: true,
            challenge,
            expires_in,
        })),
    }
}

/// The body of a complete admin sign-in: the tokens and who signed in.
pub fn admin_login_view(
    state: &AppState,
    AdminSignedIn { admin, signed_in }: AdminSignedIn,
) -> Result<AdminLoginView, ApiError> {
    let profile = AdminProfileView {
        id: admin.id,
        username: admin.username,
        display_name: admin.display_name,
        role: admin.role,
        union: AdminUnionView {
            id: admin.union_id,
            name: admin.union_name,
        },
        must_change_password: admin.must_change_password,
    };
    let tokens = auth::token_pair(state, signed_in)?;
    Ok(AdminLoginView {
        tokens,
        admin: profile,
    })
}

/// `POST /v1/admin/auth/logout`: end the admin's session (recorded in the audit trail). Not
/// gated: a manager without a second factor may sign out.
pub async fn admin_logout(state: web::Data<AppState>, AdminSelf(admin): AdminSelf) -> Answer {
    sign_in::admin_logout(&context(&state), admin.admin_id, &admin.session_id)
        .await
        .map_err(errors::logout_error)?;
    Ok(HttpResponse::NoContent().finish())
}

impl From<AccountProfile> for MeView {
    fn from(account: AccountProfile) -> Self {
        Self {
            account_id: account.account_id,
            phone: account.phone.map(|phone| phone.masked()),
            wechat_linked: account.wechat_linked,
        }
    }
}

/// The client's address for the per-IP caps: the TCP peer, or the address a trusted proxy
/// forwarded when `server.trust_forwarded_for` is on.
pub(crate) fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> Option<IpAddr> {
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
