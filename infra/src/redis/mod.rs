//! Redis: sessions, refresh tokens, verification codes, rate-limit counters and caches.
//!
//! Redis is never the store of record for anything that must survive. The connection is made
//! lazily and re-made after failures, so the server starts without Redis, answers 503 while it
//! is down, and recovers by itself.

pub mod console_sessions;
pub mod login_challenges;
pub mod partner_limits;
pub mod rate_limit;
pub mod sessions;
pub mod sms_codes;

use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Deserialize;

use crate::crypto::secret::Secret;

/// `[redis]` settings.
#[derive(Debug, Clone, Deserialize)]
pub struct RedisConfig {
    /// `redis://host:port/db`; may carry a password, hence secret.
    pub url: Secret,
    /// Prefix of every key this process writes, so several deployments (or tests) can share one
    /// Redis without seeing each other's keys.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Timeout of one command, and of one connection attempt.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_namespace() -> String {
    "zj".into()
}

fn default_timeout_ms() -> u64 {
    1_000
}

impl RedisConfig {
    /// Checks the values and says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        let url = self.url.expose();
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err("redis.url must be a redis:// URL (set APP__REDIS__URL)".into());
        }
        if self.namespace.is_empty() || self.namespace.contains(char::is_whitespace) {
            return Err("redis.namespace must be a non-empty word".into());
        }
        if self.timeout_ms == 0 {
            return Err("redis.timeout_ms must be positive".into());
        }
        Ok(())
    }
}

/// Redis is unreachable, slow, or answered with an error.
#[derive(Debug, thiserror::Error)]
#[error("redis unavailable: {0}")]
pub struct RedisUnavailable(pub String);

impl From<::redis::RedisError> for RedisUnavailable {
    fn from(error: ::redis::RedisError) -> Self {
        RedisUnavailable(error.to_string())
    }
}

/// A shared, cheaply cloneable handle to Redis with a key namespace.
#[derive(Clone)]
pub struct RedisStore {
    manager: ConnectionManager,
    namespace: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Creates the handle without connecting. Must be called inside a Tokio runtime.
    pub fn connect_lazy(config: &RedisConfig) -> Result<Self, RedisUnavailable> {
        let client = ::redis::Client::open(config.url.expose())?;
        let timeout = Duration::from_millis(config.timeout_ms);
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(client, manager_config)?;
        Ok(Self {
            manager,
            namespace: config.namespace.clone(),
        })
    }

    /// The full key for `suffix` in this store's namespace.
    pub fn key(&self, suffix: &str) -> String {
        format!("{}:{}", self.namespace, suffix)
    }

    /// A connection handle for running commands (cheap: the connection is multiplexed).
    pub fn connection(&self) -> ConnectionManager {
        self.manager.clone()
    }

    /// Whether Redis answers `PING`.
    pub async fn ping(&self) -> Result<(), RedisUnavailable> {
        let mut conn = self.connection();
        let _: String = ::redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}

/// The WeChat access token, cached in Redis so every server process shares one token (WeChat
/// allows a limited number of refreshes a day). A Redis failure degrades to "no cached token".
impl crate::providers::wechat::AccessTokenCache for RedisStore {
    fn get(&self) -> zhijian_domain::ports::BoxFuture<'_, Option<String>> {
        Box::pin(async move {
            let mut conn = self.connection();
            let key = self.key("wechat:access_token");
            match ::redis::cmd("GET")
                .arg(&key)
                .query_async::<Option<String>>(&mut conn)
                .await
            {
                Ok(token) => token,
                Err(e) => {
                    log::warn!("redis: cannot read the wechat access token: {e}");
                    None
                }
            }
        })
    }

    fn put(&self, token: &str, ttl: Duration) -> zhijian_domain::ports::BoxFuture<'_, ()> {
        let token = token.to_owned();
        Box::pin(async move {
            let mut conn = self.connection();
            let key = self.key("wechat:access_token");
            let seconds = ttl.as_secs().max(1);
            let stored: Result<(), _> = ::redis::cmd("SET")
                .arg(&key)
                .arg(&token)
                .arg("EX")
                .arg(seconds)
                .query_async(&mut conn)
                .await;
            if let Err(e) = stored {
                log::warn!("redis: cannot cache the wechat access token: {e}");
            }
        })
    }
}
