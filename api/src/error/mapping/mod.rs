//! Use-case errors to HTTP: the one place where an outcome of `zhijian-infra` becomes a status,
//! a code from the catalogue and a field. One module per area of use cases.

pub mod admins;
mod applications;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod imports;
mod membership;
pub mod partners;
pub mod privacy;
mod referrals;
pub mod second_factor;
mod stations;
mod union_changes;
pub mod unions;
mod workforce;

pub use applications::{
    correct_error, decide_error, read_error, stats_error, submit_error, withdrawal_error,
};
