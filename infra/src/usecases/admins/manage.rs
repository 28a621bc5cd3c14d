//! A manager's changes to an admin: display name, role and union (`update_admin`),
//! `disable_admin`, `enable_admin`, `reset_admin_password` — each one transaction, conditional
//! on the version the manager saw, audited before → after.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::Connection;
use diesel::pg::PgConnection;
use zhijian_domain::admin::AdminRole;
use zhijian_domain::admin_management::{Change, DisplayName, Granter, ManageRefusal, ManagedAdmin};
use zhijian_domain::ids::{AdminId, UnionId};

use super::{before_after, manager_actor};
use crate::crypto::password;
use crate::crypto::secret::Secret;
use crate::db::StoreError;
use crate::store::admin_accounts::{self, AccountChanges, AdminAccount};
use crate::store::audit::{self, AuditEntry};
use crate::usecases::Services;
use crate::usecases::auth::AuthContext;

/// Why a change to an admin was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManageAdminError {
    /// The rules refuse it (not a manager, outside the subtree, above rank, oneself, the last
    /// active manager).
    #[error(transparent)]
    Refused(ManageRefusal),
    /// No such admin.
    #[error("not found")]
    NotFound,
    /// The admin changed since the manager read them.
    #[error("stale")]
    Stale,
    /// Disabling an admin already disabled.
    #[error("already disabled")]
    AlreadyDisabled,
    /// Enabling an admin who is not disabled.
    #[error("not disabled")]
    NotDisabled,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The fields of a PATCH; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminUpdate {
    /// New display name.
    pub display_name: Option<DisplayName>,
    /// New role.
    pub role: Option<AdminRole>,
    /// New union.
    pub union_id: Option<UnionId>,
}

/// A password reset: the admin and the new one-time password, to show once.
#[derive(Debug)]
pub struct ResetDone {
    /// The admin after the reset.
    pub admin: AdminAccount,
    /// The new one-time password.
    pub one_time_password: Secret,
}

/// Changes the display name, role and/or union of admin `id`, seen at `version`. A new role or
/// union takes effect at the admin's next request.
pub async fn update_admin(
    ctx: &Services,
    granter: Granter,
    id: AdminId,
    version: i32,
    update: AdminUpdate,
) -> Result<AdminAccount, ManageAdminError> {
    let now = ctx.now().trunc_subsecs(6);
    crate::db::run(&ctx.pool, move |conn| {
        let new_union = match update.union_id {
            Some(union) => Some((
                union,
                admin_accounts::union_path(conn, union)?
                    .ok_or(ManageAdminError::Refused(ManageRefusal::OutsideSubtree))?,
            )),
            None => None,
        };
        let change = Change::Update {
            role: update.role,
            union: new_union,
        };
        let changes = AccountChanges {
            display_name: update.display_name.map(|n| n.as_str().to_owned()),
            role: update.role.map(|r| r.as_str().to_owned()),
            union_id: update.union_id.map(UnionId::get),
            ..AccountChanges::default()
        };
        apply(
            conn, &granter, id, version, &change, &changes, "update", now,
        )
    })
    .await
}

/// Disables admin `id`: they cannot sign in, and every session of theirs ends (at once in
/// Redis; at their next request in any case, since each request reads their standing).
pub async fn disable_admin(
    ctx: &AuthContext<'_>,
    granter: Granter,
    id: AdminId,
    version: i32,
) -> Result<AdminAccount, ManageAdminError> {
    let now = ctx.services.now().trunc_subsecs(6);
    let admin = crate::db::run(&ctx.services.pool, move |conn| {
        let changes = AccountChanges {
            disabled_at: Some(Some(now)),
            ..AccountChanges::default()
        };
        apply(
            conn,
            &granter,
            id,
            version,
            &Change::Disable,
            &changes,
            "disable",
            now,
        )
    })
    .await?;
    end_sessions(ctx, id).await;
    Ok(admin)
}

