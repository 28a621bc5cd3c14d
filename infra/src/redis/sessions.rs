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
//! concurrent refreshes with one token cannot both rotate. A grace (`with_reuse_grace`, a few
//! seconds) forgives a retry or a race: the same token presented again within it, while its
//! successor is still current, answers the first rotation's pair again, kept sealed with a
//! pad only the presented token derives. The `{<id>}` hash tag keeps both
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
use chrono::{DateTime, Utc};
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
    /// When the pair was first issued: now, or the first rotation's instant when the token
    /// came back within the grace (so the access token signed for it is the same too).
    pub issued_at: DateTime<Utc>,
}

impl std::fmt::Debug for Rotated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rotated")
            .field("session", &self.session)
            .field("refresh_token", &"<redacted>")
            .field("issued_at", &self.issued_at)
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

/// Rotate the family's current token; answer the first rotation again when its token comes
/// back within the grace while the successor is still current; otherwise revoke the session
/// when a spent token comes back.
static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: 1 session hash, 2 spent-digest set, 3 grace record of the presented digest
-- ARGV: 1 presented digest, 2 new digest, 3 sealed successor, 4 now (ms), 5 grace (ms)
local current = redis.call('HGET', KEYS[1], 'current')
if current and current == ARGV[1] then
  redis.call('HSET', KEYS[1], 'current', ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[1])
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
  if tonumber(ARGV[5]) > 0 then
    redis.call('HSET', KEYS[3], 'successor', ARGV[2], 'sealed', ARGV[3], 'issued_ms', ARGV[4])
    redis.call('PEXPIRE', KEYS[3], ARGV[5])
  end
  return {'rotated'}
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  local grace = redis.call('HMGET', KEYS[3], 'successor', 'sealed', 'issued_ms')
  if current and grace[1] and grace[1] == current
     and tonumber(ARGV[4]) - tonumber(grace[3]) <= tonumber(ARGV[5]) then
    return {'replayed', grace[2], grace[3]}
  end
  redis.call('DEL', KEYS[1], KEYS[3])
  return {'reused'}
end
return {'invalid'}
",
    )
});

/// Sessions in one Redis namespace, each living `ttl` from sign-in (the refresh-token family's
/// lifetime; refreshing does not extend it).
#[derive(Debug, Clone, Copy)]
pub struct Sessions<'a> {
    store: &'a RedisStore,
    ttl: Duration,
    grace: Duration,
}

impl<'a> Sessions<'a> {
    /// Sessions in `store` lasting `ttl`, without a reuse grace.
    pub fn new(store: &'a RedisStore, ttl: Duration) -> Self {
        Self {
            store,
            ttl,
            grace: Duration::ZERO,
        }
    }

    /// The same sessions, where a spent refresh token presented again within `grace` of its
    /// first use (a retry, a race) answers that first use's pair again instead of revoking the
    /// session, as long as the pair's refresh token is still the current one.
    pub fn with_reuse_grace(self, grace: Duration) -> Self {
        Self { grace, ..self }
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
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let mut conn = self.store.connection();
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .cmd("HSET")
            .arg(&key)
            .arg(&fields)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl_ms)
            .ignore();
        pipe.query_async::<()>(&mut conn).await?;
        {
            // The subject's sessions, so that a password change, a reset or a disable (admins)
            // or a cancellation (workers) can end them all (another slot than the session's:
            // not in its transaction).
            let index = self.index_key(kind, subject);
            ::redis::pipe()
                .cmd("SADD")
                .arg(&index)
                .arg(&id)
                .ignore()
                .cmd("PEXPIRE")
                .arg(&index)
                .arg(ttl_ms)
                .ignore()
                .query_async::<()>(&mut conn)
                .await?;
        }
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

