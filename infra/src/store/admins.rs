//! Union administrators (`admins`): creating them, and password sign-in with a lockout.
//!
//! Passwords are argon2id hashes (`crate::crypto::password`). Five consecutive failed sign-ins lock the
//! admin for fifteen minutes; while locked even the right password is refused, and the
//! password is not checked (but the same hashing work is done, so a locked account answers as
//! slowly as any other). An unknown username costs the same dummy verification as a wrong
//! password. Every outcome writes an `audit_log` row in the same transaction.
//!
//! Hashing takes tens of milliseconds of CPU: call [`create_admin`] and [`attempt_login`] on
//! the blocking pool (inside `crate::db::run`), never on an async worker.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;
use zhijian_domain::admin::AdminRole;
use zhijian_domain::ids::{AdminId, UnionId};

use crate::crypto::password::{self, PasswordError, PasswordPolicyError};
use crate::db::StoreError;
use crate::db::schema::{admins, audit_log, unions};

/// Consecutive failed sign-ins that lock an admin.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a lock lasts.
pub const LOCKOUT: TimeDelta = TimeDelta::minutes(15);

/// An admin to create with [`create_admin`]. The password is checked against the policy of
/// `crate::crypto::password::validate_new_password` and stored only as an argon2id hash.
///
/// ```text
/// let id = zhijian_infra::store::admins::create_admin(conn, NewAdmin {
///     username: "wushan.reviewer",
///     display_name: "巫山县审核员",
///     password: "Demo-password-1",
///     role: AdminRole::Reviewer,
///     union_id: county_federation,
/// })?;
/// ```
#[derive(Clone, Copy)]
pub struct NewAdmin<'a> {
    /// Login name: 3–64 of `a-z 0-9 _ . -` (upper case is folded, spaces trimmed).
    pub username: &'a str,
    /// Name shown in the admin UI.
    pub display_name: &'a str,
    /// Initial password, in clear (never stored, never logged).
    pub password: &'a str,
    /// Role.
    pub role: AdminRole,
    /// The union the role is bound to; the admin acts in its subtree.
    pub union_id: UnionId,
}

impl std::fmt::Debug for NewAdmin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAdmin")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("password", &"<redacted>")
            .field("role", &self.role)
            .field("union_id", &self.union_id)
            .finish()
    }
}

/// Why an admin could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateAdminError {
    /// The username is not 3–64 of `a-z 0-9 _ . -`.
    #[error("username must be 3-64 characters of a-z, 0-9, `_`, `.` or `-`")]
    InvalidUsername,
    /// The display name is empty.
    #[error("display name must not be empty")]
    EmptyDisplayName,
    /// The password does not meet the policy.
    #[error("weak password: {0}")]
    WeakPassword(#[from] PasswordPolicyError),
    /// Another admin has this username.
    #[error("username is taken")]
    UsernameTaken,
    /// The union does not exist.
    #[error("union not found")]
    UnionNotFound,
    /// Hashing failed.
    #[error(transparent)]
    Hashing(#[from] PasswordError),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CreateAdminError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(_) => Self::UsernameTaken,
            other => Self::Store(other),
        }
    }
}

impl From<diesel::result::Error> for CreateAdminError {
    fn from(error: diesel::result::Error) -> Self {
        StoreError::from(error).into()
    }
}

/// An admin with the union its role is bound to.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminRecord {
    /// Key.
    pub id: AdminId,
    /// Login name.
    pub username: String,
    /// Name shown in the admin UI.
    pub display_name: String,
    /// Role.
    pub role: AdminRole,
    /// The union the role is bound to.
    pub union_id: UnionId,
    /// That union's name.
    pub union_name: String,
    /// That union's materialised path (`/1/5/12/`).
    pub union_path: String,
    /// Signed in with a one-time password that must be changed before anything else.
    pub must_change_password: bool,
}

impl std::fmt::Debug for AdminRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminRecord")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("union_id", &self.union_id)
            .finish_non_exhaustive()
    }
}

/// What a sign-in attempt came to. Callers must answer [`LoginOutcome::UnknownUser`] exactly
/// like [`LoginOutcome::WrongPassword`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Signed in; failures reset.
    Success(AdminRecord),
    /// The password is right but the admin has a confirmed second factor: the sign-in is
    /// complete only with a code (`crate::usecases::auth::second_factor`). Failures are not
    /// reset (a wrong code counts toward the same lock as a wrong password).
    SecondFactorRequired(AdminRecord),
    /// Wrong password, counted. `locked_until` is set when this failure locked the admin.
    WrongPassword {
        /// End of the lock this failure started, if it did.
        locked_until: Option<DateTime<Utc>>,
    },
    /// Locked by earlier failures; the password was not checked.
    Locked {
        /// End of the lock.
        until: DateTime<Utc>,
    },
    /// No admin has this username (the dummy verification was done).
    UnknownUser,
}

