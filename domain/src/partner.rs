//! Partner platforms (合作平台: delivery, ride-hailing, logistics apps) and the rules of their
//! access: the scopes an OAuth client holds, which secret of a client is accepted at a given
//! instant (rotation with an overlap), the worker's purpose-bound consent to one partner
//! (PIPL art. 23: a separate consent to provide personal information to another handler),
//! the short code of a consent request, and the token buckets that cap each partner.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::error_code::ErrorCode;

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $error:ident, $code:expr, { $($variant:ident => $text:literal, $label:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $(#[doc = concat!("`", $text, "`: ", $label)] $variant,)+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as it travels.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// What it means, in Chinese.
            pub const fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }

            /// Parses the value as it travels.
            pub fn parse(s: &str) -> Result<Self, $error> {
                match s.trim() {
                    $($text => Ok($name::$variant),)+
                    other => Err($error(other.chars().take(40).collect())),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $error {
            /// Stable machine code.
            pub fn code(&self) -> ErrorCode {
                $code
            }
        }
    };
}

/// A scope that is not one of [`Scope::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的授权范围：{0}")]
pub struct UnknownScope(pub String);

vocabulary!(
    /// What a partner client may do (OAuth 2.0 scope).
    Scope, UnknownScope, ErrorCode::InvalidScope, {
        ApplicationsWrite => "applications:write", "代用户提交入会申请",
        ApplicationsRead => "applications:read", "查询代提交的入会申请",
        MembersVerify => "members:verify", "核验会员身份",
        WebhooksManage => "webhooks:manage", "管理事件推送",
    }
);

/// A purpose that is not one of [`Purpose::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("未知的用途：{0}")]
pub struct UnknownPurpose(pub String);

vocabulary!(
    /// What a worker allows a partner to use their personal information for.
    Purpose, UnknownPurpose, ErrorCode::InvalidPurpose, {
        Application => "application", "代为提交入会申请并接收审核结果",
        MembershipVerification => "membership_verification", "核验会员身份（是否会员、所属工会、状态、入会日期）",
    }
);

/// A non-empty set of scopes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scopes(BTreeSet<Scope>);

/// Why a list of scopes was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopesError {
    /// No scope at all.
    #[error("至少需要一个授权范围")]
    Empty,
    /// A value that is not a scope.
    #[error(transparent)]
    Unknown(#[from] UnknownScope),
}

impl ScopesError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidScope
    }
}

impl Scopes {
    /// Parses a list of scope names (duplicates collapse).
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, ScopesError> {
        let set = names
            .into_iter()
            .map(Scope::parse)
            .collect::<Result<BTreeSet<_>, _>>()?;
        if set.is_empty() {
            return Err(ScopesError::Empty);
        }
        Ok(Self(set))
    }

    /// Parses the OAuth `scope` parameter: names separated by spaces (RFC 6749 §3.3).
    pub fn parse_oauth(value: &str) -> Result<Self, ScopesError> {
        Self::parse(value.split(' ').filter(|s| !s.is_empty()))
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// The names, in order.
    pub fn names(&self) -> Vec<String> {
        self.iter().map(|s| s.as_str().to_owned()).collect()
    }

    /// The OAuth form: names separated by one space.
    pub fn to_oauth(&self) -> String {
        self.names().join(" ")
    }

    /// The scopes a token request is granted: all the client's scopes when it names none, else
    /// exactly those it names, each of which the client must hold (RFC 6749 §3.3).
    pub fn grant(&self, requested: Option<&Scopes>) -> Result<Scopes, ScopeNotRegistered> {
        match requested {
            None => Ok(self.clone()),
            Some(requested) => match requested.iter().find(|s| !self.contains(*s)) {
                Some(missing) => Err(ScopeNotRegistered(missing)),
                None => Ok(requested.clone()),
            },
        }
    }
}

/// A token request asked for a scope the client is not registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("client is not registered for scope {0}")]
pub struct ScopeNotRegistered(pub Scope);

/// A non-empty set of purposes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Purposes(BTreeSet<Purpose>);

/// Why a list of purposes was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurposesError {
    /// None.
    #[error("请至少选择一项用途")]
    Empty,
    /// A value that is not a purpose.
    #[error(transparent)]
    Unknown(#[from] UnknownPurpose),
}

impl PurposesError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidPurpose
    }
}

