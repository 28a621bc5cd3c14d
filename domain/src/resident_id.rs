//! The 18-character resident ID number (公民身份号码, GB 11643-1999): 6-digit address code,
//! 8-digit birth date, 3-digit sequence (odd = male), ISO 7064 MOD 11-2 check character.
//!
//! The clear value is personal data: `Debug` and `Display` print it masked, there is no
//! `Serialize`, and [`ResidentId::expose`] is the only way to the digits.

use crate::error_code::ErrorCode;
use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::checksum::{mod11_2, mod11_2_char};
use crate::region::is_province_code;
use crate::registry::Gender;

/// Why a resident ID number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResidentIdError {
    /// Not 18 characters after trimming.
    #[error("身份证号码应为18位")]
    WrongLength {
        /// The number of characters given.
        length: usize,
    },
    /// A character other than a digit, or an `X` anywhere but last.
    #[error("身份证号码只能包含数字，最后一位可以是X")]
    InvalidCharacter,
    /// The first two digits are not a province (or HK/MO/TW residence permit) code.
    #[error("身份证号码的地区码不正确")]
    UnknownProvince,
    /// Digits 7–14 are not a real date, or a date before 1900.
    #[error("身份证号码中的出生日期不正确")]
    InvalidBirthDate,
    /// The birth date is after today.
    #[error("身份证号码中的出生日期晚于今天")]
    FutureBirthDate,
    /// The check character does not match the other 17 digits.
    #[error("身份证号码校验位不正确，请核对后重新输入")]
    BadCheckCharacter,
    /// The holder is younger than the legal working age of 16.
    #[error("未满16周岁，暂不能申请入会")]
    TooYoung {
        /// Age in whole years on the day of the check.
        age: u32,
    },
}

impl ResidentIdError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::WrongLength { .. } => ErrorCode::ResidentIdWrongLength,
            Self::InvalidCharacter => ErrorCode::ResidentIdInvalidCharacter,
            Self::UnknownProvince => ErrorCode::ResidentIdUnknownProvince,
            Self::InvalidBirthDate => ErrorCode::ResidentIdInvalidBirthDate,
            Self::FutureBirthDate => ErrorCode::ResidentIdFutureBirthDate,
            Self::BadCheckCharacter => ErrorCode::ResidentIdBadCheckCharacter,
            Self::TooYoung { .. } => ErrorCode::ApplicantTooYoung,
        }
    }
}

/// A valid resident ID number (居民身份证号码), normalised (trimmed, `x` → `X`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId {
    value: String,
    birth_date: NaiveDate,
}

/// Codes of the residence permits for people from Taiwan (83, with address `830000`), on top
/// of the province codes (which include 71/81/82 for Taiwan, Hong Kong and Macao).
const RESIDENCE_PERMIT_PROVINCES: &[&str] = &["83"];

/// The legal working age, and so the minimum age to join a union.
pub const MINIMUM_APPLICANT_AGE: u32 = 16;

impl ResidentId {
    /// Parses an ID number. `today` is the local date (Asia/Shanghai) of the check; a birth date
    /// after it is refused.
    pub fn parse(s: &str, today: NaiveDate) -> Result<Self, ResidentIdError> {
        let id = Self::parse_stored(s)?;
        if id.birth_date > today {
            return Err(ResidentIdError::FutureBirthDate);
        }
        Ok(id)
    }

    /// Parses an ID number read back from storage, where it was checked with [`Self::parse`]
    /// when it arrived: every check but the one against today's date, which needs a clock and
    /// has nothing left to say about a stored value.
    pub fn parse_stored(s: &str) -> Result<Self, ResidentIdError> {
        let s = s.trim();
        let length = s.chars().count();
        if length != 18 {
            return Err(ResidentIdError::WrongLength { length });
        }
        let value = s.to_ascii_uppercase();
        let bytes = value.as_bytes();
        let (body, check) = (&bytes[..17], bytes[17]);
        if !body.iter().all(u8::is_ascii_digit) || !(check.is_ascii_digit() || check == b'X') {
            return Err(ResidentIdError::InvalidCharacter);
        }
        let province = &value[..2];
        if !is_province_code(province) && !RESIDENCE_PERMIT_PROVINCES.contains(&province) {
            return Err(ResidentIdError::UnknownProvince);
        }
        let birth_date = NaiveDate::parse_from_str(&value[6..14], "%Y%m%d")
            .ok()
            .filter(|date| date.year() >= 1900)
            .ok_or(ResidentIdError::InvalidBirthDate)?;
        if char::from(check) != mod11_2_char(mod11_2(body)) {
            return Err(ResidentIdError::BadCheckCharacter);
        }
        Ok(Self { value, birth_date })
    }