/// Lower-cases and trims a username as typed.
pub fn normalise_username(username: &str) -> String {
    username.trim().to_lowercase()
}

fn valid_username(username: &str) -> bool {
    (3..=64).contains(&username.len())
        && username.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        })
}

/// Creates an admin directly with a given password (test fixtures and the benchmark
/// generator) and returns its id. The server (`POST /v1/admin/admins`), the command line
/// (`zhijian admin create`) and the demo seed create admins through
/// `crate::usecases::admins::create_admin`, with the policy of
/// `zhijian_domain::admin_management`. Hashes the password (argon2id): run it on the
/// blocking pool.
pub fn create_admin(
    conn: &mut PgConnection,
    new: NewAdmin<'_>,
) -> Result<AdminId, CreateAdminError> {
    let username = normalise_username(new.username);
    if !valid_username(&username) {
        return Err(CreateAdminError::InvalidUsername);
    }
    let display_name = new.display_name.trim();
    if display_name.is_empty() {
        return Err(CreateAdminError::EmptyDisplayName);
    }
    password::validate_new_password(new.password)?;
    let hash = password::hash_password(new.password)?;
    let id = Uuid::now_v7();
    conn.transaction(|conn| {
        let union_exists: Option<i64> = unions::table
            .find(new.union_id.get())
            .select(unions::id)
            .first(conn)
            .optional()?;
        if union_exists.is_none() {
            return Err(CreateAdminError::UnionNotFound);
        }
        diesel::insert_into(admins::table)
            .values((
                admins::id.eq(id),
                admins::username.eq(&username),
                admins::display_name.eq(display_name),
                admins::password_hash.eq(&hash),
                admins::role.eq(new.role.as_str()),
                admins::union_id.eq(new.union_id.get()),
            ))
            .execute(conn)?;
        audit(
            conn,
            Utc::now(),
            "system",
            id,
            Some(new.role),
            Some(new.union_id),
            "create",
        )?;
        Ok(AdminId::from_uuid(id))
    })
}

/// The admin `id` with its union, if it exists.
pub fn find(conn: &mut PgConnection, id: AdminId) -> Result<Option<AdminRecord>, StoreError> {
    let row: Option<AdminRow> = admins::table
        .find(id.as_uuid())
        .select(AdminRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|row| with_union(conn, row)).transpose()
}

