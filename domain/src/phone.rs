//! Mainland China mobile numbers (手机号码): 11 digits, `1` then `3`–`9`. Personal data: masked
//! in `Debug` and `Display`, no `Serialize`; [`PhoneNumber::expose`] gives the digits.

use crate::error_code::ErrorCode;
use std::fmt;

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    /// Characters other than digits, spaces, hyphens and a leading `+`.
    #[error("手机号码只能包含数字")]
    InvalidCharacter,
    /// A country code other than +86.
    #[error("请填写中国大陆手机号码")]
    NotMainland,
    /// Not 11 digits once the prefix is removed.
    #[error("手机号码应为11位数字")]
    WrongLength {
        /// Digits left after removing separators and the country code.
        digits: usize,
    },
    /// 11 digits, but not a mobile number (`1` followed by `3`–`9`).
    #[error("手机号码格式不正确")]
    NotMobile,
}

impl PhoneNumberError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidCharacter => ErrorCode::PhoneInvalidCharacter,
            Self::NotMainland => ErrorCode::PhoneNotMainland,
            Self::WrongLength { .. } => ErrorCode::PhoneWrongLength,
            Self::NotMobile => ErrorCode::PhoneNotMobile,
        }
    }
}

/// A valid mainland mobile number, held as its 11 digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number as people type it: spaces and hyphens are ignored, and a `+86`, `0086` or
    /// `86` country code is removed (`+86 138-1234-1234` → `13812341234`).
    pub fn parse(s: &str) -> Result<Self, PhoneNumberError> {
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        let (international, digits) = match compact.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, compact.as_str()),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneNumberError::InvalidCharacter);
        }
        let national = if international {
            digits
                .strip_prefix("86")
                .ok_or(PhoneNumberError::NotMainland)?
        } else if digits.len() == 15 && digits.starts_with("0086") {
            &digits[4..]
        } else if digits.len() == 13 && digits.starts_with("86") {
            &digits[2..]
        } else if digits.len() > 11 && digits.starts_with("00") {
            return Err(PhoneNumberError::NotMainland);
        } else {
            digits
        };
        if national.len() != 11 {
            return Err(PhoneNumberError::WrongLength {
                digits: national.len(),
            });
        }
        let bytes = national.as_bytes();
        if bytes[0] != b'1' || !(b'3'..=b'9').contains(&bytes[1]) {
            return Err(PhoneNumberError::NotMobile);
        }
        Ok(Self(national.to_owned()))
    }

    /// The 11 digits. Only for sending SMS, encryption and blind indexing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// E.164 form, `+8613812341234`.
    pub fn e164(&self) -> String {
        format!("+86{}", self.0)
    }

    /// First three and last four digits: `138****1234`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn separators_and_country_codes_are_removed() {
        for input in [
            "13812341234",
            " 138 1234 1234 ",
            "138-1234-1234",
            "+8613812341234",
            "+86 138 1234 1234",
            "8613812341234",
            "008613812341234",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap().expose(),
                "13812341234",
                "{input}"
            );
        }
    }

    #[test]
    fn the_number_is_masked_in_debug_and_display_and_formatted_for_e164() {
        let phone = PhoneNumber::parse("13812341234").unwrap();
        assert_eq!(phone.masked(), "138****1234");
        assert_eq!(phone.to_string(), "138****1234");
        assert_eq!(format!("{phone:?}"), "PhoneNumber(138****1234)");
        assert_eq!(phone.e164(), "+8613812341234");
    }

    #[test]
    fn non_mobile_and_foreign_numbers_are_refused() {
        assert_eq!(
            PhoneNumber::parse("12812341234"),
            Err(PhoneNumberError::NotMobile)
        );
        assert_eq!(
            PhoneNumber::parse("23812341234"),
            Err(PhoneNumberError::NotMobile)
        );
        assert_eq!(
            PhoneNumber::parse("+85291234567"),
            Err(PhoneNumberError::NotMainland)
        );
        assert_eq!(
            PhoneNumber::parse("0085291234567"),
            Err(PhoneNumberError::NotMainland)
        );
        assert_eq!(
            PhoneNumber::parse("1381234123"),
            Err(PhoneNumberError::WrongLength { digits: 10 })
        );
        assert_eq!(
            PhoneNumber::parse("138123412345"),
            Err(PhoneNumberError::WrongLength { digits: 12 })
        );
        assert_eq!(
            PhoneNumber::parse("138(1234)1234"),
            Err(PhoneNumberError::InvalidCharacter)
        );
        assert_eq!(
            PhoneNumber::parse(""),
            Err(PhoneNumberError::WrongLength { digits: 0 })
        );
        assert_eq!(PhoneNumberError::NotMobile.code(), "phone_not_mobile");
        assert_eq!(
            PhoneNumberError::NotMainland.to_string(),
            "请填写中国大陆手机号码"
        );
    }

    proptest! {
        #[test]
        fn any_mobile_number_round_trips_in_any_written_form(
            second in 3u8..=9,
            rest in "[0-9]{9}",
            prefix in prop::sample::select(&["", "+86", "86", "0086", "+86 "][..]),
            hyphenate in any::<bool>(),
        ) {
            let digits = format!("1{second}{rest}");
            let written = if hyphenate {
                format!("{prefix}{}-{}-{}", &digits[..3], &digits[3..7], &digits[7..])
            } else {
                format!("{prefix}{digits}")
            };
            let phone = PhoneNumber::parse(&written).unwrap();
            prop_assert_eq!(phone.expose(), digits.as_str());
            prop_assert_eq!(PhoneNumber::parse(phone.expose()), Ok(phone.clone()));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,20}") {
            if let Ok(phone) = PhoneNumber::parse(&s) {
                prop_assert_eq!(phone.expose().len(), 11);
            }
        }
    }
}