    /// Parses the ID of someone applying to join: as [`ResidentId::parse`], and the holder must
    /// be at least 16 on `today`.
    pub fn parse_for_applicant(s: &str, today: NaiveDate) -> Result<Self, ResidentIdError> {
        let id = Self::parse(s, today)?;
        let age = id.age_on(today);
        if age < MINIMUM_APPLICANT_AGE {
            return Err(ResidentIdError::TooYoung { age });
        }
        Ok(id)
    }

    /// Age in whole years (周岁) on `date`; 0 before the birth date. Someone born on 29 February
    /// has a birthday on 1 March in common years.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        let birth = self.birth_date;
        let years = date.year() - birth.year();
        let had_birthday = (date.month(), date.day()) >= (birth.month(), birth.day());
        let age = if had_birthday { years } else { years - 1 };
        u32::try_from(age).unwrap_or(0)
    }

    /// Gender from the 17th digit: odd is male, even is female.
    pub fn gender(&self) -> Gender {
        if (self.value.as_bytes()[16] - b'0') % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// Birth date from digits 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The six-digit address code (the county of first registration; it may have been retired
    /// since, so it is not a [`crate::region::RegionCode`] guarantee).
    pub fn address_code(&self) -> &str {
        &self.value[..6]
    }

    /// The clear 18 characters. Only for encryption, blind indexing and the holder's own eyes.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// First six and last four characters, the rest starred: `110105********002X`.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.value[..6], &self.value[14..])
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_stored_id_parses_without_a_date_but_with_every_other_check() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let before_birth = NaiveDate::from_ymd_opt(1949, 6, 1).unwrap();
        let id = "11010519491231002X";
        assert!(ResidentId::parse(id, today).is_ok());
        assert_eq!(
            ResidentId::parse(id, before_birth),
            Err(ResidentIdError::FutureBirthDate)
        );
        assert_eq!(
            ResidentId::parse_stored(id).map(|id| id.masked()),
            Ok("110105********002X".to_owned())
        );
        assert_eq!(
            ResidentId::parse_stored("110105194912310021"),
            Err(ResidentIdError::BadCheckCharacter)
        );
    }

    /// Published GB 11643 sample (1949-12-31, female).
    const SAMPLE: &str = "11010519491231002X";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// Builds a valid ID from its first 17 digits.
    fn with_check(body: &str) -> String {
        format!("{body}{}", mod11_2_char(mod11_2(body.as_bytes())))
    }

    #[test]
    fn the_published_sample_is_valid_and_yields_birth_date_and_gender() {
        let id = ResidentId::parse(SAMPLE, today()).unwrap();
        assert_eq!(id.birth_date(), date(1949, 12, 31));
        assert_eq!(id.gender(), Gender::Female);
        assert_eq!(id.address_code(), "110105");
        assert_eq!(id.expose(), SAMPLE);
    }

    #[test]
    fn a_lower_case_x_and_surrounding_spaces_are_normalised() {
        let id = ResidentId::parse("  11010519491231002x ", today()).unwrap();
        assert_eq!(id.expose(), SAMPLE);
    }

    #[test]
    fn debug_and_display_never_show_the_clear_number() {
        let id = ResidentId::parse(SAMPLE, today()).unwrap();
        assert_eq!(id.masked(), "110105********002X");
        assert_eq!(id.to_string(), "110105********002X");
        assert_eq!(format!("{id:?}"), "ResidentId(110105********002X)");
    }

    #[test]
    fn an_odd_seventeenth_digit_is_male() {
        let id = ResidentId::parse(&with_check("11010519900307001"), today()).unwrap();
        assert_eq!(id.gender(), Gender::Male);
    }

    #[test]
    fn a_wrong_check_character_is_refused_with_a_readable_message() {
        let error = ResidentId::parse("110105194912310021", today()).unwrap_err();
        assert_eq!(error, ResidentIdError::BadCheckCharacter);
        assert_eq!(error.code(), "resident_id_bad_check_character");
        assert_eq!(
            error.to_string(),
            "身份证号码校验位不正确，请核对后重新输入"
        );
    }

    #[test]
    fn each_kind_of_malformed_number_gets_its_own_error() {
        let t = today();
        assert_eq!(
            ResidentId::parse("1101051949123100", t),
            Err(ResidentIdError::WrongLength { length: 16 })
        );
        assert_eq!(
            ResidentId::parse("11010519491231X02X", t),
            Err(ResidentIdError::InvalidCharacter)
        );
        assert_eq!(
            ResidentId::parse("11010519491231002Y", t),
            Err(ResidentIdError::InvalidCharacter)
        );
        assert_eq!(
            ResidentId::parse("１１010519491231002X", t)
                .unwrap_err()
                .code(),
            "resident_id_invalid_character"
        );
        assert_eq!(
            ResidentId::parse(&with_check("99010519491231002"), t),
            Err(ResidentIdError::UnknownProvince)
        );
        assert_eq!(
            ResidentId::parse(&with_check("11010519490230002"), t),
            Err(ResidentIdError::InvalidBirthDate)
        );
        assert_eq!(
            ResidentId::parse(&with_check("11010518991231002"), t),
            Err(ResidentIdError::InvalidBirthDate)
        );
        assert_eq!(
            ResidentId::parse(&with_check("11010520260602002"), t),
            Err(ResidentIdError::FutureBirthDate)
        );
    }

    #[test]
    fn a_retired_county_code_is_accepted_as_long_as_the_province_is_real() {
        // 110102 is current; 110103 (old 崇文区) was merged away in 2010 but still on IDs.
        assert!(ResidentId::parse(&with_check("11010319800101001"), today()).is_ok());
    }

    #[test]
    fn residence_permits_of_hong_kong_macao_and_taiwan_residents_are_accepted() {
        for prefix in ["810000", "820000", "830000"] {
            let id = with_check(&format!("{prefix}19900101001"));
            assert!(ResidentId::parse(&id, today()).is_ok(), "{prefix}");
        }
    }

    #[test]
    fn age_counts_whole_years_and_turns_on_the_birthday() {
        let id = ResidentId::parse(&with_check("11010520100601001"), today()).unwrap();
        assert_eq!(id.age_on(date(2026, 5, 31)), 15);
        assert_eq!(id.age_on(date(2026, 6, 1)), 16);
        assert_eq!(id.age_on(date(2000, 1, 1)), 0);
        let leap = ResidentId::parse(&with_check("11010520080229001"), today()).unwrap();
        assert_eq!(leap.age_on(date(2025, 2, 28)), 16);
        assert_eq!(leap.age_on(date(2024, 2, 28)), 15);
        assert_eq!(leap.age_on(date(2024, 2, 29)), 16);
    }

    #[test]
    fn an_applicant_must_be_sixteen_on_the_day_of_applying() {
        let id = with_check("11010520100602001");
        assert_eq!(
            ResidentId::parse_for_applicant(&id, today()),
            Err(ResidentIdError::TooYoung { age: 15 })
        );
        assert_eq!(
            ResidentIdError::TooYoung { age: 15 }.code(),
            "applicant_too_young"
        );
        assert!(ResidentId::parse_for_applicant(&id, date(2026, 6, 2)).is_ok());
    }

    prop_compose! {
        fn valid_id()(
            province in prop::sample::select(&["11", "32", "44", "50", "65", "81", "83"][..]),
            area in "[0-9]{4}",
            birth in (1900i32..=2026, 1u32..=12, 1u32..=28),
            sequence in "[0-9]{3}",
        ) -> String {
            let (y, m, d) = birth;
            let (m, d) = if y == 2026 { (m.min(5), d) } else { (m, d) };
            with_check(&format!("{province}{area}{y:04}{m:02}{d:02}{sequence}"))
        }
    }

    proptest! {
        #[test]
        fn any_valid_id_round_trips(id in valid_id()) {
            let parsed = ResidentId::parse(&id, today()).unwrap();
            prop_assert_eq!(parsed.expose(), id.as_str());
            let again = ResidentId::parse(&id.to_lowercase(), today()).unwrap();
            prop_assert_eq!(again, parsed);
        }

        #[test]
        fn any_single_character_substitution_is_rejected(
            id in valid_id(),
            position in 0usize..18,
            replacement in prop::sample::select(&b"0123456789X"[..]),
        ) {
            let mut bytes = id.clone().into_bytes();
            prop_assume!(bytes[position] != replacement);
            bytes[position] = replacement;
            let mutated = String::from_utf8(bytes).unwrap();
            prop_assert!(ResidentId::parse(&mutated, today()).is_err());
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,24}") {
            let _ = ResidentId::parse(&s, today());
        }
    }
}
