//! The admins' second factor (`admin_second_factors`, `admin_recovery_codes`): the sealed TOTP
//! secret, its confirmation, the last time step a code was accepted for, the hashed single-use
//! recovery codes, and the sign-in failure counter of the second step (the same
//! `admins.failed_logins` / `locked_until` as wrong passwords, see `crate::store::admins`).
//!
//! Functions take `&mut PgConnection` and compose inside the use case's transaction
//! (`crate::usecases::auth::second_factor`), which seals, opens and checks the codes. Audit
//! rows name the action only: never a secret, a code or a hash.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use zhijian_domain::admin::AdminRole;
use zhijian_domain::ids::{AdminId, UnionId};

use crate::db::StoreError;
use crate::db::schema::{admin_recovery_codes, admin_second_factors, admins, audit_log};

/// The associated data the secret is sealed with (`crate::crypto::pii`).
pub const SECRET_CONTEXT: &str = "admin_second_factors.secret";

/// An admin's factor as stored.
#[derive(Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = admin_second_factors)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct FactorRow {
    /// The sealed base32 secret.
    pub secret_cipher: String,
    /// When the first code confirmed it; `None` while pending.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The time step of the last accepted code.
    pub last_used_step: Option<i64>,
}

impl std::fmt::Debug for FactorRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactorRow")
            .field("confirmed_at", &self.confirmed_at)
            .field("last_used_step", &self.last_used_step)
            .finish_non_exhaustive()
    }
}

/// Whether admin `admin` has a confirmed factor.
pub fn is_enrolled(conn: &mut PgConnection, admin: AdminId) -> Result<bool, StoreError> {
    let confirmed: Option<Option<DateTime<Utc>>> = admin_second_factors::table
        .find(admin.as_uuid())
        .select(admin_second_factors::confirmed_at)
        .first(conn)
        .optional()?;
    Ok(matches!(confirmed, Some(Some(_))))
}