/// One sign-in attempt with `username` (as typed) and `password`, at `now`, in one
/// transaction that holds the admin's row, so concurrent attempts are counted exactly.
/// Does the argon2 work: run it on the blocking pool.
pub fn attempt_login(
    conn: &mut PgConnection,
    username: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<LoginOutcome, StoreError> {
    let username = normalise_username(username);
    if !valid_username(&username) {
        // No admin can have it, and PostgreSQL refuses some of what it may hold (NUL).
        password::verify_against_dummy(password);
        return Ok(LoginOutcome::UnknownUser);
    }
    conn.transaction(|conn| {
        let row: Option<AdminRow> = admins::table
            .filter(admins::username.eq(&username))
            .select(AdminRow::as_select())
            .for_update()
            .first(conn)
            .optional()?;
        let Some(row) = row else {
            password::verify_against_dummy(password);
            return Ok(LoginOutcome::UnknownUser);
        };
        if let Some(until) = row.locked_until.filter(|until| *until > now) {
            password::verify_against_dummy(password);
            audit(
                conn,
                now,
                "admin",
                row.id,
                None,
                Some(UnionId::new(row.union_id)),
                "login_refused_locked",
            )?;
            return Ok(LoginOutcome::Locked { until });
        }
        // A disabled admin is answered exactly like a wrong password, and counted like one.
        if row.disabled_at.is_some() {
            password::verify_against_dummy(password);
            return record_failure(conn, &row, now);
        }
        if !password::verify_password(password, &row.password_hash) {
            return record_failure(conn, &row, now);
        }
        let second_factor =
            crate::store::second_factors::is_enrolled(conn, AdminId::from_uuid(row.id))?;
        let rehashed = if password::needs_rehash(&row.password_hash) {
            password::hash_password(password).ok()
        } else {
            None
        };
        diesel::update(admins::table.find(row.id))
            .set((
                // With a second factor the sign-in is not over: the count goes on at the code.
                admins::failed_logins.eq(if second_factor { row.failed_logins } else { 0 }),
                admins::locked_until.eq(None::<DateTime<Utc>>),
                admins::password_hash.eq(rehashed.as_deref().unwrap_or(&row.password_hash)),
            ))
            .execute(conn)?;
        let record = with_union(conn, row)?;
        audit(
            conn,
            now,
            "admin",
            record.id.as_uuid(),
            Some(record.role),
            Some(record.union_id),
            if second_factor {
                "login_password_accepted"
            } else {
                "login"
            },
        )?;
        if second_factor {
            return Ok(LoginOutcome::SecondFactorRequired(record));
        }
        Ok(LoginOutcome::Success(record))
    })
}

/// Records a sign-out in the audit trail.
pub fn record_logout(
    conn: &mut PgConnection,
    id: AdminId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit(conn, now, "admin", id.as_uuid(), None, None, "logout")
}

fn record_failure(
    conn: &mut PgConnection,
    row: &AdminRow,
    now: DateTime<Utc>,
) -> Result<LoginOutcome, StoreError> {
    let action = if row.disabled_at.is_some() {
        "login_refused_disabled"
    } else {
        "login_failed"
    };
    let locked_until = count_failure(
        conn,
        AdminId::from_uuid(row.id),
        UnionId::new(row.union_id),
        row.failed_logins,
        now,
        action,
    )?;
    Ok(LoginOutcome::WrongPassword { locked_until })
}

/// Counts one failed password check of admin `id` (who had `failed_logins` before), locking
/// them after [`MAX_FAILED_LOGINS`], with an audit row (`action`, or `login_failed_locked`
/// when this failure locks). Returns the end of the lock it started, if it did.
pub fn count_failure(
    conn: &mut PgConnection,
    id: AdminId,
    union_id: UnionId,
    failed_logins: i32,
    now: DateTime<Utc>,
    action: &'static str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let failures = failed_logins.saturating_add(1);
    let locks = failures >= MAX_FAILED_LOGINS;
    // A lock starts a new count: after it ends, five more failures lock again.
    let (count, locked_until) = if locks {
        (0, Some(now + LOCKOUT))
    } else {
        (failures, None)
    };
    diesel::update(admins::table.find(id.as_uuid()))
        .set((
            admins::failed_logins.eq(count),
            admins::locked_until.eq(locked_until),
        ))
        .execute(conn)?;
    let action = if locks { "login_failed_locked" } else { action };
    audit(
        conn,
        now,
        "admin",
        id.as_uuid(),
        None,
        Some(union_id),
        action,
    )?;
    if locks {
        log::warn!("admin {id} locked after {MAX_FAILED_LOGINS} failed password checks");
    }
    Ok(locked_until)
}

/// Clears admin `id`'s failure count and lock after a complete sign-in.
pub fn reset_failures(conn: &mut PgConnection, id: AdminId) -> Result<(), StoreError> {
    diesel::update(admins::table.find(id.as_uuid()))
        .set((
            admins::failed_logins.eq(0),
            admins::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = admins)]
#[diesel(check_for_backend(diesel::pg::Pg))]
struct AdminRow {
    id: Uuid,
    username: String,
    display_name: String,
    password_hash: String,
    role: String,
    union_id: i64,
    failed_logins: i32,
    locked_until: Option<DateTime<Utc>>,
    disabled_at: Option<DateTime<Utc>>,
    must_change_password: bool,
}

fn with_union(conn: &mut PgConnection, row: AdminRow) -> Result<AdminRecord, StoreError> {
    let (union_name, union_path): (String, String) = unions::table
        .find(row.union_id)
        .select((unions::name, unions::path))
        .first(conn)?;
    let role = AdminRole::parse(&row.role)
        .map_err(|_| StoreError::broken(format!("admin {} has an unknown role", row.id)))?;
    Ok(AdminRecord {
        id: AdminId::from_uuid(row.id),
        username: row.username,
        display_name: row.display_name,
        role,
        union_id: UnionId::new(row.union_id),
        union_name,
        union_path,
        must_change_password: row.must_change_password,
    })
}

/// An audit row about admin `admin`, acted by that admin (`actor_kind = "admin"`) or by the
/// system (seeding).
fn audit(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
    actor_kind: &'static str,
    admin: Uuid,
    role: Option<AdminRole>,
    union_id: Option<UnionId>,
    action: &'static str,
) -> Result<(), StoreError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(at),
            audit_log::actor_kind.eq(actor_kind),
            audit_log::actor_id.eq((actor_kind == "admin").then(|| admin.to_string())),
            audit_log::role.eq(role.map(AdminRole::as_str)),
            audit_log::union_id.eq(union_id.map(UnionId::get)),
            audit_log::object_kind.eq("admin"),
            audit_log::object_id.eq(admin.to_string()),
            audit_log::action.eq(action),
            audit_log::request_id.eq(crate::log_context::current().as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_folded_and_checked_like_the_table_does() {
        assert_eq!(normalise_username("  Wushan.Reviewer "), "wushan.reviewer");
        assert!(valid_username("wushan.reviewer"));
        assert!(valid_username("a_1"));
        assert!(!valid_username("ab"));
        assert!(!valid_username("审核员"));
        assert!(!valid_username("has space"));
        assert!(!valid_username(&"a".repeat(65)));
    }

    #[test]
    fn a_new_admin_does_not_print_its_password() {
        let new = NewAdmin {
            username: "x.admin",
            display_name: "X",
            password: "Very-secret-1",
            role: AdminRole::Viewer,
            union_id: UnionId::new(1),
        };
        assert!(!format!("{new:?}").contains("Very-secret-1"));
    }
}
