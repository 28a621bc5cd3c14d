//! `withdraw_application`: the applicant withdraws an open application.

use diesel::Connection;
use zhijian_domain::ids::{AccountId, ApplicationId};

use super::correct::record_applicant_step;
use super::detail::{ApplicationDetail, PiiShown};
use super::errors::WithdrawalError;
use crate::store::applications;
use crate::usecases::Services;

/// Withdraws `row` by `transition` in the caller's transaction: its status, its timeline and the
/// coverage counters (a withdrawal, one fewer waiting). `None` when the row changed since it was
/// read. Also the withdrawal of an account's cancellation.
pub(crate) fn withdraw_row(
    conn: &mut diesel::pg::PgConnection,
    row: &applications::ApplicationRow,
    transition: &zhijian_domain::application::Transition,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<applications::ApplicationRow>, crate::db::StoreError> {
    let Some(updated) = applications::update_status(conn, row, transition, now)? else {
        return Ok(None);
    };
    record_applicant_step(conn, &updated, transition, now)?;
    super::review::count_step(conn, &updated, row, transition.event, now)?;
    Ok(Some(updated))
}

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
            let updated =
                withdraw_row(conn, &row, &transition, now)?.ok_or(WithdrawalError::Stale)?;
            ApplicationDetail::load(conn, &ctx.pii, updated, None, PiiShown::Masked)
                .map_err(WithdrawalError::from)
        })
    })
    .await
}
