//! Sign-in sessions in Redis: one session per sign-in, carrying its refresh-token family.
//!
//! A session is a hash `sess:{<id>}` holding who signed in (worker account or admin, and an
//! admin's role and union) and the SHA-256 of the family's current refresh token. Access
//! tokens name the session (`sid`), and every authenticated request checks the session still
//! exists, so deleting it (logout, reuse detection) ends every token of the sign-in at once.
//!
//! Refresh tokens are `<session id>.<32 random bytes, base64url>`; only their SHA-256 is
//! stored. Each use rotates the token; the spent digests stay in `sess:{<id>}:used` for the
//! life of the family, so presenting a spent token is recognised as reuse (a stolen token, or
//! a client that lost the newest one) and revokes the whole session — the newest refresh token
//! and its access tokens with it. Rotation and reuse detection run as one Lua script, so two
//! concurrent refreshes with one token cannot both succeed. The `{<id>}` hash tag keeps both
//! keys of a session in one Redis Cluster slot.
//!
//! Also here: the login-failure counter for admin usernames that do not exist, so they lock
//! exactly like real ones and the answers do not tell which usernames exist.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use ::redis::Script;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zhijian_domain::admin::AdminRole;
use zhijian_domain::ids::UnionId;

use crate::redis::{RedisStore, RedisUnavailable};

/// Who a session belongs to: the `typ` of its access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// A worker's account (WeChat or phone sign-in).
    Worker,
    /// A union administrator.
    Admin,
}

impl SessionKind {
    /// `worker` or `admin`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Worker => "worker",
            Self::Admin => "admin",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "worker" => Some(Self::Worker),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// What an admin session may reach: the role and the union subtree it was granted at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminScope {
    /// The admin's role.
    pub role: AdminRole,
    /// The union the role is bound to.
    pub union_id: UnionId,
    /// That union's materialised path (`/1/5/12/`).
    pub union_path: String,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session id (the access tokens' `sid`).
    pub id: String,
    /// Worker or admin.
    pub kind: SessionKind,
    /// Account id or admin id (the access tokens' `sub`).
    pub subject: String,
    /// For admin sessions, what they may reach.
    pub admin: Option<AdminScope>,
}

/// A session just started: its id and its first refresh token (secret: give it to the client
/// once, never log it).
pub struct StartedSession {
    /// The session id.
    pub id: String,
    /// The first refresh token.
    pub refresh_token: String,
}

impl std::fmt::Debug for StartedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartedSession")
            .field("id", &self.id)
            .field("refresh_token", &"<redacted>")
            .finish()
    }
}

/// A refresh token was rotated: the session it belongs to and its successor (secret).
pub struct Rotated {
    /// The session, still live.
    pub session: Session,
    /// The new refresh token; the presented one is now spent.
    pub refresh_token: String,
}

impl std::fmt::Debug for Rotated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rotated")
            .field("session", &self.session)
            .field("refresh_token", &"<redacted>")
            .finish()
    }
}

/// Why a refresh token was refused.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown, malformed, expired, or of a session that ended.
    #[error("invalid refresh token")]
    Invalid,
    /// A spent token of this family was presented again: the session is now revoked.
    #[error("refresh token reused; session revoked")]
    Reused {
        /// The revoked session.
        session_id: String,
    },
    /// Redis is down.
    #[error(transparent)]
    Redis(#[from] RedisUnavailable),
}

/// Rotate the family's current token, or revoke the session when a spent one comes back.
static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: 1 session hash, 2 spent-digest set; ARGV: 1 presented digest, 2 new digest
local current = redis.call('HGET', KEYS[1], 'current')
if current and current == ARGV[1] then
  redis.call('HSET', KEYS[1], 'current', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[1])
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
  return 'rotated'
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  redis.call('DEL', KEYS[1])
  return 'reused'
end
return 'invalid'
",
    )
});

/// Sessions in one Redis namespace, each living `ttl` from sign-in (the refresh-token family's
/// lifetime; refreshing does not extend it).
#[derive(Debug, Clone, Copy)]
pub struct Sessions<'a> {
    store: &'a RedisStore,
    ttl: Duration,
}

impl<'a> Sessions<'a> {
    /// Sessions in `store` lasting `ttl`.
    pub fn new(store: &'a RedisStore, ttl: Duration) -> Self {
        Self { store, ttl }
    }

