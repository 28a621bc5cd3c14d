//! The admins' second factor (TOTP, RFC 6238): enrolment and removal on the admin's own
//! account (`/v1/admin/me/second-factor`, open to a manager who has not enrolled yet: see
//! [`AdminSelf`]), and the second step of a sign-in (`/v1/admin/auth/second-factor`).
//!
//! Secrets and recovery codes are answered once, with `Cache-Control: no-store`, and never
//! logged (the request types do not print them).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use zhijian_domain::second_factor::{RecoveryCode, TotpCode};
use zhijian_infra::usecases::auth::{self as sign_in, SecondStepProof};

use crate::auth::{AdminSelf, context};
use crate::error::ApiError;
use crate::error::mapping::second_factor as errors;
use crate::routes::auth::admin_login_view;
use crate::startup::AppState;

type Answer = Result<HttpResponse, ApiError>;

/// Body of `POST /v1/admin/me/second-factor/confirm` and `DELETE /v1/admin/me/second-factor`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpCodeRequest {
    /// The six digits the authenticator app shows now.
    pub code: String,
}

impl std::fmt::Debug for TotpCodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpCodeRequest { .. }")
    }
}

/// Body of `POST /v1/admin/auth/second-factor`: the challenge and one of a code or a recovery
/// code.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondStepRequest {
    /// The challenge of the password step.
    pub challenge: String,
    /// The six digits the authenticator app shows now.
    #[serde(default)]
    pub code: Option<String>,
    /// One of the recovery codes (spent by this use).
    #[serde(default)]
    pub recovery_code: Option<String>,
}

impl std::fmt::Debug for SecondStepRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecondStepRequest { .. }")
    }
}

/// Answer of `POST /v1/admin/me/second-factor`.
#[derive(Serialize)]
pub struct EnrolmentView {
    /// The base32 secret, for typing into an app by hand.
    pub secret: String,
    /// `otpauth://totp/zhijian:<username>?secret=…&issuer=zhijian…`.
    pub otpauth_uri: String,
    /// The URI as a QR code (an SVG document).
    pub qr_svg: String,
}

/// Answer of `POST /v1/admin/me/second-factor/confirm`.
#[derive(Serialize)]
pub struct RecoveryCodesView {
    /// Ten single-use recovery codes, shown this once.
    pub recovery_codes: Vec<String>,
}

/// `POST /v1/admin/me/second-factor`: start (or restart) enrolling an authenticator app.
pub async fn start(state: web::Data<AppState>, AdminSelf(admin): AdminSelf) -> Answer {
    let enrolment = sign_in::start_enrolment(&state.services, admin.admin_id)
        .await
        .map_err(errors::start_enrolment_error)?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(EnrolmentView {
            secret: enrolment.secret.expose_base32().to_owned(),
            otpauth_uri: enrolment.otpauth_uri,
            qr_svg: enrolment.qr_svg,
        }))
}

/// `POST /v1/admin/me/second-factor/confirm`: confirm with a first code; answers the recovery
/// codes.
pub async fn confirm(
    state: web::Data<AppState>,
    AdminSelf(admin): AdminSelf,
    body: web::Json<TotpCodeRequest>,
) -> Answer {
    let code = TotpCode::parse(&body.code).map_err(errors::invalid_totp_code)?;
    let codes = sign_in::confirm_enrolment(&state.services, admin.admin_id, code)
        .await
        .map_err(errors::confirm_enrolment_error)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(RecoveryCodesView {
            recovery_codes: codes.iter().map(RecoveryCode::display).collect(),
        }))
}

/// `DELETE /v1/admin/me/second-factor`: remove the factor (reviewers and viewers), proven by a
/// current code.
pub async fn remove(
    state: web::Data<AppState>,
    AdminSelf(admin): AdminSelf,
    body: web::Json<TotpCodeRequest>,
) -> Answer {
    let code = TotpCode::parse(&body.code).map_err(errors::invalid_totp_code)?;
    sign_in::remove_second_factor(&state.services, admin.admin_id, code)
        .await
        .map_err(errors::remove_error)?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /v1/admin/auth/second-factor`: the second step of a sign-in; answers the tokens.
pub async fn complete_login(
    state: web::Data<AppState>,
    body: web::Json<SecondStepRequest>,
) -> Answer {
    let SecondStepRequest {
        challenge,
        code,
        recovery_code,
    } = body.into_inner();
    let proof = match (code, recovery_code) {
        (Some(code), None) => {
            SecondStepProof::Code(TotpCode::parse(&code).map_err(errors::invalid_totp_code)?)
        }
        (None, Some(code)) => SecondStepProof::Recovery(
            RecoveryCode::parse(&code).map_err(errors::invalid_recovery_code)?,
        ),
        (None, None) => return Err(errors::proof_required()),
        (Some(_), Some(_)) => return Err(errors::one_proof_only()),
    };
    let signed_in = sign_in::complete_admin_login(&context(&state), challenge, proof)
        .await
        .map_err(errors::second_step_error)?;
    Ok(HttpResponse::Ok().json(admin_login_view(&state, signed_in)?))
}