/// The factor of `admin`, its row locked for the rest of the transaction.
pub fn factor_for_update(
    conn: &mut PgConnection,
    admin: AdminId,
) -> Result<Option<FactorRow>, StoreError> {
    Ok(admin_second_factors::table
        .find(admin.as_uuid())
        .select(FactorRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

/// Stores a pending (unconfirmed) factor with `secret_cipher`, replacing a pending one.
/// Returns `false`, writing nothing, when the admin's factor is already confirmed.
pub fn put_pending(
    conn: &mut PgConnection,
    admin: AdminId,
    secret_cipher: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let inserted = diesel::insert_into(admin_second_factors::table)
        .values((
            admin_second_factors::admin_id.eq(admin.as_uuid()),
            admin_second_factors::secret_cipher.eq(secret_cipher),
            admin_second_factors::created_at.eq(now),
            admin_second_factors::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if inserted == 1 {
        return Ok(true);
    }
    let written = diesel::update(
        admin_second_factors::table
            .find(admin.as_uuid())
            .filter(admin_second_factors::confirmed_at.is_null()),
    )
    .set((
        admin_second_factors::secret_cipher.eq(secret_cipher),
        admin_second_factors::last_used_step.eq(None::<i64>),
        admin_second_factors::created_at.eq(now),
        admin_second_factors::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(written == 1)
}

/// Confirms the factor of `admin` with a code of time step `step`, and replaces its recovery
/// codes by `recovery_hashes`.
pub fn confirm(
    conn: &mut PgConnection,
    admin: AdminId,
    step: i64,
    recovery_hashes: &[String],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(admin_second_factors::table.find(admin.as_uuid()))
        .set((
            admin_second_factors::confirmed_at.eq(now),
            admin_second_factors::last_used_step.eq(step),
            admin_second_factors::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::delete(
        admin_recovery_codes::table.filter(admin_recovery_codes::admin_id.eq(admin.as_uuid())),
    )
    .execute(conn)?;
    let rows: Vec<_> = recovery_hashes
        .iter()
        .map(|hash| {
            (
                admin_recovery_codes::admin_id.eq(admin.as_uuid()),
                admin_recovery_codes::code_hash.eq(hash),
                admin_recovery_codes::created_at.eq(now),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(admin_recovery_codes::table)
            .values(&rows)
            .execute(conn)?;
    }
    Ok(())
}

/// Records that a code of time step `step` was accepted.
pub fn mark_step_used(
    conn: &mut PgConnection,
    admin: AdminId,
    step: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(admin_second_factors::table.find(admin.as_uuid()))
        .set((
            admin_second_factors::last_used_step.eq(step),
            admin_second_factors::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Spends the unused recovery code of `admin` whose hash is `hash`; `false` when there is none
/// (wrong, or already used).
pub fn spend_recovery_code(
    conn: &mut PgConnection,
    admin: AdminId,
    hash: &[String],
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let spent = diesel::update(
        admin_recovery_codes::table
            .filter(admin_recovery_codes::admin_id.eq(admin.as_uuid()))
            .filter(admin_recovery_codes::code_hash.eq_any(hash))
            .filter(admin_recovery_codes::used_at.is_null()),
    )
    .set(admin_recovery_codes::used_at.eq(now))
    .execute(conn)?;
    Ok(spent == 1)
}

/// Removes the factor of `admin` and its recovery codes.
pub fn remove(conn: &mut PgConnection, admin: AdminId) -> Result<(), StoreError> {
    diesel::delete(
        admin_recovery_codes::table.filter(admin_recovery_codes::admin_id.eq(admin.as_uuid())),
    )
    .execute(conn)?;
    diesel::delete(admin_second_factors::table.find(admin.as_uuid())).execute(conn)?;
    Ok(())
}

/// The sign-in standing of an admin at the second step, read with the admin's row locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginStanding {
    /// Consecutive failures so far (passwords and codes).
    pub failed_logins: i32,
    /// End of a lock, if one was set.
    pub locked_until: Option<DateTime<Utc>>,
    /// The admin's role.
    pub role: AdminRole,
    /// The union the role is bound to.
    pub union_id: UnionId,
    /// Disabled since the password step: the sign-in does not complete.
    pub disabled: bool,
}

/// The standing of `admin`, its row locked (concurrent attempts are counted exactly).
pub fn standing_for_update(
    conn: &mut PgConnection,
    admin: AdminId,
) -> Result<Option<LoginStanding>, StoreError> {
    type Row = (
        i32,
        Option<DateTime<Utc>>,
        String,
        i64,
        Option<DateTime<Utc>>,
    );
    let row: Option<Row> = admins::table
        .find(admin.as_uuid())
        .select((
            admins::failed_logins,
            admins::locked_until,
            admins::role,
            admins::union_id,
            admins::disabled_at,
        ))
        .for_update()
        .first(conn)
        .optional()?;
    row.map(
        |(failed_logins, locked_until, role, union_id, disabled_at)| {
            let role = AdminRole::parse(&role)
                .map_err(|_| StoreError::broken(format!("admin {admin} has an unknown role")))?;
            Ok(LoginStanding {
                failed_logins,
                locked_until,
                role,
                union_id: UnionId::new(union_id),
                disabled: disabled_at.is_some(),
            })
        },
    )
    .transpose()
}

/// An audit row about `admin`'s second factor, acted by that admin: the action only.
pub fn audit(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    admin: AdminId,
    role: AdminRole,
    union_id: UnionId,
    action: &'static str,
) -> Result<(), StoreError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(at),
            audit_log::actor_kind.eq("admin"),
            audit_log::actor_id.eq(admin.to_string()),
            audit_log::role.eq(role.as_str()),
            audit_log::union_id.eq(union_id.get()),
            audit_log::object_kind.eq("admin"),
            audit_log::object_id.eq(admin.to_string()),
            audit_log::action.eq(action),
            audit_log::request_id.eq(crate::log_context::current().as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}
