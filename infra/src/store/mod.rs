//! Storage, one module per aggregate: its rows, reads and conditional writes. Nothing here
//! opens a transaction on its own behalf except where the module says so; the use cases in
//! [`crate::usecases`] compose these inside theirs.

pub mod accounts;
pub mod admin_accounts;
pub mod admins;
pub mod applications;
pub mod audit;
pub mod audit_trail;
pub mod benefits;
pub mod calendar;
pub mod counters;
pub mod coverage;
pub mod idempotency;
pub mod key_rotation;
pub mod member_lifecycle;
pub mod members;
pub mod outbox;
pub mod partners;
pub mod privacy;
pub mod privacy_consents;
pub mod reference_cache;
pub mod referrals;
pub mod regions;
pub mod register;
pub mod retention;
pub mod review_stats;
pub mod second_factors;
pub mod stations;
pub mod transfers;
pub mod union_admin;
pub mod union_changes;
pub mod unions;
pub mod workforce;
