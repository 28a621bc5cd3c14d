//! The managers' stations and welcome benefits, and redemption by card at a station (station
//! staff only).

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zhijian_domain::admin_management::{DisplayName, Username};
use zhijian_domain::benefit::{BenefitId, BenefitKind, BenefitTerms};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::{MemberId, UnionId};
use zhijian_domain::station::{
    Amenity, Coordinates, HoursInput, OpeningHours, StationId, StationKind, StationPhone,
};
use zhijian_domain::text::{BenefitName, InsurerName, StationAddress, StationName};
use zhijian_infra::store::applications::AdminActor;
use zhijian_infra::store::idempotency::Answer;
use zhijian_infra::usecases::admins::{self, Creator, NewStationStaff};
use zhijian_infra::usecases::stations::benefits::{self, BenefitDraft, RedemptionsReader};
use zhijian_infra::usecases::stations::{self, StationDraft};

use crate::auth::{AdminIdentity, StaffIdentity};
use crate::card::{self, CardRejected};
use crate::error::ApiError;
use crate::json;
use crate::pagination::page_size;
use crate::routes::stations::station_id;
use crate::startup::AppState;
use crate::views::admin::{AdminWithPasswordView, admin_view};
use crate::views::station::{
    BenefitView, RedemptionView, StationRef, benefit_view, redemption_view, station_view,
};

/// One opening interval in a request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursRequest {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: i64,
    /// `HH:MM`.
    pub open: String,
    /// `HH:MM` (`24:00` = midnight).
    pub close: String,
}

/// Body of `POST /v1/admin/stations` (with `union_id`) and `PUT /v1/admin/stations/{id}`
/// (with `version`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationRequest {
    /// The owning union (create).
    #[serde(default)]
    pub union_id: Option<i64>,
    /// The version the manager saw (edit).
    #[serde(default)]
    pub version: Option<i32>,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// GCJ-02 latitude.
    pub lat: f64,
    /// GCJ-02 longitude.
    pub lng: f64,
    /// Address.
    pub address: String,
    /// Weekly hours; a weekday without one is closed.
    #[serde(default)]
    pub hours: Vec<HoursRequest>,
    /// Dates closed.
    #[serde(default)]
    pub closed_days: Vec<NaiveDate>,
    /// Amenities.
    #[serde(default)]
    pub amenities: Vec<String>,
    /// The station's own phone.
    #[serde(default)]
    pub contact_phone: Option<String>,
}

fn field_error(code: ErrorCode, message: String, field: &'static str) -> ApiError {
    ApiError::invalid(code, message, field)
}

fn required<T>(value: Option<T>, field: &'static str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid(ErrorCode::MissingField, "缺少必填项", field))
}

/// The request's station, parsed.
fn station_draft(body: &StationRequest) -> Result<StationDraft, ApiError> {
    let text = |e: zhijian_domain::text::TextError, f| field_error(e.code(), e.to_string(), f);
    let location = Coordinates::new(body.lat, body.lng).map_err(|e| {
        let field = if e.code() == "invalid_latitude" {
            "lat"
        } else {
            "lng"
        };
        field_error(e.code(), e.to_string(), field)
    })?;
    let weekly: Vec<HoursInput> = body
        .hours
        .iter()
        .map(|h| HoursInput {
            weekday: h.weekday,
            open: h.open.clone(),
            close: h.close.clone(),
        })
        .collect();
    Ok(StationDraft {
        name: StationName::parse(&body.name).map_err(|e| text(e, "name"))?,
        kind: StationKind::parse(&body.kind)
            .map_err(|e| field_error(e.code(), e.to_string(), "kind"))?,
        location,
        address: StationAddress::parse(&body.address).map_err(|e| text(e, "address"))?,
        hours: OpeningHours::parse(&weekly, &body.closed_days)
            .map_err(|e| field_error(e.code(), e.to_string(), "hours"))?,
        amenities: body
            .amenities
            .iter()
            .map(|a| Amenity::parse(a))
            .collect::<Result<_, _>>()
            .map_err(|e| field_error(e.code(), e.to_string(), "amenities"))?,
        phone: body
            .contact_phone
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(StationPhone::parse)
            .transpose()
            .map_err(|e| field_error(e.code(), e.to_string(), "contact_phone"))?,
    })
}

