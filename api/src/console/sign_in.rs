//! Signing in (password, then the authenticator code when the admin has a second factor),
//! the forced password change of a one-time password, and signing out — through the same use
//! cases as `POST /v1/admin/auth/login`, `/second-factor`, `/v1/admin/me/password` and
//! `/logout`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use zhijian_domain::second_factor::{RecoveryCode, TotpCode};
use zhijian_infra::redis::console_sessions::random_token;
use zhijian_infra::usecases::admins;
use zhijian_infra::usecases::auth::{
    self as auth_usecase, AdminLogin, AdminSignedIn, SecondStepProof,
};

use super::session::{self, ConsoleSelf, Form, PRE_COOKIE, read_cookie, same_token};
use super::{Page, html, see_other};
use crate::auth::context;
use crate::error::ApiError;
use crate::error::mapping::{auth as auth_errors, second_factor as factor_errors};
use crate::startup::AppState;

/// Registers the sign-in routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login))
        .route("/login/code", web::post().to(second_step))
        .route("/logout", web::post().to(logout))
        .route("/password", web::get().to(password_page))
        .route("/password", web::post().to(change_password));
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    username: &'a str,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/code.html")]
struct CodePage<'a> {
    csrf: &'a str,
    challenge: &'a str,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/password.html")]
struct PasswordPage<'a> {
    csrf: &'a str,
    forced: bool,
    error: Option<String>,
}

/// The pre-session token of the sign-in forms: the cookie's, or a new one.
fn pre_token(req: &HttpRequest) -> (String, bool) {
    match read_cookie(req, PRE_COOKIE) {
        Some(token) if token.len() == 43 => (token, false),
        _ => (random_token(), true),
    }
}

/// The sign-in forms' token check (double submit: the cookie and the field agree).
fn check_pre(req: &HttpRequest, form: &Form) -> Result<String, Page> {
    let cookie = read_cookie(req, PRE_COOKIE).unwrap_or_default();
    match form.get("csrf") {
        Some(sent) if same_token(sent, &cookie) => Ok(cookie),
        _ => Err(Page::message(
            actix_web::http::StatusCode::FORBIDDEN,
            "登录表单已失效，请重新打开登录页面。",
            Some("/console/login".into()),
        )),
    }
}

fn with_status(page: HttpResponse, status: actix_web::http::StatusCode) -> HttpResponse {
    let mut page = page;
    *page.status_mut() = status;
    page
}

