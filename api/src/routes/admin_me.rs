//! The signed-in admin's own account: `GET /v1/admin/me` and `POST /v1/admin/me/password`.
//! Both take [`AdminSelf`], so they answer while a one-time password is still to be changed.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use zhijian_infra::usecases::admins;

use crate::auth::{AdminSelf, context};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::views::admin::AdminMeView;

/// Body of `POST /v1/admin/me/password`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password in use (the one-time password after a creation or a reset).
    pub current_password: String,
    /// The new password: at least 12 characters, not guessable.
    pub new_password: String,
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePasswordRequest { .. }")
    }
}

/// `GET /v1/admin/me`: the signed-in admin's profile, as it is now.
pub async fn me(
    state: web::Data<AppState>,
    AdminSelf(admin): AdminSelf,
) -> Result<HttpResponse, ApiError> {
    let account = admins::my_account(&state.services, admin.admin_id).await?;
    Ok(HttpResponse::Ok().json(AdminMeView::from(&account)))
}

/// `POST /v1/admin/me/password`: replace the password, giving the current one; ends the
/// admin's other sessions.
pub async fn change_password(
    state: web::Data<AppState>,
    AdminSelf(admin): AdminSelf,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let ChangePasswordRequest {
        current_password,
        new_password,
    } = body.into_inner();
    let ctx = context(&state);
    admins::change_own_password(
        &ctx,
        admin.admin_id,
        &admin.session_id,
        current_password,
        new_password,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
