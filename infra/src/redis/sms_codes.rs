//! SMS verification codes in Redis, and the caps on sending them.
//!
//! The policy of `shared/PROVIDERS.md` ("Verification-code policy"): six digits from a CSPRNG,
//! valid five minutes, single use, bound to phone and purpose, only a keyed hash stored, five
//! wrong attempts void the code; a resend no sooner than 60 s, at most 5 an hour and 10 a day
//! per phone, caps per client IP (IPv6 grouped by /64) and per signed-in account, and a global
//! daily cap. Every cap is checked and counted in one Lua script, so concurrent requests cannot
//! exceed it, and a refusal says how many seconds until the tightest cap frees up.
//!
//! Phone numbers and IPs appear in Redis keys only as blind indexes
//! ([`PiiCipher::blind_index`]); codes only as an HMAC under the blind-index key that binds the
//! phone and the purpose in. Nothing here logs a phone number or a code.

use std::net::IpAddr;
use std::sync::LazyLock;

use ::redis::Script;
use chrono::{DateTime, Days, NaiveTime, Utc};
use rand::Rng;
use serde::Deserialize;
use zhijian_domain::calendar::{from_local, local_date};
use zhijian_domain::ids::AccountId;
use zhijian_domain::phone::PhoneNumber;
use zhijian_domain::ports::{SmsError, SmsMessage, SmsSender, SmsTemplate};

use crate::crypto::pii::PiiCipher;
use crate::redis::{RedisStore, RedisUnavailable};

/// `[sms_policy]` settings. The defaults are the policy of `PROVIDERS.md`; "a day" and "an
/// hour" are sliding windows (the last 24 h, the last 60 min), except the global cap, which
/// counts per calendar day in Asia/Shanghai.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsPolicyConfig {
    /// How long a code stays valid (300).
    pub code_ttl_secs: u64,
    /// Wrong attempts that void a code (5).
    pub max_attempts: u32,
    /// Minimum seconds between two sends to one phone (60); 0 turns the check off.
    pub resend_interval_secs: u64,
    /// Sends to one phone in any 60 minutes (5).
    pub phone_per_hour: u32,
    /// Sends to one phone in any 24 hours (10).
    pub phone_per_day: u32,
    /// Sends requested from one IP (IPv6: one /64) in any 60 minutes (20).
    pub ip_per_hour: u32,
    /// Sends requested from one IP (IPv6: one /64) in any 24 hours (100).
    pub ip_per_day: u32,
    /// Sends requested by one signed-in account in any 24 hours (10).
    pub account_per_day: u32,
    /// Sends in total per calendar day, Asia/Shanghai (50 000): a cost ceiling.
    pub global_per_day: u32,
}

impl Default for SmsPolicyConfig {
    fn default() -> Self {
        Self {
            code_ttl_secs: 300,
            max_attempts: 5,
            resend_interval_secs: 60,
            phone_per_hour: 5,
            phone_per_day: 10,
            ip_per_hour: 20,
            ip_per_day: 100,
            account_per_day: 10,
            global_per_day: 50_000,
        }
    }
}

impl SmsPolicyConfig {
    /// Checks the values and says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=1800).contains(&self.code_ttl_secs) {
            return Err("sms_policy.code_ttl_secs must be between 1 and 1800".into());
        }
        if !(1..=10).contains(&self.max_attempts) {
            return Err("sms_policy.max_attempts must be between 1 and 10".into());
        }
        if self.resend_interval_secs > 3600 {
            return Err("sms_policy.resend_interval_secs must be at most 3600".into());
        }
        let caps = [
            ("phone_per_hour", self.phone_per_hour),
            ("phone_per_day", self.phone_per_day),
            ("ip_per_hour", self.ip_per_hour),
            ("ip_per_day", self.ip_per_day),
            ("account_per_day", self.account_per_day),
            ("global_per_day", self.global_per_day),
        ];
        if let Some((name, _)) = caps.iter().find(|(_, value)| *value == 0) {
            return Err(format!("sms_policy.{name} must be at least 1"));
        }
        if self.phone_per_hour > self.phone_per_day {
            return Err(
                "sms_policy.phone_per_hour must not exceed sms_policy.phone_per_day".into(),
            );
        }
        if self.ip_per_hour > self.ip_per_day {
            return Err("sms_policy.ip_per_hour must not exceed sms_policy.ip_per_day".into());
        }
        Ok(())
    }
}