/// The acting admin, if their role manages stations and benefits.
fn manager(admin: &AdminIdentity) -> Result<AdminActor, ApiError> {
    if !admin.role.can_manage() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "只有管理员可以维护服务站点和入会礼遇",
        ));
    }
    admin.actor()
}

fn station_created(
    state: &AppState,
) -> impl FnOnce(&stations::StationRecord) -> Result<Answer, String> + use<> {
    let now = state.services.now();
    move |record| {
        let view = station_view(&record.station, &record.union, now).map_err(|e| e.to_string())?;
        Ok((201, serde_json::to_value(view).map_err(|e| e.to_string())?))
    }
}

/// `POST /v1/admin/stations`: 新建站点 (the first answer again for a retried
/// `Idempotency-Key`).
pub async fn create(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: StationRequest = json::parse_body(&req, &body)?;
    let actor = manager(&admin)?;
    let key = json::idempotency_key(&req, format!("station:{}", actor.admin_id), &body)?;
    let union = UnionId::new(required(request.union_id, "union_id")?);
    let draft = station_draft(&request)?;
    let render = station_created(&state);
    let answer =
        stations::create_station(&state.services, actor, union, draft, key, render).await?;
    json::idempotent_response(Ok(answer))
}

/// `PUT /v1/admin/stations/{id}`: 修改站点 at `version`.
pub async fn edit(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<StationRequest>,
) -> Result<HttpResponse, ApiError> {
    let actor = manager(&admin)?;
    let id = station_id(&path)?;
    let version = required(body.version, "version")?;
    let draft = station_draft(&body)?;
    let record = stations::edit_station(&state.services, actor, id, version, draft).await?;
    let view = station_view(&record.station, &record.union, state.services.now())?;
    Ok(HttpResponse::Ok().json(view))
}

/// Body of `close`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseStationRequest {
    /// The version the manager saw.
    pub version: i32,
    /// Where the benefits collected here move (another open station of the same union);
    /// required while any are.
    #[serde(default)]
    pub successor_id: Option<i64>,
}

/// `POST /v1/admin/stations/{id}/close`: 关闭站点.
pub async fn close(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<CloseStationRequest>,
) -> Result<HttpResponse, ApiError> {
    let actor = manager(&admin)?;
    let id = station_id(&path)?;
    let successor = body.successor_id.map(StationId::new);
    let record =
        stations::close_station(&state.services, actor, id, body.version, successor).await?;
    let view = station_view(&record.station, &record.union, state.services.now())?;
    Ok(HttpResponse::Ok().json(view))
}

/// Body of `POST /v1/admin/stations/{id}/staff`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationStaffRequest {
    /// Login name: 3–64 of `a-z 0-9 _ . -` (upper case folded).
    pub username: String,
    /// Name shown in the admin UI.
    pub display_name: String,
}

/// `POST /v1/admin/stations/{id}/staff`: 新增站点管理员 (role `station`, bound to the station
/// and its union) with a one-time password, shown once; idempotent under `Idempotency-Key`.
pub async fn create_staff(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: StationStaffRequest = json::parse_body(&req, &body)?;
    let station = station_id(&path)?;
    let scope = format!("station-staff:{}:{}", admin.admin_id, station.get());
    let key = json::idempotency_key(&req, scope, &body)?;
    let new = NewStationStaff {
        username: Username::parse(&request.username)
            .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "username"))?,
        display_name: DisplayName::parse(&request.display_name)
            .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "display_name"))?,
        station,
    };
    let creator = Creator::Manager(crate::routes::admin_admins::granter(&admin)?);
    let now = state.services.now();
    let render = move |account: &_| Ok(serde_json::to_value(admin_view(account, now))?);
    let done = admins::create_station_staff(&state.services, creator, key, new, render).await?;
    let one_time_password = done
        .one_time_password
        .ok_or_else(|| ApiError::internal("station staff without a one-time password"))?
        .expose()
        .to_owned();
    Ok(HttpResponse::Created().json(AdminWithPasswordView {
        admin: done.admin,
        one_time_password,
    }))
}

/// Query of `GET /v1/admin/stations/{id}/redemptions` and `GET /v1/admin/benefits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedemptionsQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
}

