//! Free text of the real-name form: a person's name as on the ID card, and bounded texts
//! (employer, platform, work address, privacy-notice version, station and benefit names). Each type holds
//! only a valid, trimmed value; its error carries the stable code and the Chinese message the
//! worker reads.

use std::fmt;

use crate::error_code::ErrorCode;

/// A person's name as on the resident ID card: 2–30 characters of letters (Chinese or Latin),
/// `·`, `•` and spaces, surrounding whitespace trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

/// A name that is not 2–30 characters of letters, `·`, `•` and spaces.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("请填写与身份证一致的姓名（2至30个字）")]
pub struct PersonNameError;

impl PersonNameError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidName
    }
}

impl PersonName {
    /// Fewest characters.
    pub const MIN_CHARS: usize = 2;
    /// Most characters.
    pub const MAX_CHARS: usize = 30;

    /// Parses a name (surrounding whitespace is ignored).
    pub fn parse(value: &str) -> Result<Self, PersonNameError> {
        let name = value.trim();
        let count = name.chars().count();
        let allowed = |c: char| c.is_alphabetic() || c == '·' || c == '•' || c == ' ';
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&count) || !name.chars().all(allowed) {
            return Err(PersonNameError);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a bounded text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty once trimmed.
    #[error("请填写{label}")]
    Required {
        /// The Chinese name of the field.
        label: &'static str,
    },
    /// Longer than allowed, or holding a control character.
    #[error("{label}不能超过{max}个字，且不能包含控制字符")]
    Invalid {
        /// The Chinese name of the field.
        label: &'static str,
        /// The most characters allowed.
        max: usize,
    },
}

impl TextError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Required { .. } => ErrorCode::Required,
            Self::Invalid { .. } => ErrorCode::InvalidText,
        }
    }
}

/// Checks a free text: trimmed, 1..=max characters, no control characters.
fn bounded(value: &str, label: &'static str, max: usize) -> Result<String, TextError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(TextError::Required { label });
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(TextError::Invalid { label, max });
    }
    Ok(value.to_owned())
}

/// Declares a bounded free-text type: `parse` (required), `parse_optional` (blank is `None`),
/// `as_str`, `into_string`, `Display`.
macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, label = $label:literal, max = $max:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The Chinese name of the field, in messages.
            pub const LABEL: &'static str = $label;
            /// Most characters.
            pub const MAX_CHARS: usize = $max;

            /// Parses a required value (surrounding whitespace is ignored).
            pub fn parse(value: &str) -> Result<Self, TextError> {
                bounded(value, Self::LABEL, Self::MAX_CHARS).map(Self)
            }

            /// Parses an optional value: absent or blank is `None`.
            pub fn parse_optional(value: Option<&str>) -> Result<Option<Self>, TextError> {
                match value.map(str::trim).filter(|v| !v.is_empty()) {
                    Some(v) => Self::parse(v).map(Some),
                    None => Ok(None),
                }
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

bounded_text!(
    /// The employer or platform operator (工作单位或平台), at most 100 characters.
    EmployerName, label = "工作单位或平台", max = 100
);
bounded_text!(
    /// The platform (app) worked through, at most 50 characters.
    Platform, label = "平台", max = 50
);
bounded_text!(
    /// The work address, at most 200 characters.
    WorkAddress, label = "工作地址", max = 200
);
bounded_text!(
    /// The version of the privacy notice the worker consented to, at most 32 characters.
    PrivacyNoticeVersion, label = "隐私政策版本", max = 32
);
bounded_text!(
    /// Where a workforce estimate comes from (数据来源: a survey, a platform's figures), at most
    /// 200 characters.
    WorkforceSource, label = "数据来源", max = 200
);
bounded_text!(
    /// A service station's name, at most 60 characters.
    StationName, label = "站点名称", max = 60
);
bounded_text!(
    /// A service station's address, at most 200 characters.
    StationAddress, label = "站点地址", max = 200
);
bounded_text!(
    /// A benefit's name, at most 60 characters.
    BenefitName, label = "权益名称", max = 60
);
bounded_text!(
    /// An insurer (承保机构), at most 60 characters.
    InsurerName, label = "承保机构", max = 60
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_two_to_thirty_letters_dots_and_spaces() {
        assert_eq!(PersonName::parse(" 张三 ").unwrap().as_str(), "张三");
        assert!(PersonName::parse("阿卜杜·热合曼").is_ok());
        assert!(PersonName::parse("John Smith").is_ok());
        assert_eq!(PersonName::parse("张"), Err(PersonNameError));
        assert_eq!(PersonName::parse("张3"), Err(PersonNameError));
        assert!(PersonName::parse(&"张".repeat(31)).is_err());
        assert_eq!(PersonNameError.code(), ErrorCode::InvalidName);
        assert_eq!(
            PersonNameError.to_string(),
            "请填写与身份证一致的姓名（2至30个字）"
        );
    }

    #[test]
    fn bounded_texts_are_trimmed_required_and_limited() {
        assert_eq!(
            WorkAddress::parse(" 广东中路8号 ").unwrap().as_str(),
            "广东中路8号"
        );
        let blank = WorkAddress::parse("  ").unwrap_err();
        assert_eq!(blank.code(), ErrorCode::Required);
        assert_eq!(blank.to_string(), "请填写工作地址");
        let long = Platform::parse(&"平".repeat(51)).unwrap_err();
        assert_eq!(long.code(), ErrorCode::InvalidText);
        assert_eq!(long.to_string(), "平台不能超过50个字，且不能包含控制字符");
        assert!(EmployerName::parse(&"单".repeat(100)).is_ok());
        assert!(EmployerName::parse("a\u{7}b").is_err());
        assert_eq!(Platform::parse_optional(Some("  ")), Ok(None));
        assert_eq!(Platform::parse_optional(None), Ok(None));
        assert_eq!(
            PrivacyNoticeVersion::parse_optional(Some("v1"))
                .unwrap()
                .unwrap()
                .as_str(),
            "v1"
        );
    }
}