/// What a verification code is for. A code sent for one purpose never works for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsPurpose {
    /// Sign in (or sign up) with the phone number: `POST /v1/auth/phone`.
    Login,
    /// Bind the phone to the signed-in account: `POST /v1/me/phone`.
    BindPhone,
    /// Confirm the cancellation (注销) of the signed-in account: `POST /v1/me/cancel`.
    Cancel,
}

impl SmsPurpose {
    /// The snake_case form used in the API and in keys.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::BindPhone => "bind_phone",
            Self::Cancel => "cancel",
        }
    }

    /// Parses the snake_case form.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "login" => Some(Self::Login),
            "bind_phone" => Some(Self::BindPhone),
            "cancel" => Some(Self::Cancel),
            _ => None,
        }
    }
}

/// Who asks for a code, for the per-IP and per-account caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requester {
    /// The client's address, when known.
    pub ip: Option<IpAddr>,
    /// The signed-in account, when the request carried a worker token.
    pub account: Option<AccountId>,
}

/// A code was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedCode {
    /// Seconds the code stays valid.
    pub expires_in: u64,
    /// Seconds before another code may be sent to this phone.
    pub resend_after: u64,
}

/// Why no code was sent.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// A cap is reached; nothing was sent. Retry after this many seconds.
    #[error("verification code refused by a sending cap (retry after {retry_after_secs} s)")]
    Limited {
        /// Seconds until the tightest cap frees up (at least 1).
        retry_after_secs: u64,
    },
    /// The SMS provider refused or failed; the send was not counted against the caps.
    #[error("sms: {0}")]
    Sms(SmsError),
    /// Redis is down.
    #[error(transparent)]
    Redis(#[from] RedisUnavailable),
}

/// Why a presented code was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Wrong digits; the code stays valid for `attempts_left` more tries.
    #[error("wrong verification code ({attempts_left} attempts left)")]
    Wrong {
        /// Tries left before the code is void.
        attempts_left: u32,
    },
    /// No live code: never sent, expired, already used, or voided by too many wrong attempts
    /// (`voided` says it was this attempt that voided it).
    #[error("no live verification code")]
    Expired {
        /// This attempt was the last allowed wrong one.
        voided: bool,
    },
    /// Redis is down.
    #[error(transparent)]
    Redis(#[from] RedisUnavailable),
}

const DAY_MS: u64 = 86_400_000;

/// Check every cap and, when none is reached, count one send against all of them.
/// Returns 0 (counted) or the milliseconds until the tightest cap frees up (nothing counted).
static RESERVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: 1 phone log, 2 ip log, 3 global day counter, 4 account log (zsets of send times)
-- ARGV: 1 now ms, 2 member, 3 resend ms, 4 phone/hour, 5 phone/day, 6 ip/hour, 7 ip/day,
--       8 global/day, 9 ms until the global day ends, 10 account/day (0: no account)
local now = tonumber(ARGV[1])
local HOUR, DAY = 3600000, 86400000
local wait = 0
local function later(ms) if ms > wait then wait = ms end end
local function window(key, span, max)
  local entries = redis.call('ZRANGEBYSCORE', key, '(' .. (now - span), '+inf', 'WITHSCORES')
  local count = #entries / 2
  if count >= max then
    later(tonumber(entries[(count - max) * 2 + 2]) + span - now)
  end
end
local account = tonumber(ARGV[10]) > 0
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - DAY)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - DAY)
local resend = tonumber(ARGV[3])
if resend > 0 then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if #last == 2 then later(tonumber(last[2]) + resend - now) end
end
window(KEYS[1], HOUR, tonumber(ARGV[4]))
window(KEYS[1], DAY, tonumber(ARGV[5]))
window(KEYS[2], HOUR, tonumber(ARGV[6]))
window(KEYS[2], DAY, tonumber(ARGV[7]))
if account then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - DAY)
  window(KEYS[4], DAY, tonumber(ARGV[10]))
