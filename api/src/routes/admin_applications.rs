//! The admin's side of the join flow: the queue with its same-day deadline, the detail, and
//! the decisions — approve, reject, return, forward — and the pool with its assignment.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use zhijian_domain::application::{ApplicationStatus, RejectCode, RejectReason};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::{ApplicationId, UnionId};
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::reason::Reason;
use zhijian_infra::db::{self, StoreError};
use zhijian_infra::store::applications::{self, Decision, QueueFilter};

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::error::mapping::application_error;
use crate::json;
use crate::pagination::{decode_time_cursor, encode_time_cursor, page_size};
use crate::startup::AppState;
use crate::views::application::{ApplicationSummary, Pii, application_view, summary};

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
    mut filter: QueueFilter,
) -> Result<QueuePage, ApiError> {
    let scope = admin.actor()?.union_path;
    let now = state.clock.now();
    let limit = filter.limit;
    filter.limit = limit + 1;
    let mut rows = db::run(&state.pool, move |conn| {
        applications::queue(conn, &scope, &filter, now)
    })
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more {
        rows.last()
            .map(|(row, _)| encode_time_cursor(row.due_at.unwrap_or(row.submitted_at), row.id))
    } else {
        None
    };
    Ok(QueuePage {
        items: rows
            .iter()
            .map(|(row, union)| summary(row, union, now))
            .collect(),
        next_cursor,
    })
}

