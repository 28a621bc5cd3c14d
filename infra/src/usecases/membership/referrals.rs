//! Referrals (已入会会员带动入会): a member's own referral code with the scene of its
//! mini-program code, and the approved applications that carried it.

use chrono::{DateTime, Utc};
use zhijian_domain::ids::AccountId;
use zhijian_domain::referral::ReferralCode;

use super::{Page, store_errors};
use crate::db::{self, StoreError};
use crate::store::members;
use crate::store::referrals::{self, ReferralRow};
use crate::usecases::Services;

/// A member's referral code.
#[derive(Debug, Clone)]
pub struct MyReferralCode {
    /// The code.
    pub code: ReferralCode,
    /// Whether the code may be put on an application now (its member is a current member).
    pub usable: bool,
}

/// Why the worker's referral code or referrals could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReferralReadError {
    /// The worker holds no membership (never had one).
    #[error("not a member")]
    NotAMember,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(ReferralReadError);

/// The referral code of the worker's member record (kept across a withdrawal and a new
/// membership: one record per person).
pub async fn my_referral_code(
    ctx: &Services,
    account: AccountId,
) -> Result<MyReferralCode, ReferralReadError> {
    db::run(&ctx.pool, move |conn| {
        let (member, _) =
            members::find_for_account(conn, account)?.ok_or(ReferralReadError::NotAMember)?;
        Ok(MyReferralCode {
            code: referrals::code_of(conn, member.id)?,
            usable: member.status.is_current(),
        })
    })
    .await
}

/// A page of the approved applications that carried the worker's code, newest approval first,
/// after `after` (the `(decided_at, id)` of the previous page's last row).
pub async fn my_referrals(
    ctx: &Services,
    account: AccountId,
    after: Option<(DateTime<Utc>, uuid::Uuid)>,
    limit: i64,
) -> Result<Page<ReferralRow>, ReferralReadError> {
    db::run(&ctx.pool, move |conn| {
        let (member, _) =
            members::find_for_account(conn, account)?.ok_or(ReferralReadError::NotAMember)?;
        let rows = referrals::approved_referrals(conn, member.id, after, limit + 1)?;
        Ok(Page::cut(rows, limit))
    })
    .await
}
