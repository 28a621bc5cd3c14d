//! Password sign-in of a union admin, with the lockout.

use chrono::{DateTime, Utc};

use crate::db::{self, StoreError};
use crate::redis::RedisUnavailable;
use crate::redis::sessions::{AdminScope, SessionKind, UnknownAdminLogins};
use crate::store::admins::{self, AdminRecord, LoginOutcome};
use crate::usecases::auth::{AuthContext, SignedIn, start_session};

/// An admin signed in: who, and the session.
#[derive(Debug)]
pub struct AdminSignedIn {
    /// The admin and the union their role is bound to.
    pub admin: AdminRecord,
    /// The session.
    pub signed_in: SignedIn,
}

/// Why an admin was not signed in. An unknown username is answered exactly like a wrong
/// password, lockout included.
#[derive(Debug, thiserror::Error)]
pub enum AdminLoginError {
    /// Wrong username or password.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failures: locked for this many more seconds (at least 1).
    #[error("locked for {retry_after_secs} s")]
    Locked {
        /// Seconds until the lock ends.
        retry_after_secs: u64,
    },
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Redis is down.
    #[error(transparent)]
    Redis(#[from] RedisUnavailable),
}

/// Checks `password` for `username` (as typed) and starts an admin session scoped to the
/// admin's union.
pub async fn admin_login(
    ctx: &AuthContext<'_>,
    username: String,
    password: String,
) -> Result<AdminSignedIn, AdminLoginError> {
    let admin = authenticate(ctx, username, password).await?;
    log::info!(
        "admin signed in (admin_id: {}, union_id: {})",
        admin.id,
        admin.union_id
    );
    let scope = AdminScope {
        role: admin.role,
        union_id: admin.union_id,
        union_path: admin.union_path.clone(),
    };
    let signed_in =
        start_session(ctx, SessionKind::Admin, admin.id.to_string(), Some(scope)).await?;
    Ok(AdminSignedIn { admin, signed_in })
}

async fn authenticate(
    ctx: &AuthContext<'_>,
    typed: String,
    password: String,
) -> Result<AdminRecord, AdminLoginError> {
    let username = admins::normalise_username(&typed);
    let now = ctx.services.now();
    let outcome = db::run(&ctx.services.pool, move |conn| {
        admins::attempt_login(conn, &typed, &password, now)
    })
    .await?;
    let lock = admins::LOCKOUT.to_std().unwrap_or_default();
    let unknown =
        UnknownAdminLogins::new(ctx.redis, admins::MAX_FAILED_LOGINS.unsigned_abs(), lock);
    let locked = |retry_after_secs| AdminLoginError::Locked { retry_after_secs };
    match outcome {
        LoginOutcome::Success(admin) => Ok(admin),
        LoginOutcome::WrongPassword { locked_until: None } => {
            Err(AdminLoginError::InvalidCredentials)
        }
        LoginOutcome::WrongPassword {
            locked_until: Some(until),
        }
        | LoginOutcome::Locked { until } => Err(locked(seconds_until(until, now))),
        LoginOutcome::UnknownUser => {
            if let Some(seconds) = unknown.locked_for(&username).await? {
                return Err(locked(seconds));
            }
            match unknown.record_failure(&username).await? {
                Some(seconds) => Err(locked(seconds)),
                None => Err(AdminLoginError::InvalidCredentials),
            }
        }
    }
}

fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((until - now).num_seconds())
        .unwrap_or(0)
        .max(1)
}