/// Enables a disabled admin: they may sign in again (their old sessions ended at the disable).
pub async fn enable_admin(
    ctx: &Services,
    granter: Granter,
    id: AdminId,
    version: i32,
) -> Result<AdminAccount, ManageAdminError> {
    let now = ctx.now().trunc_subsecs(6);
    crate::db::run(&ctx.pool, move |conn| {
        let changes = AccountChanges {
            disabled_at: Some(None),
            ..AccountChanges::default()
        };
        apply(
            conn,
            &granter,
            id,
            version,
            &Change::Enable,
            &changes,
            "enable",
            now,
        )
    })
    .await
}

/// Gives admin `id` a new one-time password, to be changed at their next sign-in; lifts a
/// sign-in lock and ends their sessions.
pub async fn reset_admin_password(
    ctx: &AuthContext<'_>,
    granter: Granter,
    id: AdminId,
    version: i32,
) -> Result<ResetDone, ManageAdminError> {
    let now = ctx.services.now().trunc_subsecs(6);
    let otp = password::generate_one_time_password();
    let clear = otp.clone();
    let admin = crate::db::run(&ctx.services.pool, move |conn| {
        // hashed on the blocking thread (argon2 takes tens of milliseconds)
        let hash = password::hash_password(&clear)
            .map_err(|e| StoreError::broken(format!("hashing a password: {e}")))?;
        let changes = AccountChanges {
            password_hash: Some(hash),
            must_change_password: Some(true),
            password_changed_at: Some(now),
            failed_logins: Some(0),
            locked_until: Some(None),
            ..AccountChanges::default()
        };
        let change = Change::ResetPassword;
        apply(
            conn,
            &granter,
            id,
            version,
            &change,
            &changes,
            "reset_password",
            now,
        )
    })
    .await?;
    end_sessions(ctx, id).await;
    Ok(ResetDone {
        admin,
        one_time_password: Secret::new(otp),
    })
}

/// Ends every session of admin `id`. Best effort: a disabled admin's tokens are refused at
/// their next request anyway, and a reset admin's are held to the self routes.
async fn end_sessions(ctx: &AuthContext<'_>, id: AdminId) {
    if let Err(e) = ctx
        .sessions()
        .end_admin_sessions(&id.to_string(), None)
        .await
    {
        log::warn!("admin {id}: sessions not ended in Redis: {e}");
    }
}

/// One change: the target held, the rules decided, the conditional write, the audit row.
#[expect(
    clippy::too_many_arguments,
    reason = "who, whom, at which version, what, when"
)]
fn apply(
    conn: &mut PgConnection,
    granter: &Granter,
    id: AdminId,
    version: i32,
    change: &Change,
    changes: &AccountChanges,
    action: &'static str,
    now: DateTime<Utc>,
) -> Result<AdminAccount, ManageAdminError> {
    conn.transaction(|conn| {
        let before = admin_accounts::find(conn, id, true)?.ok_or(ManageAdminError::NotFound)?;
        granter
            .reaches(&before.union_path)
            .map_err(ManageAdminError::Refused)?;
        if before.version != version {
            return Err(ManageAdminError::Stale);
        }
        match (change, before.disabled_at.is_some()) {
            (Change::Disable, true) => return Err(ManageAdminError::AlreadyDisabled),
            (Change::Enable, false) => return Err(ManageAdminError::NotDisabled),
            _ => {}
        }
        let target = ManagedAdmin {
            id: before.id,
            role: before.role,
            union_id: before.union_id,
            active: before.disabled_at.is_none(),
        };
        let others = if target.active && target.role == AdminRole::Manager {
            admin_accounts::other_active_managers(conn, before.union_id, before.id)?
        } else {
            0
        };
        zhijian_domain::admin_management::decide(
            granter,
            &target,
            &before.union_path,
            change,
            others,
        )
        .map_err(ManageAdminError::Refused)?;
        if !admin_accounts::update(conn, id, version, changes, now)? {
            return Err(ManageAdminError::Stale);
        }
        let after = admin_accounts::find(conn, id, false)?.ok_or(ManageAdminError::NotFound)?;
        audit::record(
            conn,
            &AuditEntry {
                at: now,
                actor: &manager_actor(granter),
                object_kind: "admin",
                object_id: id.to_string(),
                action,
                reason: Some(before_after(Some(&before), &after)),
            },
        )?;
        log::info!(admin_id:% = id, action = action, version = after.version; "admin changed");
        Ok(after)
    })
}
