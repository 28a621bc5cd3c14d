//! Membership numbers (会员编号): county code (6), year of joining (2), per-county sequence (7)
//! and an ISO 7064 MOD 11-2 check character: 16 characters. Readable, routable to the county, and
//! verifiable offline.

use crate::error_code::ErrorCode;
use std::fmt;
use std::str::FromStr;

use crate::checksum::{mod11_2, mod11_2_char};
use crate::region::{RegionCode, RegionLevel};

/// Why a membership number could not be issued or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipNumberError {
    /// The region is not a county (or the first six digits are not one).
    #[error("会员编号的地区部分必须是县级区划代码")]
    NotCounty,
    /// The year is outside 2000–2099.
    #[error("会员编号的年份超出范围")]
    YearOutOfRange,
    /// The sequence is outside 1–9 999 999.
    #[error("会员编号的顺序号超出范围")]
    SequenceOutOfRange,
    /// Not 16 characters.
    #[error("会员编号应为16位")]
    WrongLength {
        /// The number of characters given.
        length: usize,
    },
    /// A character other than a digit, or an `X` anywhere but last.
    #[error("会员编号只能包含数字，最后一位可以是X")]
    InvalidCharacter,
    /// The check character does not match.
    #[error("会员编号校验位不正确，请核对后重新输入")]
    BadCheckCharacter,
}

impl MembershipNumberError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotCounty => ErrorCode::MembershipNumberNotCounty,
            Self::YearOutOfRange => ErrorCode::MembershipNumberYearOutOfRange,
            Self::SequenceOutOfRange => ErrorCode::MembershipNumberSequenceOutOfRange,
            Self::WrongLength { .. } => ErrorCode::MembershipNumberWrongLength,
            Self::InvalidCharacter => ErrorCode::MembershipNumberInvalidCharacter,
            Self::BadCheckCharacter => ErrorCode::MembershipNumberBadCheckCharacter,
        }
    }
}

/// A valid membership number.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MembershipNumber {
    value: String,
    county: RegionCode,
}

impl MembershipNumber {
    /// The largest per-county sequence number in a year.
    pub const MAX_SEQUENCE: u32 = 9_999_999;

    /// Issues the number for the `sequence`-th member a county admits in `year` (2000–2099).
    pub fn issue(
        county: &RegionCode,
        year: i32,
        sequence: u32,
    ) -> Result<Self, MembershipNumberError> {
        if county.level() != RegionLevel::County {
            return Err(MembershipNumberError::NotCounty);
        }
        if !(2000..=2099).contains(&year) {
            return Err(MembershipNumberError::YearOutOfRange);
        }
        if !(1..=Self::MAX_SEQUENCE).contains(&sequence) {
            return Err(MembershipNumberError::SequenceOutOfRange);
        }
        let body = format!("{}{:02}{:07}", county.as_str(), year % 100, sequence);
        let check = mod11_2_char(mod11_2(body.as_bytes()));
        Ok(Self {
            value: format!("{body}{check}"),
            county: county.clone(),
        })
    }

    /// Parses and verifies a number; whitespace around it is ignored and `x` is read as `X`.
    pub fn parse(s: &str) -> Result<Self, MembershipNumberError> {
        let s = s.trim();
        let length = s.chars().count();
        if length != 16 {
            return Err(MembershipNumberError::WrongLength { length });
        }
        let value = s.to_ascii_uppercase();
        let bytes = value.as_bytes();
        let (body, check) = (&bytes[..15], bytes[15]);
        if !body.iter().all(u8::is_ascii_digit) || !(check.is_ascii_digit() || check == b'X') {
            return Err(MembershipNumberError::InvalidCharacter);
        }
        if char::from(check) != mod11_2_char(mod11_2(body)) {
            return Err(MembershipNumberError::BadCheckCharacter);
        }
        let county =
            RegionCode::parse(&value[..6]).map_err(|_| MembershipNumberError::NotCounty)?;
        if county.level() != RegionLevel::County {
            return Err(MembershipNumberError::NotCounty);
        }
        if &value[8..15] == "0000000" {
            return Err(MembershipNumberError::SequenceOutOfRange);
        }
        Ok(Self { value, county })
    }

    /// The county that issued the number.
    pub fn county(&self) -> &RegionCode {
        &self.county
    }

    /// The year of joining (2000–2099).
    pub fn year(&self) -> i32 {
        2000 + self.value[6..8].parse::<i32>().unwrap_or(0)
    }

    /// The sequence number within county and year.
    pub fn sequence(&self) -> u32 {
        self.value[8..15].parse().unwrap_or(0)
    }

    /// The 16 characters.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for MembershipNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MembershipNumber({})", self.value)
    }
}

