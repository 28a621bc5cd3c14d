//! A manager's admins (issue 13): create with a one-time password, list and show within the
//! subtree, change display name, role or union, disable, enable, reset the password. Only
//! managers (403 for reviewers and viewers), only inside their subtree (404 outside), never
//! a role above their own; every change conditional on `version` and audited.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zhijian_domain::admin::{AdminRole, UnionPath};
use zhijian_domain::admin_management::{DisplayName, Granter, Username};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::{AdminId, UnionId};
use zhijian_infra::store::admin_accounts::AccountFilter;
use zhijian_infra::usecases::admins::{self, AdminUpdate, Creator, NewAdmin};

use crate::auth::{AdminIdentity, context};
use crate::error::ApiError;
use crate::error::mapping::admins::refusal;
use crate::json;
use crate::pagination::page_size;
use crate::startup::AppState;
use crate::views::admin::{AdminView, AdminWithPasswordView, admin_view};

/// Body of `POST /v1/admin/admins`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAdminRequest {
    /// Login name: 3–64 of `a-z 0-9 _ . -` (upper case folded).
    pub username: String,
    /// Name shown in the admin UI.
    pub display_name: String,
    /// `manager`, `reviewer` or `viewer`.
    pub role: String,
    /// The union the role is bound to, inside the manager's subtree.
    pub union_id: i64,
}

/// Body of `PATCH /v1/admin/admins/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateAdminRequest {
    /// The version the manager saw.
    pub version: i32,
    /// New display name.
    pub display_name: Option<String>,
    /// New role.
    pub role: Option<String>,
    /// New union, inside the manager's subtree.
    pub union_id: Option<i64>,
}

/// Body of `disable`, `enable` and `reset-password`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminVersionRequest {
    /// The version the manager saw.
    pub version: i32,
}

/// Query of `GET /v1/admin/admins`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminListQuery {
    /// Only admins bound to this union.
    pub union_id: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
}

/// A page of admins, by union then username.
#[derive(Debug, Serialize)]
pub struct AdminPage {
    /// The admins.
    pub items: Vec<AdminView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The caller as a manager of admins (403 for reviewers and viewers).
pub(crate) fn granter(admin: &AdminIdentity) -> Result<Granter, ApiError> {
    let subtree = UnionPath::parse(&admin.union_path).map_err(ApiError::internal)?;
    Granter::authorize(admin.admin_id, admin.role, subtree).map_err(refusal)
}

fn admin_id(path: &str) -> Result<AdminId, ApiError> {
    AdminId::parse(path)
        .map_err(|_| ApiError::invalid(ErrorCode::InvalidAdminId, "管理员编号格式不正确", "id"))
}

fn role(value: &str) -> Result<AdminRole, ApiError> {
    AdminRole::parse(value).map_err(|e| ApiError::invalid(e.code(), e.to_string(), "role"))
}

fn display_name(value: &str) -> Result<DisplayName, ApiError> {
    DisplayName::parse(value)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "display_name"))
}

fn bad_cursor() -> ApiError {
    ApiError::invalid(
        ErrorCode::InvalidCursor,
        "分页游标无效，请从第一页重新查询",
        "cursor",
    )
}

fn encode_cursor(union_id: UnionId, username: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{union_id}|{username}"))
}

fn decode_cursor(cursor: &str) -> Result<(i64, String), ApiError> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad_cursor())?;
    let text = String::from_utf8(raw).map_err(|_| bad_cursor())?;
    let (union, username) = text.split_once('|').ok_or_else(bad_cursor)?;
    // only what a page can end on: a stored username (no NUL or other byte PostgreSQL refuses)
    let username = Username::parse(username).map_err(|_| bad_cursor())?;
    Ok((
        union.parse().map_err(|_| bad_cursor())?,
        username.as_str().to_owned(),
    ))
}