/// A page of redemptions.
#[derive(Debug, Serialize)]
pub struct RedemptionPageView {
    /// Newest first.
    pub items: Vec<RedemptionView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn encode_cursor(at: DateTime<Utc>, id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}|{id}", at.timestamp_micros()))
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, i64), ApiError> {
    let bad = || {
        ApiError::invalid(
            ErrorCode::InvalidCursor,
            "分页游标无效，请从第一页重新查询",
            "cursor",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (micros, id) = text.split_once('|').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

/// `GET /v1/admin/stations/{id}/redemptions`: station staff read their own station's; other
/// admins the stations of their subtree.
pub async fn redemptions(
    state: web::Data<AppState>,
    StaffIdentity(admin): StaffIdentity,
    path: web::Path<String>,
    query: web::Query<RedemptionsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = station_id(&path)?;
    let limit = page_size(query.limit)?;
    let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let actor = admin.actor()?;
    let reader = if admin.role.is_station_staff() {
        RedemptionsReader::Staff(actor)
    } else {
        RedemptionsReader::Admin(actor)
    };
    let page = benefits::station_redemptions(&state.services, reader, id, after, limit).await?;
    let next_cursor = page
        .more
        .then(|| page.items.last())
        .flatten()
        .and_then(|(r, _, _)| r.used_at.map(|at| encode_cursor(at, r.id)));
    let items = page.items.iter().map(redemption_view).collect();
    Ok(HttpResponse::Ok().json(RedemptionPageView { items, next_cursor }))
}

/// Body of `POST /v1/admin/benefits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenefitRequest {
    /// The union that gives it.
    pub union_id: i64,
    /// `accident_insurance`, `gift_package`, `health_check`, `other`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// 承保机构 (insurance: required).
    #[serde(default)]
    pub insurer: Option<String>,
    /// Months of cover (insurance: required).
    #[serde(default)]
    pub cover_months: Option<i64>,
    /// Where a gift is collected.
    #[serde(default)]
    pub station_id: Option<i64>,
    /// Days a granted record stays usable.
    pub valid_days: i64,
    /// How many may be granted.
    pub stock: i64,
}

fn benefit_draft(body: &BenefitRequest) -> Result<BenefitDraft, ApiError> {
    let kind =
        BenefitKind::parse(&body.kind).map_err(|e| field_error(e.code(), e.to_string(), "kind"))?;
    let insurer = InsurerName::parse_optional(body.insurer.as_deref())
        .map_err(|e| field_error(e.code(), e.to_string(), "insurer"))?;
    let terms = BenefitTerms::parse(
        kind,
        insurer.is_some(),
        body.valid_days,
        body.stock,
        body.cover_months,
    )
    .map_err(|e| field_error(e.code(), e.to_string(), e.field()))?;
    Ok(BenefitDraft {
        union: UnionId::new(body.union_id),
        kind,
        name: BenefitName::parse(&body.name)
            .map_err(|e| field_error(e.code(), e.to_string(), "name"))?,
        insurer,
        station: body.station_id.map(StationId::new),
        terms,
    })
}

fn benefit_created(row: &zhijian_infra::store::benefits::BenefitRow) -> Result<Answer, String> {
    let view = benefit_view(row).map_err(|e| e.to_string())?;
    Ok((201, serde_json::to_value(view).map_err(|e| e.to_string())?))
}

/// `POST /v1/admin/benefits`: 配置入会礼遇 (the first answer again for a retried
/// `Idempotency-Key`).
pub async fn create_benefit(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: BenefitRequest = json::parse_body(&req, &body)?;
    let actor = manager(&admin)?;
    let key = json::idempotency_key(&req, format!("benefit:{}", actor.admin_id), &body)?;
    let draft = benefit_draft(&request)?;
    let answer =
        benefits::create_benefit(&state.services, actor, draft, key, benefit_created).await?;
    json::idempotent_response(Ok(answer))
}

/// Body of `PATCH /v1/admin/benefits/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBenefitRequest {
    /// The version the manager saw.
    pub version: i32,
    /// A new name.
    #[serde(default)]
    pub name: Option<String>,
    /// A new collection station.
    #[serde(default)]
    pub station_id: Option<i64>,
    /// A new validity for records granted from now on.
    #[serde(default)]
    pub valid_days: Option<i64>,
    /// Stock to add (negative: unused stock withdrawn).
    #[serde(default)]
    pub add_stock: Option<i64>,
}

fn benefit_edit(body: &EditBenefitRequest) -> Result<benefits::BenefitEdit, ApiError> {
    let spec = |e: zhijian_domain::benefit::BenefitSpecError| {
        field_error(e.code(), e.to_string(), e.field())
    };
    Ok(benefits::BenefitEdit {
        name: body
            .name
            .as_deref()
            .map(BenefitName::parse)
            .transpose()
            .map_err(|e| field_error(e.code(), e.to_string(), "name"))?,
        station: body.station_id.map(StationId::new),
        valid_days: body
            .valid_days
            .map(BenefitTerms::validity)
            .transpose()
            .map_err(spec)?,
        add_stock: body.add_stock,
    })
}

/// `PATCH /v1/admin/benefits/{id}`: 修改入会礼遇 / 补充库存 at `version`.
pub async fn edit_benefit(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    body: web::Json<EditBenefitRequest>,
) -> Result<HttpResponse, ApiError> {
    let actor = manager(&admin)?;
    let id = path
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(BenefitId::new)
        .ok_or_else(ApiError::not_found)?;
    let edit = benefit_edit(&body)?;
    let row = benefits::edit_benefit(&state.services, actor, id, body.version, edit).await?;
    Ok(HttpResponse::Ok().json(benefit_view(&row)?))
}

/// `GET /v1/admin/benefits` answer.
#[derive(Debug, Serialize)]
pub struct BenefitListView {
    /// By id.
    pub items: Vec<BenefitView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn decode_id_cursor(cursor: &str) -> Result<i64, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| text.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::invalid(
                ErrorCode::InvalidCursor,
                "分页游标无效，请从第一页重新查询",
                "cursor",
            )
        })
}

