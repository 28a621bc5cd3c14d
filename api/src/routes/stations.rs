//! Service stations for everyone (the "near me" search, a station's card) and the member's own
//! welcome benefits.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zhijian_domain::station::{Amenity, Coordinates, SearchRadius, StationId};
use zhijian_infra::usecases::stations::benefits;
use zhijian_infra::usecases::stations::{self, Caller, NearbyQuery};

use crate::auth::WorkerIdentity;
use crate::error::ApiError;
use crate::pagination::page_size;
use crate::startup::AppState;
use crate::views::station::{
    MemberBenefitView, StationView, member_benefit_view, nearby_view, station_view,
};

/// Query of `GET /v1/stations/nearby`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NearbyRequest {
    /// GCJ-02 latitude, as `wx.getLocation` returns it.
    pub lat: Option<String>,
    /// GCJ-02 longitude.
    pub lng: Option<String>,
    /// 1–10 000 metres (default 1 000).
    pub radius_m: Option<String>,
    /// Amenities every station must have, comma-separated.
    pub amenity: Option<String>,
    /// `true`: only stations open now.
    pub open_now: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    pub limit: Option<i64>,
}

/// A page of stations, nearest first.
#[derive(Debug, Serialize)]
pub struct NearbyPageView {
    /// Stations, nearest first.
    pub items: Vec<StationView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn query_error(
    code: zhijian_domain::error_code::ErrorCode,
    message: String,
    field: &'static str,
) -> ApiError {
    ApiError::invalid(code, message, field)
}

/// Parses the query into the use case's terms.
fn nearby_query(q: &NearbyRequest) -> Result<NearbyQuery, ApiError> {
    let centre = Coordinates::parse(
        q.lat.as_deref().unwrap_or(""),
        q.lng.as_deref().unwrap_or(""),
    )
    .map_err(|e| {
        let field = if e.code() == "invalid_latitude" {
            "lat"
        } else {
            "lng"
        };
        query_error(e.code(), e.to_string(), field)
    })?;
    let radius = SearchRadius::parse(q.radius_m.as_deref())
        .map_err(|e| query_error(e.code(), e.to_string(), "radius_m"))?;
    let amenities = q
        .amenity
        .as_deref()
        .map(|list| {
            list.split(',')
                .map(Amenity::parse)
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
        .map_err(|e| query_error(e.code(), e.to_string(), "amenity"))?
        .unwrap_or_default();
    let open_now = match q.open_now.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(query_error(
                zhijian_domain::error_code::ErrorCode::InvalidQueryParameter,
                "open_now 应为 true 或 false".into(),
                "open_now",
            ));
        }
    };
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    Ok(NearbyQuery {
        centre,
        radius,
        amenities,
        open_now,
        after,
        limit: page_size(q.limit)?,
    })
}

/// `(distance, id)` → cursor: the distance's exact bits, so the next page starts right after.
fn encode_cursor(distance: f64, id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{:x}|{id}", distance.to_bits()))
}

fn decode_cursor(cursor: &str) -> Result<(f64, i64), ApiError> {
    let bad = || {
        ApiError::invalid(
            zhijian_domain::error_code::ErrorCode::InvalidCursor,
            "分页游标无效，请从第一页重新查询",
            "cursor",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (bits, id) = text.split_once('|').ok_or_else(bad)?;
    let distance = u64::from_str_radix(bits, 16)
        .map(f64::from_bits)
        .map_err(|_| bad())?;
    let id = id.parse().map_err(|_| bad())?;
    if !distance.is_finite() {
        return Err(bad());
    }
    Ok((distance, id))
}

/// `GET /v1/stations/nearby`: public, capped per client address.
pub async fn nearby(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<NearbyRequest>,
) -> Result<HttpResponse, ApiError> {
    let query = nearby_query(&query)?;
    let caller = Caller {
        redis: &state.redis,
        cap: state.settings.stations.nearby_per_ip,
        ip: crate::routes::auth::client_ip(&req, state.settings.server.trust_forwarded_for),
    };
    let page = stations::find_nearby_stations(&state.services, caller, query).await?;
    let next_cursor = page
        .more
        .then(|| page.items.last())
        .flatten()
        .map(|s| encode_cursor(s.row.distance_m, s.row.id));
    let items = page
        .items
        .iter()
        .map(|s| nearby_view(&s.row, s.open_now))
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(NearbyPageView { items, next_cursor }))
}

/// A station id in a path: a positive integer, else 404.
pub fn station_id(path: &str) -> Result<StationId, ApiError> {
    path.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(StationId::new)
        .ok_or_else(ApiError::not_found)
}

/// `GET /v1/stations/{id}`: an open station's card.
pub async fn get(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = station_id(&path)?;
    let record = stations::public_station(&state.services, id).await?;
    let now = state.services.now();
    Ok(HttpResponse::Ok().json(station_view(&record.station, &record.union, now)?))
}

/// `GET /v1/membership/benefits` answer.
#[derive(Debug, Serialize)]
pub struct MyBenefitsView {
    /// Oldest grant first.
    pub items: Vec<MemberBenefitView>,
}

/// `GET /v1/membership/benefits`: the member's welcome benefits and their state.
pub async fn my_benefits(
    state: web::Data<AppState>,
    worker: WorkerIdentity,
) -> Result<HttpResponse, ApiError> {
    let held = benefits::my_benefits(&state.services, worker.account_id).await?;
    let now = state.services.now();
    let items = held
        .iter()
        .map(|h| member_benefit_view(h, now))
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(MyBenefitsView { items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_keeps_the_exact_distance() {
        let d = 123.456_789_012_345_f64;
        assert_eq!(decode_cursor(&encode_cursor(d, 42)).unwrap(), (d, 42));
        assert!(decode_cursor("garbage!").is_err());
    }
}
