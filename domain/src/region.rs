//! Statistical division codes (统计用区划代码): province (2 digits), city (4), county (6),
//! township or street (9), village or community (12). A code knows its level and its parent, so
//! "inside region X" is a prefix test.
//!
//! Codes padded with zeros (`500237000000`, `4400`, `440000`) are normalised to the level they
//! really denote. A six-digit code ending in a single `00` pair (`441900`) stays a county: the
//! National Bureau of Statistics gives the prefecture-level cities without counties (东莞
//! 441900, 中山 442000, 儋州 460400) exactly such county rows, and their townships hang below
//! them (`441900003`).

use crate::error_code::ErrorCode;
use std::fmt;
use std::str::FromStr;

use crate::vocab::string_enum;

/// Province-level codes of GB/T 2260, including Taiwan (71), Hong Kong (81) and Macao (82).
const PROVINCES: &[&str] = &[
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82",
];

/// Whether `code` is a province-level code of GB/T 2260.
pub(crate) fn is_province_code(code: &str) -> bool {
    PROVINCES.contains(&code)
}

string_enum! {
    /// The five levels of the division tree.
    pub enum RegionLevel {
        what = "区划级别",
        code = InvalidRegionLevel,
        /// 省级: province, autonomous region, municipality.
        Province = "province" => "省级",
        /// 地级: prefecture-level city, league, autonomous prefecture.
        City = "city" => "地级",
        /// 县级: county, district, county-level city.
        County = "county" => "县级",
        /// 乡级: township, town, street.
        Township = "township" => "乡级",
        /// 村级: village, community.
        Village = "village" => "村级",
    }
}

impl RegionLevel {
    /// How many digits a code of this level has.
    pub const fn digits(self) -> usize {
        match self {
            Self::Province => 2,
            Self::City => 4,
            Self::County => 6,
            Self::Township => 9,
            Self::Village => 12,
        }
    }

    const fn from_digits(digits: usize) -> Option<Self> {
        match digits {
            2 => Some(Self::Province),
            4 => Some(Self::City),
            6 => Some(Self::County),
            9 => Some(Self::Township),
            12 => Some(Self::Village),
            _ => None,
        }
    }
}

/// Why a region code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    /// Something other than ASCII digits (or nothing at all).
    #[error("地区代码只能由数字组成")]
    InvalidCharacter,
    /// Not 2, 4, 6, 9 or 12 digits.
    #[error("地区代码应为2、4、6、9或12位数字")]
    WrongLength {
        /// The number of characters given.
        length: usize,
    },
    /// The first two digits are not a province.
    #[error("地区代码的省份部分不正确")]
    UnknownProvince,
}

impl RegionCodeError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidCharacter => ErrorCode::RegionInvalidCharacter,
            Self::WrongLength { .. } => ErrorCode::RegionWrongLength,
            Self::UnknownProvince => ErrorCode::RegionUnknownProvince,
        }
    }
}

/// Strips zero groups that only pad a code to a longer level: `500237000000` → `500237`,
/// `440000` → `44`. Expects ASCII digits of a valid length.
fn normalise(mut code: &str) -> &str {
    loop {
        code = match code.len() {
            12 | 9 if code.ends_with("000") => &code[..code.len() - 3],
            6 if code.ends_with("0000") => &code[..2],
            4 if code.ends_with("00") => &code[..2],
            _ => return code,
        };
    }
}

/// A statistical division code at one of the five levels. Always normalised: `500237000000`
/// is held as the county `500237`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

