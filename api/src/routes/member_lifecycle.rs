//! The membership lifecycle over HTTP: the member's affiliation history and withdrawal (退会),
//! and the admins' member list, member record, and retain / reactivate / expel / deceased.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::MemberId;
use zhijian_domain::member::{MemberStatus, RetainReason};
use zhijian_domain::reason::Reason;
use zhijian_infra::store::applications::AdminActor;
use zhijian_infra::usecases::membership::{lifecycle, members};

use crate::auth::{AdminIdentity, WorkerIdentity};
use crate::error::ApiError;
use crate::json;
use crate::pagination::{decode_id_cursor, encode_id_cursor, page_size};
use crate::startup::AppState;
use crate::views::member::{
    AffiliationView, MemberView, affiliation_views, member_detail_view, member_view,
};

/// Body of `GET /v1/membership/affiliations`.
#[derive(Debug, Serialize)]
pub struct MyAffiliations {
    /// Oldest first; the current period has no `to`.
    pub items: Vec<AffiliationView>,
}

/// `GET /v1/membership/affiliations`: every period in every union, with the number held in it.
pub async fn my_affiliations(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
) -> Result<HttpResponse, ApiError> {
    let record = members::my_record(&state.services, worker.account_id).await?;
    Ok(HttpResponse::Ok().json(MyAffiliations {
        items: affiliation_views(&record.affiliations),
    }))
}

/// Body of `POST /v1/membership/withdraw`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawMembershipRequest {
    /// Must be `true`: the member confirms they leave the union.
    pub confirm: bool,
    /// Why, if the member wants to say.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /v1/membership/withdraw`: the member leaves (退会) once they confirm it.
pub async fn withdraw(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    body: web::Json<WithdrawMembershipRequest>,
) -> Result<HttpResponse, ApiError> {
    if !body.confirm {
        return Err(ApiError::invalid(
            ErrorCode::ConfirmationRequired,
            "退会后将不再享有会员权益，请确认后再提交",
            "confirm",
        ));
    }
    let reason = Reason::parse_optional(body.reason.as_deref())
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "reason"))?;
    let record = lifecycle::withdraw(&state.services, worker.account_id, reason).await?;
    Ok(HttpResponse::Ok().json(member_detail_view(&record)?))
}

fn parse_id(path: &str) -> Result<MemberId, ApiError> {
    MemberId::parse(path)
        .map_err(|_| ApiError::invalid(ErrorCode::InvalidMemberId, "会员编号格式不正确", "id"))
}

/// Query of `GET /v1/admin/members`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberListQuery {
    /// Only this status.
    pub status: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
}

/// A page of members.
#[derive(Debug, Serialize)]
pub struct MemberPage {
    /// By member id (oldest first).
    pub items: Vec<MemberView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `GET /v1/admin/members`: members whose union is in the admin's subtree.
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    query: web::Query<MemberListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let status = json::optional_choice(query.status.as_deref(), MemberStatus::parse, "status")?;
    let limit = page_size(query.limit)?;
    let after = query.cursor.as_deref().map(decode_id_cursor).transpose()?;
    let scope = admin.actor()?.union_path;
    let page = members::list_members(&state.services, scope, status, after, limit).await?;
    let next_cursor = page
        .more
        .then(|| page.items.last())
        .flatten()
        .map(|(m, _)| encode_id_cursor(m.id));
    let items = page
        .items
        .iter()
        .map(|(member, union)| member_view(member, union))
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(MemberPage { items, next_cursor }))
}

/// `GET /v1/admin/members/{id}`: visible to admins of the member's current union and of every
/// union in its history (and of the target of an open transfer).
pub async fn detail(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let scope = admin.actor()?.union_path;
    let record = members::member_record(&state.services, scope, id).await?;
    Ok(HttpResponse::Ok().json(member_detail_view(&record)?))
}

/// The acting admin, if their role may decide (a viewer only looks).
pub(crate) fn decider(admin: &AdminIdentity) -> Result<AdminActor, ApiError> {
    if !admin.role.can_decide() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "当前角色只能查看，不能办理会籍事项",
        ));
    }
    admin.actor()
}

/// Body of `retain`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetainRequest {
    /// The version the admin saw.
    pub version: i32,
    /// `unemployed`, `retired` or `employer_closed`.
    pub reason: String,
    /// A note.
    #[serde(default)]
    pub note: Option<String>,
}

/// Body of `reactivate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReactivateRequest {
    /// The version the admin saw.
    pub version: i32,
}

/// Body of `expel`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpelRequest {
    /// The version the admin saw.
    pub version: i32,
    /// Why.
    pub reason: String,
}

/// Body of `deceased`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeceasedRequest {
    /// The version the admin saw.
    pub version: i32,
    /// A note.
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST /v1/admin/members/{id}/retain`: 保留会籍 (unemployed, retired, employer closed).
pub async fn retain(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<RetainRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let why = RetainReason::parse(&body.reason)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "reason"))?;
    let note = json::optional_reason(body.note.as_deref(), "note")?;
    let actor = decider(&admin)?;
    let record = lifecycle::retain(&state.services, actor, id, body.version, why, note).await?;
    Ok(HttpResponse::Ok().json(member_detail_view(&record)?))
}

/// `POST /v1/admin/members/{id}/reactivate`: a retained member is back at work.
pub async fn reactivate(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<ReactivateRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let actor = decider(&admin)?;
    let record = lifecycle::reactivate(&state.services, actor, id, body.version).await?;
    Ok(HttpResponse::Ok().json(member_detail_view(&record)?))
}

/// `POST /v1/admin/members/{id}/expel`: 除名, with a reason.
pub async fn expel(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<ExpelRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let why = json::reason(&body.reason, "reason")?;
    let actor = decider(&admin)?;
    let record = lifecycle::expel(&state.services, actor, id, body.version, why).await?;
    Ok(HttpResponse::Ok().json(member_detail_view(&record)?))
}

/// `POST /v1/admin/members/{id}/deceased`: records the member's death.
pub async fn deceased(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<DeceasedRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let note = json::optional_reason(body.note.as_deref(), "note")?;
    let actor = decider(&admin)?;
    let record = lifecycle::decease(&state.services, actor, id, body.version, note).await?;
    Ok(HttpResponse::Ok().json(member_detail_view(&record)?))
}
