//! The worker's own membership and the electronic member card: who may show one, and what a
//! verifier learns about its holder.

use zhijian_domain::ids::{AccountId, MemberId};
use zhijian_domain::member::{MemberStatus, ShowCardError};

use super::store_errors;
use crate::db::{self, StoreError};
use crate::store::members::{self, MemberRow};
use crate::store::unions::UnionRow;
use crate::usecases::Services;

/// A membership with its union and parsed status.
#[derive(Debug, Clone)]
pub struct Membership {
    /// The member.
    pub member: MemberRow,
    /// The member's union.
    pub union: UnionRow,
    /// The status.
    pub status: MemberStatus,
}

impl Membership {
    fn of((member, union): (MemberRow, UnionRow)) -> Result<Self, StoreError> {
        let status = member.status;
        Ok(Self {
            member,
            union,
            status,
        })
    }
}

/// Why the worker's own membership could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MembershipReadError {
    /// The worker holds no membership.
    #[error("not a member")]
    NotAMember,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the member card is not issued.
#[derive(Debug, thiserror::Error)]
pub enum CardError {
    /// The worker holds no membership.
    #[error("not a member")]
    NotAMember,
    /// The membership has ended.
    #[error(transparent)]
    Refused(ShowCardError),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(MembershipReadError, CardError);

async fn of_account(ctx: &Services, account: AccountId) -> Result<Option<Membership>, StoreError> {
    db::run(&ctx.pool, move |conn| {
        members::find_for_account(conn, account)?
            .map(Membership::of)
            .transpose()
    })
    .await
}

/// The worker's membership, with its union.
pub async fn my_membership(
    ctx: &Services,
    account: AccountId,
) -> Result<Membership, MembershipReadError> {
    of_account(ctx, account)
        .await?
        .ok_or(MembershipReadError::NotAMember)
}

/// The holder of the worker's member card: only a current member shows one.
pub async fn card_holder(ctx: &Services, account: AccountId) -> Result<Membership, CardError> {
    let membership = of_account(ctx, account)
        .await?
        .ok_or(CardError::NotAMember)?;
    membership.status.show_card().map_err(CardError::Refused)?;
    Ok(membership)
}

/// The holder of a verified card, if the member still exists; whether the card is valid
/// follows from their status ([`MemberStatus::is_current`]).
pub async fn verify_card(
    ctx: &Services,
    member: MemberId,
) -> Result<Option<Membership>, StoreError> {
    db::run(&ctx.pool, move |conn| {
        members::find(conn, member.as_uuid())?
            .map(Membership::of)
            .transpose()
    })
    .await
}