fn created(admin: serde_json::Value, otp: Option<&str>) -> Result<HttpResponse, ApiError> {
    let one_time_password = otp
        .ok_or_else(|| ApiError::internal("a created admin without a one-time password"))?
        .to_owned();
    Ok(HttpResponse::Created().json(AdminWithPasswordView {
        admin,
        one_time_password,
    }))
}

/// `POST /v1/admin/admins`: a new admin with a one-time password (shown once).
pub async fn create(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: CreateAdminRequest = json::parse_body(&req, &body)?;
    let key = json::idempotency_key(&req, format!("admin:{}", admin.admin_id), &body)?;
    let new = NewAdmin {
        username: Username::parse(&request.username)
            .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "username"))?,
        display_name: display_name(&request.display_name)?,
        role: role(&request.role)?,
        union_id: UnionId::new(request.union_id),
    };
    let creator = Creator::Manager(granter(&admin)?);
    let now = state.services.now();
    let render = move |account: &_| Ok(serde_json::to_value(admin_view(account, now))?);
    let done = admins::create_admin(&state.services, creator, key, new, render).await?;
    created(
        done.admin,
        done.one_time_password.as_ref().map(|p| p.expose()),
    )
}

/// `GET /v1/admin/admins`: the admins of the subtree, by union then username.
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    query: web::Query<AdminListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let filter = AccountFilter {
        union_id: query.union_id.map(UnionId::new),
        after: query.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: page_size(query.limit)?,
    };
    let limit = usize::try_from(filter.limit).unwrap_or(usize::MAX);
    let mut rows = admins::list_admins(&state.services, granter(&admin)?, filter).await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let now = state.services.now();
    let next_cursor = more
        .then(|| rows.last())
        .flatten()
        .map(|a| encode_cursor(a.union_id, &a.username));
    let items = rows.iter().map(|a| admin_view(a, now)).collect();
    Ok(HttpResponse::Ok().json(AdminPage { items, next_cursor }))
}

/// `GET /v1/admin/admins/{id}`
pub async fn show(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = admin_id(&path)?;
    let account = admins::show_admin(&state.services, granter(&admin)?, id).await?;
    Ok(HttpResponse::Ok().json(admin_view(&account, state.services.now())))
}

/// `PATCH /v1/admin/admins/{id}`: display name, role, union; effective at the next request.
pub async fn update(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<UpdateAdminRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = admin_id(&path)?;
    let update = AdminUpdate {
        display_name: body.display_name.as_deref().map(display_name).transpose()?,
        role: body.role.as_deref().map(role).transpose()?,
        union_id: body.union_id.map(UnionId::new),
    };
    let granter = granter(&admin)?;
    let account = admins::update_admin(&state.services, granter, id, body.version, update).await?;
    Ok(HttpResponse::Ok().json(admin_view(&account, state.services.now())))
}

/// `POST /v1/admin/admins/{id}/disable`: no more sign-ins; the admin's sessions end.
pub async fn disable(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<AdminVersionRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = admin_id(&path)?;
    let granter = granter(&admin)?;
    let account = admins::disable_admin(&context(&state), granter, id, body.version).await?;
    Ok(HttpResponse::Ok().json(admin_view(&account, state.services.now())))
}

/// `POST /v1/admin/admins/{id}/enable`
pub async fn enable(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<AdminVersionRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = admin_id(&path)?;
    let granter = granter(&admin)?;
    let account = admins::enable_admin(&state.services, granter, id, body.version).await?;
    Ok(HttpResponse::Ok().json(admin_view(&account, state.services.now())))
}

/// `POST /v1/admin/admins/{id}/reset-password`: a new one-time password (shown once); lifts a
/// lock and ends the admin's sessions.
pub async fn reset_password(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<AdminVersionRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = admin_id(&path)?;
    let granter = granter(&admin)?;
    let done = admins::reset_admin_password(&context(&state), granter, id, body.version).await?;
    let view = serde_json::to_value(admin_view(&done.admin, state.services.now()))
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(AdminWithPasswordView {
        admin: view,
        one_time_password: done.one_time_password.expose().to_owned(),
    }))
}
