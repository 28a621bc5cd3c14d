//! Reading the audit trail: who may, and what a filter may say.

use crate::admin::AdminRole;

/// The right to read the audit trail of one's subtree: managers and viewers have it;
/// reviewers, whose own actions it records, do not. Only [`TrailReader::authorize`] makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrailReader {
    role: AdminRole,
}

/// The role may not read the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("当前角色不能查看审计日志")]
pub struct MayNotReadTrail;

impl TrailReader {
    /// The reader of an admin with `role`, if the role may read the trail.
    pub fn authorize(role: AdminRole) -> Result<Self, MayNotReadTrail> {
        match role {
            AdminRole::Manager | AdminRole::Viewer => Ok(Self { role }),
            AdminRole::Reviewer | AdminRole::Station => Err(MayNotReadTrail),
        }
    }

    /// The reader's role.
    pub fn role(&self) -> AdminRole {
        self.role
    }
}

/// A filter value of the trail (an object kind or an object id): trimmed, non-empty, at most
/// a given number of characters of `[A-Za-z0-9_.:-]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailWord(String);

/// The filter value is empty, too long, or has another character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("筛选条件格式不正确")]
pub struct InvalidTrailWord;

impl TrailWord {
    /// Longest object kind.
    pub const MAX_KIND_CHARS: usize = 32;
    /// Longest object id.
    pub const MAX_ID_CHARS: usize = 64;

    /// Parses `value`, at most `max` characters once trimmed.
    pub fn parse(value: &str, max: usize) -> Result<Self, InvalidTrailWord> {
        let value = value.trim();
        let valid = !value.is_empty()
            && value.chars().count() <= max
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidTrailWord)
        }
    }

    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_managers_and_viewers_read_the_trail() {
        assert!(TrailReader::authorize(AdminRole::Manager).is_ok());
        assert!(TrailReader::authorize(AdminRole::Viewer).is_ok());
        assert_eq!(
            TrailReader::authorize(AdminRole::Reviewer),
            Err(MayNotReadTrail)
        );
    }

    #[test]
    fn filters_are_short_plain_words() {
        assert_eq!(
            TrailWord::parse(" application ", 32).unwrap().as_str(),
            "application"
        );
        assert!(TrailWord::parse("", 32).is_err());
        assert!(TrailWord::parse("a'; drop", 32).is_err());
        assert!(TrailWord::parse(&"a".repeat(33), 32).is_err());
        assert!(TrailWord::parse(&"a".repeat(32), 32).is_ok());
    }
}
