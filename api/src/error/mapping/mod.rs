//! Use-case errors to HTTP: the one place where an outcome of `zhijian-infra` becomes a status,
//! a code from the catalogue and a field. One module per area of use cases.

mod applications;
pub mod audit;
pub mod auth;
mod membership;
mod stations;

pub use applications::{
    correct_error, decide_error, read_error, stats_error, submit_error, withdrawal_error,
};
