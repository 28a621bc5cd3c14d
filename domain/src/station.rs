//! Service stations (服务站点): where a member can rest, drink water, charge a phone — 驿站,
//! 司机之家, 户外劳动者港湾, 职工之家 — their location, opening hours and amenities, and the
//! rules of a "near me" search.
//!
//! Locations are GCJ-02 latitude/longitude exactly as WeChat's `wx.getLocation` returns them.
//! GCJ-02 shifts WGS-84 by a smooth offset of a few hundred metres that is almost constant over
//! a city, so distances between two GCJ-02 points are correct to a few metres at the scale of a
//! search (≤ 10 km); no conversion is made.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::to_local;
use crate::error_code::ErrorCode;
use crate::vocab::string_enum;

/// A station's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StationId(i64);

impl StationId {
    /// Wraps a database key.
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    /// The database key.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for StationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

string_enum! {
    /// What kind of station it is.
    pub enum StationKind {
        what = "站点类型",
        code = InvalidStationKind,
        /// 驿站: a rest stop for delivery riders and couriers.
        ServicePost = "service_post" => "驿站",
        /// 司机之家: for truck and ride-hailing drivers.
        DriversHome = "drivers_home" => "司机之家",
        /// 户外劳动者港湾 / 服务站点: for outdoor workers.
        OutdoorWorkersHarbor = "outdoor_workers_harbor" => "户外劳动者港湾",
        /// 职工之家.
        WorkersHome = "workers_home" => "职工之家",
        /// Anything else.
        Other = "other" => "其他服务站点",
    }
}

string_enum! {
    /// What a station offers.
    pub enum Amenity {
        what = "站点设施",
        code = InvalidAmenity,
        /// 饮用水.
        DrinkingWater = "drinking_water" => "饮用水",
        /// 微波炉 (heating food).
        Microwave = "microwave" => "微波炉",
        /// 充电 (phones, e-bikes).
        Charging = "charging" => "充电",
        /// 卫生间.
        Toilet = "toilet" => "卫生间",
        /// 急救药箱.
        FirstAid = "first_aid" => "急救药箱",
        /// 休息区.
        RestArea = "rest_area" => "休息区",
        /// 空调.
        AirConditioning = "air_conditioning" => "空调",
        /// 无线网络.
        Wifi = "wifi" => "无线网络",
        /// 阅读角.
        Reading = "reading" => "阅读角",
        /// 停车 (trucks, cars).
        Parking = "parking" => "停车",
    }
}

/// A latitude or longitude that is not a number in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CoordinatesError {
    /// Latitude outside −90…90 or not a number.
    #[error("纬度应为-90至90之间的数字")]
    Latitude,
    /// Longitude outside −180…180 or not a number.
    #[error("经度应为-180至180之间的数字")]
    Longitude,
}

impl CoordinatesError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Latitude => ErrorCode::InvalidLatitude,
            Self::Longitude => ErrorCode::InvalidLongitude,
        }
    }
}

/// A GCJ-02 point, as `wx.getLocation({type: 'gcj02'})` returns it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coordinates {
    lat: f64,
    lng: f64,
}

impl Coordinates {
    /// Checks both values are finite and in range.
    pub fn new(lat: f64, lng: f64) -> Result<Self, CoordinatesError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(CoordinatesError::Latitude);
        }
        if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
            return Err(CoordinatesError::Longitude);
        }
        Ok(Self { lat, lng })
    }

    /// Parses query-string text: a decimal number each.
    pub fn parse(lat: &str, lng: &str) -> Result<Self, CoordinatesError> {
        let lat = parse_number(lat).ok_or(CoordinatesError::Latitude)?;
        let lng = parse_number(lng).ok_or(CoordinatesError::Longitude)?;
        Self::new(lat, lng)
    }

    /// Latitude in degrees.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lng(self) -> f64 {
        self.lng
    }
}

/// A plain decimal (`31.07`, `-0.5`): no `NaN`, `inf`, exponents or hex.
fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    let digits = s.strip_prefix('-').unwrap_or(s);
    let plain = !digits.is_empty()
        && digits.len() <= 24
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    plain.then(|| s.parse().ok()).flatten()
}

/// A search radius that is not 1…[`SearchRadius::MAX_M`] metres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("搜索半径应为1至10000米")]
pub struct RadiusError;

impl RadiusError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidRadius
    }
}

/// How far a "near me" search reaches, in metres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchRadius(u32);

impl SearchRadius {
    /// When the client does not say: the "within 1 km" unions promise.
    pub const DEFAULT_M: u32 = 1_000;
    /// The farthest a search may reach.
    pub const MAX_M: u32 = 10_000;

    /// Parses `radius_m`: absent is the default; 0, negative, over the maximum or not an
    /// integer is refused.
    pub fn parse(value: Option<&str>) -> Result<Self, RadiusError> {
        let Some(value) = value else {
            return Ok(Self(Self::DEFAULT_M));
        };
        let metres: u32 = value.trim().parse().map_err(|_| RadiusError)?;
        if (1..=Self::MAX_M).contains(&metres) {
            Ok(Self(metres))
        } else {
            Err(RadiusError)
        }
    }

