//! The unions' side of a transfer: the source union releases or refuses, the target union
//! accepts or refuses. Each admin sees only transfers leaving or entering their subtree.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::TransferId;
use zhijian_domain::reason::Reason;
use zhijian_domain::transfer::TransferStatus;
use zhijian_infra::db::{self, StoreError};
use zhijian_infra::store::transfers::{self, Direction, ListFilter, TransferDecision};

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::error::mapping::membership_error;
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
    let mut filter = parse_filter(query.into_inner())?;
    let scope = admin.actor()?.union_path;
    let limit = filter.limit;
    filter.limit = limit + 1;
    let reference = state.reference.clone();
    let (mut details, calendar) = db::run(&state.pool, move |conn| {
        Ok::<_, StoreError>((
            transfers::list_for_admin(conn, &scope, &filter)?,
            reference.calendar(conn)?,
        ))
    })
    .await?;
    let more = details.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    details.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = more
        .then(|| {
            details
                .last()
                .map(|d| encode_time_cursor(d.transfer.requested_at, d.transfer.id))
        })
        .flatten();
    Ok(HttpResponse::Ok().json(TransferPage {
        items: transfer_views(&details, &calendar)?,
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
    let reference = state.reference.clone();
    let (detail, calendar) = db::run(&state.pool, move |conn| {
        Ok::<_, StoreError>((
            transfers::find_for_admin(conn, id, &scope)?,
            reference.calendar(conn)?,
        ))
    })
    .await?;
    let detail = detail.ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(transfer_view(&detail, &calendar)?))
}

async fn decide(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    id: TransferId,
    version: i32,
    decision: TransferDecision,
) -> Result<HttpResponse, ApiError> {
    if !admin.role.can_decide() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "当前角色只能查看，不能办理转接",
        ));
    }
    let actor = admin.actor()?;
    let now = state.clock.now();
    let reference = state.reference.clone();
    let (detail, calendar) = db::run(&state.pool, move |conn| {
        let detail = transfers::decide(conn, id, version, &actor, &decision, now)
            .map_err(membership_error)?;
        Ok::<_, ApiError>((detail, reference.calendar(conn)?))
    })
    .await?;
    Ok(HttpResponse::Ok().json(transfer_view(&detail, &calendar)?))
}

/// `POST /v1/admin/transfers/{id}/release`: the source union lets the member go.
pub async fn release(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<TransferVersionRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    decide(state, admin, id, body.version, TransferDecision::Release).await
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
    decide(state, admin, id, body.version, TransferDecision::Accept).await
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
    decide(
        state,
        admin,
        id,
        body.version,
        TransferDecision::Reject(reason),
    )
    .await
}
