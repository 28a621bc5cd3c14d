//! The second factor of union admins (双重验证): time-based one-time codes (TOTP, RFC 6238:
//! HMAC-SHA-1, six digits, 30-second steps, one step of clock skew either way) and single-use
//! recovery codes.
//!
//! The rules, without the cryptography (which is in `zhijian-infra`): who must have a factor,
//! who may remove it, what a typed code looks like, and that a code is accepted once per time
//! step. Times are arguments: nothing here reads a clock.

use crate::admin::AdminRole;
use crate::error_code::ErrorCode;

/// Seconds of one TOTP time step.
pub const STEP_SECS: u64 = 30;
/// Steps accepted before and after the current one (a phone's clock a little off).
pub const SKEW_STEPS: u64 = 1;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Recovery codes issued at confirmation, each usable once.
pub const RECOVERY_CODES: usize = 10;
/// Characters of a recovery code (without the dash shown in the middle).
pub const RECOVERY_CODE_LEN: usize = 10;
/// The alphabet of recovery codes: lower-case letters and digits without look-alikes
/// (no `i l o 0 1`), so a code copied from paper is read right.
pub const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// Seconds a sign-in challenge (password accepted, code awaited) stays valid.
pub const CHALLENGE_TTL_SECS: u64 = 300;
/// The issuer shown in authenticator apps.
pub const ISSUER: &str = "zhijian";

/// Whether an admin of `role` must have a confirmed second factor before doing anything but
/// enrolling: managers (they create unions and admins) must; reviewers and viewers may.
pub const fn mandatory_for(role: AdminRole) -> bool {
    matches!(role, AdminRole::Manager)
}

/// Whether an admin of `role` may remove their own factor (never a manager).
pub const fn removable_by(role: AdminRole) -> bool {
    !mandatory_for(role)
}

/// The time step of Unix time `unix_secs`.
pub const fn step_of(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// Whether a code that matched time step `matched` may be accepted after a code of step
/// `last_used` was: each step's code works once, and never a step older than the last one used
/// (a code seen over someone's shoulder cannot be replayed within its window).
pub fn fresh_step(matched: u64, last_used: Option<u64>) -> bool {
    last_used.is_none_or(|last| matched > last)
}

/// A TOTP code as typed: six ASCII digits; spaces (`123 456`) are ignored.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

/// The code is not six digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("验证码应为 6 位数字")]
pub struct InvalidTotpCode;

impl InvalidTotpCode {
    /// `invalid_totp_code`.
    pub const fn code(self) -> ErrorCode {
        ErrorCode::InvalidTotpCode
    }
}

impl TotpCode {
    /// Parses a code as the admin typed it.
    pub fn parse(raw: &str) -> Result<Self, InvalidTotpCode> {
        if raw.len() > 32 {
            return Err(InvalidTotpCode);
        }
        let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidTotpCode);
        }
        Ok(Self(digits))
    }

    /// The six digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpCode(..)")
    }
}

/// A recovery code as typed: [`RECOVERY_CODE_LEN`] characters of [`RECOVERY_ALPHABET`],
/// case-insensitive, dashes and spaces ignored (`k7qm3-xdp9a` is shown, `K7QM3XDP9A` works).
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

/// The recovery code has the wrong length or characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("恢复码格式不正确")]
pub struct InvalidRecoveryCode;

impl InvalidRecoveryCode {
    /// `invalid_recovery_code`.
    pub const fn code(self) -> ErrorCode {
        ErrorCode::InvalidRecoveryCode
    }
}

impl RecoveryCode {
    /// Parses a code as the admin typed it.
    pub fn parse(raw: &str) -> Result<Self, InvalidRecoveryCode> {
        if raw.len() > 64 {
            return Err(InvalidRecoveryCode);
        }
        let normalised: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let valid = normalised.len() == RECOVERY_CODE_LEN
            && normalised.bytes().all(|b| RECOVERY_ALPHABET.contains(&b));
        if !valid {
            return Err(InvalidRecoveryCode);
        }
        Ok(Self(normalised))
    }

    /// The normalised characters (lower case, no dash): what is hashed.
    pub fn normalised(&self) -> &str {
        &self.0
    }

    /// The code as shown once to the admin: two groups of five joined by a dash.
    pub fn display(&self) -> String {
        let (a, b) = self.0.split_at(RECOVERY_CODE_LEN / 2);
        format!("{a}-{b}")
    }
}

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_managers_must_have_a_factor_and_only_they_cannot_remove_it() {
        assert!(mandatory_for(AdminRole::Manager));
        assert!(!mandatory_for(AdminRole::Reviewer));
        assert!(!mandatory_for(AdminRole::Viewer));
        assert!(!removable_by(AdminRole::Manager));
        assert!(removable_by(AdminRole::Reviewer));
        assert!(removable_by(AdminRole::Viewer));
    }

    #[test]
    fn a_step_is_accepted_once_and_never_an_older_one() {
        assert!(fresh_step(10, None));
        assert!(fresh_step(11, Some(10)));
        assert!(!fresh_step(10, Some(10)));
        assert!(!fresh_step(9, Some(10)));
    }

    #[test]
    fn steps_are_thirty_seconds() {
        assert_eq!(step_of(59), 1);
        assert_eq!(step_of(60), 2);
        assert_eq!(step_of(1_111_111_109), 37_037_036);
    }

    #[test]
    fn a_code_is_six_digits_and_spaces_are_ignored() {
        assert_eq!(TotpCode::parse("123456").unwrap().as_str(), "123456");
        assert_eq!(TotpCode::parse(" 123 456 ").unwrap().as_str(), "123456");
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", "12-456"] {
            assert_eq!(TotpCode::parse(bad), Err(InvalidTotpCode), "{bad:?}");
        }
        assert!(!format!("{:?}", TotpCode::parse("123456").unwrap()).contains("123456"));
    }

    #[test]
    fn a_recovery_code_is_read_case_and_dash_insensitively() {
        let code = RecoveryCode::parse("K7QM3-XDP9A").unwrap();
        assert_eq!(code.normalised(), "k7qm3xdp9a");
        assert_eq!(code.display(), "k7qm3-xdp9a");
        assert_eq!(RecoveryCode::parse(" k7qm3xdp9a ").unwrap(), code);
        for bad in [
            "",
            "k7qm3-xdp9",
            "k7qm3-xdp9aa",
            "k7qm3-xdp1a",
            "k7qm3-xdp9!",
        ] {
            assert_eq!(
                RecoveryCode::parse(bad),
                Err(InvalidRecoveryCode),
                "{bad:?}"
            );
        }
        assert!(!format!("{code:?}").contains("k7qm3"));
    }
}
