//! Black-box tests of zhijian over HTTP: one test binary, one module per area.

mod applications;
mod contract;
mod demo;
mod errors;
mod health;
mod membership;
mod migrations;
mod reference;
mod regions;
mod stub;
mod auth;
