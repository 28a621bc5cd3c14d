//! Sign-in challenges of admins with a second factor: the password was right, a code is
//! awaited. A challenge is 32 random bytes (base64url), bound to one admin, valid five minutes
//! (`zhijian_domain::second_factor::CHALLENGE_TTL_SECS`) and spent by the sign-in it completes.
//!
//! Redis holds `admin_login:challenge:<SHA-256 of the challenge>` → `<admin id> <expiry, Unix
//! ms>`, expiring with it: a leaked Redis gives no usable challenge. The expiry is also checked
//! against the caller's clock, so a clock moved in tests (or a Redis that kept the key a little
//! longer) never stretches a challenge.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zhijian_domain::ids::AdminId;

use crate::redis::{RedisStore, RedisUnavailable};

/// Longest challenge looked at (they are 43 characters).
const MAX_CHALLENGE_LEN: usize = 128;

/// The challenges of one Redis namespace, each living `ttl`.
#[derive(Debug, Clone, Copy)]
pub struct LoginChallenges<'a> {
    store: &'a RedisStore,
    ttl: Duration,
}

impl<'a> LoginChallenges<'a> {
    /// Challenges in `store` lasting `ttl`.
    pub fn new(store: &'a RedisStore, ttl: Duration) -> Self {
        Self { store, ttl }
    }

    /// A new challenge for `admin` at `now` (secret: give it to the client once).
    pub async fn issue(
        &self,
        admin: AdminId,
        now: DateTime<Utc>,
    ) -> Result<String, RedisUnavailable> {
        let mut bytes = [0_u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let challenge = URL_SAFE_NO_PAD.encode(bytes);
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let expires_ms = now
            .timestamp_millis()
            .saturating_add(i64::try_from(ttl_ms).unwrap_or(i64::MAX));
        let mut conn = self.store.connection();
        let _: () = ::redis::cmd("SET")
            .arg(self.key(&challenge))
            .arg(format!("{admin} {expires_ms}"))
            .arg("PX")
            .arg(ttl_ms.max(1))
            .query_async(&mut conn)
            .await?;
        Ok(challenge)
    }

    /// Takes the challenge out of Redis (`GETDEL`): the admin it was issued to and its expiry,
    /// or `None` when it is unknown, expired or being used by another request. While one
    /// attempt holds it, a concurrent attempt with the same challenge finds nothing, so two
    /// requests never both act on one challenge. An attempt that does not complete the
    /// sign-in puts it back with [`Self::restore`].
    pub async fn take(
        &self,
        challenge: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TakenChallenge>, RedisUnavailable> {
        if !plausible(challenge) {
            return Ok(None);
        }
        let mut conn = self.store.connection();
        let value: Option<String> = ::redis::cmd("GETDEL")
            .arg(self.key(challenge))
            .query_async(&mut conn)
            .await?;
        Ok(value.and_then(|value| {
            let (admin, expires_ms) = value.split_once(' ')?;
            let expires_ms: i64 = expires_ms.parse().ok()?;
            (now.timestamp_millis() < expires_ms)
                .then(|| AdminId::parse(admin).ok())
                .flatten()
                .map(|admin| TakenChallenge { admin, expires_ms })
        }))
    }

    /// Puts a taken challenge back for another try, with the time it had left (nothing when
    /// none is left). `NX`: it never overwrites.
    pub async fn restore(
        &self,
        challenge: &str,
        taken: TakenChallenge,
        now: DateTime<Utc>,
    ) -> Result<(), RedisUnavailable> {
        let left_ms = taken.expires_ms.saturating_sub(now.timestamp_millis());
        if left_ms <= 0 || !plausible(challenge) {
            return Ok(());
        }
        let mut conn = self.store.connection();
        let _: Option<String> = ::redis::cmd("SET")
            .arg(self.key(challenge))
            .arg(format!("{} {}", taken.admin, taken.expires_ms))
            .arg("PX")
            .arg(left_ms)
            .arg("NX")
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    fn key(&self, challenge: &str) -> String {
        let digest = hex::encode(Sha256::digest(challenge.as_bytes()));
        self.store.key(&format!("admin_login:challenge:{digest}"))
    }
}

/// A challenge taken out of Redis by [`LoginChallenges::take`].
#[derive(Debug, Clone, Copy)]
pub struct TakenChallenge {
    /// The admin it was issued to.
    pub admin: AdminId,
    /// When it expires, Unix milliseconds.
    expires_ms: i64,
}

fn plausible(challenge: &str) -> bool {
    !challenge.is_empty()
        && challenge.len() <= MAX_CHALLENGE_LEN
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_base64url_challenges_of_a_sane_length_reach_redis() {
        assert!(plausible("abcDEF012-_"));
        assert!(!plausible(""));
        assert!(!plausible("a b"));
        assert!(!plausible("a\0b"));
        assert!(!plausible(&"a".repeat(129)));
    }
}
