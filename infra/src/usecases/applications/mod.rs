//! The join flow, one use case per operation (see [`crate::usecases`] for the shape):
//!
//! - the worker: [`submit_application`], [`my_applications`], [`my_application`],
//!   [`correct_application`], [`withdraw_application`];
//! - the admin: [`review_queue`], [`admin_application`] (personal data in clear for roles
//!   that review, audited), [`approve_application`], [`reject_application`],
//!   [`return_application`], [`forward_application`], [`assign_application`];
//! - the figures: [`review_stats`].
//!
//! Each owns its transaction, the encryption and decryption of personal data, the regions
//! check, the routing with its deadline, and the timeline, audit and outbox rows. Errors are
//! the enums of [`errors`]: the domain's own error types, never a request field or a status.

pub(crate) mod correct;
mod detail;
pub mod errors;
pub(crate) mod form;
mod queue;
mod read;
mod review;
mod stats;
pub(crate) mod submit;
pub(crate) mod withdraw;

pub use correct::correct_application;
pub use detail::{ApplicationDetail, PiiShown};
pub use errors::{
    CorrectError, DecideError, FormRefusal, ReadError, StatsError, SubmitError, WithdrawalError,
};
pub use form::Submission;
pub use queue::{QueuePage, review_queue};
pub use read::{admin_application, my_application, my_applications};
pub use review::{
    BATCH_APPROVE_MAX, approve_application, approve_applications, assign_application,
    forward_application, reject_application, return_application,
};
pub use stats::review_stats;
pub use submit::{RenderError, Submitted, submit_application};
pub use withdraw::withdraw_application;
