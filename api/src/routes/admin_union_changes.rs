//! Reorganising the union tree over HTTP: close a union into its successor, move a union under
//! another parent (managers, inside their subtree).

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use zhijian_domain::error_code::ErrorCode;
use zhijian_infra::usecases::unions::close::{self, CloseUnion};
use zhijian_infra::usecases::unions::moving::{self, MoveUnion};

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::json;
use crate::startup::AppState;
use crate::views::union_change::UnionChangeView;

/// Body of `POST /v1/admin/unions/{id}/close`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseUnionRequest {
    /// The version the manager saw.
    pub version: i32,
    /// Where its applications and members go (required while it holds any).
    #[serde(default)]
    pub successor_id: Option<i64>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Body of `POST /v1/admin/unions/{id}/move`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveUnionRequest {
    /// The version the manager saw.
    pub version: i32,
    /// The new parent.
    pub parent_id: i64,
}

/// A union id from the path (`id`) or the body (`field`): a positive integer.
fn union_id(text: &str, field: &'static str) -> Result<i64, ApiError> {
    match text.parse::<i64>() {
        Ok(n) if n > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(ApiError::invalid(
            ErrorCode::InvalidUnionId,
            "工会编号应为正整数",
            field,
        )),
    }
}

/// `POST /v1/admin/unions/{id}/close`: 撤销工会, its holdings moving to the successor.
pub async fn close(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<CloseUnionRequest>,
) -> Result<HttpResponse, ApiError> {
    let union = union_id(&path, "id")?;
    let successor = body
        .successor_id
        .map(|s| union_id(&s.to_string(), "successor_id"))
        .transpose()?;
    let reason = json::optional_reason(body.reason.as_deref(), "reason")?;
    let input = CloseUnion {
        union,
        version: body.version,
        successor,
        reason,
    };
    let closed = close::close_union(&state.services, admin.actor()?, input).await?;
    Ok(HttpResponse::Ok().json(UnionChangeView::new(
        &closed.union,
        Some(&closed.moved),
        None,
    )))
}

/// `POST /v1/admin/unions/{id}/move`: 调整隶属关系, the subtree and its rows following.
pub async fn move_union(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<MoveUnionRequest>,
) -> Result<HttpResponse, ApiError> {
    let union = union_id(&path, "id")?;
    let parent = union_id(&body.parent_id.to_string(), "parent_id")?;
    let batch_size = state.settings.jobs.union_move_batch_size;
    let input = MoveUnion {
        union,
        version: body.version,
        parent,
        batch_size,
    };
    let moved = moving::move_union(&state.services, admin.actor()?, input).await?;
    Ok(HttpResponse::Ok().json(UnionChangeView::new(
        &moved.union,
        None,
        moved.record.as_ref(),
    )))
}
