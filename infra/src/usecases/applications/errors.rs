//! What the join-flow use cases refuse with. The API maps each variant once
//! (`api/src/error/mapping/applications.rs`) to a status, a code, a message and — for a
//! refusal about something the request named — a field.

use zhijian_domain::application::{
    ApproveError, AssignError, ForwardError, RejectError, ResubmitError, ReturnError, WithdrawError,
};
use zhijian_domain::referral::ReferralError;
use zhijian_domain::routing::RoutingError;
use zhijian_domain::target::TargetError;

use crate::db::StoreError;
use crate::store::applications::RegionProblem;
use crate::store::idempotency::KeyReused;
use crate::usecases::store_errors;

/// Why a form (a submission or a correction) cannot go to review.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormRefusal {
    /// The work region is unknown or not a township or village.
    #[error("work region: {0:?}")]
    WorkRegion(RegionProblem),
    /// The household region is not in the regions table.
    #[error("unknown household region")]
    UnknownHouseholdRegion,
    /// No union covers the work region.
    #[error(transparent)]
    Routing(RoutingError),
    /// The person already holds a current membership.
    #[error("already a member")]
    AlreadyMember,
    /// The person already has another open application.
    #[error("an open application exists")]
    OpenApplicationExists,
    /// The referral code may not be used (unknown, its member left, the applicant's own).
    #[error(transparent)]
    Referral(ReferralError),
}

/// Why [`super::submit_application`] refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The form cannot go to review.
    #[error(transparent)]
    Refused(FormRefusal),
    /// The idempotency key was used before with another body.
    #[error("idempotency key reused")]
    KeyReused(KeyReused),
    /// The storage failed (or the answer could not be rendered).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why [`super::correct_application`] refused.
#[derive(Debug, thiserror::Error)]
pub enum CorrectError {
    /// No such application of this account.
    #[error("not found")]
    NotFound,
    /// The application is not returned.
    #[error(transparent)]
    Resubmit(ResubmitError),
    /// The corrected form cannot go to review.
    #[error(transparent)]
    Refused(FormRefusal),
    /// It changed since it was read.
    #[error("stale")]
    Stale,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why [`super::withdraw_application`] refused.
#[derive(Debug, thiserror::Error)]
pub enum WithdrawalError {
    /// No such application of this account.
    #[error("not found")]
    NotFound,
    /// The application is closed.
    #[error(transparent)]
    Withdraw(WithdrawError),
    /// It changed since it was read.
    #[error("stale")]
    Stale,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why reading an application failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// No such application, or outside the caller's reach.
    #[error("not found")]
    NotFound,
    /// The admin saw personal data in clear too often in the last hour.
    #[error("too many reveals of personal data")]
    TooManyReveals {
        /// Seconds until one more is allowed.
        retry_after_secs: u64,
    },
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an admin's decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// No such application, or outside the admin's subtree.
    #[error("not found")]
    NotFound,
    /// The approval is not allowed now.
    #[error(transparent)]
    Approve(ApproveError),
    /// The rejection is not allowed now.
    #[error(transparent)]
    Reject(RejectError),
    /// The return is not allowed now, or names nothing to correct.
    #[error(transparent)]
    Return(ReturnError),
    /// The forward is not allowed now, or goes to the same union.
    #[error(transparent)]
    Forward(ForwardError),
    /// The assignment is not allowed now, or goes to the pool itself.
    #[error(transparent)]
    Assign(AssignError),
    /// The target union of a forward or assignment (the domain's rule for receiving by hand).
    #[error(transparent)]
    Target(TargetError),
    /// The approved person already holds a current membership.
    #[error("already a member")]
    AlreadyMember,
    /// It changed since the admin loaded it.
    #[error("stale")]
    Stale,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the review figures could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// No such union, or outside the admin's subtree.
    #[error("not found")]
    NotFound,
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_errors!(
    SubmitError,
    CorrectError,
    WithdrawalError,
    ReadError,
    DecideError,
    StatsError
);
