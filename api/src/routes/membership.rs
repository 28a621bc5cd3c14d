//! The member's own membership, the electronic member card, and its verification.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::MemberId;
use zhijian_infra::usecases::membership::card::{self as membership, Membership};

use crate::auth::WorkerIdentity;
use crate::card::{self, CardRejected};
use crate::error::ApiError;
use crate::startup::AppState;
use crate::views::application::UnionRef;

/// `GET /v1/membership`
#[derive(Debug, Serialize)]
pub struct MembershipView {
    /// Member id.
    pub member_id: uuid::Uuid,
    /// 16-character membership number.
    pub membership_number: String,
    /// Name.
    pub name: String,
    /// `active`, `transferring`, `retained`, `withdrawn`, `expelled`, `deceased`.
    pub status: String,
    /// Chinese label of the status.
    pub status_label: &'static str,
    /// The union the member belongs to.
    pub union: UnionRef,
    /// The day the membership began; never changes across transfers.
    pub joined_on: NaiveDate,
}

/// `GET /v1/membership/card`
#[derive(Debug, Serialize)]
pub struct CardView {
    /// The signed payload to render as a QR code.
    pub payload: String,
    /// When it stops verifying; fetch a new one after.
    pub expires_at: DateTime<Utc>,
    /// Shown on the card beside the QR code.
    pub membership_number: String,
    /// Shown on the card.
    pub name: String,
    /// Shown on the card.
    pub union: UnionRef,
}

/// `POST /v1/cards/verify` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyCardRequest {
    /// The scanned payload.
    pub payload: String,
}

/// `POST /v1/cards/verify` answer: valid or not, with the masked name, union and status.
#[derive(Debug, Serialize)]
pub struct CardVerification {
    /// Whether the card is genuine, unexpired, and its holder a current member.
    pub valid: bool,
    /// Why not, when not valid: `invalid`, `expired`, `not_a_member`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The holder's name, masked (`张*丰`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The holder's union.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub union: Option<UnionRef>,
    /// The holder's membership status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// `GET /v1/membership`
pub async fn get(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
) -> Result<HttpResponse, ApiError> {
    let Membership {
        member,
        union,
        status,
    } = membership::my_membership(&state.services, worker.account_id).await?;
    Ok(HttpResponse::Ok().json(MembershipView {
        member_id: member.id,
        membership_number: member.membership_number,
        name: member.name,
        status: member.status.as_str().to_owned(),
        status_label: status.label_zh(),
        union: UnionRef::from(&union),
        joined_on: member.joined_on,
    }))
}

/// `GET /v1/membership/card`: only a current member gets a card.
pub async fn card(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
) -> Result<HttpResponse, ApiError> {
    let holder = membership::card_holder(&state.services, worker.account_id).await?;
    let now = state.services.now();
    let (payload, expires_at) = card::issue(&state.settings.card, holder.member.id, now)?;
    let view = CardView {
        payload,
        expires_at,
        membership_number: holder.member.membership_number,
        name: holder.member.name,
        union: UnionRef::from(&holder.union),
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(view))
}

/// `POST /v1/cards/verify`: for service stations and partners; reveals nothing beyond the
/// masked name, the union and the status.
pub async fn verify(
    state: web::Data<AppState>,
    body: web::Json<VerifyCardRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.payload.is_empty() || body.payload.len() > card::MAX_PAYLOAD_LEN {
        return Err(ApiError::invalid(
            ErrorCode::InvalidCardPayload,
            "会员卡二维码内容无效",
            "payload",
        ));
    }
    let now = state.services.now();
    let holder = match card::verify(&state.settings.card, &body.payload, now) {
        Ok(id) => membership::verify_card(&state.services, MemberId::from_uuid(id)).await?,
        Err(CardRejected::Invalid) => return Ok(HttpResponse::Ok().json(refused("invalid"))),
        Err(CardRejected::Expired) => return Ok(HttpResponse::Ok().json(refused("expired"))),
    };
    Ok(HttpResponse::Ok().json(holder.map_or_else(|| refused("invalid"), verification)))
}

/// A card that does not verify, and why.
fn refused(reason: &'static str) -> CardVerification {
    CardVerification {
        valid: false,
        reason: Some(reason),
        name: None,
        union: None,
        status: None,
    }
}

/// What a verifier learns about a genuine card's holder: valid while a current member.
fn verification(holder: Membership) -> CardVerification {
    let current = holder.status.is_current();
    CardVerification {
        valid: current,
        reason: (!current).then_some("not_a_member"),
        name: Some(card::mask_name(&holder.member.name)),
        union: Some(UnionRef::from(&holder.union)),
        status: Some(holder.member.status.as_str().to_owned()),
    }
}
