//! Admin accounts as management sees them: the account with its union, its standing (what a
//! session may reach now), the list of a subtree, and the conditional writes of the
//! management use cases (`crate::usecases::admins`). Sign-in and its lockout are in
//! [`crate::store::admins`].

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use uuid::Uuid;
use zhijian_domain::admin::{AdminRole, UnionPath};
use zhijian_domain::admin_management::AdminStanding;
use zhijian_domain::ids::{AdminId, UnionId};

use crate::db::StoreError;
use crate::db::schema::{admin_second_factors, admins, unions};

/// The unique constraint on `admins.username`.
pub const USERNAME_CONSTRAINT: &str = "admins_username_key";

/// An admin account with the union its role is bound to.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminAccount {
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
    /// That union's path.
    pub union_path: UnionPath,
    /// When the account was disabled; `None` while active.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Signed in with a one-time password that is still to be changed.
    pub must_change_password: bool,
    /// End of a sign-in lock (may lie in the past).
    pub locked_until: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version a change must name.
    pub version: i32,
}

impl std::fmt::Debug for AdminAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminAccount")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("union_id", &self.union_id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

type AccountColumns = (
    admins::id,
    admins::username,
    admins::display_name,
    admins::role,
    admins::union_id,
    unions::name,
    unions::path,
    admins::disabled_at,
    admins::must_change_password,
    admins::locked_until,
    admins::created_at,
    admins::updated_at,
    admins::version,
);

const ACCOUNT_COLUMNS: AccountColumns = (
    admins::id,
    admins::username,
    admins::display_name,
    admins::role,
    admins::union_id,
    unions::name,
    unions::path,
    admins::disabled_at,
    admins::must_change_password,
    admins::locked_until,
    admins::created_at,
    admins::updated_at,
    admins::version,
);

type AccountTuple = (
    Uuid,
    String,
    String,
    String,
    i64,
    String,
    String,
    Option<DateTime<Utc>>,
    bool,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    DateTime<Utc>,
    i32,
);

fn account(row: AccountTuple) -> Result<AdminAccount, StoreError> {
    let (id, username, display_name, role, union_id, union_name, path, disabled_at, must, locked) = (
        row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9,
    );
    Ok(AdminAccount {
        id: AdminId::from_uuid(id),
        username,
        display_name,
        role: parse_role(id, &role)?,
        union_id: UnionId::new(union_id),
        union_name,
        union_path: parse_path(union_id, &path)?,
        disabled_at,
        must_change_password: must,
        locked_until: locked,
        created_at: row.10,
        updated_at: row.11,
        version: row.12,
    })
}

fn parse_role(id: Uuid, role: &str) -> Result<AdminRole, StoreError> {
    AdminRole::parse(role)
        .map_err(|_| StoreError::broken(format!("admin {id} has an unknown role")))
}

fn parse_path(union_id: i64, path: &str) -> Result<UnionPath, StoreError> {
    UnionPath::parse(path)
        .map_err(|_| StoreError::broken(format!("union {union_id} has a malformed path")))
}

/// The account `id`; with `lock`, its row is held (`FOR UPDATE`) until the transaction ends.
pub fn find(
    conn: &mut PgConnection,
    id: AdminId,
    lock: bool,
) -> Result<Option<AdminAccount>, StoreError> {
    if lock {
        let held: Option<Uuid> = admins::table
            .find(id.as_uuid())
            .select(admins::id)
            .for_update()
            .first(conn)
            .optional()?;
        if held.is_none() {
            return Ok(None);
        }
    }
    admins::table
        .inner_join(unions::table)
        .filter(admins::id.eq(id.as_uuid()))
        .select(ACCOUNT_COLUMNS)
        .first::<AccountTuple>(conn)
        .optional()?
        .map(account)
        .transpose()
}

/// What admin `id` is now: one primary-key read joined to their union. `None` when the admin
/// does not exist.
pub fn standing(conn: &mut PgConnection, id: AdminId) -> Result<Option<AdminStanding>, StoreError> {
    type StandingRow = (String, i64, String, Option<DateTime<Utc>>, bool, bool);
    // one primary-key read: the second factor counts once it is confirmed
    let enrolled = diesel::dsl::exists(
        admin_second_factors::table
            .filter(admin_second_factors::admin_id.eq(admins::id))
            .filter(admin_second_factors::confirmed_at.is_not_null()),
    );
    let row: Option<StandingRow> = admins::table
        .inner_join(unions::table)
        .filter(admins::id.eq(id.as_uuid()))
        .select((
            admins::role,
            admins::union_id,
            unions::path,
            admins::disabled_at,
            admins::must_change_password,
            enrolled,
        ))
        .first(conn)
        .optional()?;
    row.map(|(role, union_id, path, disabled_at, must, enrolled)| {
        Ok(AdminStanding {
            admin_id: id,
            role: parse_role(id.as_uuid(), &role)?,
            union_id: UnionId::new(union_id),
            union_path: parse_path(union_id, &path)?,
            disabled: disabled_at.is_some(),
            must_change_password: must,
            second_factor_enrolled: enrolled,
        })
    })
    .transpose()
}

/// Which admins to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFilter {
    /// Only admins bound to this union.
    pub union_id: Option<UnionId>,
    /// After this `(union id, username)` (the keyset of the previous page).
    pub after: Option<(i64, String)>,
    /// Page size.
    pub limit: i64,
}