/// `GET /v1/admin/applications`
pub async fn queue(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let status =
        json::optional_choice(query.status.as_deref(), ApplicationStatus::parse, "status")?;
    let occupation = json::optional_choice(
        query.occupation.as_deref(),
        OccupationGroup::parse,
        "occupation",
    )?;
    let filter = QueueFilter {
        status,
        occupation: occupation.map(|o| o.as_str().to_owned()),
        overdue: query.overdue,
        after: query
            .cursor
            .as_deref()
            .map(decode_time_cursor)
            .transpose()?,
        limit: page_size(query.limit)?,
    };
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

fn parse_id(path: &str) -> Result<ApplicationId, ApiError> {
    ApplicationId::parse(path)
        .map_err(|_| ApiError::invalid(ErrorCode::InvalidApplicationId, "申请编号格式不正确", "id"))
}

/// `GET /v1/admin/applications/{id}`: personal data in clear for roles that review (audited),
/// masked for viewers.
pub async fn detail(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let actor = admin.actor()?;
    let show = if admin.role.can_view_personal_data() {
        Pii::Clear
    } else {
        Pii::Masked
    };
    let now = state.clock.now();
    let app_state = state.clone();
    let view = db::run(&state.pool, move |conn| {
        let Some((row, union)) = applications::find_with_union(conn, id)? else {
            return Ok(Err(ApiError::not_found()));
        };
        if !actor.union_path.contains(&union.union_path()?) {
            return Ok(Err(ApiError::not_found()));
        }
        let timeline = applications::timeline(conn, id)?;
        let number = match row.member_id {
            Some(member) => {
                zhijian_infra::store::members::find(conn, member)?.map(|(m, _)| m.membership_number)
            }
            None => None,
        };
        if show == Pii::Clear {
            applications::audit_unmasked_view(conn, row.id, &actor, now)?;
        }
        Ok::<_, StoreError>(application_view(
            &row,
            &union,
            &timeline,
            number,
            &app_state.pii,
            show,
            now,
        ))
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
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

/// Fields of the form an admin may ask to correct.
const CORRECTABLE: &[&str] = &[
    "name",
    "resident_id",
    "phone",
    "ethnicity",
    "education",
    "political_status",
    "household_type",
    "household_region",
    "employment_status",
    "occupation",
    "employer_name",
    "employer_credit_code",
    "platform",
    "work_region",
    "work_address",
];

fn reason(value: &str, field: &'static str) -> Result<Reason, ApiError> {
    Reason::parse(value).map_err(|e| ApiError::invalid(e.code(), e.to_string(), field))
}

fn optional_reason(value: Option<&str>, field: &'static str) -> Result<Option<Reason>, ApiError> {
    Reason::parse_optional(value).map_err(|e| ApiError::invalid(e.code(), e.to_string(), field))
}

async fn decide(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    id: ApplicationId,
    version: i32,
    decision: Decision,
) -> Result<HttpResponse, ApiError> {
    if !admin.role.can_decide() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "当前角色只能查看，不能审核",
        ));
    }
    let actor = admin.actor()?;
    let show = if admin.role.can_view_personal_data() {
        Pii::Clear
    } else {
        Pii::Masked
    };
    let now = state.clock.now();
    let app_state = state.clone();
    let view = db::run(&state.pool, move |conn| {
        let decided = applications::decide(conn, id, version, &actor, &decision, now)
            .map_err(application_error)?;
        let row = decided.application;
        log::info!(
            "application decided: application_id={} status={} union_id={} version={}",
            row.id,
            row.status,
            row.union_id,
            row.version
        );
        let union = zhijian_infra::store::unions::find(conn, UnionId::new(row.union_id))?
            .ok_or_else(|| StoreError::Internal(format!("application {} has no union", row.id)))?;
        let timeline = applications::timeline(conn, id)?;
        let number = decided.member.map(|m| m.membership_number);
        Ok::<_, ApiError>(application_view(
            &row,
            &union,
            &timeline,
            number,
            &app_state.pii,
            show,
            now,
        ))
    })
    .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /v1/admin/applications/{id}/approve`
pub async fn approve(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<ApproveRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    decide(state, admin, id, body.version, Decision::Approve).await
}

/// `POST /v1/admin/applications/{id}/reject`
pub async fn reject(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<RejectRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let code = RejectCode::parse(&body.reason_code)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "reason_code"))?;
    let note = optional_reason(body.note.as_deref(), "note")?;
    let reason = RejectReason::new(code, note)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "note"))?;
    decide(state, admin, id, body.version, Decision::Reject(reason)).await
}

/// `POST /v1/admin/applications/{id}/return`
pub async fn return_for_correction(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<ReturnRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let body = body.into_inner();
    if let Some(unknown) = body
        .fields
        .iter()
        .find(|f| !CORRECTABLE.contains(&f.trim()))
    {
        return Err(ApiError::invalid(
            ErrorCode::UnknownFormField,
            format!("表单中没有“{unknown}”这一项"),
            "fields",
        ));
    }
    let note = optional_reason(body.note.as_deref(), "note")?;
    let fields = body.fields.iter().map(|f| f.trim().to_owned()).collect();
    decide(
        state,
        admin,
        id,
        body.version,
        Decision::Return { fields, note },
    )
    .await
}

/// `POST /v1/admin/applications/{id}/forward`
pub async fn forward(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<ForwardRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let reason = reason(&body.reason, "reason")?;
    decide(
        state,
        admin,
        id,
        body.version,
        Decision::Forward {
            to: UnionId::new(body.union_id),
            reason,
        },
    )
    .await
}

/// `POST /v1/admin/applications/{id}/assign`: out of the pool, to a union that reviews it
/// with a same-day deadline counted from now.
pub async fn assign(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<AssignRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let to = UnionId::new(body.union_id);
    let now = state.clock.now();
    let reference = state.reference.clone();
    let due_at = db::run(&state.pool, move |conn| {
        let Some(target) = zhijian_infra::store::unions::find(conn, to)? else {
            return Ok(Err(ApiError::invalid(
                ErrorCode::InvalidTargetUnion,
                "目标工会不存在",
                "union_id",
            )));
        };
        let calendar = reference.calendar(conn)?;
        Ok::<_, StoreError>(Ok(zhijian_domain::deadline::due_at(
            now,
            &calendar,
            &target.review_hours()?,
        )))
    })
    .await??;
    decide(
        state,
        admin,
        id,
        body.version,
        Decision::Assign { to, due_at },
    )
    .await
}
