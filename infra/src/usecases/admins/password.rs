//! `change_own_password`: an admin replaces their password (a one-time one, or any), giving
//! the current one. A wrong current password counts toward the sign-in lockout.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::Connection;
use zhijian_domain::admin_management::{NewPassword, WeakPassword};
use zhijian_domain::ids::AdminId;

use super::{before_after, locked};
use crate::crypto::password::{self, Zxcvbn};
use crate::db::StoreError;
use crate::redis::RedisUnavailable;
use crate::store::admin_accounts::{self, AccountChanges};
use crate::store::admins;
use crate::store::audit::{self, Actor, AuditEntry};
use crate::usecases::auth::AuthContext;

/// Why the password was not changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// The current password is wrong (counted toward the lockout).
    #[error("wrong current password")]
    WrongCurrent,
    /// Locked by failed checks: for this many more seconds (at least 1).
    #[error("locked for {retry_after_secs} s")]
    Locked {
        /// Seconds until the lock ends.
        retry_after_secs: u64,
    },
    /// The new password misses the policy.
    #[error(transparent)]
    Weak(WeakPassword),
    /// The admin is gone.
    #[error("not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Redis is down (the password was changed; other sessions may live on).
    #[error(transparent)]
    Redis(#[from] RedisUnavailable),
}

enum Checked {
    Changed,
    Wrong { locked_until: Option<DateTime<Utc>> },
    Locked(DateTime<Utc>),
}

/// Changes admin `id`'s password from `current` to `new` (checked against the policy, with
/// the username and display name as words it must not lean on); clears "must change
/// password" and ends the admin's other sessions (`session_id` is kept).
pub async fn change_own_password(
    ctx: &AuthContext<'_>,
    id: AdminId,
    session_id: &str,
    current: String,
    new: String,
) -> Result<(), ChangePasswordError> {
    let now = ctx.services.now().trunc_subsecs(6);
    let checked = crate::db::run(&ctx.services.pool, move |conn| {
        conn.transaction(|conn| {
            let before =
                admin_accounts::find(conn, id, true)?.ok_or(ChangePasswordError::NotFound)?;
            let inputs = [before.username.as_str(), before.display_name.as_str()];
            let new =
                NewPassword::parse(&new, &inputs, &Zxcvbn).map_err(ChangePasswordError::Weak)?;
            let (hash, failures, lock) =
                admin_accounts::password_state(conn, id)?.ok_or(ChangePasswordError::NotFound)?;
            if let Some(until) = locked(lock, now) {
                password::verify_against_dummy(&current);
                return Ok(Checked::Locked(until));
            }
            if !password::verify_password(&current, &hash) {
                let locked_until = admins::count_failure(
                    conn,
                    id,
                    before.union_id,
                    failures,
                    now,
                    "password_change_failed",
                )?;
                return Ok(Checked::Wrong { locked_until });
            }
            if password::verify_password(new.expose(), &hash) {
                return Err(ChangePasswordError::Weak(WeakPassword::Unchanged));
            }
            let hash = password::hash_password(new.expose())
                .map_err(|e| StoreError::broken(format!("hashing a password: {e}")))?;
            let changes = AccountChanges {
                password_hash: Some(hash),
                must_change_password: Some(false),
                password_changed_at: Some(now),
                failed_logins: Some(0),
                locked_until: Some(None),
                ..AccountChanges::default()
            };
            admin_accounts::update(conn, id, before.version, &changes, now)?;
            let after =
                admin_accounts::find(conn, id, false)?.ok_or(ChangePasswordError::NotFound)?;
            audit::record(
                conn,
                &AuditEntry {
                    at: now,
                    actor: &Actor {
                        kind: "admin",
                        id: Some(id.to_string()),
                        role: Some(before.role.as_str()),
                        union_id: Some(before.union_id.get()),
                    },
                    object_kind: "admin",
                    object_id: id.to_string(),
                    action: "change_password",
                    reason: Some(before_after(Some(&before), &after)),
                },
            )?;
            Ok(Checked::Changed)
        })
    })
    .await?;
    match checked {
        Checked::Changed => {
            // The password is changed (committed): ending the other sessions is best effort, as
            // for a disable or a reset — a 503 now would tell the admin it was not.
            match ctx
                .sessions()
                .end_admin_sessions(&id.to_string(), Some(session_id))
                .await
            {
                Ok(ended) => log::info!(
                    admin_id:% = id, other_sessions_ended = ended; "admin changed their password"
                ),
                Err(e) => log::warn!(
                    "admin {id} changed their password; other sessions not ended in Redis: {e}"
                ),
            }
            Ok(())
        }
        Checked::Wrong { locked_until: None } => Err(ChangePasswordError::WrongCurrent),
        Checked::Wrong {
            locked_until: Some(until),
        }
        | Checked::Locked(until) => Err(ChangePasswordError::Locked {
            retry_after_secs: crate::usecases::auth::admin_login::seconds_until(until, now),
        }),
    }
}
