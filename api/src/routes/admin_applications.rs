//! The admin's side of the join flow: the queue with its same-day deadline, the detail, and
//! the decisions — approve, reject, return, forward — and the pool with its assignment.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use zhijian_domain::application::{ApplicationStatus, RejectCode, RejectReason};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::form::FormField;
use zhijian_domain::ids::UnionId;
use zhijian_domain::occupation::OccupationGroup;
use zhijian_infra::store::applications::{AdminActor, QueueFilter};
use zhijian_infra::usecases::applications::{
    self as usecase, ApplicationDetail, DecideError, PiiShown,
};

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::error::mapping::{decide_error, read_error};
use crate::json;
use crate::pagination::{decode_time_cursor, encode_time_cursor, page_size};
use crate::startup::AppState;
use crate::views::application::{ApplicationSummary, application_view, summary};

/// Query of `GET /v1/admin/applications`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// `pending_review` (default), `pooled`, `returned`, `approved`, `rejected`, `withdrawn`, `expired`.
    pub status: Option<String>,
    /// An occupation group.
    pub occupation: Option<String>,
    /// `true`: only past the deadline; `false`: only not yet.
    pub overdue: Option<bool>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
}

/// Query of `GET /v1/admin/pool`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
}

/// A page of the queue.
#[derive(Debug, Serialize)]
pub struct QueuePage {
    /// Earliest deadline first.
    pub items: Vec<ApplicationSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

async fn page(
    state: &web::Data<AppState>,
    admin: &AdminIdentity,
    filter: QueueFilter,
) -> Result<QueuePage, ApiError> {
    let scope = admin.actor()?.union_path;
    let page = usecase::review_queue(&state.services, scope, filter).await?;
    Ok(QueuePage {
        items: page
            .rows
            .iter()
            .map(|(row, union)| summary(row, union, page.now))
            .collect(),
        next_cursor: page.next.map(|(due, id)| encode_time_cursor(due, id)),
    })
}

impl QueueQuery {
    /// The query as a filter of the queue.
    fn filter(self) -> Result<QueueFilter, ApiError> {
        let status =
            json::optional_choice(self.status.as_deref(), ApplicationStatus::parse, "status")?;
        let occupation = json::optional_choice(
            self.occupation.as_deref(),
            OccupationGroup::parse,
            "occupation",
        )?;
        Ok(QueueFilter {
            status,
            occupation,
            overdue: self.overdue,
            after: self.cursor.as_deref().map(decode_time_cursor).transpose()?,
            limit: page_size(self.limit)?,
        })
    }
}

/// `GET /v1/admin/applications`
pub async fn queue(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = query.into_inner().filter()?;
    Ok(HttpResponse::Ok().json(page(&state, &admin, filter).await?))
}

/// `GET /v1/admin/pool`: applications no union could take, waiting to be assigned.
pub async fn pool(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    query: web::Query<PoolQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = QueueFilter {
        status: Some(ApplicationStatus::Pooled),
        after: query
            .cursor
            .as_deref()
            .map(decode_time_cursor)
            .transpose()?,
        limit: page_size(query.limit)?,
        ..QueueFilter::default()
    };
    Ok(HttpResponse::Ok().json(page(&state, &admin, filter).await?))
}

/// Personal data in clear for roles that review, masked for viewers.
fn shown(admin: &AdminIdentity) -> PiiShown {
    if admin.role.can_view_personal_data() {
        PiiShown::Clear
    } else {
        PiiShown::Masked
    }
}

/// `GET /v1/admin/applications/{id}`: personal data in clear for roles that review (audited),
/// masked for viewers.
pub async fn detail(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = json::application_id(&path)?;
    let cap = state.settings.privacy.reveals_per_hour;
    let detail =
        usecase::admin_application(&state.services, admin.actor()?, shown(&admin), cap, id)
            .await
            .map_err(read_error)?;
    Ok(HttpResponse::Ok().json(application_view(&detail, state.services.now())?))
}

/// Body of `approve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// The version the admin saw.
    pub version: i32,
}

/// Body of `reject`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// The version the admin saw.
    pub version: i32,
    /// `incomplete_information`, `not_eligible`, `duplicate`, `false_information`, `other`.
    pub reason_code: String,
    /// A note to the applicant (required for `other`).
    #[serde(default)]
    pub note: Option<String>,
}

/// Body of `return`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    /// The version the admin saw.
    pub version: i32,
    /// Form fields to correct.
    pub fields: Vec<String>,
    /// A note to the applicant.
    #[serde(default)]
    pub note: Option<String>,
}

/// Body of `forward`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    /// The version the admin saw.
    pub version: i32,
    /// The union that should handle it.
    pub union_id: i64,
    /// Why.
    pub reason: String,
}

/// Body of `assign`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The version the admin saw.
    pub version: i32,
    /// The union that should handle it.
    pub union_id: i64,
}

/// The admin as a reviewer: refused when the role may only look.
pub(crate) fn reviewer(admin: &AdminIdentity) -> Result<(AdminActor, PiiShown), ApiError> {
    if !admin.role.can_decide() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "当前角色只能查看，不能审核",
        ));
    }
    Ok((admin.actor()?, shown(admin)))
}

/// The view of a decided application.
fn decided(
    state: &AppState,
    outcome: Result<ApplicationDetail, DecideError>,
) -> Result<HttpResponse, ApiError> {
    let detail = outcome.map_err(decide_error)?;
    Ok(HttpResponse::Ok().json(application_view(&detail, state.services.now())?))
}