end
local sent_today = tonumber(redis.call('GET', KEYS[3]) or '0')
if sent_today >= tonumber(ARGV[8]) then later(tonumber(ARGV[9])) end
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], DAY)
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('PEXPIRE', KEYS[2], DAY)
if account then
  redis.call('ZADD', KEYS[4], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[4], DAY)
end
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[9]) + HOUR)
return 0
",
    )
});

/// Undo a reservation whose SMS was not sent.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then redis.call('DECR', KEYS[3]) end
return 0
",
    )
});

/// Compare a presented code: the right one is consumed; a wrong one counts, and the last
/// allowed wrong one voids the code.
static VERIFY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: 1 code hash; ARGV: 1 presented digest, 2 max attempts
local stored = redis.call('HGET', KEYS[1], 'digest')
if not stored then return {'missing', 0} end
if stored == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {'ok', 0}
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local left = tonumber(ARGV[2]) - failures
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return {'void', 0}
end
return {'wrong', left}
",
    )
});

/// Verification codes and their sending caps, over one Redis namespace.
#[derive(Debug, Clone, Copy)]
pub struct VerificationCodes<'a> {
    store: &'a RedisStore,
    pii: &'a PiiCipher,
    policy: &'a SmsPolicyConfig,
}

/// The keys one send is counted under.
struct CapKeys {
    phone: String,
    ip: String,
    global: String,
    account: String,
}

impl<'a> VerificationCodes<'a> {
    /// Codes in `store`, hashed and indexed with `pii`'s blind-index key, under `policy`.
    pub fn new(store: &'a RedisStore, pii: &'a PiiCipher, policy: &'a SmsPolicyConfig) -> Self {
        Self { store, pii, policy }
    }

    /// Sends a fresh code for `purpose` to `phone`, replacing any earlier one, unless a cap is
    /// reached (then nothing is sent). A send the provider fails is not counted.
    pub async fn issue(
        &self,
        phone: &PhoneNumber,
        purpose: SmsPurpose,
        requester: Requester,
        now: DateTime<Utc>,
        sms: &dyn SmsSender,
    ) -> Result<IssuedCode, IssueError> {
        let keys = self.cap_keys(phone, requester, now);
        let member = uuid::Uuid::new_v4().simple().to_string();
        self.reserve(&keys, &member, requester, now).await?;
        let code = generate_code();
        if let Err(e) = self.store_code(phone, purpose, &code).await {
            self.release(&keys, &member).await;
            return Err(e.into());
        }
        let message = SmsMessage {
            phone: phone.expose().to_owned(),
            template: SmsTemplate::VerificationCode,
            params: vec![code, self.policy.code_ttl_secs.div_ceil(60).to_string()],
            out_id: member.clone(),
        };
        if let Err(e) = sms.send(&message).await {
            self.discard_code(phone, purpose).await;
            self.release(&keys, &member).await;
            return Err(IssueError::Sms(e));
        }
        log::info!(
            "verification code sent (purpose: {}, out_id: {member})",
            purpose.as_str()
        );
        Ok(IssuedCode {
            expires_in: self.policy.code_ttl_secs,
            resend_after: self.policy.resend_interval_secs,
        })
    }

