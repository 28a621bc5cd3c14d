//! `POST /v1/membership/claim`: a worker finds the membership an import created for them.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use zhijian_domain::resident_id::ResidentId;
use zhijian_domain::text::PersonName;
use zhijian_infra::usecases::membership::claim;

use crate::auth::WorkerIdentity;
use crate::error::ApiError;
use crate::routes::membership::MembershipView;
use crate::startup::AppState;
use crate::views::application::UnionRef;

/// Body of `POST /v1/membership/claim`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMembershipRequest {
    /// The name as imported (as on the ID card).
    pub name: String,
    /// The resident ID as imported.
    pub resident_id: String,
}

/// Links the imported member whose phone (the account's verified phone), resident ID and name
/// match; answers the membership like `GET /v1/membership`.
pub async fn claim(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    body: web::Json<ClaimMembershipRequest>,
) -> Result<HttpResponse, ApiError> {
    let name = PersonName::parse(&body.name)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "name"))?;
    let today = zhijian_domain::calendar::local_date(state.services.now());
    let resident_id = ResidentId::parse(&body.resident_id, today)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "resident_id"))?;
    let m = claim::claim_membership(
        &state.services,
        &state.redis,
        worker.account_id,
        name,
        resident_id,
    )
    .await?;
    Ok(HttpResponse::Ok().json(MembershipView {
        member_id: m.member.id,
        membership_number: m.member.membership_number,
        name: m.member.name,
        status: m.member.status.as_str().to_owned(),
        status_label: m.status.label_zh(),
        union: UnionRef::from(&m.union),
        joined_on: m.member.joined_on,
    }))
}
