//! Password sign-in of a union admin, with the lockout.

use std::time::Duration;

use chrono::{DateTime, Utc};
use zhijian_domain::second_factor::CHALLENGE_TTL_SECS;

use crate::db::{self, StoreError};
use crate::redis::RedisUnavailable;
use crate::redis::login_challenges::LoginChallenges;
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

/// What a right password leads to.
#[derive(Debug)]
pub enum AdminLogin {
    /// Signed in (the admin has no second factor).
    SignedIn(Box<AdminSignedIn>),
    /// The admin has a confirmed second factor: complete the sign-in with a code and this
    /// challenge (`crate::usecases::auth::second_factor::complete_admin_login`).
    SecondFactorRequired(LoginChallenge),
}

/// A sign-in waiting for its second factor.
pub struct LoginChallenge {
    /// The challenge (secret: give it to the client once).
    pub challenge: String,
    /// Seconds it stays valid.
    pub expires_in: u64,
}

impl std::fmt::Debug for LoginChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginChallenge")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Checks `password` for `username` (as typed) and starts an admin session scoped to the
/// admin's union — or, for an admin with a second factor, issues the challenge the code
/// completes.
pub async fn admin_login(
    ctx: &AuthContext<'_>,
    username: String,
    password: String,
) -> Result<AdminLogin, AdminLoginError> {
    match authenticate(ctx, username, password).await? {
        Password::Complete(admin) => {
            Ok(AdminLogin::SignedIn(Box::new(signed_in(ctx, admin).await?)))
        }
        Password::SecondFactor(admin) => {
            let ttl = Duration::from_secs(CHALLENGE_TTL_SECS);
            let challenge = LoginChallenges::new(ctx.redis, ttl)
                .issue(admin.id, ctx.services.now())
                .await?;
            log::info!(
                "admin password accepted, second factor awaited (admin_id: {})",
                admin.id
            );
            Ok(AdminLogin::SecondFactorRequired(LoginChallenge {
                challenge,
                expires_in: CHALLENGE_TTL_SECS,
            }))
        }
    }
}

/// Starts the session of `admin`, whose sign-in is complete.
pub(crate) async fn signed_in(
    ctx: &AuthContext<'_>,
    admin: AdminRecord,
) -> Result<AdminSignedIn, RedisUnavailable> {
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

enum Password {
    Complete(AdminRecord),
    SecondFactor(AdminRecord),
}

async fn authenticate(
    ctx: &AuthContext<'_>,
    typed: String,
    password: String,
) -> Result<Password, AdminLoginError> {
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
        LoginOutcome::Success(admin) => Ok(Password::Complete(admin)),
        LoginOutcome::SecondFactorRequired(admin) => Ok(Password::SecondFactor(admin)),
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

pub(crate) fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((until - now).num_seconds())
        .unwrap_or(0)
        .max(1)
}