    /// Checks `code` for `phone` and `purpose`; the right code is consumed (single use).
    pub async fn verify(
        &self,
        phone: &PhoneNumber,
        purpose: SmsPurpose,
        code: &str,
    ) -> Result<(), VerifyError> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            // Cannot be right; not counted as an attempt.
            return Err(VerifyError::Wrong {
                attempts_left: self.policy.max_attempts,
            });
        }
        let mut conn = self.store.connection();
        let (outcome, left): (String, i64) = VERIFY
            .key(self.code_key(phone, purpose))
            .arg(self.digest(phone, purpose, code))
            .arg(self.policy.max_attempts)
            .invoke_async(&mut conn)
            .await
            .map_err(RedisUnavailable::from)?;
        match outcome.as_str() {
            "ok" => Ok(()),
            "wrong" => Err(VerifyError::Wrong {
                attempts_left: u32::try_from(left).unwrap_or(0),
            }),
            "void" => Err(VerifyError::Expired { voided: true }),
            _ => Err(VerifyError::Expired { voided: false }),
        }
    }

    fn cap_keys(&self, phone: &PhoneNumber, requester: Requester, now: DateTime<Utc>) -> CapKeys {
        let phone_index = self.pii.blind_index("phone", phone.expose());
        let ip = requester.ip.map_or_else(|| "unknown".to_owned(), ip_group);
        let ip_index = self.pii.blind_index("ip", &ip);
        let account = requester
            .account
            .map_or_else(|| "-".to_owned(), |a| a.to_string());
        CapKeys {
            phone: self.store.key(&format!("sms:sent:phone:{phone_index}")),
            ip: self.store.key(&format!("sms:sent:ip:{ip_index}")),
            global: self
                .store
                .key(&format!("sms:sent:day:{}", shanghai_day(now))),
            account: self.store.key(&format!("sms:sent:account:{account}")),
        }
    }

    async fn reserve(
        &self,
        keys: &CapKeys,
        member: &str,
        requester: Requester,
        now: DateTime<Utc>,
    ) -> Result<(), IssueError> {
        let policy = self.policy;
        let account_cap = if requester.account.is_some() {
            policy.account_per_day
        } else {
            0
        };
        let mut conn = self.store.connection();
        let wait_ms: u64 = RESERVE
            .key(&keys.phone)
            .key(&keys.ip)
            .key(&keys.global)
            .key(&keys.account)
            .arg(now.timestamp_millis())
            .arg(member)
            .arg(policy.resend_interval_secs * 1000)
            .arg(policy.phone_per_hour)
            .arg(policy.phone_per_day)
            .arg(policy.ip_per_hour)
            .arg(policy.ip_per_day)
            .arg(policy.global_per_day)
            .arg(millis_until_next_shanghai_day(now))
            .arg(account_cap)
            .invoke_async(&mut conn)
            .await
            .map_err(RedisUnavailable::from)?;
        if wait_ms > 0 {
            return Err(IssueError::Limited {
                retry_after_secs: wait_ms.div_ceil(1000).max(1),
            });
        }
        Ok(())
    }

    /// Best effort: a failure leaves the send counted, which only errs on the safe side.
    async fn release(&self, keys: &CapKeys, member: &str) {
        let mut conn = self.store.connection();
        let released: Result<i64, _> = RELEASE
            .key(&keys.phone)
            .key(&keys.ip)
            .key(&keys.global)
            .key(&keys.account)
            .arg(member)
            .invoke_async(&mut conn)
            .await;
        if let Err(e) = released {
            log::warn!("redis: cannot release an unsent verification code's counts: {e}");
        }
    }

    async fn store_code(
        &self,
        phone: &PhoneNumber,
        purpose: SmsPurpose,
        code: &str,
    ) -> Result<(), RedisUnavailable> {
        let key = self.code_key(phone, purpose);
        let mut conn = self.store.connection();
        ::redis::pipe()
            .atomic()
            .cmd("DEL")
            .arg(&key)
            .ignore()
            .cmd("HSET")
            .arg(&key)
            .arg("digest")
            .arg(self.digest(phone, purpose, code))
            .arg("failures")
            .arg(0)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(self.policy.code_ttl_secs * 1000)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn discard_code(&self, phone: &PhoneNumber, purpose: SmsPurpose) {
        let mut conn = self.store.connection();
        let deleted: Result<i64, _> = ::redis::cmd("DEL")
            .arg(self.code_key(phone, purpose))
            .query_async(&mut conn)
            .await;
        if let Err(e) = deleted {
            log::warn!("redis: cannot discard an unsent verification code: {e}");
        }
    }

    fn code_key(&self, phone: &PhoneNumber, purpose: SmsPurpose) -> String {
        let phone_index = self.pii.blind_index("phone", phone.expose());
        self.store
            .key(&format!("sms:code:{}:{phone_index}", purpose.as_str()))
    }

    /// HMAC (blind-index key) of purpose, phone and code: a leaked Redis cannot be searched
    /// for codes without the key, and a code is bound to its phone and purpose.
    fn digest(&self, phone: &PhoneNumber, purpose: SmsPurpose, code: &str) -> String {
        self.pii.blind_index(
            "sms_code",
            &format!("{}:{}:{code}", purpose.as_str(), phone.expose()),
        )
    }
}

