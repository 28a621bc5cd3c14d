//! Free-text reasons an admin or member gives for a decision (reject note, forward reason,
//! expulsion, transfer refusal): trimmed, never blank, at most 500 characters, no control
//! characters but line breaks and tabs.

use crate::error_code::ErrorCode;
use std::fmt;

/// A non-blank reason of at most [`Reason::MAX_CHARS`] characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reason(String);

/// Why a reason text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReasonError {
    /// Empty or only whitespace.
    #[error("请填写原因")]
    Empty,
    /// Longer than the limit.
    #[error("原因不能超过{max}个字")]
    TooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// Holds a control character other than a line break or tab.
    #[error("原因中不能包含控制字符")]
    ControlCharacter,
}

impl ReasonError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Empty => ErrorCode::ReasonRequired,
            Self::TooLong { .. } => ErrorCode::ReasonTooLong,
            Self::ControlCharacter => ErrorCode::ReasonControlCharacter,
        }
    }
}

impl Reason {
    /// The longest reason accepted, in characters (not bytes).
    pub const MAX_CHARS: usize = 500;

    /// Trims `s` and checks it is neither blank nor too long.
    pub fn parse(s: &str) -> Result<Self, ReasonError> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(ReasonError::Empty);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(ReasonError::TooLong {
                max: Self::MAX_CHARS,
            });
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(ReasonError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// Parses an optional field: blank means "no reason given".
    pub fn parse_optional(s: Option<&str>) -> Result<Option<Self>, ReasonError> {
        match s {
            Some(text) if !text.trim().is_empty() => Self::parse(text).map(Some),
            _ => Ok(None),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Reason {
    type Error = ReasonError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Reason> for String {
    fn from(reason: Reason) -> Self {
        reason.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_but_line_breaks_are_kept() {
        assert_eq!(Reason::parse("a\u{0}b"), Err(ReasonError::ControlCharacter));
        assert_eq!(
            Reason::parse("a\u{1b}[31m"),
            Err(ReasonError::ControlCharacter)
        );
        assert_eq!(
            Reason::parse("第一行\n第二行\t!").unwrap().as_str(),
            "第一行\n第二行\t!"
        );
    }

    #[test]
    fn a_reason_is_trimmed() {
        assert_eq!(Reason::parse("  材料不全 \n").unwrap().as_str(), "材料不全");
    }

    #[test]
    fn a_blank_reason_is_refused() {
        assert_eq!(Reason::parse(" \t"), Err(ReasonError::Empty));
        assert_eq!(ReasonError::Empty.code(), "reason_required");
    }

    #[test]
    fn five_hundred_chinese_characters_are_accepted_and_five_hundred_and_one_are_not() {
        assert!(Reason::parse(&"字".repeat(500)).is_ok());
        let error = Reason::parse(&"字".repeat(501)).unwrap_err();
        assert_eq!(error, ReasonError::TooLong { max: 500 });
        assert_eq!(error.to_string(), "原因不能超过500个字");
        assert_eq!(error.code(), "reason_too_long");
    }

    #[test]
    fn an_optional_blank_reason_is_none() {
        assert_eq!(Reason::parse_optional(None), Ok(None));
        assert_eq!(Reason::parse_optional(Some("  ")), Ok(None));
        assert_eq!(
            Reason::parse_optional(Some("重复"))
                .unwrap()
                .unwrap()
                .as_str(),
            "重复"
        );
    }

    #[test]
    fn a_reason_deserialises_only_when_valid() {
        assert!(serde_json::from_str::<Reason>("\" \"").is_err());
        let reason: Reason = serde_json::from_str("\" 转至行业工会 \"").unwrap();
        assert_eq!(serde_json::to_string(&reason).unwrap(), "\"转至行业工会\"");
    }
}