impl Purposes {
    /// Parses a list of purpose names (duplicates collapse).
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, PurposesError> {
        let set = names
            .into_iter()
            .map(Purpose::parse)
            .collect::<Result<BTreeSet<_>, _>>()?;
        if set.is_empty() {
            return Err(PurposesError::Empty);
        }
        Ok(Self(set))
    }

    /// Whether `purpose` is in the set.
    pub fn contains(&self, purpose: Purpose) -> bool {
        self.0.contains(&purpose)
    }

    /// The names, in order.
    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|p| p.as_str().to_owned()).collect()
    }
}

/// A bounded one-line text of a partner client (its name, its contact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientText(String);

/// A partner client's name or contact that is empty or longer than 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("应为1至100个字符")]
pub struct ClientTextError;

impl ClientTextError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidField
    }
}

impl ClientText {
    /// Most characters.
    pub const MAX_CHARS: usize = 100;

    /// Parses a text (trimmed; no control characters).
    pub fn parse(value: &str) -> Result<Self, ClientTextError> {
        let text = value.trim();
        let count = text.chars().count();
        if count == 0 || count > Self::MAX_CHARS || text.chars().any(char::is_control) {
            return Err(ClientTextError);
        }
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A partner's own id of its user (so it can name the worker later without learning ours):
/// 1–64 characters of `[A-Za-z0-9._:-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartnerUserId(String);

/// A partner user id that is not 1–64 characters of `[A-Za-z0-9._:-]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("合作平台用户标识应为1至64位字母、数字或 . _ : -")]
pub struct PartnerUserIdError;

impl PartnerUserIdError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidField
    }
}

impl PartnerUserId {
    /// Parses the id (not trimmed: it is the partner's key, byte for byte).
    pub fn parse(value: &str) -> Result<Self, PartnerUserIdError> {
        let ok = (1..=64).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(PartnerUserIdError)
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The short code of a consent request, carried by the mini-program link (scene values are at
/// most 32 characters): 10 characters of an alphabet without look-alikes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConsentRequestCode(String);

/// A consent request code that is not 10 characters of [`ConsentRequestCode::ALPHABET`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("授权码格式不正确")]
pub struct ConsentRequestCodeError;

impl ConsentRequestCodeError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidField
    }
}

impl ConsentRequestCode {
    /// The characters of a code (no 0/O, 1/I/L).
    pub const ALPHABET: &'static [u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    /// Characters in a code (31^10 ≈ 8·10^14 codes).
    pub const LEN: usize = 10;

    /// The code made of `random` bytes (one character per byte).
    pub fn from_random(random: [u8; Self::LEN]) -> Self {
        let alphabet = Self::ALPHABET;
        Self(
            random
                .iter()
                .map(|b| char::from(alphabet[usize::from(*b) % alphabet.len()]))
                .collect(),
        )
    }

    /// Parses a code (upper-cased first).
    pub fn parse(value: &str) -> Result<Self, ConsentRequestCodeError> {
        let code = value.trim().to_ascii_uppercase();
        if code.len() == Self::LEN && code.bytes().all(|b| Self::ALPHABET.contains(&b)) {
            Ok(Self(code))
        } else {
            Err(ConsentRequestCodeError)
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How long the previous secret stays valid after a rotation: 0 s to 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretOverlap(i64);

/// An overlap outside 0 s – 7 days.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("旧密钥的保留时长应为0至604800秒（7天）")]
pub struct SecretOverlapError;

impl SecretOverlapError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::InvalidField
    }
}

impl SecretOverlap {
    /// Longest overlap, seconds.
    pub const MAX_SECS: i64 = 7 * 24 * 3600;

    /// Parses a number of seconds.
    pub fn from_secs(secs: i64) -> Result<Self, SecretOverlapError> {
        if (0..=Self::MAX_SECS).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(SecretOverlapError)
        }
    }