    /// Metres.
    pub fn metres(self) -> u32 {
        self.0
    }
}

/// Opening hours that do not make sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// A time that is not `HH:MM` (00:00–24:00), a weekday outside 1–7, too many intervals,
    /// overlapping intervals or too many closed days.
    #[error("营业时间格式不正确：{0}")]
    Malformed(&'static str),
    /// An interval whose end is not after its start.
    #[error("营业时间的结束时间应晚于开始时间")]
    EndBeforeStart,
}

impl HoursError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Malformed(_) => ErrorCode::InvalidStationHours,
            Self::EndBeforeStart => ErrorCode::StationHoursEndBeforeStart,
        }
    }
}

/// One opening interval of one weekday, in Beijing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayHours {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: u8,
    /// Opening, minutes after midnight.
    pub open: u16,
    /// Closing, minutes after midnight (1440 = midnight at the end of the day).
    pub close: u16,
}

/// A station's week: opening intervals per weekday (a weekday without one is closed) and
/// dates it is closed (holidays, repairs), all in Beijing time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OpeningHours {
    weekly: Vec<DayHours>,
    closed_days: Vec<NaiveDate>,
}

/// One interval as the API sends it: `{weekday, open: "08:00", close: "20:00"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursInput {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: i64,
    /// `HH:MM`.
    pub open: String,
    /// `HH:MM`; `24:00` for midnight.
    pub close: String,
}

impl OpeningHours {
    /// At most this many intervals a day.
    pub const MAX_PER_DAY: usize = 4;
    /// At most this many closed days.
    pub const MAX_CLOSED_DAYS: usize = 366;

    /// Parses and checks the week: times `HH:MM`, end after start, no overlap on a day.
    pub fn parse(weekly: &[HoursInput], closed_days: &[NaiveDate]) -> Result<Self, HoursError> {
        let mut days = Vec::with_capacity(weekly.len());
        for input in weekly {
            let weekday = u8::try_from(input.weekday)
                .ok()
                .filter(|d| (1..=7).contains(d))
                .ok_or(HoursError::Malformed("星期应为1至7"))?;
            let open = parse_time(&input.open)?;
            let close = parse_time(&input.close)?;
            if close <= open {
                return Err(HoursError::EndBeforeStart);
            }
            days.push(DayHours {
                weekday,
                open,
                close,
            });
        }
        days.sort_by_key(|d| (d.weekday, d.open));
        for pair in days.windows(2) {
            if pair[0].weekday == pair[1].weekday && pair[1].open < pair[0].close {
                return Err(HoursError::Malformed("同一天的营业时段不能重叠"));
            }
        }
        for weekday in 1..=7u8 {
            if days.iter().filter(|d| d.weekday == weekday).count() > Self::MAX_PER_DAY {
                return Err(HoursError::Malformed("每天最多4个营业时段"));
            }
        }
        if closed_days.len() > Self::MAX_CLOSED_DAYS {
            return Err(HoursError::Malformed("停业日期最多366个"));
        }
        let mut closed = closed_days.to_vec();
        closed.sort();
        closed.dedup();
        Ok(Self {
            weekly: days,
            closed_days: closed,
        })
    }

    /// The intervals, by weekday then opening time.
    pub fn weekly(&self) -> &[DayHours] {
        &self.weekly
    }

    /// The closed dates, ascending.
    pub fn closed_days(&self) -> &[NaiveDate] {
        &self.closed_days
    }

    /// Whether the station is open at `now` (Beijing time).
    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        let local = to_local(now);
        if self.closed_days.binary_search(&local.date_naive()).is_ok() {
            return false;
        }
        let weekday = u8::try_from(local.weekday().number_from_monday()).unwrap_or(0);
        let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
        self.weekly
            .iter()
            .any(|d| d.weekday == weekday && d.open <= minute && minute < d.close)
    }
}

/// `HH:MM` → minutes after midnight; `24:00` is 1440.
fn parse_time(s: &str) -> Result<u16, HoursError> {
    const BAD: HoursError = HoursError::Malformed("时间应为HH:MM");
    let (h, m) = s.trim().split_once(':').ok_or(BAD)?;
    let two_digits = |t: &str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(h) || !two_digits(m) {
        return Err(BAD);
    }
    let h: u16 = h.parse().map_err(|_| BAD)?;
    let m: u16 = m.parse().map_err(|_| BAD)?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(BAD);
    }
    Ok(h * 60 + m)
}

/// `minutes` after midnight as `HH:MM`.
pub fn format_time(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A station phone that is not 5–20 digits, `-`, `+` or spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("站点电话应为5至20位数字，可含“-”")]
pub struct StationPhoneError;

impl StationPhoneError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidStationPhone
    }
}

/// The station's own phone (a landline like `023-57681234` or a mobile): public, not a
/// person's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationPhone(String);

