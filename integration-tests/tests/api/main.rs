//! Black-box tests of zhijian over HTTP: one test binary, one module per area.
#![expect(
    clippy::unwrap_used,
    reason = "the whole crate is tests: shared test helpers unwrap like the tests they serve"
)]

mod admins;
mod applications;
mod architecture;
mod audit;
mod auth;
mod beijing;
mod calendar;
mod console;
mod contract;
mod coverage;
mod demo;
mod errors;
mod escalation;
mod faults;
mod generator;
mod health;
mod imports;
mod key_rotation;
mod lifecycle;
mod logging;
mod member_export;
mod membership;
mod migrations;
mod notifications;
mod partners;
mod privacy;
mod privacy_consent;
mod production;
mod reference;
mod referrals;
mod regions;
mod retention;
mod second_factor;
mod sql;
mod statements;
mod stations;
mod stats;
mod stub;
mod transfers;
mod union_changes;
mod unions;
mod webhooks;
mod workforce;
