//! Reading admins: a manager's list and detail within their subtree, an admin's own account,
//! and the standing every admin request is checked against.

use zhijian_domain::admin_management::{AdminStanding, Granter, ManageRefusal};
use zhijian_domain::ids::AdminId;

use crate::db::StoreError;
use crate::store::admin_accounts::{self, AccountFilter, AdminAccount};
use crate::usecases::Services;

/// Why admins could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadAdminError {
    /// Not a manager (403), or outside the subtree (404).
    #[error(transparent)]
    Refused(ManageRefusal),
    /// No such admin.
    #[error("not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What admin `id` is now (role, union, disabled, must change password): one primary-key
/// read, made on every admin request, so a change applies at the admin's next request.
pub async fn admin_standing(
    ctx: &Services,
    id: AdminId,
) -> Result<Option<AdminStanding>, StoreError> {
    crate::db::run(&ctx.pool, move |conn| admin_accounts::standing(conn, id)).await
}

/// The admins of the manager's subtree (or of one union in it), by union then username; one
/// more than the limit when a next page exists.
pub async fn list_admins(
    ctx: &Services,
    granter: Granter,
    filter: AccountFilter,
) -> Result<Vec<AdminAccount>, ReadAdminError> {
    crate::db::run(&ctx.pool, move |conn| {
        if let Some(union) = filter.union_id {
            let path = admin_accounts::union_path(conn, union)?
                .ok_or(ReadAdminError::Refused(ManageRefusal::OutsideSubtree))?;
            granter.reaches(&path).map_err(ReadAdminError::Refused)?;
        }
        Ok(admin_accounts::list(conn, granter.subtree(), &filter)?)
    })
    .await
}

/// Admin `id`, if they are bound to a union of the manager's subtree.
pub async fn show_admin(
    ctx: &Services,
    granter: Granter,
    id: AdminId,
) -> Result<AdminAccount, ReadAdminError> {
    crate::db::run(&ctx.pool, move |conn| {
        let account = admin_accounts::find(conn, id, false)?.ok_or(ReadAdminError::NotFound)?;
        granter
            .reaches(&account.union_path)
            .map_err(ReadAdminError::Refused)?;
        Ok(account)
    })
    .await
}

/// The signed-in admin's own account.
pub async fn my_account(ctx: &Services, id: AdminId) -> Result<AdminAccount, ReadAdminError> {
    crate::db::run(&ctx.pool, move |conn| {
        admin_accounts::find(conn, id, false)?.ok_or(ReadAdminError::NotFound)
    })
    .await
}