impl StationPhone {
    /// Checks the characters and length.
    pub fn parse(s: &str) -> Result<Self, StationPhoneError> {
        let s = s.trim();
        let digits = s.bytes().filter(u8::is_ascii_digit).count();
        let allowed = s
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+' || b == b' ');
        if allowed && (5..=20).contains(&digits) && s.len() <= 24 {
            Ok(Self(s.to_owned()))
        } else {
            Err(StationPhoneError)
        }
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The amenities of a list, each once, in vocabulary order.
pub fn amenity_set(mut amenities: Vec<Amenity>) -> Vec<Amenity> {
    amenities.sort();
    amenities.dedup();
    amenities
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::tests::beijing;

    fn hours(weekday: i64, open: &str, close: &str) -> HoursInput {
        HoursInput {
            weekday,
            open: open.into(),
            close: close.into(),
        }
    }

    #[test]
    fn coordinates_must_be_numbers_in_range() {
        assert!(Coordinates::parse("31.07", "109.88").is_ok());
        assert!(Coordinates::parse("-90", "180").is_ok());
        assert_eq!(
            Coordinates::parse("90.0001", "109"),
            Err(CoordinatesError::Latitude)
        );
        assert_eq!(
            Coordinates::parse("31", "-180.5"),
            Err(CoordinatesError::Longitude)
        );
        for bad in ["abc", "NaN", "inf", "1e2", "", "-", ".", "0x10", "1.2.3"] {
            assert_eq!(
                Coordinates::parse(bad, "109"),
                Err(CoordinatesError::Latitude),
                "{bad:?}"
            );
        }
        assert_eq!(
            Coordinates::new(f64::NAN, 1.0),
            Err(CoordinatesError::Latitude)
        );
        assert_eq!(CoordinatesError::Latitude.code(), "invalid_latitude");
    }

    #[test]
    fn a_radius_is_one_to_ten_thousand_metres_default_one_thousand() {
        assert_eq!(SearchRadius::parse(None).unwrap().metres(), 1_000);
        assert_eq!(SearchRadius::parse(Some("10000")).unwrap().metres(), 10_000);
        for bad in ["0", "10001", "-5", "1.5", "abc", ""] {
            assert_eq!(SearchRadius::parse(Some(bad)), Err(RadiusError), "{bad:?}");
        }
    }

    #[test]
    fn hours_whose_end_is_not_after_their_start_are_refused() {
        assert_eq!(
            OpeningHours::parse(&[hours(1, "18:00", "08:00")], &[]),
            Err(HoursError::EndBeforeStart)
        );
        assert_eq!(
            OpeningHours::parse(&[hours(1, "08:00", "08:00")], &[]),
            Err(HoursError::EndBeforeStart)
        );
        assert_eq!(
            HoursError::EndBeforeStart.code(),
            "station_hours_end_before_start"
        );
    }

    #[test]
    fn malformed_hours_are_refused() {
        for bad in [
            hours(0, "08:00", "09:00"),
            hours(8, "08:00", "09:00"),
            hours(1, "8:00", "09:00"),
            hours(1, "08:60", "09:00"),
            hours(1, "08:00", "24:01"),
            hours(1, "25:00", "26:00"),
        ] {
            let error = OpeningHours::parse(std::slice::from_ref(&bad), &[]).unwrap_err();
            assert_eq!(error.code(), "invalid_station_hours", "{bad:?}");
        }
        let overlap = OpeningHours::parse(
            &[hours(2, "08:00", "12:00"), hours(2, "11:00", "18:00")],
            &[],
        );
        assert!(matches!(overlap, Err(HoursError::Malformed(_))));
    }

    #[test]
    fn open_now_follows_beijing_time_weekdays_and_closed_days() {
        // 2026-12-07 is a Monday.
        let closed = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
        let week = OpeningHours::parse(
            &[
                hours(1, "08:00", "12:00"),
                hours(1, "14:00", "24:00"),
                hours(2, "08:00", "20:00"),
            ],
            &[closed],
        )
        .unwrap();
        assert!(!week.is_open_at(beijing(2026, 12, 7, 7, 59)));
        assert!(week.is_open_at(beijing(2026, 12, 7, 8, 0)));
        assert!(!week.is_open_at(beijing(2026, 12, 7, 12, 0)));
        assert!(week.is_open_at(beijing(2026, 12, 7, 23, 59)));
        // Tuesday is listed but closed that date; Wednesday has no hours.
        assert!(!week.is_open_at(beijing(2026, 12, 8, 10, 0)));
        assert!(!week.is_open_at(beijing(2026, 12, 9, 10, 0)));
        assert!(week.is_open_at(beijing(2026, 12, 15, 10, 0)));
        // 01:00 UTC on Monday is 09:00 in Beijing.
        let utc = DateTime::parse_from_rfc3339("2026-12-07T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(week.is_open_at(utc));
    }

    #[test]
    fn a_station_phone_is_a_landline_or_mobile() {
        assert!(StationPhone::parse("023-57681234").is_ok());
        assert!(StationPhone::parse("13800001234").is_ok());
        assert_eq!(StationPhone::parse("1234"), Err(StationPhoneError));
        assert_eq!(StationPhone::parse("call me"), Err(StationPhoneError));
    }

    #[test]
    fn times_format_back() {
        assert_eq!(format_time(8 * 60 + 5), "08:05");
        assert_eq!(format_time(1440), "24:00");
    }
}