    /// Starts a session for `subject` and returns its id and first refresh token.
    pub async fn start(
        &self,
        kind: SessionKind,
        subject: &str,
        admin: Option<&AdminScope>,
    ) -> Result<StartedSession, RedisUnavailable> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let refresh_token = new_refresh_token(&id);
        let mut fields: Vec<(&str, String)> = vec![
            ("kind", kind.as_str().to_owned()),
            ("subject", subject.to_owned()),
            ("current", digest(&refresh_token)),
        ];
        if let Some(scope) = admin {
            fields.push(("role", scope.role.as_str().to_owned()));
            fields.push(("union_id", scope.union_id.to_string()));
            fields.push(("union_path", scope.union_path.clone()));
        }
        let key = self.session_key(&id);
        let mut conn = self.store.connection();
        ::redis::pipe()
            .atomic()
            .cmd("HSET")
            .arg(&key)
            .arg(&fields)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX))
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(StartedSession { id, refresh_token })
    }

    /// The session `id`, if it is still live.
    pub async fn get(&self, id: &str) -> Result<Option<Session>, RedisUnavailable> {
        if !valid_session_id(id) {
            return Ok(None);
        }
        let mut conn = self.store.connection();
        let fields: HashMap<String, String> = ::redis::cmd("HGETALL")
            .arg(self.session_key(id))
            .query_async(&mut conn)
            .await?;
        Ok(session_from_fields(id, &fields))
    }

    /// Spends `refresh_token` and returns its successor; a spent token revokes the session.
    pub async fn rotate(&self, refresh_token: &str) -> Result<Rotated, RefreshError> {
        let id = refresh_token
            .split_once('.')
            .map(|(id, _)| id)
            .filter(|id| valid_session_id(id));
        let Some(id) = id else {
            return Err(RefreshError::Invalid);
        };
        let successor = new_refresh_token(id);
        let mut conn = self.store.connection();
        let outcome: String = ROTATE
            .key(self.session_key(id))
            .key(self.spent_key(id))
            .arg(digest(refresh_token))
            .arg(digest(&successor))
            .invoke_async(&mut conn)
            .await
            .map_err(RedisUnavailable::from)?;
        match outcome.as_str() {
            "rotated" => {
                // Ended between the two calls (logout): the successor is useless anyway.
                let session = self.get(id).await?.ok_or(RefreshError::Invalid)?;
                Ok(Rotated {
                    session,
                    refresh_token: successor,
                })
            }
            "reused" => {
                log::warn!("refresh token reused: session {id} revoked");
                Err(RefreshError::Reused {
                    session_id: id.to_owned(),
                })
            }
            _ => Err(RefreshError::Invalid),
        }
    }

    /// Ends session `id` (logout): its access and refresh tokens stop working at once. The
    /// spent-token record stays, so a spent token presented later is still seen as reuse.
    pub async fn end(&self, id: &str) -> Result<(), RedisUnavailable> {
        if !valid_session_id(id) {
            return Ok(());
        }
        let mut conn = self.store.connection();
        let _: i64 = ::redis::cmd("DEL")
            .arg(self.session_key(id))
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    fn session_key(&self, id: &str) -> String {
        self.store.key(&format!("sess:{{{id}}}"))
    }

    fn spent_key(&self, id: &str) -> String {
        self.store.key(&format!("sess:{{{id}}}:spent"))
    }
}

fn session_from_fields(id: &str, fields: &HashMap<String, String>) -> Option<Session> {
    let kind = SessionKind::parse(fields.get("kind")?)?;
    let subject = fields.get("subject")?.clone();
    let admin = match kind {
        SessionKind::Worker => None,
        SessionKind::Admin => Some(AdminScope {
            role: AdminRole::parse(fields.get("role")?).ok()?,
            union_id: UnionId::parse(fields.get("union_id")?).ok()?,
            union_path: fields.get("union_path")?.clone(),
        }),
    };
    Some(Session {
        id: id.to_owned(),
        kind,
        subject,
        admin,
    })
}

/// A session id is 32 lower-case hex digits (a UUID v4 in simple form).
fn valid_session_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn new_refresh_token(session_id: &str) -> String {
    let mut secret = [0_u8; 32];
    rand::rng().fill_bytes(&mut secret);
    format!("{session_id}.{}", URL_SAFE_NO_PAD.encode(secret))
}

