//! Referrals (已入会会员带动入会): every member has a referral code (推荐码) a friend may put on
//! the join form, and the scene string of the mini-program QR code that carries it. When that
//! application is approved, the referral counts for the member and their union.
//!
//! A code is 8 Crockford base32 characters (40 bits) and a check character (Luhn mod 32 over
//! the same alphabet): short enough to read out, without `I`, `L`, `O` or `U`, and a mistyped
//! character or two swapped neighbours are caught before any look-up. The 40 bits are drawn by
//! the database (`referral_code_next()`, migration `targets_referrals`: a keyed permutation of
//! a sequence, unique by construction); this module encodes, parses and checks them.

use std::fmt;

use crate::error_code::ErrorCode;
use crate::member::MemberStatus;

/// The Crockford base32 alphabet: digits and letters without `I`, `L`, `O`, `U`.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The prefix of a referral's mini-program scene (`r=` then the code).
const SCENE_PREFIX: &str = "r=";

/// A member's referral code: 8 data characters and a check character, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReferralCode(String);

/// A text that is not a referral code (wrong length, a character outside the alphabet, or a
/// check character that does not match).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("推荐码无效，请核对后重新输入（9位字母和数字）")]
pub struct ReferralCodeError;

impl ReferralCodeError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidReferralCode
    }
}

impl ReferralCode {
    /// Data characters.
    pub const DATA_CHARS: usize = 8;
    /// Characters in all, with the check character.
    pub const LEN: usize = Self::DATA_CHARS + 1;
    /// The largest value a code carries (40 bits).
    pub const MAX_VALUE: u64 = (1 << 40) - 1;

    /// The code of a 40-bit value (higher bits are ignored).
    pub fn from_value(value: u64) -> Self {
        let digits: Vec<u8> = (0..Self::DATA_CHARS)
            .rev()
            .map(|i| ((value >> (5 * i)) & 31) as u8)
            .collect();
        let mut code: String = digits
            .iter()
            .map(|&d| char::from(ALPHABET[d as usize]))
            .collect();
        code.push(char::from(ALPHABET[check_digit(&digits) as usize]));
        Self(code)
    }

    /// Parses a code as a person may type it: case-insensitive, spaces and hyphens ignored,
    /// `I`/`L` read as `1` and `O` as `0` (Crockford's rule); the check character must match.
    pub fn parse(input: &str) -> Result<Self, ReferralCodeError> {
        let mut digits = Vec::with_capacity(Self::LEN);
        for c in input.chars().filter(|c| !matches!(c, ' ' | '-')) {
            if digits.len() == Self::LEN {
                return Err(ReferralCodeError);
            }
            digits.push(digit_of(c).ok_or(ReferralCodeError)?);
        }
        let Some((&check, data)) = digits.split_last() else {
            return Err(ReferralCodeError);
        };
        if data.len() != Self::DATA_CHARS || check_digit(data) != check {
            return Err(ReferralCodeError);
        }
        Ok(Self(
            digits
                .iter()
                .map(|&d| char::from(ALPHABET[d as usize]))
                .collect(),
        ))
    }

    /// Parses an optional code: absent or blank is `None`.
    pub fn parse_optional(input: Option<&str>) -> Result<Option<Self>, ReferralCodeError> {
        match input.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => Self::parse(v).map(Some),
            None => Ok(None),
        }
    }

    /// The `scene` of the mini-program code (`wxacode.getUnlimited`) that opens the join form
    /// with this code filled in: `r=` and the code — 11 characters, within WeChat's 32 visible
    /// characters of digits, letters and `!#$&'()*+,/:;=?@-._~`.
    pub fn scene(&self) -> String {
        format!("{SCENE_PREFIX}{}", self.0)
    }

    /// The code, upper case, without separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReferralCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The value of one typed character, with Crockford's readings of look-alikes.
fn digit_of(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'I' | 'L' => '1',
        'O' => '0',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == c)
        .and_then(|p| u8::try_from(p).ok())
}

/// Luhn mod 32: from the rightmost data digit leftwards, every other digit doubled (the
/// rightmost first), each product's base-32 digits summed; the check digit brings the total to
/// a multiple of 32.
fn check_digit(data: &[u8]) -> u8 {
    let total: u32 = data
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let addend = u32::from(d) * if i % 2 == 0 { 2 } else { 1 };
            addend / 32 + addend % 32
        })
        .sum();
    ((32 - total % 32) % 32) as u8
}

/// Why a referral code may not be put on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReferralError {
    /// No member holds the code.
    #[error("没有找到这个推荐码，请核对后重新输入")]
    Unknown,
    /// The member who holds it is no longer a member (withdrawn, expelled, deceased).
    #[error("推荐人已不是工会会员，不能使用这个推荐码")]
    ReferrerNotMember,
    /// The code is the applicant's own (their own member record, even a former one).
    #[error("不能填写自己的推荐码")]
    SelfReferral,
}

impl ReferralError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unknown => ErrorCode::ReferralCodeUnknown,
            Self::ReferrerNotMember => ErrorCode::ReferrerNotMember,
            Self::SelfReferral => ErrorCode::SelfReferral,
        }
    }
}

/// The member a code belongs to, as far as the rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Referrer {
    /// The referrer's membership status.
    pub status: MemberStatus,
    /// Whether the referrer is the applicant themself (the same person: the blind index of the
    /// resident ID matches — a former membership of the applicant counts).
    pub is_applicant: bool,
}