/// Admins bound to unions of the subtree `scope`, by union id then username; one more than
/// the limit is read, so the caller knows whether a next page exists.
pub fn list(
    conn: &mut PgConnection,
    scope: &UnionPath,
    filter: &AccountFilter,
) -> Result<Vec<AdminAccount>, StoreError> {
    let mut query = admins::table
        .inner_join(unions::table)
        .filter(unions::path.ge(scope.to_string()))
        .filter(unions::path.lt(scope.subtree_end()))
        .select(ACCOUNT_COLUMNS)
        .order((admins::union_id.asc(), admins::username.asc()))
        .limit(filter.limit + 1)
        .into_boxed();
    if let Some(union) = filter.union_id {
        query = query.filter(admins::union_id.eq(union.get()));
    }
    if let Some((union, username)) = &filter.after {
        query = query.filter(
            admins::union_id.gt(*union).or(admins::union_id
                .eq(*union)
                .and(admins::username.gt(username.clone()))),
        );
    }
    query
        .load::<AccountTuple>(conn)?
        .into_iter()
        .map(account)
        .collect()
}

/// The path of union `id`, if it exists.
pub fn union_path(conn: &mut PgConnection, id: UnionId) -> Result<Option<UnionPath>, StoreError> {
    unions::table
        .find(id.get())
        .select(unions::path)
        .first::<String>(conn)
        .optional()?
        .map(|path| parse_path(id.get(), &path))
        .transpose()
}

/// Active managers bound to union `union` other than `except`, counted while the union's row
/// is held (`FOR NO KEY UPDATE`, which does not block rows referencing the union): two changes
/// that each would leave the other as the last manager of the union run one after the other,
/// and the second counts what the first committed. (Holding the managers' rows instead could
/// deadlock two managers acting on each other.)
pub fn other_active_managers(
    conn: &mut PgConnection,
    union: UnionId,
    except: AdminId,
) -> Result<u64, StoreError> {
    unions::table
        .find(union.get())
        .select(unions::id)
        .for_no_key_update()
        .first::<i64>(conn)
        .optional()?;
    let others: i64 = admins::table
        .filter(admins::union_id.eq(union.get()))
        .filter(admins::role.eq(AdminRole::Manager.as_str()))
        .filter(admins::disabled_at.is_null())
        .filter(admins::id.ne(except.as_uuid()))
        .count()
        .get_result(conn)?;
    Ok(u64::try_from(others).unwrap_or(0))
}

/// A new account to insert (already checked).
#[derive(Debug, Clone)]
pub struct InsertAccount<'a> {
    /// Key.
    pub id: AdminId,
    /// Folded login name.
    pub username: &'a str,
    /// Display name.
    pub display_name: &'a str,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// Role.
    pub role: AdminRole,
    /// Union.
    pub union_id: UnionId,
    /// The station of station staff (role `station`), `None` for every other role.
    pub station_id: Option<i64>,
    /// Whether the password is a one-time password.
    pub must_change_password: bool,
    /// Now.
    pub at: DateTime<Utc>,
}

/// Inserts an account; a taken username is `StoreError::Conflict(USERNAME_CONSTRAINT)`.
pub fn insert(conn: &mut PgConnection, new: &InsertAccount<'_>) -> Result<(), StoreError> {
    diesel::insert_into(admins::table)
        .values((
            admins::id.eq(new.id.as_uuid()),
            admins::username.eq(new.username),
            admins::display_name.eq(new.display_name),
            admins::password_hash.eq(new.password_hash),
            admins::role.eq(new.role.as_str()),
            admins::union_id.eq(new.union_id.get()),
            admins::station_id.eq(new.station_id),
            admins::must_change_password.eq(new.must_change_password),
            admins::created_at.eq(new.at),
            admins::updated_at.eq(new.at),
            admins::password_changed_at.eq(new.at),
        ))
        .execute(conn)?;
    Ok(())
}

/// What a management change writes; `None` leaves a column as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = admins)]
pub struct AccountChanges {
    /// New display name.
    pub display_name: Option<String>,
    /// New role (`AdminRole::as_str`).
    pub role: Option<String>,
    /// New union.
    pub union_id: Option<i64>,
    /// `Some(Some(at))` disables, `Some(None)` enables.
    pub disabled_at: Option<Option<DateTime<Utc>>>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// Whether the password must be changed at the next sign-in.
    pub must_change_password: Option<bool>,
    /// When the password was set.
    pub password_changed_at: Option<DateTime<Utc>>,
    /// Failed sign-ins (0 clears the count).
    pub failed_logins: Option<i32>,
    /// `Some(None)` lifts a lock.
    pub locked_until: Option<Option<DateTime<Utc>>>,
}

/// Applies `changes` to account `id` if it is still at `version`, bumping the version; `false`
/// when it is not (a lost race).
pub fn update(
    conn: &mut PgConnection,
    id: AdminId,
    version: i32,
    changes: &AccountChanges,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        admins::table
            .filter(admins::id.eq(id.as_uuid()))
            .filter(admins::version.eq(version)),
    )
    .set((
        changes,
        admins::version.eq(admins::version + 1),
        admins::updated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// An admin's stored password: its hash, the failed checks counted, the end of a lock.
pub type PasswordState = (String, i32, Option<DateTime<Utc>>);

/// The stored password hash of admin `id`, with their failure count and lock, the row held.
pub fn password_state(
    conn: &mut PgConnection,
    id: AdminId,
) -> Result<Option<PasswordState>, StoreError> {
    Ok(admins::table
        .find(id.as_uuid())
        .select((
            admins::password_hash,
            admins::failed_logins,
            admins::locked_until,
        ))
        .for_update()
        .first(conn)
        .optional()?)
}
