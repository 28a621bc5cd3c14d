//! Managing union admins (issue 13): create with a one-time password, list and show within
//! the manager's subtree, change display name, role or union, disable and enable, reset a
//! password; an admin changing their own password; and the standing every admin request is
//! checked against.
//!
//! Each change is one transaction: the target's row is held, the rule decided by
//! `zhijian_domain::admin_management`, the write made conditional on the version the manager
//! saw, and an audit row written with the account before → after (a JSON object in the row's
//! `reason`: `{"before": {…}, "after": {…}}`). Sessions live in Redis: a disable or a reset
//! ends all of the admin's sessions after the commit, a password change the admin's other
//! ones; a disabled admin's token is refused at its next request anyway, because the
//! extractor reads the standing from PostgreSQL ([`admin_standing`]).

pub mod create;
pub mod manage;
pub mod password;
pub mod read;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use zhijian_domain::admin_management::Granter;

use crate::store::admin_accounts::AdminAccount;
use crate::store::audit::Actor;

pub use create::{
    AdminCreated, CreateAdminError, Creator, InitialPassword, NewAdmin, NewStationStaff,
    create_admin, create_admin_in, create_station_staff, create_station_staff_in,
};
pub use manage::{
    AdminUpdate, ManageAdminError, ResetDone, disable_admin, enable_admin, reset_admin_password,
    update_admin,
};
pub use password::{ChangePasswordError, change_own_password};
pub use read::{ReadAdminError, admin_standing, list_admins, my_account, show_admin};

/// The audit actor of a manager.
fn manager_actor(granter: &Granter) -> Actor {
    Actor {
        kind: "admin",
        id: Some(granter.id().to_string()),
        role: Some(granter.role().as_str()),
        union_id: Some(granter.subtree().union().get()),
    }
}

/// What the audit trail keeps of an account: never the password, its hash or a phone.
fn audited(account: &AdminAccount) -> Value {
    json!({
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role.as_str(),
        "union_id": account.union_id.get(),
        "status": if account.disabled_at.is_some() { "disabled" } else { "active" },
        "must_change_password": account.must_change_password,
        "version": account.version,
    })
}

/// The `reason` of an audit row about a change: `{"before": …, "after": …}`.
fn before_after(before: Option<&AdminAccount>, after: &AdminAccount) -> String {
    json!({
        "before": before.map(audited),
        "after": audited(after),
    })
    .to_string()
}

/// Whether a lock is still running at `now`.
fn locked(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    until.filter(|until| *until > now)
}

crate::usecases::store_errors!(
    CreateAdminError,
    ManageAdminError,
    ChangePasswordError,
    ReadAdminError
);
