//! How stations and benefits are shown: the public station card (also a "near me" row, with
//! its distance), a configured benefit, a member's benefit record, a redemption.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use zhijian_domain::benefit::BenefitState;
use zhijian_domain::station::{OpeningHours, format_time};
use zhijian_infra::store::benefits::{BenefitRow, HeldBenefit, Redemption};
use zhijian_infra::store::stations::{NearbyRow, StationRow};
use zhijian_infra::store::unions::UnionRow;

use crate::error::ApiError;
use crate::views::application::UnionRef;

/// One opening interval.
#[derive(Debug, Serialize)]
pub struct HoursView {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    /// `HH:MM`, Beijing time.
    pub open: String,
    /// `HH:MM` (`24:00` = midnight).
    pub close: String,
}

/// A station.
#[derive(Debug, Serialize)]
pub struct StationView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `service_post`, `drivers_home`, …
    pub kind: String,
    /// 驿站, 司机之家, …
    pub kind_label: &'static str,
    /// The owning union.
    pub union: UnionRef,
    /// GCJ-02 latitude.
    pub lat: f64,
    /// GCJ-02 longitude.
    pub lng: f64,
    /// Address.
    pub address: String,
    /// Weekly opening hours.
    pub hours: Vec<HoursView>,
    /// Dates it is closed.
    pub closed_days: Vec<NaiveDate>,
    /// Amenities.
    pub amenities: Vec<&'static str>,
    /// The station's own phone (public; not a person's).
    pub contact_phone: Option<String>,
    /// Open at the time of the answer (Beijing time).
    pub open_now: bool,
    /// Metres from the search centre (the "near me" search only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<u32>,
    /// Version, for edits.
    pub version: i32,
    /// Closed (no longer shown).
    pub closed: bool,
}

fn hours_views(hours: &OpeningHours) -> Vec<HoursView> {
    hours
        .weekly()
        .iter()
        .map(|d| HoursView {
            weekday: d.weekday,
            open: format_time(d.open),
            close: format_time(d.close),
        })
        .collect()
}

/// A station row with its union, at `now`.
pub fn station_view(
    row: &StationRow,
    union: &UnionRow,
    now: DateTime<Utc>,
) -> Result<StationView, ApiError> {
    let hours = row.hours()?;
    let kind = row.kind()?;
    Ok(StationView {
        id: row.id,
        name: row.name.clone(),
        kind: kind.as_str().to_owned(),
        kind_label: kind.label_zh(),
        union: UnionRef::from(union),
        lat: row.lat,
        lng: row.lng,
        address: row.address.clone(),
        hours: hours_views(&hours),
        closed_days: hours.closed_days().to_vec(),
        amenities: row.amenities().iter().map(|a| a.as_str()).collect(),
        contact_phone: row.phone.clone(),
        open_now: row.closed_at.is_none() && hours.is_open_at(now),
        distance_m: None,
        version: row.version,
        closed: row.closed_at.is_some(),
    })
}

/// A "near me" row.
pub fn nearby_view(row: &NearbyRow, open_now: bool) -> Result<StationView, ApiError> {
    let hours = row.hours()?;
    let kind = row.kind()?;
    Ok(StationView {
        id: row.id,
        name: row.name.clone(),
        kind: kind.as_str().to_owned(),
        kind_label: kind.label_zh(),
        union: UnionRef {
            id: row.union_id,
            name: row.union_name.clone(),
        },
        lat: row.lat,
        lng: row.lng,
        address: row.address.clone(),
        hours: hours_views(&hours),
        closed_days: hours.closed_days().to_vec(),
        amenities: row.amenities().iter().map(|a| a.as_str()).collect(),
        contact_phone: row.phone.clone(),
        open_now,
        // Rounded to the metre; a station is never more than 10 km away here.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a distance of at most 10 000 m, non-negative"
        )]
        distance_m: Some(row.distance_m.round().max(0.0) as u32),
        version: 0,
        closed: false,
    })
}