impl fmt::Display for MembershipNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl FromStr for MembershipNumber {
    type Err = MembershipNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for MembershipNumber {
    type Error = MembershipNumberError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<MembershipNumber> for String {
    fn from(number: MembershipNumber) -> Self {
        number.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn wushan() -> RegionCode {
        RegionCode::parse("500237").unwrap()
    }

    #[test]
    fn a_number_is_county_year_sequence_and_check_character() {
        let number = MembershipNumber::issue(&wushan(), 2026, 42).unwrap();
        let body = "500237260000042";
        let check = mod11_2_char(mod11_2(body.as_bytes()));
        assert_eq!(number.as_str(), format!("{body}{check}"));
        assert_eq!(number.as_str().len(), 16);
        assert_eq!(number.county(), &wushan());
        assert_eq!(number.year(), 2026);
        assert_eq!(number.sequence(), 42);
    }

    #[test]
    fn an_issued_number_parses_back_and_travels_as_a_json_string() {
        let number = MembershipNumber::issue(&wushan(), 2026, 9_999_999).unwrap();
        assert_eq!(MembershipNumber::parse(number.as_str()), Ok(number.clone()));
        let json = serde_json::to_string(&number).unwrap();
        assert_eq!(json, format!("\"{number}\""));
        assert_eq!(
            serde_json::from_str::<MembershipNumber>(&json).unwrap(),
            number
        );
    }

    #[test]
    fn a_check_value_of_ten_is_written_x_and_read_in_either_case() {
        let number = (1..100)
            .map(|n| MembershipNumber::issue(&wushan(), 2026, n).unwrap())
            .find(|n| n.as_str().ends_with('X'))
            .unwrap();
        let lower = number.as_str().to_lowercase();
        assert_eq!(MembershipNumber::parse(&lower), Ok(number));
    }

    #[test]
    fn only_a_county_can_issue_numbers() {
        for code in ["50", "5002", "500237001", "500237001001"] {
            let region = RegionCode::parse(code).unwrap();
            assert_eq!(
                MembershipNumber::issue(&region, 2026, 1),
                Err(MembershipNumberError::NotCounty)
            );
        }
        assert_eq!(
            MembershipNumberError::NotCounty.code(),
            "membership_number_not_county"
        );
    }

    #[test]
    fn year_and_sequence_must_fit_their_digits() {
        let county = wushan();
        assert_eq!(
            MembershipNumber::issue(&county, 1999, 1),
            Err(MembershipNumberError::YearOutOfRange)
        );
        assert_eq!(
            MembershipNumber::issue(&county, 2100, 1),
            Err(MembershipNumberError::YearOutOfRange)
        );
        assert_eq!(
            MembershipNumber::issue(&county, 2026, 0),
            Err(MembershipNumberError::SequenceOutOfRange)
        );
        assert_eq!(
            MembershipNumber::issue(&county, 2026, 10_000_000),
            Err(MembershipNumberError::SequenceOutOfRange)
        );
    }

    #[test]
    fn malformed_numbers_are_refused_with_a_reason() {
        let valid = MembershipNumber::issue(&wushan(), 2026, 42).unwrap();
        let mut typo = valid.as_str().to_owned().into_bytes();
        typo[10] = if typo[10] == b'9' { b'8' } else { b'9' };
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(
            MembershipNumber::parse(&typo),
            Err(MembershipNumberError::BadCheckCharacter)
        );
        assert_eq!(
            MembershipNumber::parse("50023726000004"),
            Err(MembershipNumberError::WrongLength { length: 14 })
        );
        assert_eq!(
            MembershipNumber::parse("5002372600X00421"),
            Err(MembershipNumberError::InvalidCharacter)
        );
        let province_body = "110000260000001";
        let province_number = format!(
            "{province_body}{}",
            mod11_2_char(mod11_2(province_body.as_bytes()))
        );
        assert_eq!(
            MembershipNumber::parse(&province_number),
            Err(MembershipNumberError::NotCounty)
        );
        let zero_body = "500237260000000";
        let zero = format!("{zero_body}{}", mod11_2_char(mod11_2(zero_body.as_bytes())));
        assert_eq!(
            MembershipNumber::parse(&zero),
            Err(MembershipNumberError::SequenceOutOfRange)
        );
    }

    proptest! {
        #[test]
        fn any_issued_number_round_trips(year in 2000i32..=2099, sequence in 1u32..=9_999_999) {
            let number = MembershipNumber::issue(&wushan(), year, sequence).unwrap();
            let parsed = MembershipNumber::parse(number.as_str()).unwrap();
            prop_assert_eq!(parsed.year(), year);
            prop_assert_eq!(parsed.sequence(), sequence);
            prop_assert_eq!(parsed, number);
        }

        #[test]
        fn any_single_digit_substitution_is_rejected(
            sequence in 1u32..=9_999_999,
            position in 0usize..16,
            replacement in prop::sample::select(&b"0123456789X"[..]),
        ) {
            let number = MembershipNumber::issue(&wushan(), 2026, sequence).unwrap();
            let mut bytes = number.as_str().as_bytes().to_vec();
            prop_assume!(bytes[position] != replacement);
            bytes[position] = replacement;
            let mutated = String::from_utf8(bytes).unwrap();
            prop_assert!(MembershipNumber::parse(&mutated).is_err());
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,20}") {
            let _ = MembershipNumber::parse(&s);
        }
    }
}