    /// Until when the previous secret stays valid after a rotation at `now`.
    pub fn until(self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + Duration::seconds(self.0)
    }
}

/// The stored secrets of a client (keyed hashes), and whether a presented one is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecrets<'a> {
    /// The hash of the current secret.
    pub current: &'a str,
    /// The hash of the previous secret and until when it is still accepted.
    pub previous: Option<(&'a str, DateTime<Utc>)>,
}

impl ClientSecrets<'_> {
    /// Whether `presented` (the keyed hash of the secret a client sent) is the current secret,
    /// or the previous one before its overlap ended. Compared in constant time.
    pub fn accepts(&self, presented: &str, now: DateTime<Utc>) -> bool {
        let current = constant_time_eq(self.current.as_bytes(), presented.as_bytes());
        let previous = self.previous.is_some_and(|(hash, until)| {
            constant_time_eq(hash.as_bytes(), presented.as_bytes()) && now < until
        });
        current | previous
    }
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Disabling and enabling a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClientStateError {
    /// Disabling a disabled client.
    #[error("该合作平台已停用")]
    AlreadyDisabled,
    /// Enabling an enabled client.
    #[error("该合作平台未停用")]
    NotDisabled,
}

impl ClientStateError {
    /// Stable machine code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ClientStateError::AlreadyDisabled => ErrorCode::PartnerClientDisabled,
            ClientStateError::NotDisabled => ErrorCode::PartnerClientNotDisabled,
        }
    }
}

/// The `disabled_at` a client gets from disabling (`disable = true`) or enabling it.
pub fn set_disabled(
    disabled_at: Option<DateTime<Utc>>,
    disable: bool,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ClientStateError> {
    match (disabled_at, disable) {
        (Some(_), true) => Err(ClientStateError::AlreadyDisabled),
        (None, false) => Err(ClientStateError::NotDisabled),
        (None, true) => Ok(Some(now)),
        (Some(_), false) => Ok(None),
    }
}

/// What each partner operation needs: the scope of the token and, for operations about one
/// worker, the purpose of the worker's consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartnerOperation {
    /// `POST /v1/partner/consent-requests`
    ConsentRequest,
    /// `POST /v1/partner/applications`
    SubmitApplication,
    /// `GET /v1/partner/applications/{id}`
    ReadApplication,
    /// `POST /v1/partner/members/verify`
    VerifyMember,
    /// The webhook routes.
    Webhooks,
}

impl PartnerOperation {
    /// The scope a token needs. A consent request is part of submitting or verifying: either
    /// scope allows it ([`PartnerOperation::allowed_by`]).
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            PartnerOperation::ConsentRequest => &[Scope::ApplicationsWrite, Scope::MembersVerify],
            PartnerOperation::SubmitApplication => &[Scope::ApplicationsWrite],
            PartnerOperation::ReadApplication => &[Scope::ApplicationsRead],
            PartnerOperation::VerifyMember => &[Scope::MembersVerify],
            PartnerOperation::Webhooks => &[Scope::WebhooksManage],
        }
    }

    /// Whether a token with `granted` scopes may run the operation.
    pub fn allowed_by(self, granted: &Scopes) -> bool {
        self.scopes().iter().any(|s| granted.contains(*s))
    }

    /// The purpose a worker's consent must name for the operation about them.
    pub fn purpose(self) -> Option<Purpose> {
        match self {
            PartnerOperation::SubmitApplication | PartnerOperation::ReadApplication => {
                Some(Purpose::Application)
            }
            PartnerOperation::VerifyMember => Some(Purpose::MembershipVerification),
            PartnerOperation::ConsentRequest | PartnerOperation::Webhooks => None,
        }
    }

    /// The short name of the operation in rate-limit keys and settings.
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerOperation::ConsentRequest => "consent_request",
            PartnerOperation::SubmitApplication => "submit_application",
            PartnerOperation::ReadApplication => "read_application",
            PartnerOperation::VerifyMember => "verify_member",
            PartnerOperation::Webhooks => "webhooks",
        }
    }
}

/// A token bucket: `capacity` requests at once, refilled at `per_minute` requests a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct TokenBucket {
    /// The burst allowed.
    pub capacity: u32,
    /// Tokens added per minute.
    pub per_minute: u32,
}

