//! The admins' second factor (TOTP, RFC 6238): enrolment (start, then confirm with a first
//! code, which answers ten single-use recovery codes), removal (reviewers and viewers only,
//! with a current code), the second step of a sign-in, and the standing the admin extractor
//! gates managers on (`zhijian_domain::second_factor::mandatory_for`).
//!
//! The secret is sealed with the PII cipher (context
//! `crate::store::second_factors::SECRET_CONTEXT`); recovery codes are kept as HMAC-SHA256
//! under the blind-index key, bound to the admin. A code is accepted once per time step (the
//! last accepted step is stored); a wrong or replayed code, or a wrong recovery code, at the
//! sign-in counts toward the same lock as a wrong password. Audit rows name the action, never a
//! secret or a code; nothing here logs one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::Connection as _;
use diesel::pg::PgConnection;
use zhijian_domain::ids::AdminId;
use zhijian_domain::second_factor::{
    CHALLENGE_TTL_SECS, RECOVERY_CODES, RecoveryCode, TotpCode, fresh_step, removable_by,
};

use crate::crypto::pii::PiiCipher;
use crate::crypto::totp::{self, TotpSecret};
use crate::db::{self, StoreError};
use crate::redis::RedisUnavailable;
use crate::redis::login_challenges::LoginChallenges;
use crate::store::admins::{self, AdminRecord};
use crate::store::second_factors::{self as factors, LoginStanding, SECRET_CONTEXT};
use crate::usecases::Services;
use crate::usecases::auth::AuthContext;
use crate::usecases::auth::admin_login::{AdminSignedIn, seconds_until, signed_in};
use crate::usecases::store_errors;

/// A started enrolment: what the admin's authenticator app needs (secret: shown once).
pub struct Enrolment {
    /// The secret.
    pub secret: TotpSecret,
    /// `otpauth://totp/zhijian:<username>?secret=…&issuer=zhijian…`.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment { .. }")
    }
}