/// `POST /v1/admin/applications/{id}/approve`
pub async fn approve(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<ApproveRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = json::application_id(&path)?;
    let (actor, show) = reviewer(&admin)?;
    let outcome =
        usecase::approve_application(&state.services, actor, show, id, body.version).await;
    decided(&state, outcome)
}

/// `POST /v1/admin/applications/{id}/reject`
pub async fn reject(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<RejectRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = json::application_id(&path)?;
    let code = RejectCode::parse(&body.reason_code)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "reason_code"))?;
    let note = json::optional_reason(body.note.as_deref(), "note")?;
    let reason = RejectReason::new(code, note)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "note"))?;
    let (actor, show) = reviewer(&admin)?;
    let outcome =
        usecase::reject_application(&state.services, actor, show, id, body.version, reason).await;
    decided(&state, outcome)
}

/// `POST /v1/admin/applications/{id}/return`
pub async fn return_for_correction(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<ReturnRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = json::application_id(&path)?;
    let fields = FormField::parse_all(&body.fields)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "fields"))?;
    let note = json::optional_reason(body.note.as_deref(), "note")?;
    let (actor, show) = reviewer(&admin)?;
    let version = body.version;
    let outcome =
        usecase::return_application(&state.services, actor, show, id, version, fields, note).await;
    decided(&state, outcome)
}

/// `POST /v1/admin/applications/{id}/forward`
pub async fn forward(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<ForwardRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = json::application_id(&path)?;
    let reason = json::reason(&body.reason, "reason")?;
    let (actor, show) = reviewer(&admin)?;
    let to = UnionId::new(body.union_id);
    let outcome =
        usecase::forward_application(&state.services, actor, show, id, body.version, to, reason)
            .await;
    decided(&state, outcome)
}

/// `POST /v1/admin/applications/{id}/assign`: out of the pool, to a union that reviews it
/// with a same-day deadline counted from now.
pub async fn assign(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<AssignRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = json::application_id(&path)?;
    let (actor, show) = reviewer(&admin)?;
    let to = UnionId::new(body.union_id);
    let outcome =
        usecase::assign_application(&state.services, actor, show, id, body.version, to).await;
    decided(&state, outcome)
}

/// One application of a batch approval: its id and the version the admin saw.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchApproveItem {
    /// Application id.
    pub id: String,
    /// The version the admin saw.
    pub version: i32,
}

/// Body of `batch-approve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchApproveRequest {
    /// 1–100 applications, each with the version the admin saw; no id twice.
    pub items: Vec<BatchApproveItem>,
}

/// An application the batch approved.
#[derive(Debug, Serialize)]
pub struct BatchApproved {
    /// Id.
    pub id: uuid::Uuid,
    /// Its version after the approval.
    pub version: i32,
    /// The new member's number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_number: Option<String>,
}

/// An application the batch did not approve, and why (the error an approval alone answers).
#[derive(Debug, Serialize)]
pub struct BatchRefused {
    /// Id.
    pub id: uuid::Uuid,
    /// The HTTP status an approval alone would have answered.
    pub status: u16,
    /// Its error code (`stale_version`, `application_not_pending`, `not_found`, …).
    pub code: &'static str,
    /// Why, in Chinese.
    pub message: String,
}

/// Answer of `batch-approve`.
#[derive(Debug, Serialize)]
pub struct BatchApproveView {
    /// Approved, in the order asked.
    pub approved: Vec<BatchApproved>,
    /// Not approved, in the order asked, with why.
    pub failed: Vec<BatchRefused>,
}

/// `POST /v1/admin/applications/batch-approve`: approves several applications, each with its
/// own version check and transaction; one refused does not hold the others back. 200 with
/// what was approved and what was not (and why), even when nothing was.
pub async fn batch_approve(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    body: web::Json<BatchApproveRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, _) = reviewer(&admin)?;
    let body = body.into_inner();
    if body.items.is_empty() || body.items.len() > usecase::BATCH_APPROVE_MAX {
        return Err(ApiError::invalid(
            ErrorCode::InvalidField,
            "一次批量通过 1 至 100 件申请",
            "items",
        ));
    }
    let mut items = Vec::with_capacity(body.items.len());
    for item in &body.items {
        let id = json::application_id(&item.id).map_err(|e| e.with_field("items"))?;
        if items.iter().any(|(seen, _)| *seen == id) {
            return Err(ApiError::invalid(
                ErrorCode::InvalidField,
                "同一件申请不能在一批中出现两次",
                "items",
            ));
        }
        items.push((id, item.version));
    }
    let mut view = BatchApproveView {
        approved: Vec::new(),
        failed: Vec::new(),
    };
    for (id, outcome) in usecase::approve_applications(&state.services, actor, items).await {
        match outcome {
            Ok(detail) => view.approved.push(BatchApproved {
                id: detail.row.id,
                version: detail.row.version,
                membership_number: detail.membership_number,
            }),
            Err(DecideError::Store(e)) => return Err(e.into()),
            Err(e) => {
                let error = decide_error(e);
                view.failed.push(BatchRefused {
                    id: id.as_uuid(),
                    status: error.status().as_u16(),
                    code: error.code().as_str(),
                    message: error.body().message.to_string(),
                });
            }
        }
    }
    Ok(HttpResponse::Ok().json(view))
}
