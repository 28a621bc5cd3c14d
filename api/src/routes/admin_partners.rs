//! Partner clients, for a manager of a root union: register (the secret is shown once), list,
//! show, rotate the secret with an overlap, disable and enable (`/v1/admin/partners`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::partner::{ClientText, Scopes, SecretOverlap};
use zhijian_infra::usecases::partners::{self, ClientManager, ClientWithSecret, NewClient};

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::error::mapping::partners::client_error;
use crate::startup::AppState;
use crate::views::partner::{PartnerClientSecretView, PartnerClientView};

fn manager(admin: &AdminIdentity) -> Result<ClientManager, ApiError> {
    Ok(ClientManager::Admin {
        admin_id: admin.admin_id,
        role: admin.role,
        union_path: admin
            .subtree()
            .ok_or_else(|| ApiError::internal("admin path"))?,
    })
}

fn client_id(path: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(path).map_err(|_| {
        ApiError::invalid(
            ErrorCode::InvalidPathParameter,
            "合作平台编号格式不正确",
            "id",
        )
    })
}

fn with_secret(created: ClientWithSecret) -> PartnerClientSecretView {
    PartnerClientSecretView {
        client: PartnerClientView::from(&created.client),
        client_id: created.client.id,
        client_secret: created.secret.expose().to_owned(),
    }
}

fn no_store(status: actix_web::http::StatusCode) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::build(status);
    response
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"));
    response
}

/// `POST /v1/admin/partners` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePartnerRequest {
    /// The partner's name.
    pub name: String,
    /// Who to contact there.
    pub contact: String,
    /// The scopes it may be granted.
    pub scopes: Vec<String>,
}

/// `POST /v1/admin/partners`
pub async fn create(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    body: web::Json<CreatePartnerRequest>,
) -> Result<HttpResponse, ApiError> {
    let text = |value: &str, field: &'static str| {
        ClientText::parse(value)
            .map_err(|e| ApiError::invalid(e.code(), format!("{field}{e}"), field))
    };
    let new = NewClient {
        name: text(&body.name, "name")?,
        contact: text(&body.contact, "contact")?,
        scopes: Scopes::parse(body.scopes.iter().map(String::as_str))
            .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "scopes"))?,
    };
    let created = partners::create_client(&state.services, manager(&admin)?, new)
        .await
        .map_err(client_error)?;
    Ok(no_store(actix_web::http::StatusCode::CREATED).json(with_secret(created)))
}

/// Body of `GET /v1/admin/partners`.
#[derive(Debug, serde::Serialize)]
pub struct PartnerClientList {
    /// Newest first.
    pub items: Vec<PartnerClientView>,
}

/// `GET /v1/admin/partners`
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminIdentity,
) -> Result<HttpResponse, ApiError> {
    let rows = partners::list_clients(&state.services, manager(&admin)?)
        .await
        .map_err(client_error)?;
    Ok(HttpResponse::Ok().json(PartnerClientList {
        items: rows.iter().map(PartnerClientView::from).collect(),
    }))
}

/// `GET /v1/admin/partners/{id}`
pub async fn show(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path)?;
    let row = partners::get_client(&state.services, manager(&admin)?, id)
        .await
        .map_err(client_error)?;
    Ok(HttpResponse::Ok().json(PartnerClientView::from(&row)))
}

/// `POST /v1/admin/partners/{id}/rotate-secret` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// The version read.
    pub version: i32,
    /// How long the previous secret stays valid (0 – 604800 seconds).
    pub overlap_secs: i64,
}

/// `POST /v1/admin/partners/{id}/rotate-secret`
pub async fn rotate_secret(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<RotateSecretRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path)?;
    let overlap = SecretOverlap::from_secs(body.overlap_secs)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "overlap_secs"))?;
    let rotated = partners::rotate_secret(
        &state.services,
        manager(&admin)?,
        id,
        Some(body.version),
        overlap,
    )
    .await
    .map_err(client_error)?;
    Ok(no_store(actix_web::http::StatusCode::OK).json(with_secret(rotated)))
}

/// Body of `POST /v1/admin/partners/{id}/disable` and `/enable`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionRequest {
    /// The version read.
    pub version: i32,
}

async fn set_disabled(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<VersionRequest>,
    disable: bool,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path)?;
    let row = partners::set_client_disabled(
        &state.services,
        manager(&admin)?,
        id,
        Some(body.version),
        disable,
    )
    .await
    .map_err(client_error)?;
    Ok(HttpResponse::Ok().json(PartnerClientView::from(&row)))
}

/// `POST /v1/admin/partners/{id}/disable`: its tokens stop at their next use.
pub async fn disable(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<VersionRequest>,
) -> Result<HttpResponse, ApiError> {
    set_disabled(state, admin, path, body, true).await
}

/// `POST /v1/admin/partners/{id}/enable`
pub async fn enable(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<VersionRequest>,
) -> Result<HttpResponse, ApiError> {
    set_disabled(state, admin, path, body, false).await
}
