//! `withdraw_application`: the applicant withdraws an open application.

use diesel::Connection;
use zhijian_domain::ids::{AccountId, ApplicationId};

use super::correct::record_applicant_step;
use super::detail::{ApplicationDetail, PiiShown};
use super::errors::WithdrawalError;
use crate::store::applications;
use crate::usecases::Services;

/// Withdraws application `id` of `account`, with its timeline, audit and outbox rows.
pub async fn withdraw_application(
    ctx: &Services,
    account: AccountId,
    id: ApplicationId,
) -> Result<ApplicationDetail, WithdrawalError> {
    let now = ctx.now();
    let ctx = ctx.clone();
    crate::db::run(&ctx.pool.clone(), move |conn| {
        conn.transaction(|conn| {
            let row = applications::find_for_account(conn, id, account)?
                .ok_or(WithdrawalError::NotFound)?;
            let transition = row.domain().withdraw().map_err(WithdrawalError::Withdraw)?;
            let updated = applications::update_status(conn, &row, &transition, now)?
                .ok_or(WithdrawalError::Stale)?;
            record_applicant_step(conn, &updated, &transition, now)?;
            ApplicationDetail::load(conn, &ctx.pii, updated, None, PiiShown::Masked)
                .map_err(WithdrawalError::from)
        })
    })
    .await
}