    /// Spends `refresh_token` at `now` and returns its successor; a spent token revokes the
    /// session, unless it comes back within the grace (see [`Sessions::with_reuse_grace`]):
    /// then the answer is the first rotation's again (same successor, same `issued_at`).
    pub async fn rotate(
        &self,
        refresh_token: &str,
        now: DateTime<Utc>,
    ) -> Result<Rotated, RefreshError> {
        let id = refresh_token
            .split_once('.')
            .map(|(id, _)| id)
            .filter(|id| valid_session_id(id));
        let Some(id) = id else {
            return Err(RefreshError::Invalid);
        };
        let (successor, secret) = new_refresh_token_with_secret(id);
        let presented = digest(refresh_token);
        let now_ms = now.timestamp_millis();
        let mut conn = self.store.connection();
        let outcome: Vec<String> = ROTATE
            .key(self.session_key(id))
            .key(self.spent_key(id))
            .key(self.grace_key(id, &presented))
            .arg(&presented)
            .arg(digest(&successor))
            .arg(hex::encode(seal(&secret, refresh_token)))
            .arg(now_ms)
            .arg(u64::try_from(self.grace.as_millis()).unwrap_or(u64::MAX))
            .invoke_async(&mut conn)
            .await
            .map_err(RedisUnavailable::from)?;
        let (refresh_token, issued_at) = match outcome.as_slice() {
            [verdict] if verdict == "rotated" => (successor, now),
            [verdict, sealed, issued_ms] if verdict == "replayed" => {
                log::info!("refresh token presented again within the grace (session {id})");
                unseal_replay(id, refresh_token, sealed, issued_ms).ok_or(RefreshError::Invalid)?
            }
            [verdict] if verdict == "reused" => {
                log::warn!("refresh token reused: session {id} revoked");
                return Err(RefreshError::Reused {
                    session_id: id.to_owned(),
                });
            }
            _ => return Err(RefreshError::Invalid),
        };
        // Ended between the two calls (logout): the successor is useless anyway.
        let session = self.get(id).await?.ok_or(RefreshError::Invalid)?;
        Ok(Rotated {
            session,
            refresh_token,
            issued_at,
        })
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

    /// Ends every session of admin `subject` (their id) except `keep`: a password change ends
    /// the other sign-ins, a reset or a disable all of them. One read of the admin's session
    /// index and one delete; ids of sessions that already ended are dropped with it.
    pub async fn end_admin_sessions(
        &self,
        subject: &str,
        keep: Option<&str>,
    ) -> Result<usize, RedisUnavailable> {
        self.end_sessions_of(SessionKind::Admin, subject, keep)
            .await
    }

    /// Ends every session of worker account `subject` (its id): a cancellation (注销) signs
    /// the account out everywhere at once.
    pub async fn end_worker_sessions(&self, subject: &str) -> Result<usize, RedisUnavailable> {
        self.end_sessions_of(SessionKind::Worker, subject, None)
            .await
    }

    async fn end_sessions_of(
        &self,
        kind: SessionKind,
        subject: &str,
        keep: Option<&str>,
    ) -> Result<usize, RedisUnavailable> {
        let index = self.index_key(kind, subject);
        let mut conn = self.store.connection();
        let ids: Vec<String> = ::redis::cmd("SMEMBERS")
            .arg(&index)
            .query_async(&mut conn)
            .await?;
        let ending: Vec<&String> = ids
            .iter()
            .filter(|id| Some(id.as_str()) != keep && valid_session_id(id))
            .collect();
        if ending.is_empty() {
            return Ok(0);
        }
        let mut pipe = ::redis::pipe();
        for id in &ending {
            pipe.cmd("DEL").arg(self.session_key(id)).ignore();
            pipe.cmd("SREM").arg(&index).arg(id.as_str()).ignore();
        }
        pipe.query_async::<()>(&mut conn).await?;
        Ok(ending.len())
    }

    fn index_key(&self, kind: SessionKind, subject: &str) -> String {
        match kind {
            SessionKind::Admin => self.store.key(&format!("admin_sessions:{subject}")),
            SessionKind::Worker => self.store.key(&format!("worker_sessions:{subject}")),
        }
    }

    fn session_key(&self, id: &str) -> String {
        self.store.key(&format!("sess:{{{id}}}"))
    }

    fn spent_key(&self, id: &str) -> String {
        self.store.key(&format!("sess:{{{id}}}:spent"))
    }

    fn grace_key(&self, id: &str, presented_digest: &str) -> String {
        self.store
            .key(&format!("sess:{{{id}}}:grace:{presented_digest}"))
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
    new_refresh_token_with_secret(session_id).0
}

fn new_refresh_token_with_secret(session_id: &str) -> (String, [u8; 32]) {
    let mut secret = [0_u8; 32];
    rand::rng().fill_bytes(&mut secret);
    (refresh_token_of(session_id, &secret), secret)
}

fn refresh_token_of(session_id: &str, secret: &[u8; 32]) -> String {
    format!("{session_id}.{}", URL_SAFE_NO_PAD.encode(secret))
}

/// The successor's secret as kept for the grace: XOR-ed with a pad derived from the presented
/// token, which Redis never holds (it keeps the token's plain SHA-256 only), so what Redis
/// keeps opens for the holder of the presented token and nobody else. Each presented token
/// rotates once, so each pad seals one secret.
fn seal(secret: &[u8; 32], presented_token: &str) -> [u8; 32] {
    let pad = Sha256::new()
        .chain_update(b"zhijian refresh grace\0")
        .chain_update(presented_token.as_bytes())
        .finalize();
    let mut sealed = *secret;
    for (byte, p) in sealed.iter_mut().zip(pad.iter()) {
        *byte ^= p;
    }
    sealed
}

/// The first rotation's answer, from its grace record.
fn unseal_replay(
    session_id: &str,
    presented_token: &str,
    sealed_hex: &str,
    issued_ms: &str,
) -> Option<(String, DateTime<Utc>)> {
    let sealed: [u8; 32] = hex::decode(sealed_hex).ok()?.try_into().ok()?;
    let secret = seal(&sealed, presented_token);
    let issued_at = DateTime::from_timestamp_millis(issued_ms.parse().ok()?)?;
    Some((refresh_token_of(session_id, &secret), issued_at))
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
    fn a_sealed_successor_opens_only_with_the_presented_token() {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let presented = new_refresh_token(&id);
        let (successor, secret) = new_refresh_token_with_secret(&id);
        let sealed = hex::encode(seal(&secret, &presented));
        assert!(!sealed.contains(&hex::encode(secret)));
        let (opened, issued_at) = unseal_replay(&id, &presented, &sealed, "1764842400123").unwrap();
        assert_eq!(opened, successor);
        assert_eq!(issued_at.timestamp_millis(), 1_764_842_400_123);
        let other = new_refresh_token(&id);
        let (wrong, _) = unseal_replay(&id, &other, &sealed, "1").unwrap();
        assert_ne!(wrong, successor);
        assert!(unseal_replay(&id, &presented, "zz", "1").is_none());
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
