//! Membership transfers (会籍转接: 一次入会、动态接转): the member requests, follows and
//! cancels; the source union releases or refuses, the target accepts or refuses; a silent
//! source is released after three working days; a transfer whose new job no union covers
//! completes at once into the county pool.
//!
//! Each step is one transaction with the member's status change, history event, audit row and
//! outbox event. The member stays in the source union (`members.union_id`) until completion,
//! when the affiliation period there is closed and a new one opens in the target union; the
//! joined date and membership number never change.

mod accept;
mod auto_release;
mod cancel;
mod decide;
mod reject;
mod release;
mod request;

pub use accept::accept;
pub use auto_release::auto_release_due;
pub use cancel::{CancelError, cancel};
pub use decide::DecideTransferError;
pub use reject::reject;
pub use release::release;
pub use request::{RequestError, TransferTarget, Via, request};

use crate::store::counters;
use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use zhijian_domain::admin::UnionPath;
use zhijian_domain::ids::{AccountId, TransferId};
use zhijian_domain::member::{AbortTransferError, FinishTransferError};
use zhijian_domain::stats::{Counter, Deltas};

use super::{Page, store_errors};
use crate::db::{self, StoreError};
use crate::store::member_lifecycle::{
    MemberActor, Why, apply_status, move_affiliation, record_event,
};
use crate::store::members::MemberRow;
use crate::store::reference_cache::ReferenceCache;
use crate::store::transfers::{self, ListFilter, TransferDetail, TransferRow};
use crate::usecases::Services;

/// Why an admin could not read a transfer.
#[derive(Debug, thiserror::Error)]
pub enum TransferReadError {
    /// No such transfer, or neither side is in the admin's subtree.
    #[error("not found")]
    NotFound,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(TransferReadError);

/// The worker's transfers, newest first.
pub async fn my_transfers(
    ctx: &Services,
    account: AccountId,
) -> Result<Vec<TransferDetail>, StoreError> {
    let reference = ctx.reference.clone();
    db::run(&ctx.pool, move |conn| {
        let calendar = reference.calendar(conn)?;
        transfers::list_for_account(conn, account, &calendar)
    })
    .await
}

/// Transfers leaving or entering the subtree under `scope`, oldest request first.
pub async fn transfers_for_admin(
    ctx: &Services,
    scope: UnionPath,
    filter: ListFilter,
) -> Result<Page<TransferDetail>, StoreError> {
    let reference = ctx.reference.clone();
    let limit = filter.limit;
    let rows = db::run(&ctx.pool, move |conn| {
        let calendar = reference.calendar(conn)?;
        let filter = ListFilter {
            limit: limit + 1,
            ..filter
        };
        transfers::list_for_admin(conn, &scope, &filter, &calendar)
    })
    .await?;
    Ok(Page::cut(rows, limit))
}

/// One transfer, for an admin of either union.
pub async fn transfer_for_admin(
    ctx: &Services,
    scope: UnionPath,
    id: TransferId,
) -> Result<TransferDetail, TransferReadError> {
    let reference = ctx.reference.clone();
    db::run(&ctx.pool, move |conn| {
        let calendar = reference.calendar(conn)?;
        transfers::find_for_admin(conn, id, &scope, &calendar)
    })
    .await?
    .ok_or(TransferReadError::NotFound)
}

/// Why the member's side of a step failed.
#[derive(Debug)]
enum MemberSide {
    Finish(FinishTransferError),
    Abort(AbortTransferError),
    Stale,
    Store(StoreError),
}

impl From<StoreError> for MemberSide {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// Completion on the member's side: the affiliation moves, the union changes, the member is
/// active again. Joined date and number stay.
fn finish_on_member(
    conn: &mut PgConnection,
    transfer: &TransferRow,
    member: &MemberRow,
    actor: &MemberActor,
    now: DateTime<Utc>,
) -> Result<MemberRow, MemberSide> {
    let transition = member
        .status
        .finish_transfer()
        .map_err(MemberSide::Finish)?;
    let moved = apply_status(conn, member, transition, Some(transfer.to_union_id), now)?
        .ok_or(MemberSide::Stale)?;
    move_affiliation(
        conn,
        member,
        "transfer",
        Some((transfer.to_union_id, "transfer")),
        now,
    )?;
    record_event(
        conn,
        &moved,
        transition,
        Some(transfer.id),
        actor,
        &Why::default(),
        now,
    )?;
    // Coverage counters: out of each union the member left, into each it entered; the active
    // member moves with them.
    let group = counters::member_group(conn, member.id)?;
    counters::count_across(
        conn,
        transfer.to_union_id,
        &Deltas::of(&[Counter::TransferredIn]),
        Some(transfer.from_union_id),
        &Deltas::of(&[Counter::TransferredOut]),
        &group,
        zhijian_domain::calendar::local_date(now),
    )?;
    counters::shift_active(conn, moved.union_id, Some(member.union_id), &group, 1)?;
    Ok(moved)
}

/// Rejection or cancellation on the member's side: back to active in the source union.
fn abort_on_member(
    conn: &mut PgConnection,
    transfer: &TransferRow,
    member: &MemberRow,
    actor: &MemberActor,
    why: &Why,
    now: DateTime<Utc>,
) -> Result<MemberRow, MemberSide> {
    let transition = member.status.abort_transfer().map_err(MemberSide::Abort)?;
    let back = apply_status(conn, member, transition, None, now)?.ok_or(MemberSide::Stale)?;
    record_event(conn, &back, transition, Some(transfer.id), actor, why, now)?;
    Ok(back)
}

/// Inside the step's transaction: the transfer after the step, with its member and unions.
fn detail(
    conn: &mut PgConnection,
    reference: &ReferenceCache,
    transfer: TransferRow,
) -> Result<TransferDetail, StoreError> {
    let calendar = reference.calendar(conn)?;
    transfers::details(conn, vec![transfer], &calendar)?
        .pop()
        .ok_or(StoreError::NotFound)
}