/// Why an enrolment did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartEnrolmentError {
    /// The admin already has a confirmed factor.
    #[error("second factor already enrolled")]
    AlreadyEnrolled,
    /// The admin no longer exists.
    #[error("admin not found")]
    AdminGone,
    /// Storage (or sealing) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an enrolment was not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmEnrolmentError {
    /// No enrolment was started.
    #[error("no enrolment started")]
    NotStarted,
    /// The factor is already confirmed.
    #[error("second factor already enrolled")]
    AlreadyEnrolled,
    /// The code does not match the pending secret now.
    #[error("wrong code")]
    WrongCode,
    /// The admin no longer exists.
    #[error("admin not found")]
    AdminGone,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a factor was not removed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveSecondFactorError {
    /// The admin has no confirmed factor.
    #[error("no second factor")]
    NotEnrolled,
    /// Managers must keep theirs.
    #[error("second factor mandatory for this role")]
    Mandatory,
    /// The code does not match now.
    #[error("wrong code")]
    WrongCode,
    /// The code of this time step was already used.
    #[error("code already used")]
    CodeReused,
    /// Too many failures: locked for this many more seconds (at least 1).
    #[error("locked for {retry_after_secs} s")]
    Locked {
        /// Seconds until the lock ends.
        retry_after_secs: u64,
    },
    /// The admin no longer exists (or was disabled).
    #[error("admin not found")]
    AdminGone,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What completes a sign-in: a current code, or one of the recovery codes.
#[derive(Debug, Clone)]
pub enum SecondStepProof {
    /// A code of the authenticator app.
    Code(TotpCode),
    /// A recovery code (spent by this use).
    Recovery(RecoveryCode),
}

/// Why the second step of a sign-in failed. Every variant but `InvalidChallenge`, `Store` and
/// `Redis` was counted toward the lock.
#[derive(Debug, thiserror::Error)]
pub enum SecondStepError {
    /// Unknown, expired or spent challenge (or the admin's factor is gone): sign in again.
    #[error("invalid sign-in challenge")]
    InvalidChallenge,
    /// The code does not match.
    #[error("wrong code")]
    WrongCode,
    /// The code of this time step was already used.
    #[error("code already used")]
    CodeReused,
    /// No unused recovery code matches.
    #[error("wrong or used recovery code")]
    WrongRecoveryCode,
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

store_errors!(
    StartEnrolmentError,
    ConfirmEnrolmentError,
    RemoveSecondFactorError
);

/// Starts (or restarts, before confirmation) the enrolment of `admin`: a new secret, sealed
/// and stored pending, answered with its URI and QR code.
pub async fn start_enrolment(
    services: &Services,
    admin: AdminId,
) -> Result<Enrolment, StartEnrolmentError> {
    let now = services.now();
    let pii = services.pii.clone();
    let secret = TotpSecret::generate();
    let sealed = seal(&pii, &secret)?;
    let record = db::run(&services.pool, move |conn| {
        conn.transaction(|conn| {
            let record = admins::find(conn, admin)?.ok_or(StartEnrolmentError::AdminGone)?;
            if !factors::put_pending(conn, admin, &sealed, now)? {
                return Err(StartEnrolmentError::AlreadyEnrolled);
            }
            let action = "second_factor_enrolment_started";
            factors::audit(conn, now, admin, record.role, record.union_id, action)?;
            Ok(record)
        })
    })
    .await?;
    let otpauth_uri = secret.otpauth_uri(&record.username);
    let qr_svg = totp::qr_svg(&otpauth_uri).map_err(StoreError::broken)?;
    log::info!("second factor enrolment started (admin_id: {admin})");
    Ok(Enrolment {
        secret,
        otpauth_uri,
        qr_svg,
    })
}

/// Confirms the pending enrolment of `admin` with a first `code`; answers the ten recovery
/// codes (the only time they exist in clear).
pub async fn confirm_enrolment(
    services: &Services,
    admin: AdminId,
    code: TotpCode,
) -> Result<Vec<RecoveryCode>, ConfirmEnrolmentError> {
    let now = services.now();
    let pii = services.pii.clone();
    let codes: Vec<RecoveryCode> = (0..RECOVERY_CODES)
        .map(|_| totp::generate_recovery_code())
        .collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| recovery_hash(&pii, admin, c))
        .collect();
    db::run(&services.pool, move |conn| {
        conn.transaction(|conn| {
            let record = admins::find(conn, admin)?.ok_or(ConfirmEnrolmentError::AdminGone)?;
            let factor = factors::factor_for_update(conn, admin)?
                .ok_or(ConfirmEnrolmentError::NotStarted)?;
            if factor.confirmed_at.is_some() {
                return Err(ConfirmEnrolmentError::AlreadyEnrolled);
            }
            let secret = open(&pii, &factor.secret_cipher)?;
            let step =
                matching_step(&secret, &code, now)?.ok_or(ConfirmEnrolmentError::WrongCode)?;
            factors::confirm(conn, admin, step_i64(step)?, &hashes, now)?;
            let action = "second_factor_confirmed";
            factors::audit(conn, now, admin, record.role, record.union_id, action)?;
            Ok(())
        })
    })
    .await?;
    log::info!("second factor confirmed (admin_id: {admin})");
    Ok(codes)
}

/// Removes the factor of `admin` (a reviewer or viewer), proven by a current `code`. A wrong
/// or replayed code counts toward the same lock as a wrong password (a stolen session cannot
/// try codes), and a locked admin is refused.
pub async fn remove_second_factor(
    services: &Services,
    admin: AdminId,
    code: TotpCode,
) -> Result<(), RemoveSecondFactorError> {
    let now = services.now();
    let pii = services.pii.clone();
    // The inner result: a refusal that counted is committed, so it is an outcome.
    db::run(&services.pool, move |conn| {
        conn.transaction(|conn| removal(conn, &pii, admin, &code, now))
    })
    .await??;
    log::info!("second factor removed (admin_id: {admin})");
    Ok(())
}

fn removal(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    admin: AdminId,
    code: &TotpCode,
    now: DateTime<Utc>,
) -> Result<Result<(), RemoveSecondFactorError>, StoreError> {
    let Some(standing) = factors::standing_for_update(conn, admin)?.filter(|s| !s.disabled) else {
        return Ok(Err(RemoveSecondFactorError::AdminGone));
    };
    if let Some(until) = standing.locked_until.filter(|until| *until > now) {
        return Ok(Err(RemoveSecondFactorError::Locked {
            retry_after_secs: seconds_until(until, now),
        }));
    }
    let Some(factor) =
        factors::factor_for_update(conn, admin)?.filter(|f| f.confirmed_at.is_some())
    else {
        return Ok(Err(RemoveSecondFactorError::NotEnrolled));
    };
    if !removable_by(standing.role) {
        return Ok(Err(RemoveSecondFactorError::Mandatory));
    }
    let secret = open(pii, &factor.secret_cipher)?;
    let refused = match matching_step(&secret, code, now)? {
        None => RemoveSecondFactorError::WrongCode,
        Some(step) if !fresh_step(step, last_used(factor.last_used_step)) => {
            RemoveSecondFactorError::CodeReused
        }
        Some(_) => {
            factors::remove(conn, admin)?;
            admins::reset_failures(conn, admin)?;
            let action = "second_factor_removed";
            factors::audit(conn, now, admin, standing.role, standing.union_id, action)?;
            return Ok(Ok(()));
        }
    };
    Ok(Err(
        match count_code_failure(conn, admin, &standing, now)? {
            Some(until) => RemoveSecondFactorError::Locked {
                retry_after_secs: seconds_until(until, now),
            },
            None => refused,
        },
    ))
}

/// Enrols `admin` with a known `secret`, confirmed at once and without recovery codes, unless
/// the admin already has a confirmed factor (then nothing is written: `false`). For the demo
/// seed only (`zhijian-dev seed-demo`), whose managers must sign in with a code the tests and
/// the walkthroughs can compute; runs inside the caller's transaction.
pub fn enrol_known_secret(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    admin: AdminId,
    secret: &TotpSecret,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    if factors::is_enrolled(conn, admin)? {
        return Ok(false);
    }
    let sealed = seal(pii, secret)?;
    if !factors::put_pending(conn, admin, &sealed, now)? {
        return Ok(false);
    }
    // Step 0 (1970): every real code is fresh after it.
    factors::confirm(conn, admin, 0, &[], now)?;
    Ok(true)
}

/// The second step of a sign-in: `challenge` (from the password step) and a code or recovery
/// code; starts the session. Failures count toward the lock. The challenge is taken out of
/// Redis for the attempt, so two concurrent attempts never both act on it (the second is told
/// to sign in again, and spends nothing); an attempt that does not complete the sign-in puts
/// it back for another try until it expires.
pub async fn complete_admin_login(
    ctx: &AuthContext<'_>,
    challenge: String,
    proof: SecondStepProof,
) -> Result<AdminSignedIn, SecondStepError> {
    let now = ctx.services.now();
    let challenges = LoginChallenges::new(ctx.redis, Duration::from_secs(CHALLENGE_TTL_SECS));
    let taken = challenges
        .take(&challenge, now)
        .await?
        .ok_or(SecondStepError::InvalidChallenge)?;
    let pii = ctx.services.pii.clone();
    let admin = taken.admin;
    let outcome = db::run(&ctx.services.pool, move |conn| {
        conn.transaction(|conn| second_step(conn, &pii, admin, &proof, now))
    })
    .await;
    let result = match outcome {
        Ok(Step::Passed(record)) => signed_in(ctx, record).await.map_err(SecondStepError::from),
        Ok(Step::Failed(SecondStepError::InvalidChallenge)) => {
            return Err(SecondStepError::InvalidChallenge);
        }
        Ok(Step::Failed(error)) => Err(error),
        Err(error) => Err(SecondStepError::Store(error)),
    };
    if result.is_err() {
        // Best effort: with Redis down the admin signs in again with the password.
        if let Err(e) = challenges.restore(&challenge, taken, now).await {
            log::warn!("a sign-in challenge could not be put back: {e}");
        }
    }
    result
}

/// What the transaction of the second step came to: a failure is committed (it counts), so it
/// is an outcome of the transaction, not its error.
enum Step {
    Passed(AdminRecord),
    Failed(SecondStepError),
}

fn second_step(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    admin: AdminId,
    proof: &SecondStepProof,
    now: DateTime<Utc>,
) -> Result<Step, StoreError> {
    // Gone, or disabled since the password step: the challenge no longer opens a session.
    let Some(standing) = factors::standing_for_update(conn, admin)?.filter(|s| !s.disabled) else {
        return Ok(Step::Failed(SecondStepError::InvalidChallenge));
    };
    let audit = |conn: &mut PgConnection, action| {
        factors::audit(conn, now, admin, standing.role, standing.union_id, action)
    };
    if let Some(until) = standing.locked_until.filter(|until| *until > now) {
        audit(conn, "login_refused_locked")?;
        return Ok(Step::Failed(SecondStepError::Locked {
            retry_after_secs: seconds_until(until, now),
        }));
    }
    let Some(factor) =
        factors::factor_for_update(conn, admin)?.filter(|f| f.confirmed_at.is_some())
    else {
        return Ok(Step::Failed(SecondStepError::InvalidChallenge));
    };
    let refused = match proof {
        SecondStepProof::Code(code) => {
            let secret = open(pii, &factor.secret_cipher)?;
            match matching_step(&secret, code, now)? {
                None => Some(SecondStepError::WrongCode),
                Some(step) if !fresh_step(step, last_used(factor.last_used_step)) => {
                    Some(SecondStepError::CodeReused)
                }
                Some(step) => {
                    factors::mark_step_used(conn, admin, step_i64(step)?, now)?;
                    None
                }
            }
        }
        SecondStepProof::Recovery(code) => {
            let hash = recovery_hashes(pii, admin, code);
            if factors::spend_recovery_code(conn, admin, &hash, now)? {
                audit(conn, "recovery_code_used")?;
                None
            } else {
                Some(SecondStepError::WrongRecoveryCode)
            }
        }
    };
    if let Some(error) = refused {
        return failure(conn, admin, &standing, error, now);
    }
    admins::reset_failures(conn, admin)?;
    audit(conn, "login")?;
    let record = admins::find(conn, admin)?.ok_or(StoreError::NotFound)?;
    Ok(Step::Passed(record))
}

fn failure(
    conn: &mut PgConnection,
    admin: AdminId,
    standing: &LoginStanding,
    error: SecondStepError,
    now: DateTime<Utc>,
) -> Result<Step, StoreError> {
    let locked_until = count_code_failure(conn, admin, standing, now)?;
    Ok(Step::Failed(match locked_until {
        Some(until) => SecondStepError::Locked {
            retry_after_secs: seconds_until(until, now),
        },
        None => error,
    }))
}

/// A wrong or replayed code (or recovery code) counts like a wrong password, with the same
/// counter and audit row: see [`admins::count_failure`].
fn count_code_failure(
    conn: &mut PgConnection,
    admin: AdminId,
    standing: &LoginStanding,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    admins::count_failure(
        conn,
        admin,
        standing.union_id,
        standing.failed_logins,
        now,
        "login_second_factor_failed",
    )
}

fn seal(pii: &PiiCipher, secret: &TotpSecret) -> Result<String, StoreError> {
    pii.encrypt(secret.expose_base32(), SECRET_CONTEXT)
        .map(|sealed| sealed.to_string())
        .map_err(|e| StoreError::broken(format!("cannot seal a TOTP secret: {e}")))
}

fn open(pii: &PiiCipher, sealed: &str) -> Result<TotpSecret, StoreError> {
    let text = pii
        .decrypt(sealed, SECRET_CONTEXT)
        .map_err(|e| StoreError::broken(format!("cannot open a TOTP secret: {e}")))?;
    TotpSecret::from_base32(&text)
        .map_err(|e| StoreError::broken(format!("stored TOTP secret: {e}")))
}

fn matching_step(
    secret: &TotpSecret,
    code: &TotpCode,
    now: DateTime<Utc>,
) -> Result<Option<u64>, StoreError> {
    let unix = u64::try_from(now.timestamp())
        .map_err(|_| StoreError::broken("the clock is before 1970"))?;
    secret
        .matching_step(code, unix)
        .map_err(|e| StoreError::broken(format!("stored TOTP secret: {e}")))
}

fn last_used(step: Option<i64>) -> Option<u64> {
    step.and_then(|s| u64::try_from(s).ok())
}

fn step_i64(step: u64) -> Result<i64, StoreError> {
    i64::try_from(step).map_err(|_| StoreError::broken("TOTP step out of range"))
}

/// The keyed hash of a recovery code of `admin` (HMAC-SHA256 under the blind-index key): a
/// leaked table cannot be searched for codes without the key, and a code of one admin is
/// nothing for another.
fn recovery_hash(pii: &PiiCipher, admin: AdminId, code: &RecoveryCode) -> String {
    pii.blind_index(
        "admin_recovery_code",
        &format!("{admin}:{}", code.normalised()),
    )
}

/// [`recovery_hash`] under every blind-index key: codes issued before a rotation still work.
fn recovery_hashes(pii: &PiiCipher, admin: AdminId, code: &RecoveryCode) -> Vec<String> {
    pii.blind_indexes(
        "admin_recovery_code",
        &format!("{admin}:{}", code.normalised()),
    )
}
