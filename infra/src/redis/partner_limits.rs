//! Per-partner rate limits: one token bucket per client and operation in Redis (so every
//! server process shares it), taken by one Lua script that refills the bucket for the time
//! elapsed, takes a token if there is one, and answers what the `RateLimit` headers say.

use std::sync::LazyLock;

use ::redis::Script;
use chrono::{DateTime, Utc};
use zhijian_domain::partner::TokenBucket;

use super::{RedisStore, RedisUnavailable};

/// What the bucket says about one more request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketState {
    /// Whether the request may go ahead (a token was taken).
    pub allowed: bool,
    /// Whole tokens left.
    pub remaining: u64,
    /// Seconds until one token is back (0 when allowed).
    pub retry_after_secs: u64,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
}

/// KEYS: 1 the bucket. ARGV: 1 capacity, 2 tokens per millisecond, 3 now (ms).
/// Returns {allowed, whole tokens left, ms until a token, ms until full}.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = cap
  ts = now
end
if now > ts then
  tokens = math.min(cap, tokens + (now - ts) * rate)
  ts = now
end
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate) + 1000)
return {allowed, math.floor(tokens), wait, math.ceil((cap - tokens) / rate)}
",
    )
});

/// Takes one token from the bucket of `client` for `operation`.
pub async fn take(
    store: &RedisStore,
    client: &str,
    operation: &str,
    bucket: TokenBucket,
    now: DateTime<Utc>,
) -> Result<BucketState, RedisUnavailable> {
    let key = store.key(&format!("pl:{client}:{operation}"));
    let per_ms = f64::from(bucket.per_minute) / 60_000.0;
    let mut conn = store.connection();
    let (allowed, remaining, wait_ms, reset_ms): (i64, i64, i64, i64) = TAKE
        .key(&key)
        .arg(bucket.capacity)
        .arg(per_ms)
        .arg(now.timestamp_millis())
        .invoke_async(&mut conn)
        .await?;
    let secs = |ms: i64| u64::try_from(ms).unwrap_or(0).div_ceil(1000);
    Ok(BucketState {
        allowed: allowed == 1,
        remaining: u64::try_from(remaining).unwrap_or(0),
        retry_after_secs: secs(wait_ms).max(u64::from(allowed != 1)),
        reset_secs: secs(reset_ms),
    })
}
