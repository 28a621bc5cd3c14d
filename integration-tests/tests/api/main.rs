//! Black-box tests of zhijian over HTTP: one test binary, one module per area.

mod contract;
mod errors;
mod health;
mod migrations;
mod regions;
mod stub;
