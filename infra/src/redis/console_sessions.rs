//! Browser sessions of the admin console (`/console`): the cookie names one of these, which
//! names the admin session (`crate::redis::sessions`) the sign-in started, and carries the
//! form token (CSRF synchronizer token) of the session.
//!
//! Redis holds `console:session:<SHA-256 of the cookie value>` → JSON `{sid, csrf, created_ms,
//! seen_ms}`. The key expires after the idle timeout and is pushed forward at each use, never
//! past the absolute timeout counted from the sign-in; both are also checked against the
//! caller's clock. A leaked Redis gives no usable cookie.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::redis::{RedisStore, RedisUnavailable};

/// Longest cookie value looked at (they are 43 characters).
const MAX_TOKEN_LEN: usize = 128;

/// A live console session.
#[derive(Clone, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// The admin session (`crate::redis::sessions`) behind it.
    pub sid: String,
    /// The form token every form of this session carries.
    pub csrf: String,
    /// Signed in at, Unix milliseconds.
    pub created_ms: i64,
    /// Last used at, Unix milliseconds.
    pub seen_ms: i64,
}

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("created_ms", &self.created_ms)
            .field("seen_ms", &self.seen_ms)
            .finish_non_exhaustive()
    }
}

/// The console sessions, with their idle and absolute timeouts.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleSessions<'a> {
    store: &'a RedisStore,
    idle: Duration,
    absolute: Duration,
}

/// 32 random bytes, base64url.
pub fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl<'a> ConsoleSessions<'a> {
    /// Sessions in `store` ending after `idle` without use, or `absolute` after the sign-in.
    pub fn new(store: &'a RedisStore, idle: Duration, absolute: Duration) -> Self {
        Self {
            store,
            idle,
            absolute,
        }
    }

    /// Starts a session over admin session `sid`; answers the cookie value (secret).
    pub async fn start(&self, sid: &str, now: DateTime<Utc>) -> Result<String, RedisUnavailable> {
        let token = random_token();
        let session = ConsoleSession {
            sid: sid.to_owned(),
            csrf: random_token(),
            created_ms: now.timestamp_millis(),
            seen_ms: now.timestamp_millis(),
        };
        self.save(&token, &session).await?;
        Ok(token)
    }

    /// The session of cookie value `token`, used now (its idle timeout starts again); `None`
    /// when unknown, idle too long or past its absolute timeout.
    pub async fn touch(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsoleSession>, RedisUnavailable> {
        if !plausible(token) {
            return Ok(None);
        }
        let mut conn = self.store.connection();
        let value: Option<String> = ::redis::cmd("GET")
            .arg(self.key(token))
            .query_async(&mut conn)
            .await?;
        let Some(mut session) = value.and_then(|v| serde_json::from_str::<ConsoleSession>(&v).ok())
        else {
            return Ok(None);
        };
        let now_ms = now.timestamp_millis();
        if now_ms.saturating_sub(session.seen_ms) >= millis(self.idle)
            || now_ms.saturating_sub(session.created_ms) >= millis(self.absolute)
        {
            self.end(token).await?;
            return Ok(None);
        }
        session.seen_ms = now_ms;
        self.save(token, &session).await?;
        Ok(Some(session))
    }

    /// Ends the session of cookie value `token` (nothing when there is none).
    pub async fn end(&self, token: &str) -> Result<(), RedisUnavailable> {
        if !plausible(token) {
            return Ok(());
        }
        let mut conn = self.store.connection();
        let _: i64 = ::redis::cmd("DEL")
            .arg(self.key(token))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn save(&self, token: &str, session: &ConsoleSession) -> Result<(), RedisUnavailable> {
        let left = millis(self.absolute)
            .saturating_sub(session.seen_ms.saturating_sub(session.created_ms))
            .min(millis(self.idle))
            .max(1);
        let value = serde_json::to_string(session).map_err(|e| RedisUnavailable(e.to_string()))?;
        let mut conn = self.store.connection();
        let _: () = ::redis::cmd("SET")
            .arg(self.key(token))
            .arg(value)
            .arg("PX")
            .arg(left)
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    fn key(&self, token: &str) -> String {
        let digest = hex::encode(Sha256::digest(token.as_bytes()));
        self.store.key(&format!("console:session:{digest}"))
    }
}

fn plausible(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert!(plausible(&a));
        assert_ne!(a, b);
        assert!(!plausible("a b"));
        assert!(!plausible(""));
    }
}