impl RegionCode {
    /// Parses and normalises a code (surrounding whitespace ignored).
    pub fn parse(s: &str) -> Result<Self, RegionCodeError> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionCodeError::InvalidCharacter);
        }
        if RegionLevel::from_digits(s.len()).is_none() {
            return Err(RegionCodeError::WrongLength {
                length: s.chars().count(),
            });
        }
        let code = normalise(s);
        if !is_province_code(&code[..2]) {
            return Err(RegionCodeError::UnknownProvince);
        }
        Ok(Self(code.to_owned()))
    }

    /// The code's level.
    pub fn level(&self) -> RegionLevel {
        // Every held code has one of the five lengths; the fallback is never taken.
        RegionLevel::from_digits(self.0.len()).unwrap_or(RegionLevel::Province)
    }

    /// The region one level up; `None` for a province. A zero-padded intermediate level is
    /// skipped (the parent of the odd code `440012` is the province `44`).
    pub fn parent(&self) -> Option<RegionCode> {
        let up = match self.level() {
            RegionLevel::Province => return None,
            RegionLevel::City => RegionLevel::Province,
            RegionLevel::County => RegionLevel::City,
            RegionLevel::Township => RegionLevel::County,
            RegionLevel::Village => RegionLevel::Township,
        };
        Some(Self(normalise(&self.0[..up.digits()]).to_owned()))
    }

    /// This region, then its parent, and so on up to the province.
    pub fn ancestors(&self) -> Vec<RegionCode> {
        let mut chain = vec![self.clone()];
        while let Some(parent) = chain.last().and_then(RegionCode::parent) {
            chain.push(parent);
        }
        chain
    }

    /// Whether this region is `other` or lies inside it.
    pub fn is_within(&self, other: &RegionCode) -> bool {
        self.0.starts_with(&other.0)
    }

    /// This region's ancestor-or-self at `level`; `None` if this region is above that level.
    pub fn at_level(&self, level: RegionLevel) -> Option<RegionCode> {
        if self.level() < level {
            return None;
        }
        let code = normalise(&self.0[..level.digits()]);
        (code.len() == level.digits()).then(|| Self(code.to_owned()))
    }

    /// The county this region is in (itself if it is one); `None` above county level.
    pub fn county(&self) -> Option<RegionCode> {
        self.at_level(RegionLevel::County)
    }

    /// The province this region is in.
    pub fn province(&self) -> RegionCode {
        Self(self.0[..2].to_owned())
    }

    /// The normalised digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({})", self.0)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RegionCode {
    type Err = RegionCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for RegionCode {
    type Error = RegionCodeError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<RegionCode> for String {
    fn from(code: RegionCode) -> Self {
        code.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn each_length_maps_to_its_level() {
        assert_eq!(code("50").level(), RegionLevel::Province);
        assert_eq!(code("5002").level(), RegionLevel::City);
        assert_eq!(code("500237").level(), RegionLevel::County);
        assert_eq!(code("500237001").level(), RegionLevel::Township);
        assert_eq!(code("500237001001").level(), RegionLevel::Village);
    }

    #[test]
    fn zero_padded_codes_are_normalised_to_their_real_level() {
        assert_eq!(code("500237000000").as_str(), "500237");
        assert_eq!(code("500237001000").as_str(), "500237001");
        assert_eq!(code("500237000").as_str(), "500237");
        assert_eq!(code("440000").as_str(), "44");
        assert_eq!(code("440000000000").as_str(), "44");
        assert_eq!(code("4400").as_str(), "44");
        assert_eq!(code(" 110101 ").as_str(), "110101");
    }

    #[test]
    fn a_city_without_counties_keeps_its_county_level_code() {
        // 东莞市 441900 is a county row in the statistical codes; its streets sit below it.
        let dongguan = code("441900");
        assert_eq!(dongguan.level(), RegionLevel::County);
        assert_eq!(dongguan.parent(), Some(code("4419")));
        assert_eq!(code("441900003").county(), Some(dongguan));
    }

    #[test]
    fn malformed_codes_are_refused_with_a_reason() {
        assert_eq!(
            RegionCode::parse(""),
            Err(RegionCodeError::InvalidCharacter)
        );
        assert_eq!(
            RegionCode::parse("5002a7"),
            Err(RegionCodeError::InvalidCharacter)
        );
        assert_eq!(
            RegionCode::parse("50023"),
            Err(RegionCodeError::WrongLength { length: 5 })
        );
        assert_eq!(
            RegionCode::parse("990101"),
            Err(RegionCodeError::UnknownProvince)
        );
        assert_eq!(
            RegionCode::parse("000000"),
            Err(RegionCodeError::UnknownProvince)
        );
        assert_eq!(
            RegionCodeError::UnknownProvince.code(),
            "region_unknown_province"
        );
        assert_eq!(
            RegionCodeError::InvalidCharacter.to_string(),
            "地区代码只能由数字组成"
        );
    }

    #[test]
    fn a_zero_padded_intermediate_level_is_skipped_on_the_way_up() {
        let odd = code("440012");
        assert_eq!(odd.parent(), Some(code("44")));
        assert_eq!(odd.at_level(RegionLevel::City), None);
        assert_eq!(code("440000123").county(), None);
    }

    #[test]
    fn a_village_knows_its_whole_chain_of_ancestors() {
        let village = code("500237001001");
        assert_eq!(
            village.ancestors(),
            vec![
                code("500237001001"),
                code("500237001"),
                code("500237"),
                code("5002"),
                code("50")
            ]
        );
        assert_eq!(code("50").parent(), None);
        assert_eq!(village.county(), Some(code("500237")));
        assert_eq!(code("5002").county(), None);
        assert_eq!(village.province(), code("50"));
        assert_eq!(village.at_level(RegionLevel::City), Some(code("5002")));
    }

    #[test]
    fn within_means_self_or_descendant_and_never_a_sibling() {
        let county = code("500237");
        assert!(code("500237001").is_within(&county));
        assert!(county.is_within(&county));
        assert!(county.is_within(&code("50")));
        assert!(!code("500238").is_within(&county));
        assert!(!county.is_within(&code("500237001")));
    }

    #[test]
    fn a_region_code_travels_as_a_json_string_and_deserialises_through_parse() {
        let county: RegionCode = serde_json::from_str("\"500237000000\"").unwrap();
        assert_eq!(serde_json::to_string(&county).unwrap(), "\"500237\"");
        assert!(serde_json::from_str::<RegionCode>("\"5\"").is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_accepted_codes_reparse_to_themselves(
            s in "[0-9 ]{0,13}|\\PC{0,14}",
        ) {
            if let Ok(parsed) = RegionCode::parse(&s) {
                prop_assert_eq!(RegionCode::parse(parsed.as_str()), Ok(parsed.clone()));
                prop_assert!(parsed.ancestors().iter().all(|a| parsed.is_within(a)));
            }
        }

        #[test]
        fn a_code_is_within_each_of_its_ancestors(
            province in prop::sample::select(PROVINCES),
            rest in "[0-9]{10}",
        ) {
            let village = code(&format!("{province}{rest}"));
            for ancestor in village.ancestors() {
                prop_assert!(village.is_within(&ancestor));
                prop_assert_eq!(RegionCode::parse(ancestor.as_str()), Ok(ancestor.clone()));
            }
        }
    }
}
