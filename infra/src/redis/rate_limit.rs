//! Per-client request caps in fixed windows, counted in Redis (so every server process shares
//! them): one Lua script increments the window's counter and answers how long to wait when the
//! cap is passed. Clients are grouped like the SMS caps ([`super::sms_codes::ip_group`]: an IPv4
//! address, an IPv6 /64) and keyed by a blind index, so Redis never holds an address in clear.

use std::net::IpAddr;
use std::sync::LazyLock;

use ::redis::Script;
use serde::Deserialize;

use super::sms_codes::ip_group;
use super::{RedisStore, RedisUnavailable};
use crate::crypto::pii::PiiCipher;

/// A cap: at most `limit` requests per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct RateLimit {
    /// Requests allowed in one window.
    pub limit: u32,
    /// The window, seconds.
    pub window_secs: u64,
}

/// What the cap says about one more request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Counted; go ahead.
    Allowed,
    /// Over the cap until the window ends.
    Limited {
        /// Seconds until the window ends (at least 1).
        retry_after_secs: u64,
    },
}

/// Counts one request; answers the milliseconds left in the window when over the cap, else -1.
static HIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: 1 the window's counter. ARGV: 1 window ms, 2 limit
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1])) end
if n > tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
    ttl = tonumber(ARGV[1])
  end
  return ttl
end
return -1
",
    )
});

/// Counts one request of `ip` against the cap `bucket` (a short name: `nearby`, …).
pub async fn hit(
    store: &RedisStore,
    pii: &PiiCipher,
    bucket: &str,
    ip: Option<IpAddr>,
    cap: RateLimit,
) -> Result<Verdict, RedisUnavailable> {
    let group = ip.map_or_else(|| "unknown".to_owned(), ip_group);
    let key = store.key(&format!("rl:{bucket}:{}", pii.blind_index("ip", &group)));
    let window_ms = cap.window_secs.max(1).saturating_mul(1000);
    let mut conn = store.connection();
    let wait: i64 = HIT
        .key(&key)
        .arg(window_ms)
        .arg(cap.limit)
        .invoke_async(&mut conn)
        .await?;
    Ok(if wait < 0 {
        Verdict::Allowed
    } else {
        Verdict::Limited {
            retry_after_secs: u64::try_from(wait).unwrap_or(0).div_ceil(1000).max(1),
        }
    })
}