/// SHA-256 (hex) of a token: what Redis holds instead of the token.
fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Failed logins for an admin username that does not exist, counted like real ones (see
/// `crate::store::admins`): after `max_failures` the name is "locked" for `lock`, so the answers for
/// unknown and real usernames cannot be told apart.
#[derive(Debug, Clone, Copy)]
pub struct UnknownAdminLogins<'a> {
    store: &'a RedisStore,
    max_failures: u32,
    lock: Duration,
}

impl<'a> UnknownAdminLogins<'a> {
    /// Counter in `store`: `max_failures` failures lock the name for `lock`.
    pub fn new(store: &'a RedisStore, max_failures: u32, lock: Duration) -> Self {
        Self {
            store,
            max_failures,
            lock,
        }
    }

    /// Seconds the name stays locked, or `None`.
    pub async fn locked_for(&self, username: &str) -> Result<Option<u64>, RedisUnavailable> {
        let mut conn = self.store.connection();
        let ttl_ms: i64 = ::redis::cmd("PTTL")
            .arg(self.lock_key(username))
            .query_async(&mut conn)
            .await?;
        Ok(u64::try_from(ttl_ms)
            .ok()
            .filter(|ms| *ms > 0)
            .map(|ms| ms.div_ceil(1000)))
    }

    /// Counts a failure; returns the lock's seconds when this failure locks the name.
    pub async fn record_failure(&self, username: &str) -> Result<Option<u64>, RedisUnavailable> {
        let count_key = self
            .store
            .key(&format!("admin_login:unknown:{}", digest(username)));
        let mut conn = self.store.connection();
        let (count,): (u32,) = ::redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&count_key)
            .cmd("EXPIRE")
            .arg(&count_key)
            .arg(24 * 3600)
            .ignore()
            .query_async(&mut conn)
            .await?;
        if count < self.max_failures {
            return Ok(None);
        }
        let lock_secs = self.lock.as_secs().max(1);
        ::redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(self.lock_key(username))
            .arg(1)
            .arg("EX")
            .arg(lock_secs)
            .ignore()
            .cmd("DEL")
            .arg(&count_key)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        Ok(Some(lock_secs))
    }

    fn lock_key(&self, username: &str) -> String {
        self.store
            .key(&format!("admin_login:unknown_lock:{}", digest(username)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_token_names_its_session_and_carries_256_random_bits() {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let token = new_refresh_token(&id);
        let (named, secret) = token.split_once('.').unwrap();
        assert_eq!(named, id);
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), 32);
        assert_ne!(token, new_refresh_token(&id));
        assert!(valid_session_id(&id));
    }

    #[test]
    fn only_the_digest_of_a_token_is_kept() {
        let d = digest("abc");
        assert_eq!(
            d,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(!d.contains("abc"));
    }

    #[test]
    fn malformed_session_ids_are_refused_before_redis() {
        for bad in [
            "",
            "x",
            "../etc",
            "ABCDEF0123456789ABCDEF0123456789",
            "0123456789abcdef0123456789abcdef0",
        ] {
            assert!(!valid_session_id(bad), "{bad}");
        }
    }

    #[test]
    fn an_admin_session_needs_its_scope_and_a_worker_session_does_not() {
        let mut fields: HashMap<String, String> = [("kind", "admin"), ("subject", "a1")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(session_from_fields("s", &fields), None);
        fields.insert("role".into(), "reviewer".into());
        fields.insert("union_id".into(), "12".into());
        fields.insert("union_path".into(), "/1/12/".into());
        let session = session_from_fields("s", &fields).unwrap();
        assert_eq!(session.admin.unwrap().role, AdminRole::Reviewer);
        fields.insert("kind".into(), "worker".into());
        assert_eq!(session_from_fields("s", &fields).unwrap().admin, None);
        fields.insert("kind".into(), "partner".into());
        assert_eq!(session_from_fields("s", &fields), None);
    }

    #[test]
    fn secrets_do_not_print() {
        let started = StartedSession {
            id: "s".into(),
            refresh_token: "s.secret-value".into(),
        };
        assert!(!format!("{started:?}").contains("secret-value"));
    }
}
