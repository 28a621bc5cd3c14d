//! Reading applications: the worker's own, and one as an admin (personal data in clear for
//! roles that review, audited).

use zhijian_domain::ids::{AccountId, ApplicationId};

use super::detail::{ApplicationDetail, PiiShown};
use super::errors::ReadError;
use crate::db::StoreError;
use crate::store::applications::{self, AdminActor, ApplicationRow};
use crate::store::unions::UnionRow;
use crate::usecases::Services;

/// The applications of `account`, newest first (at most 100), with their unions.
pub async fn my_applications(
    ctx: &Services,
    account: AccountId,
) -> Result<Vec<(ApplicationRow, UnionRow)>, StoreError> {
    crate::db::run(&ctx.pool, move |conn| {
        applications::list_for_account(conn, account)
    })
    .await
}

/// Application `id` if it belongs to `account`, personal data masked.
pub async fn my_application(
    ctx: &Services,
    account: AccountId,
    id: ApplicationId,
) -> Result<ApplicationDetail, ReadError> {
    let pii = ctx.pii.clone();
    crate::db::run(&ctx.pool, move |conn| {
        let Some((row, union)) = applications::find_with_union(conn, id)? else {
            return Err(ReadError::NotFound);
        };
        if row.account_id != account.as_uuid() {
            return Err(ReadError::NotFound);
        }
        Ok(ApplicationDetail::load(
            conn,
            &pii,
            row,
            Some(union),
            PiiShown::Masked,
        )?)
    })
    .await
}

/// Application `id` if it lies inside `admin`'s subtree. With [`PiiShown::Clear`] (a role
/// that reviews) the reading is recorded in the audit trail.
pub async fn admin_application(
    ctx: &Services,
    admin: AdminActor,
    show: PiiShown,
    id: ApplicationId,
) -> Result<ApplicationDetail, ReadError> {
    let now = ctx.now();
    let pii = ctx.pii.clone();
    crate::db::run(&ctx.pool, move |conn| {
        let Some((row, union)) = applications::find_with_union(conn, id)? else {
            return Err(ReadError::NotFound);
        };
        if !admin.union_path.contains(&union.union_path()?) {
            return Err(ReadError::NotFound);
        }
        let detail = ApplicationDetail::load(conn, &pii, row, Some(union), show)?;
        if show == PiiShown::Clear {
            applications::audit_unmasked_view(conn, detail.row.id, &admin, now)?;
        }
        Ok(detail)
    })
    .await
}