/// A configured benefit.
#[derive(Debug, Serialize)]
pub struct BenefitView {
    /// Id.
    pub id: i64,
    /// The union that gives it.
    pub union_id: i64,
    /// `accident_insurance`, `gift_package`, `health_check`, `other`.
    pub kind: String,
    /// Chinese label of the kind.
    pub kind_label: &'static str,
    /// Name.
    pub name: String,
    /// 承保机构 (insurance).
    pub insurer: Option<String>,
    /// Months of cover (insurance).
    pub cover_months: Option<i32>,
    /// Where a gift is collected.
    pub station_id: Option<i64>,
    /// Days a granted record stays usable.
    pub valid_days: i32,
    /// What may still be granted.
    pub stock: i32,
    /// Version.
    pub version: i32,
}

/// A benefit row.
pub fn benefit_view(row: &BenefitRow) -> Result<BenefitView, ApiError> {
    let kind = row.kind()?;
    Ok(BenefitView {
        id: row.id,
        union_id: row.union_id,
        kind: kind.as_str().to_owned(),
        kind_label: kind.label_zh(),
        name: row.name.clone(),
        insurer: row.insurer.clone(),
        cover_months: row.cover_months,
        station_id: row.station_id,
        valid_days: row.valid_days,
        stock: row.stock,
        version: row.version,
    })
}

/// A station named in a record.
#[derive(Debug, Serialize)]
pub struct StationRef {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A member's benefit record.
#[derive(Debug, Serialize)]
pub struct MemberBenefitView {
    /// The record's id.
    pub id: i64,
    /// The benefit (what station staff redeem).
    pub benefit_id: i64,
    /// Kind.
    pub kind: String,
    /// Chinese label of the kind.
    pub kind_label: &'static str,
    /// Name.
    pub name: String,
    /// 承保机构 (insurance).
    pub insurer: Option<String>,
    /// Months of cover (insurance).
    pub cover_months: Option<i32>,
    /// Where to collect it, when one station is named.
    pub collect_at_station_id: Option<i64>,
    /// Granted.
    pub granted_at: DateTime<Utc>,
    /// Usable until.
    pub expires_at: DateTime<Utc>,
    /// `available`, `used`, `expired`.
    pub state: &'static str,
    /// 可使用, 已使用, 已过期.
    pub state_label: &'static str,
    /// When it was used.
    pub used_at: Option<DateTime<Utc>>,
    /// Where.
    pub used_at_station: Option<StationRef>,
}

/// A held benefit at `now`.
pub fn member_benefit_view(
    (record, benefit, station): &HeldBenefit,
    now: DateTime<Utc>,
) -> Result<MemberBenefitView, ApiError> {
    let kind = benefit.kind()?;
    let state: BenefitState = record.record().state(now);
    Ok(MemberBenefitView {
        id: record.id,
        benefit_id: benefit.id,
        kind: kind.as_str().to_owned(),
        kind_label: kind.label_zh(),
        name: benefit.name.clone(),
        insurer: benefit.insurer.clone(),
        cover_months: benefit.cover_months,
        collect_at_station_id: benefit.station_id,
        granted_at: record.granted_at,
        expires_at: record.expires_at,
        state: state.as_str(),
        state_label: state.label_zh(),
        used_at: record.used_at,
        used_at_station: record
            .used_station_id
            .zip(station.clone())
            .map(|(id, name)| StationRef { id, name }),
    })
}

/// A redemption at a station.
#[derive(Debug, Serialize)]
pub struct RedemptionView {
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
    pub station_id: Option<i64>,
}

/// A redemption row.
pub fn redemption_view((record, name, number): &Redemption) -> RedemptionView {
    RedemptionView {
        id: record.id,
        benefit_id: record.benefit_id,
        benefit_name: name.clone(),
        membership_number: number.clone(),
        used_at: record.used_at,
        station_id: record.used_station_id,
    }
}