impl TokenBucket {
    /// Why the bucket is unusable, if it is.
    pub fn problem(&self) -> Option<&'static str> {
        (self.capacity == 0 || self.per_minute == 0)
            .then_some("capacity and per_minute must be at least 1")
    }

    /// The `RateLimit-Policy` item (IETF httpapi draft): `"name";q=capacity;w=window`, the
    /// window being the seconds the bucket takes to refill from empty.
    pub fn policy(&self, name: &str) -> String {
        format!("\"{name}\";q={};w={}", self.capacity, self.refill_secs())
    }

    /// Seconds to refill from empty (at least 1).
    pub fn refill_secs(&self) -> u64 {
        (u64::from(self.capacity) * 60).div_ceil(u64::from(self.per_minute.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_token_request_gets_the_scopes_it_names_only_if_registered() {
        let registered = Scopes::parse(["applications:write", "members:verify"]).unwrap();
        assert_eq!(registered.grant(None).unwrap(), registered);
        let asked = Scopes::parse_oauth("members:verify").unwrap();
        assert_eq!(registered.grant(Some(&asked)).unwrap(), asked);
        let too_much = Scopes::parse_oauth("members:verify webhooks:manage").unwrap();
        assert_eq!(
            registered.grant(Some(&too_much)),
            Err(ScopeNotRegistered(Scope::WebhooksManage))
        );
        assert!(Scopes::parse_oauth("  ").is_err());
        assert!(Scopes::parse_oauth("admin").is_err());
    }

    #[test]
    fn the_previous_secret_is_accepted_only_until_the_overlap_ends() {
        let until = at("2026-12-07T10:00:00Z");
        let secrets = ClientSecrets {
            current: "new",
            previous: Some(("old", until)),
        };
        assert!(secrets.accepts("new", at("2026-12-08T00:00:00Z")));
        assert!(secrets.accepts("old", at("2026-12-07T09:59:59Z")));
        assert!(!secrets.accepts("old", until));
        assert!(!secrets.accepts("other", at("2026-12-07T09:00:00Z")));
        assert!(SecretOverlap::from_secs(-1).is_err());
        assert!(SecretOverlap::from_secs(SecretOverlap::MAX_SECS + 1).is_err());
    }

    #[test]
    fn disabling_twice_and_enabling_an_enabled_client_are_refused() {
        let now = at("2026-12-07T10:00:00Z");
        assert_eq!(set_disabled(None, true, now), Ok(Some(now)));
        assert_eq!(
            set_disabled(Some(now), true, now),
            Err(ClientStateError::AlreadyDisabled)
        );
        assert_eq!(set_disabled(Some(now), false, now), Ok(None));
        assert_eq!(
            set_disabled(None, false, now),
            Err(ClientStateError::NotDisabled)
        );
    }

    #[test]
    fn consent_request_codes_use_the_alphabet_and_parse_back() {
        let code = ConsentRequestCode::from_random([0, 1, 2, 3, 4, 5, 6, 7, 250, 255]);
        assert_eq!(ConsentRequestCode::parse(code.as_str()).unwrap(), code);
        assert_eq!(
            ConsentRequestCode::parse(&code.as_str().to_lowercase()).unwrap(),
            code
        );
        assert!(ConsentRequestCode::parse("ABCDEFGHI0").is_err());
        assert!(ConsentRequestCode::parse("ABC").is_err());
    }

    #[test]
    fn each_operation_needs_its_scope_and_its_purpose() {
        let verify_only = Scopes::parse(["members:verify"]).unwrap();
        assert!(PartnerOperation::VerifyMember.allowed_by(&verify_only));
        assert!(PartnerOperation::ConsentRequest.allowed_by(&verify_only));
        assert!(!PartnerOperation::SubmitApplication.allowed_by(&verify_only));
        assert_eq!(
            PartnerOperation::ReadApplication.purpose(),
            Some(Purpose::Application)
        );
        let bucket = TokenBucket {
            capacity: 10,
            per_minute: 60,
        };
        assert_eq!(
            bucket.policy("verify_member"),
            "\"verify_member\";q=10;w=10"
        );
        assert!(
            TokenBucket {
                capacity: 0,
                per_minute: 1
            }
            .problem()
            .is_some()
        );
    }

    #[test]
    fn partner_user_ids_and_client_texts_are_bounded() {
        assert!(PartnerUserId::parse("rider-42:cq").is_ok());
        assert!(PartnerUserId::parse("").is_err());
        assert!(PartnerUserId::parse("有中文").is_err());
        assert!(PartnerUserId::parse(&"a".repeat(65)).is_err());
        assert!(ClientText::parse(" 某外卖平台 ").is_ok());
        assert!(ClientText::parse("  ").is_err());
        assert!(ClientText::parse("a\u{0}b").is_err());
    }
}