/// `GET /v1/admin/benefits`: the benefits configured in the admin's subtree, by id, a page
/// at a time.
pub async fn list_benefits(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    query: web::Query<RedemptionsQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = page_size(query.limit)?;
    let after = query.cursor.as_deref().map(decode_id_cursor).transpose()?;
    let scope = admin.actor()?.union_path;
    let (rows, more) = benefits::list_benefits(&state.services, scope, after, limit).await?;
    let next_cursor = more
        .then(|| rows.last())
        .flatten()
        .map(|r| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r.id.to_string()));
    let items = rows.iter().map(benefit_view).collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(BenefitListView { items, next_cursor }))
}

/// Body of `POST /v1/admin/benefits/redeem`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The scanned member card payload.
    pub payload: String,
    /// The benefit to redeem.
    pub benefit_id: i64,
}

/// `POST /v1/admin/benefits/redeem` answer.
#[derive(Debug, Serialize)]
pub struct RedeemedView {
    /// The member's record.
    pub id: i64,
    /// The benefit.
    pub benefit_id: i64,
    /// Its name.
    pub benefit_name: String,
    /// The member's number.
    pub membership_number: String,
    /// When.
    pub used_at: Option<DateTime<Utc>>,
    /// Where.
    pub station: StationRef,
}

/// The member of a scanned card payload, or why the card is refused.
fn card_holder(state: &AppState, payload: &str) -> Result<MemberId, ApiError> {
    let invalid =
        || ApiError::invalid(ErrorCode::InvalidCardPayload, "会员卡二维码无效", "payload");
    if payload.is_empty() || payload.len() > card::MAX_PAYLOAD_LEN {
        return Err(invalid());
    }
    match card::verify(&state.settings.card, payload, state.services.now()) {
        Ok(id) => Ok(MemberId::from_uuid(id)),
        Err(CardRejected::Invalid) => Err(invalid()),
        Err(CardRejected::Expired) => Err(ApiError::invalid(
            ErrorCode::CardExpired,
            "会员卡二维码已过期，请会员刷新后重新出示",
            "payload",
        )),
    }
}

/// `POST /v1/admin/benefits/redeem`: 核销 at the staff's own station, once.
pub async fn redeem(
    state: web::Data<AppState>,
    StaffIdentity(admin): StaffIdentity,
    body: web::Json<RedeemRequest>,
) -> Result<HttpResponse, ApiError> {
    let member = card_holder(&state, &body.payload)?;
    let actor = admin.actor()?;
    let done = benefits::redeem_benefit(
        &state.services,
        actor,
        member,
        BenefitId::new(body.benefit_id),
    )
    .await?;
    Ok(HttpResponse::Ok().json(RedeemedView {
        id: done.record.id,
        benefit_id: done.benefit.id,
        benefit_name: done.benefit.name,
        membership_number: done.membership_number,
        used_at: done.record.used_at,
        station: StationRef {
            id: done.station_id,
            name: done.station_name,
        },
    }))
}