/// `GET /console/login`
async fn login_page(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, Page> {
    let (token, new) = pre_token(&req);
    let mut page = html(&LoginPage {
        csrf: &token,
        username: "",
        error: None,
    })?;
    if new {
        let cookie = session::cookie(&state, PRE_COOKIE, &token, 3600);
        page.headers_mut().append(
            header::SET_COOKIE,
            header::HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
        );
    }
    Ok(page)
}

/// `POST /console/login`: the password step.
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, Page> {
    let token = check_pre(&req, &form)?;
    let username = form.get("username").unwrap_or_default().to_owned();
    let password = form.get("password").unwrap_or_default().to_owned();
    let outcome = auth_usecase::admin_login(&context(&state), username.clone(), password).await;
    match outcome.map_err(auth_errors::admin_login_error) {
        Ok(AdminLogin::SignedIn(signed_in)) => signed_in_response(&state, *signed_in).await,
        Ok(AdminLogin::SecondFactorRequired(challenge)) => html(&CodePage {
            csrf: &token,
            challenge: &challenge.challenge,
            error: None,
        }),
        Err(e) => {
            let status = e.status();
            let page = html(&LoginPage {
                csrf: &token,
                username: &username,
                error: Some(e.body().message.to_string()),
            })?;
            Ok(with_status(page, status))
        }
    }
}

/// `POST /console/login/code`: the second step, with an authenticator code or a recovery code.
async fn second_step(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, Page> {
    let token = check_pre(&req, &form)?;
    let challenge = form.get("challenge").unwrap_or_default().to_owned();
    let code = form.get("code").unwrap_or_default().trim().to_owned();
    let proof = if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        TotpCode::parse(&code)
            .map(SecondStepProof::Code)
            .map_err(factor_errors::invalid_totp_code)
    } else {
        RecoveryCode::parse(&code)
            .map(SecondStepProof::Recovery)
            .map_err(factor_errors::invalid_recovery_code)
    };
    let outcome = match proof {
        Ok(proof) => auth_usecase::complete_admin_login(&context(&state), challenge.clone(), proof)
            .await
            .map_err(factor_errors::second_step_error),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(signed_in) => signed_in_response(&state, signed_in).await,
        Err(e) => {
            let status = e.status();
            let page = html(&CodePage {
                csrf: &token,
                challenge: &challenge,
                error: Some(e.body().message.to_string()),
            })?;
            Ok(with_status(page, status))
        }
    }
}

/// A complete sign-in: the console session and its cookie; on to the queue (or to the
/// password change, which the queue sends a one-time password to).
async fn signed_in_response(
    state: &AppState,
    AdminSignedIn { signed_in, .. }: AdminSignedIn,
) -> Result<HttpResponse, Page> {
    let token = session::sessions(state)
        .start(&signed_in.session.id, state.services.now())
        .await
        .map_err(ApiError::from)?;
    let mut response = see_other("/console/queue");
    let absolute = session::ABSOLUTE.as_secs();
    for cookie in [
        session::cookie(state, session::COOKIE, &token, absolute),
        session::cookie(state, PRE_COOKIE, "", 0),
    ] {
        response.headers_mut().append(
            header::SET_COOKIE,
            header::HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
        );
    }
    Ok(response)
}

/// `POST /console/logout`: ends the admin session (audited, as the API's logout) and the
/// console's.
async fn logout(
    state: web::Data<AppState>,
    me: ConsoleSelf,
    form: Form,
) -> Result<HttpResponse, Page> {
    form.checked(&me.session.csrf)?;
    auth_usecase::admin_logout(&context(&state), me.admin.admin_id, &me.session.sid)
        .await
        .map_err(auth_errors::logout_error)?;
    session::sessions(&state)
        .end(&me.token)
        .await
        .map_err(ApiError::from)?;
    let mut response = see_other("/console/login");
    let cookie = session::cookie(&state, session::COOKIE, "", 0);
    response.headers_mut().append(
        header::SET_COOKIE,
        header::HeaderValue::from_str(&cookie).map_err(ApiError::internal)?,
    );
    Ok(response)
}

/// `GET /console/password`
async fn password_page(me: ConsoleSelf) -> Result<HttpResponse, Page> {
    html(&PasswordPage {
        csrf: &me.session.csrf,
        forced: me.standing.must_change_password,
        error: None,
    })
}

/// `POST /console/password`: the new password (twice) and the current one.
async fn change_password(
    state: web::Data<AppState>,
    me: ConsoleSelf,
    form: Form,
) -> Result<HttpResponse, Page> {
    let form = form.checked(&me.session.csrf)?;
    let current = form.get("current_password").unwrap_or_default().to_owned();
    let new = form.get("new_password").unwrap_or_default().to_owned();
    let again = form.get("new_password_again").unwrap_or_default();
    let refused = |status, message: String| -> Result<HttpResponse, Page> {
        let page = html(&PasswordPage {
            csrf: &me.session.csrf,
            forced: me.standing.must_change_password,
            error: Some(message),
        })?;
        Ok(with_status(page, status))
    };
    if new != again {
        return refused(
            actix_web::http::StatusCode::BAD_REQUEST,
            "两次输入的新密码不一致".into(),
        );
    }
    let changed = admins::change_own_password(
        &context(&state),
        me.admin.admin_id,
        &me.session.sid,
        current,
        new,
    )
    .await
    .map_err(ApiError::from);
    match changed {
        Ok(()) => Ok(see_other("/console/queue")),
        Err(e) => refused(e.status(), e.body().message.to_string()),
    }
}
