//! Unified social credit code (统一社会信用代码, GB 32100-2015) of an employer: 18 characters
//! from a 31-symbol alphabet (no I, O, Z, S, V) ending in a MOD 31 check character. Public
//! business information, so it prints and serialises in clear.

use crate::error_code::ErrorCode;
use std::fmt;
use std::str::FromStr;

/// The code alphabet; a character's value is its position.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17 (3^i mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a credit code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Not 18 characters after trimming.
    #[error("统一社会信用代码应为18位")]
    WrongLength {
        /// The number of characters given.
        length: usize,
    },
    /// A character outside the code alphabet (which excludes I, O, Z, S and V).
    #[error("统一社会信用代码含有无效字符")]
    InvalidCharacter,
    /// The check character does not match.
    #[error("统一社会信用代码校验位不正确，请核对后重新输入")]
    BadCheckCharacter,
}

impl CreditCodeError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::WrongLength { .. } => ErrorCode::CreditCodeWrongLength,
            Self::InvalidCharacter => ErrorCode::CreditCodeInvalidCharacter,
            Self::BadCheckCharacter => ErrorCode::CreditCodeBadCheckCharacter,
        }
    }
}

/// A valid unified social credit code, upper-case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

fn value_of(c: u8) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|a| *a == c)
        .and_then(|i| u32::try_from(i).ok())
}

/// The check character for the first 17 characters (given as alphabet values).
fn check_character(values: &[u32]) -> u8 {
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    ALPHABET[((31 - sum % 31) % 31) as usize]
}

impl CreditCode {
    /// Parses a code; surrounding whitespace is ignored and letters are upper-cased.
    pub fn parse(s: &str) -> Result<Self, CreditCodeError> {
        let s = s.trim();
        let length = s.chars().count();
        if length != 18 {
            return Err(CreditCodeError::WrongLength { length });
        }
        let value = s.to_ascii_uppercase();
        let values = value
            .bytes()
            .map(value_of)
            .collect::<Option<Vec<u32>>>()
            .ok_or(CreditCodeError::InvalidCharacter)?;
        if values.len() != 18 {
            return Err(CreditCodeError::InvalidCharacter);
        }
        if check_character(&values[..17]) != value.as_bytes()[17] {
            return Err(CreditCodeError::BadCheckCharacter);
        }
        Ok(Self(value))
    }

    /// The 18 characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The six-digit region code of the registering authority (positions 3–8).
    pub fn registration_region(&self) -> &str {
        &self.0[2..8]
    }
}

impl fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CreditCode({})", self.0)
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CreditCode {
    type Err = CreditCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CreditCode {
    type Error = CreditCodeError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CreditCode> for String {
    fn from(code: CreditCode) -> Self {
        code.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_valid_codes_are_accepted() {
        for code in [
            "91350100M000100Y43",
            "91110000802100433B",
            "91310000717866186P",
        ] {
            assert_eq!(CreditCode::parse(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn lower_case_input_is_upper_cased() {
        let code = CreditCode::parse(" 91350100m000100y43 ").unwrap();
        assert_eq!(code.as_str(), "91350100M000100Y43");
        assert_eq!(code.registration_region(), "350100");
    }

    #[test]
    fn a_wrong_check_character_is_refused() {
        let error = CreditCode::parse("91350100M000100Y44").unwrap_err();
        assert_eq!(error, CreditCodeError::BadCheckCharacter);
        assert_eq!(error.code(), "credit_code_bad_check_character");
    }

    #[test]
    fn letters_outside_the_alphabet_and_wrong_lengths_are_refused() {
        for banned in ['I', 'O', 'Z', 'S', 'V'] {
            let code = format!("91350100M000100{banned}43");
            assert_eq!(
                CreditCode::parse(&code),
                Err(CreditCodeError::InvalidCharacter)
            );
        }
        assert_eq!(
            CreditCode::parse("91350100M000100Y4"),
            Err(CreditCodeError::WrongLength { length: 17 })
        );
        assert_eq!(
            CreditCode::parse("91350100M000100Y4é"),
            Err(CreditCodeError::InvalidCharacter)
        );
    }

    #[test]
    fn a_credit_code_travels_as_a_json_string() {
        let code: CreditCode = serde_json::from_str("\"91350100m000100y43\"").unwrap();
        assert_eq!(
            serde_json::to_string(&code).unwrap(),
            "\"91350100M000100Y43\""
        );
        assert!(serde_json::from_str::<CreditCode>("\"91350100M000100Y44\"").is_err());
    }

    prop_compose! {
        fn valid_code()(body in proptest::collection::vec(0usize..31, 17)) -> String {
            let values: Vec<u32> = body.iter().map(|v| *v as u32).collect();
            let mut code: Vec<u8> = body.iter().map(|v| ALPHABET[*v]).collect();
            code.push(check_character(&values));
            String::from_utf8(code).unwrap()
        }
    }

    proptest! {
        #[test]
        fn any_valid_code_round_trips(code in valid_code()) {
            let parsed = CreditCode::parse(&code.to_lowercase()).unwrap();
            prop_assert_eq!(parsed.as_str(), code.as_str());
        }

        #[test]
        fn any_single_character_substitution_is_rejected(
            code in valid_code(),
            position in 0usize..18,
            replacement in 0usize..31,
        ) {
            let mut bytes = code.into_bytes();
            prop_assume!(bytes[position] != ALPHABET[replacement]);
            bytes[position] = ALPHABET[replacement];
            let mutated = String::from_utf8(bytes).unwrap();
            prop_assert_eq!(CreditCode::parse(&mutated), Err(CreditCodeError::BadCheckCharacter));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,20}") {
            let _ = CreditCode::parse(&s);
        }
    }
}