/// Whether an application may carry the code of `referrer` (`None`: no member holds it). The
/// applicant's own code is refused first, whatever its status, so a person who left and
/// applies again is told it is their own.
pub fn accept(referrer: Option<Referrer>) -> Result<(), ReferralError> {
    let referrer = referrer.ok_or(ReferralError::Unknown)?;
    if referrer.is_applicant {
        return Err(ReferralError::SelfReferral);
    }
    if !referrer.status.is_current() {
        return Err(ReferralError::ReferrerNotMember);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_eight_characters_and_a_check_character() {
        let code = ReferralCode::from_value(0);
        assert_eq!(code.as_str(), "000000000");
        let code = ReferralCode::from_value(ReferralCode::MAX_VALUE);
        assert_eq!(code.as_str().len(), 9);
        assert!(code.as_str().starts_with("ZZZZZZZZ"));
        assert_eq!(ReferralCode::parse(code.as_str()), Ok(code));
        // Higher bits are ignored.
        assert_eq!(
            ReferralCode::from_value(1 << 40),
            ReferralCode::from_value(0)
        );
    }

    #[test]
    fn every_encoded_value_parses_back() {
        for value in (0..ReferralCode::MAX_VALUE).step_by(987_654_321).take(2000) {
            let code = ReferralCode::from_value(value);
            assert_eq!(ReferralCode::parse(code.as_str()).as_ref(), Ok(&code));
            assert!(code.as_str().bytes().all(|b| ALPHABET.contains(&b)));
        }
    }

    #[test]
    fn typing_is_forgiving_of_case_separators_and_look_alikes() {
        let code = ReferralCode::from_value(0x01_2345_6789);
        let typed = code.as_str().to_lowercase();
        assert_eq!(ReferralCode::parse(&typed).as_ref(), Ok(&code));
        let spaced = format!("{}-{} ", &code.as_str()[..4], &code.as_str()[4..]);
        assert_eq!(ReferralCode::parse(&spaced).as_ref(), Ok(&code));
        let zero_one = ReferralCode::from_value(1);
        assert_eq!(zero_one.as_str()[..8], *"00000001");
        let look_alike = format!("oOoOoOoI{}", &zero_one.as_str()[8..]);
        assert_eq!(ReferralCode::parse(&look_alike), Ok(zero_one));
    }

    #[test]
    fn one_wrong_character_or_a_swap_of_neighbours_is_caught() {
        let code = ReferralCode::from_value(0x9A_BCDE_F012);
        let chars: Vec<char> = code.as_str().chars().collect();
        for i in 0..chars.len() {
            for &replacement in ALPHABET {
                let replacement = char::from(replacement);
                if replacement == chars[i] {
                    continue;
                }
                let mut typo = chars.clone();
                typo[i] = replacement;
                let typo: String = typo.into_iter().collect();
                assert_eq!(ReferralCode::parse(&typo), Err(ReferralCodeError), "{typo}");
            }
        }
        for i in 0..chars.len() - 1 {
            if chars[i] == chars[i + 1] {
                continue;
            }
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            let swapped: String = swapped.into_iter().collect();
            assert_eq!(
                ReferralCode::parse(&swapped),
                Err(ReferralCodeError),
                "{swapped}"
            );
        }
    }

    #[test]
    fn wrong_lengths_and_foreign_characters_are_refused() {
        let code = ReferralCode::from_value(12_345);
        for bad in [
            "",
            "-",
            &code.as_str()[..8],
            &format!("{}0", code.as_str()),
            "U00000000",
            "推荐码推荐码推荐码",
            "00000000*",
        ] {
            assert_eq!(ReferralCode::parse(bad), Err(ReferralCodeError), "{bad:?}");
        }
        assert_eq!(ReferralCodeError.code(), ErrorCode::InvalidReferralCode);
        assert_eq!(ReferralCode::parse_optional(Some("  ")), Ok(None));
        assert_eq!(ReferralCode::parse_optional(None), Ok(None));
    }

    #[test]
    fn the_scene_fits_wechat_and_reads_back() {
        let code = ReferralCode::from_value(ReferralCode::MAX_VALUE / 3);
        let scene = code.scene();
        assert!(scene.len() <= 32);
        let allowed = "!#$&'()*+,/:;=?@-._~";
        assert!(
            scene
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || allowed.contains(c))
        );
        // the mini-program reads the code after the prefix and sends it with the form
        let sent = scene
            .strip_prefix(SCENE_PREFIX)
            .expect("the scene's prefix");
        assert_eq!(ReferralCode::parse(sent), Ok(code));
    }

    #[test]
    fn a_current_member_may_refer_others_but_not_themself() {
        let active = |is_applicant| Referrer {
            status: MemberStatus::Active,
            is_applicant,
        };
        assert_eq!(accept(Some(active(false))), Ok(()));
        assert_eq!(accept(None), Err(ReferralError::Unknown));
        assert_eq!(accept(Some(active(true))), Err(ReferralError::SelfReferral));
        for status in [
            MemberStatus::Withdrawn,
            MemberStatus::Expelled,
            MemberStatus::Deceased,
        ] {
            assert_eq!(
                accept(Some(Referrer {
                    status,
                    is_applicant: false
                })),
                Err(ReferralError::ReferrerNotMember)
            );
            // A former member applying again with their own old code is told it is theirs.
            assert_eq!(
                accept(Some(Referrer {
                    status,
                    is_applicant: true
                })),
                Err(ReferralError::SelfReferral)
            );
        }
        assert_eq!(ReferralError::SelfReferral.code(), ErrorCode::SelfReferral);
    }
}
