//! Referrals over HTTP: the member's referral code and mini-program scene, and the approved
//! applications that carried it.

use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use zhijian_domain::calendar::local_date;
use zhijian_infra::store::referrals::ReferralRow;
use zhijian_infra::usecases::membership::referrals;

use crate::auth::WorkerIdentity;
use crate::card::mask_name;
use crate::error::ApiError;
use crate::pagination::{decode_time_cursor, encode_time_cursor, page_size};
use crate::startup::AppState;
use crate::views::application::UnionRef;

/// `GET /v1/membership/referral`
#[derive(Debug, Serialize)]
pub struct ReferralCodeView {
    /// The code a friend types on the join form (9 characters, the last a check character).
    pub code: String,
    /// The `scene` of the mini-program code (`wxacode.getUnlimited`) that opens the join form
    /// with the code filled in.
    pub scene: String,
    /// Whether the code is accepted now (the member is a current member).
    pub usable: bool,
}

/// `GET /v1/membership/referral`: the member's referral code and its QR scene.
pub async fn my_code(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
) -> Result<HttpResponse, ApiError> {
    let mine = referrals::my_referral_code(&state.services, worker.account_id).await?;
    Ok(HttpResponse::Ok().json(ReferralCodeView {
        scene: mine.code.scene(),
        code: mine.code.as_str().to_owned(),
        usable: mine.usable,
    }))
}

/// Query of `GET /v1/membership/referrals`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferralsQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100.
    pub limit: Option<i64>,
}

/// One approved referral.
#[derive(Debug, Serialize)]
pub struct ReferralView {
    /// The new member's name, masked (`张*三`).
    pub name: String,
    /// The union that approved them.
    pub union: UnionRef,
    /// The Beijing date of the approval.
    pub approved_on: NaiveDate,
}

/// `GET /v1/membership/referrals`
#[derive(Debug, Serialize)]
pub struct ReferralsPage {
    /// Newest approval first.
    pub items: Vec<ReferralView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `GET /v1/membership/referrals`: the approved applications that carried the member's code.
pub async fn my_referrals(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
    query: web::Query<ReferralsQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page_size(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(decode_time_cursor)
        .transpose()?;
    let page = referrals::my_referrals(&state.services, worker.account_id, after, limit).await?;
    let next_cursor = page
        .more
        .then(|| page.items.last())
        .flatten()
        .map(|r| encode_time_cursor(r.decided_at, r.application_id));
    let items = page.items.iter().map(referral_view).collect();
    Ok(HttpResponse::Ok().json(ReferralsPage { items, next_cursor }))
}

fn referral_view(row: &ReferralRow) -> ReferralView {
    ReferralView {
        name: mask_name(&row.name),
        union: UnionRef {
            id: row.union_id,
            name: row.union_name.clone(),
        },
        approved_on: local_date(row.decided_at),
    }
}
