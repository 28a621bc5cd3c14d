//! Admins as the API shows them: the `Admin` of the management routes and the `AdminMe` of
//! `GET /v1/admin/me`. Never a password, its hash, or a phone.

use chrono::{DateTime, Utc};
use serde::Serialize;
use zhijian_domain::admin::AdminRole;
use zhijian_domain::ids::AdminId;
use zhijian_infra::store::admin_accounts::AdminAccount;

use crate::routes::auth::AdminUnionView;

/// `Admin`: an admin account as a manager sees it.
#[derive(Debug, Serialize)]
pub struct AdminView {
    /// Id.
    pub id: AdminId,
    /// Login name.
    pub username: String,
    /// Name shown in the admin UI.
    pub display_name: String,
    /// `manager`, `reviewer` or `viewer`.
    pub role: AdminRole,
    /// The union the role is bound to.
    pub union: AdminUnionView,
    /// `active` or `disabled`.
    pub status: &'static str,
    /// Holds a one-time password not yet changed.
    pub must_change_password: bool,
    /// End of a running sign-in lock; absent when not locked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Send it back with a change.
    pub version: i32,
}

/// The view of `account` at `now` (a lock that ended is not shown).
pub fn admin_view(account: &AdminAccount, now: DateTime<Utc>) -> AdminView {
    AdminView {
        id: account.id,
        username: account.username.clone(),
        display_name: account.display_name.clone(),
        role: account.role,
        union: AdminUnionView {
            id: account.union_id,
            name: account.union_name.clone(),
        },
        status: if account.disabled_at.is_some() {
            "disabled"
        } else {
            "active"
        },
        must_change_password: account.must_change_password,
        locked_until: account.locked_until.filter(|until| *until > now),
        created_at: account.created_at,
        updated_at: account.updated_at,
        version: account.version,
    }
}

/// `AdminMe`: the signed-in admin's own profile.
#[derive(Debug, Serialize)]
pub struct AdminMeView {
    /// Id.
    pub id: AdminId,
    /// Login name.
    pub username: String,
    /// Name shown in the admin UI.
    pub display_name: String,
    /// Role.
    pub role: AdminRole,
    /// The union the role is bound to.
    pub union: AdminUnionView,
    /// Must change the one-time password before anything else.
    pub must_change_password: bool,
    /// Version of the account.
    pub version: i32,
}

impl From<&AdminAccount> for AdminMeView {
    fn from(account: &AdminAccount) -> Self {
        Self {
            id: account.id,
            username: account.username.clone(),
            display_name: account.display_name.clone(),
            role: account.role,
            union: AdminUnionView {
                id: account.union_id,
                name: account.union_name.clone(),
            },
            must_change_password: account.must_change_password,
            version: account.version,
        }
    }
}

/// `AdminWithPassword`: an admin and their new one-time password, shown once.
#[derive(Serialize)]
pub struct AdminWithPasswordView {
    /// The admin (`Admin`).
    pub admin: serde_json::Value,
    /// The one-time password: give it to the admin; it must be changed at first sign-in.
    pub one_time_password: String,
}

impl std::fmt::Debug for AdminWithPasswordView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminWithPasswordView")
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}