/// Six decimal digits from the thread-local CSPRNG (ChaCha, seeded from the OS).
fn generate_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000_u32))
}

/// The group an address is capped in: an IPv4 address itself, an IPv6 address's /64 (one
/// subscriber's allocation), an IPv4-mapped IPv6 address as IPv4.
pub fn ip_group(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

fn shanghai_day(now: DateTime<Utc>) -> String {
    local_date(now).format("%Y%m%d").to_string()
}

fn millis_until_next_shanghai_day(now: DateTime<Utc>) -> u64 {
    let next_midnight = local_date(now)
        .checked_add_days(Days::new(1))
        .map(|day| from_local(day, NaiveTime::MIN));
    next_midnight
        .and_then(|t| u64::try_from((t - now).num_milliseconds()).ok())
        .map_or(DAY_MS, |ms| ms.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn the_default_policy_is_the_one_of_providers_md() {
        let policy = SmsPolicyConfig::default();
        assert_eq!(policy.code_ttl_secs, 300);
        assert_eq!(policy.max_attempts, 5);
        assert_eq!(policy.resend_interval_secs, 60);
        assert_eq!((policy.phone_per_hour, policy.phone_per_day), (5, 10));
        assert_eq!(policy.validate(), Ok(()));
    }

    #[test]
    fn a_policy_with_a_zero_cap_or_an_hour_above_the_day_is_refused() {
        let zero = SmsPolicyConfig {
            global_per_day: 0,
            ..SmsPolicyConfig::default()
        };
        assert_eq!(
            zero.validate(),
            Err("sms_policy.global_per_day must be at least 1".into())
        );
        let inverted = SmsPolicyConfig {
            phone_per_hour: 11,
            ..SmsPolicyConfig::default()
        };
        assert!(inverted.validate().is_err());
        let long = SmsPolicyConfig {
            code_ttl_secs: 3600,
            ..SmsPolicyConfig::default()
        };
        assert!(long.validate().is_err());
    }

    #[test]
    fn a_partial_section_keeps_the_other_defaults() {
        let policy: SmsPolicyConfig = serde_json::from_str(r#"{"code_ttl_secs": 2}"#).unwrap();
        assert_eq!(policy.code_ttl_secs, 2);
        assert_eq!(policy.phone_per_day, 10);
        assert!(serde_json::from_str::<SmsPolicyConfig>(r#"{"per_phone": 2}"#).is_err());
    }

    #[test]
    fn purposes_travel_as_snake_case() {
        assert_eq!(SmsPurpose::parse("bind_phone"), Some(SmsPurpose::BindPhone));
        assert_eq!(SmsPurpose::parse("login"), Some(SmsPurpose::Login));
        assert_eq!(SmsPurpose::parse("reset"), None);
        assert_eq!(SmsPurpose::BindPhone.as_str(), "bind_phone");
    }

    #[test]
    fn ipv6_addresses_are_grouped_by_their_slash_64() {
        let a: Ipv6Addr = "2408:8207:1:2:aaaa::1".parse().unwrap();
        let b: Ipv6Addr = "2408:8207:1:2:bbbb:cccc:dddd:eeee".parse().unwrap();
        let c: Ipv6Addr = "2408:8207:1:3::1".parse().unwrap();
        assert_eq!(ip_group(a.into()), ip_group(b.into()));
        assert_ne!(ip_group(a.into()), ip_group(c.into()));
        assert_eq!(ip_group(a.into()), "2408:8207:1:2::/64");
        let mapped: Ipv6Addr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(ip_group(mapped.into()), "10.1.2.3");
        assert_eq!(ip_group(Ipv4Addr::new(10, 1, 2, 3).into()), "10.1.2.3");
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let code = generate_code();
            assert_eq!(code.len(), 6);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn the_global_day_is_the_calendar_day_in_shanghai() {
        let before = DateTime::parse_from_rfc3339("2026-11-23T15:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        let after = DateTime::parse_from_rfc3339("2026-11-23T16:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(shanghai_day(before), "20261123");
        assert_eq!(shanghai_day(after), "20261124");
        assert_eq!(millis_until_next_shanghai_day(before), 1000);
        assert_eq!(millis_until_next_shanghai_day(after), DAY_MS);
    }
}
