//! The unions' side of a transfer: the source union releases or refuses, the target union
//! accepts or refuses. Each admin sees only transfers leaving or entering their subtree.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::reason::Reason;
use zhijian_domain::transfer::TransferStatus;
use zhijian_infra::store::applications::AdminActor;
use zhijian_infra::store::transfers::{Direction, ListFilter};
use zhijian_infra::usecases::membership::transfers;

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::json;
use crate::pagination::{decode_time_cursor, encode_time_cursor, page_size};
use crate::routes::transfers::parse_id;
use crate::startup::AppState;
use crate::views::transfer::{TransferView, transfer_view, transfer_views};

/// Query of `GET /v1/admin/transfers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferListQuery {
    /// `out` (leaving the subtree) or `in` (entering it).
    pub direction: String,
    /// Only this status.
    pub status: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
}

/// A page of transfers.
#[derive(Debug, Serialize)]
pub struct TransferPage {
    /// Oldest request first.
    pub items: Vec<TransferView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Body of `release` and `accept`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferVersionRequest {
    /// The version the admin saw.
    pub version: i32,
}

/// Body of `reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectTransferRequest {
    /// The version the admin saw.
    pub version: i32,
    /// Why, shown to the member.
    pub reason: String,
}

fn parse_filter(query: TransferListQuery) -> Result<ListFilter, ApiError> {
    let direction = match query.direction.as_str() {
        "out" => Direction::Out,
        "in" => Direction::In,
        _ => {
            return Err(ApiError::invalid(
                ErrorCode::InvalidDirection,
                "direction 应为 out（转出）或 in（转入）",
                "direction",
            ));
        }
    };
    let status = json::optional_choice(query.status.as_deref(), TransferStatus::parse, "status")?;
    let limit = page_size(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(decode_time_cursor)
        .transpose()?;
    Ok(ListFilter {
        direction,
        status,
        after,
        limit,
    })
}

/// `GET /v1/admin/transfers?direction=out|in`
pub async fn list(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    query: web::Query<TransferListQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = parse_filter(query.into_inner())?;
    let scope = admin.actor()?.union_path;
    let page = transfers::transfers_for_admin(&state.services, scope, filter).await?;
    let next_cursor = page
        .more
        .then(|| page.items.last())
        .flatten()
        .map(|d| encode_time_cursor(d.transfer.requested_at, d.transfer.id));
    Ok(HttpResponse::Ok().json(TransferPage {
        items: transfer_views(&page.items)?,
        next_cursor,
    }))
}

/// `GET /v1/admin/transfers/{id}`: visible to admins of either union.
pub async fn detail(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let scope = admin.actor()?.union_path;
    let detail = transfers::transfer_for_admin(&state.services, scope, id).await?;
    Ok(HttpResponse::Ok().json(transfer_view(&detail)?))
}

/// The acting admin, if their role may decide (a viewer only looks).
pub(crate) fn decider(admin: &AdminIdentity) -> Result<AdminActor, ApiError> {
    if !admin.role.can_decide() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "当前角色只能查看，不能办理转接",
        ));
    }
    admin.actor()
}

/// `POST /v1/admin/transfers/{id}/release`: the source union lets the member go.
pub async fn release(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<TransferVersionRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let actor = decider(&admin)?;
    let detail = transfers::release(&state.services, actor, id, body.version).await?;
    Ok(HttpResponse::Ok().json(transfer_view(&detail)?))
}

/// `POST /v1/admin/transfers/{id}/accept`: the target union takes the member in (only once
/// released; 409 before).
pub async fn accept(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<TransferVersionRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let actor = decider(&admin)?;
    let detail = transfers::accept(&state.services, actor, id, body.version).await?;
    Ok(HttpResponse::Ok().json(transfer_view(&detail)?))
}

/// `POST /v1/admin/transfers/{id}/reject`: the source refuses while requested, the target once
/// released; which side the caller speaks for follows from their subtree.
pub async fn reject(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<RejectTransferRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let reason = Reason::parse(&body.reason)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "reason"))?;
    let actor = decider(&admin)?;
    let detail = transfers::reject(&state.services, actor, id, body.version, reason).await?;
    Ok(HttpResponse::Ok().json(transfer_view(&detail)?))
}
