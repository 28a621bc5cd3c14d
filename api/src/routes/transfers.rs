//! The worker's side of a transfer (会籍转接): ask to move to a union, or to wherever the new
//! job's facts route; follow it; cancel it while it is open.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use zhijian_domain::credit_code::CreditCode;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::{TransferId, UnionId};
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::reason::Reason;
use zhijian_domain::region::RegionCode;
use zhijian_infra::store::applications::SubmitFacts;
use zhijian_infra::store::idempotency::Answer;
use zhijian_infra::store::transfers::TransferDetail;
use zhijian_infra::usecases::membership::transfers::{self, TransferTarget};

use crate::auth::WorkerIdentity;
use crate::error::ApiError;
use crate::json;
use crate::startup::AppState;
use zhijian_infra::store::idempotency::WorkerWrite;

use crate::views::transfer::{TransferView, transfer_view, transfer_views};

/// Body of `POST /v1/transfers`: either `to_union_id`, or the facts of the new job
/// (`work_region`, `occupation`, `employer_credit_code?`) for routing to choose the union.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTransferRequest {
    /// The union to move to.
    #[serde(default)]
    pub to_union_id: Option<i64>,
    /// The new work region (township or village code).
    #[serde(default)]
    pub work_region: Option<String>,
    /// The new occupation group.
    #[serde(default)]
    pub occupation: Option<String>,
    /// The new employer's credit code.
    #[serde(default)]
    pub employer_credit_code: Option<String>,
    /// Why the member moves.
    #[serde(default)]
    pub reason: Option<String>,
}

impl RequestTransferRequest {
    fn target(&self) -> Result<TransferTarget, ApiError> {
        let has_facts = self.work_region.is_some()
            || self.occupation.is_some()
            || self.employer_credit_code.is_some();
        match (self.to_union_id, has_facts) {
            (Some(_), true) => Err(ApiError::invalid(
                ErrorCode::TransferTargetAmbiguous,
                "请选择转入工会，或填写新的工作地点与职业，二者选其一",
                "to_union_id",
            )),
            (Some(id), false) => Ok(TransferTarget::Union(UnionId::new(id))),
            (None, false) => Err(ApiError::invalid(
                ErrorCode::TransferTargetRequired,
                "请选择转入工会，或填写新的工作地点与职业",
                "to_union_id",
            )),
            (None, true) => {
                let required = |value: &Option<String>, field: &'static str, label: &str| {
                    value
                        .as_deref()
                        .filter(|v| !v.trim().is_empty())
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            ApiError::invalid(ErrorCode::Required, format!("请填写{label}"), field)
                        })
                };
                let region = required(&self.work_region, "work_region", "新的工作地点")?;
                let occupation = required(&self.occupation, "occupation", "职业")?;
                let work_region = RegionCode::parse(&region)
                    .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "work_region"))?;
                let occupation = OccupationGroup::parse(&occupation)
                    .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "occupation"))?;
                let employer = self
                    .employer_credit_code
                    .as_deref()
                    .filter(|c| !c.trim().is_empty())
                    .map(CreditCode::parse)
                    .transpose()
                    .map_err(|e| {
                        ApiError::invalid(e.code(), e.to_string(), "employer_credit_code")
                    })?;
                Ok(TransferTarget::Facts(SubmitFacts {
                    work_region,
                    occupation,
                    employer,
                }))
            }
        }
    }
}

/// Parses the `{id}` of a transfer path.
pub fn parse_id(path: &str) -> Result<TransferId, ApiError> {
    TransferId::parse(path)
        .map_err(|_| ApiError::invalid(ErrorCode::InvalidTransferId, "转接编号格式不正确", "id"))
}

/// The answer to a new transfer (and to its retries with the same key): 201 with the view.
fn created(detail: &TransferDetail) -> Result<Answer, String> {
    let view = transfer_view(detail).map_err(|e| e.to_string())?;
    Ok((201, serde_json::to_value(view).map_err(|e| e.to_string())?))
}

/// `POST /v1/transfers`: answers 201 with the transfer (already `completed` when the new job
/// lands in a county pool).
pub async fn request(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: RequestTransferRequest = json::parse_body(&req, &body)?;
    let key = json::idempotency_key(&req, WorkerWrite::Transfer.scope(worker.account_id), &body)?;
    let target = request.target()?;
    let reason = Reason::parse_optional(request.reason.as_deref())
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "reason"))?;
    let services = &state.services;
    let answer =
        transfers::request(services, worker.account_id, target, reason, key, created).await?;
    json::idempotent_response(Ok(answer))
}

/// Body of `GET /v1/transfers/mine`.
#[derive(Debug, Serialize)]
pub struct MyTransfers {
    /// Newest first.
    pub items: Vec<TransferView>,
}

/// `GET /v1/transfers/mine`
pub async fn mine(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
) -> Result<HttpResponse, ApiError> {
    let details = transfers::my_transfers(&state.services, worker.account_id).await?;
    Ok(HttpResponse::Ok().json(MyTransfers {
        items: transfer_views(&details)?,
    }))
}

/// `POST /v1/transfers/{id}/cancel`: while requested or released; the member stays where they
/// are.
pub async fn cancel(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let detail = transfers::cancel(&state.services, worker.account_id, id).await?;
    Ok(HttpResponse::Ok().json(transfer_view(&detail)?))
}
