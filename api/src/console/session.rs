//! The console's session: the cookie, the signed-in admin of a request, and the form token.
//!
//! The cookie `zj_console` names a console session in Redis
//! (`zhijian_infra::redis::console_sessions`), which names the admin session the sign-in
//! started — the same session a bearer token names, so the admin's standing is read from
//! PostgreSQL on every request exactly as for the API (a disabled admin is signed out, a new
//! role applies at once). Idle timeout [`IDLE`], absolute timeout [`ABSOLUTE`].
//!
//! Forms carry the session's synchronizer token in the field `csrf`; [`Form::checked`] refuses
//! a form without it, or with another, 403 before anything else is read. The sign-in forms,
//! before there is a session, use a double-submit token instead: the cookie `zj_console_pre`
//! and the same value in the form.

use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use zhijian_domain::admin_management::AdminStanding;
use zhijian_domain::second_factor;
use zhijian_infra::redis::console_sessions::{ConsoleSession, ConsoleSessions};

use super::Page;
use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::startup::AppState;

/// The session cookie.
pub const COOKIE: &str = "zj_console";
/// The double-submit cookie of the sign-in forms.
pub const PRE_COOKIE: &str = "zj_console_pre";
/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after its sign-in, used or not.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);
/// Largest form accepted.
const FORM_LIMIT: usize = 64 * 1024;

/// The console sessions of this server.
pub fn sessions(state: &AppState) -> ConsoleSessions<'_> {
    ConsoleSessions::new(&state.redis, IDLE, ABSOLUTE)
}

/// Whether cookies are marked `Secure`: everywhere but a development machine (plain HTTP on
/// 127.0.0.1).
pub fn secure(state: &AppState) -> bool {
    !matches!(
        state.settings.app_env.as_str(),
        "local" | "development" | "dev" | "test"
    )
}

/// A `Set-Cookie` value: `name=value` for `max_age` seconds (0 deletes it), `HttpOnly`,
/// `SameSite=Strict`, path `/console`, `Secure` when [`secure`].
pub fn cookie(state: &AppState, name: &str, value: &str, max_age: u64) -> String {
    let secure = if secure(state) { "; Secure" } else { "" };
    format!("{name}={value}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// The value of cookie `name` of `req`.
pub fn read_cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Constant-time equality of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, Page> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Page::from(ApiError::internal("AppState is not registered")))
}

/// A signed-in admin of the console, whatever their standing (the sign-out and the password
/// change take this).
pub struct ConsoleSelf {
    /// Who, as the API routes see them.
    pub admin: AdminIdentity,
    /// Their standing now.
    pub standing: AdminStanding,
    /// The console session.
    pub session: ConsoleSession,
    /// The cookie value.
    pub token: String,
}

/// A signed-in admin of the console who may use it: password changed, a manager's second
/// factor enrolled, not station staff. Without a session: to the sign-in page; with a one-time
/// password: to the password change.
pub struct Console {
    /// Who, as the API routes see them.
    pub admin: AdminIdentity,
    /// The console session.
    pub session: ConsoleSession,
}

impl Console {
    /// The form token of the session, for the templates.
    pub fn csrf(&self) -> &str {
        &self.session.csrf
    }

    /// Whether the admin's role decides on applications (a viewer only looks).
    pub fn can_decide(&self) -> bool {
        self.admin.role.can_decide()
    }

    /// The role in Chinese, for the header.
    pub fn role_label(&self) -> &'static str {
        self.admin.role.label_zh()
    }
}

async fn console_self(req: HttpRequest) -> Result<ConsoleSelf, Page> {
    let state = app_state(&req)?;
    let to_sign_in = || Page::Redirect("/console/login".into());
    let token = read_cookie(&req, COOKIE).ok_or_else(to_sign_in)?;
    let session = sessions(&state)
        .touch(&token, state.services.now())
        .await
        .map_err(ApiError::from)?
        .ok_or_else(to_sign_in)?;
    let (admin, standing) = crate::auth::admin_of_session(&state, &session.sid)
        .await?
        .ok_or_else(to_sign_in)?;
    Ok(ConsoleSelf {
        admin,
        standing,
        session,
        token,
    })
}

impl FromRequest for ConsoleSelf {
    type Error = Page;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        Box::pin(console_self(req.clone()))
    }
}

impl FromRequest for Console {
    type Error = Page;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let me = console_self(req).await?;
            if me.standing.must_change_password {
                return Err(Page::Redirect("/console/password".into()));
            }
            if second_factor::mandatory_for(me.standing.role) && !me.standing.second_factor_enrolled
            {
                return Err(Page::message(
                    StatusCode::FORBIDDEN,
                    "管理员须先绑定身份验证器（双重验证）才能使用管理后台：请通过 POST /v1/admin/me/second-factor 完成绑定。",
                    None,
                ));
            }
            if me.standing.role.is_station_staff() {
                return Err(Page::message(
                    StatusCode::FORBIDDEN,
                    "站点工作人员请使用核销功能，管理后台不对其开放。",
                    None,
                ));
            }
            Ok(Console {
                admin: me.admin,
                session: me.session,
            })
        })
    }
}

/// A posted form (`application/x-www-form-urlencoded`), every pair in order (a field may
/// repeat: the selected applications, the fields to correct).
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The form, once its `csrf` field is the session's token: otherwise 403.
    pub fn checked(self, token: &str) -> Result<Self, Page> {
        match self.get("csrf") {
            Some(sent) if same_token(sent, token) => Ok(self),
            _ => Err(Page::message(
                StatusCode::FORBIDDEN,
                "表单已失效或来源不明（缺少安全令牌），请返回页面刷新后重新提交。",
                None,
            )),
        }
    }
}

impl FromRequest for Form {
    type Error = Page;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = body
                .await
                .map_err(|_| Page::message(StatusCode::BAD_REQUEST, "表单内容无法读取", None))?;
            if body.len() > FORM_LIMIT {
                return Err(Page::message(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "表单内容过长",
                    None,
                ));
            }
            Ok(Form(
                form_urlencoded::parse(&body)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            ))
        })
    }
}
