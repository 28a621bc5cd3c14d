//! Reading memberships: the admins' member list and member record (within their reach), and
//! the worker's own record with its affiliation periods.

use zhijian_domain::admin::UnionPath;
use zhijian_domain::ids::{AccountId, MemberId};
use zhijian_domain::member::MemberStatus;

use super::card::MembershipReadError;
use super::{Page, store_errors};
use crate::db::{self, StoreError};
use crate::store::member_lifecycle::{self, MemberRecord};
use crate::store::members::MemberRow;
use crate::store::unions::UnionRow;
use crate::usecases::Services;

/// Why an admin could not read a member's record.
#[derive(Debug, thiserror::Error)]
pub enum MemberReadError {
    /// No such member, or outside the admin's reach (current union, history, incoming
    /// transfer).
    #[error("not found")]
    NotFound,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(MemberReadError);

/// Members whose current union lies in the subtree under `scope`, by id after `after`, at most
/// `limit`, with their unions.
pub async fn list_members(
    ctx: &Services,
    scope: UnionPath,
    status: Option<MemberStatus>,
    after: Option<uuid::Uuid>,
    limit: i64,
) -> Result<Page<(MemberRow, UnionRow)>, StoreError> {
    let rows = db::run(&ctx.pool, move |conn| {
        member_lifecycle::list(conn, &scope, status, after, limit + 1)
    })
    .await?;
    Ok(Page::cut(rows, limit))
}

/// A member's record (periods, history) for an admin whose subtree holds the member's current
/// union, one of its past unions, or the target of its open transfer.
pub async fn member_record(
    ctx: &Services,
    scope: UnionPath,
    id: MemberId,
) -> Result<MemberRecord, MemberReadError> {
    db::run(&ctx.pool, move |conn| {
        member_lifecycle::record_for_admin(conn, id, &scope)
    })
    .await?
    .ok_or(MemberReadError::NotFound)
}

/// The worker's own record: every period in every union, and the history.
pub async fn my_record(
    ctx: &Services,
    account: AccountId,
) -> Result<MemberRecord, MembershipReadError> {
    db::run(&ctx.pool, move |conn| {
        member_lifecycle::record_for_account(conn, account)
    })
    .await?
    .ok_or(MembershipReadError::NotAMember)
}
