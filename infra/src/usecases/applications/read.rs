//! Reading applications: the worker's own, and one as an admin (personal data in clear for
//! roles that review, audited).

use diesel::Connection;
use zhijian_domain::ids::{AccountId, ApplicationId};

use super::detail::{ApplicationDetail, PiiShown};
use super::errors::ReadError;
use crate::db::StoreError;
use crate::store::applications::{self, AdminActor, ApplicationRow};
use crate::store::unions::UnionRow;
use crate::usecases::Services;
use crate::usecases::privacy::{RevealCheck, check_reveal};

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
/// that reviews) the reading is recorded in the audit trail, and refused once the admin saw
/// personal data in clear `reveals_per_hour` times in the last hour (the managers above are
/// told: `crate::usecases::privacy::reveals`). An erased application reveals nothing and is
/// neither counted nor capped.
pub async fn admin_application(
    ctx: &Services,
    admin: AdminActor,
    show: PiiShown,
    reveals_per_hour: u32,
    id: ApplicationId,
) -> Result<ApplicationDetail, ReadError> {
    let now = ctx.now();
    let pii = ctx.pii.clone();
    let outcome = crate::db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let Some((row, union)) = applications::find_with_union(conn, id)? else {
                return Err(ReadError::NotFound);
            };
            if !admin.union_path.contains(&union.union_path()?) {
                return Err(ReadError::NotFound);
            }
            let reveals = show == PiiShown::Clear && row.erased_at.is_none();
            if reveals {
                // A refusal commits: the managers above are told once per hour.
                if let RevealCheck::Slowed { retry_after_secs } =
                    check_reveal(conn, &admin, reveals_per_hour, now)?
                {
                    return Ok(Err(retry_after_secs));
                }
            }
            let detail = ApplicationDetail::load(conn, &pii, row, Some(union), show)?;
            if reveals {
                applications::audit_unmasked_view(conn, detail.row.id, &admin, now)?;
            }
            Ok(Ok(detail))
        })
    })
    .await?;
    outcome.map_err(|retry_after_secs| ReadError::TooManyReveals { retry_after_secs })
}
