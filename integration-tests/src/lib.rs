//! Test support for zhijian: per-test databases, `spawn_app()`, contract checks, a fault proxy,
//! and the WeChat/SMS provider stub (also runnable on its own for `make run`).
#![expect(
    clippy::expect_used,
    reason = "test support: a broken fixture must abort the test loudly"
)]

pub mod app;
pub mod cli;
pub mod clock;
pub mod contract;
pub mod database;
pub mod fixtures;
pub mod logcapture;
pub mod proxy;
pub mod stub;

pub use app::{TestApp, TestResponse, spawn_app, spawn_app_with, spawn_app_with_clock};
pub use clock::MockClock;
pub use database::TestDatabase;

/// Logs from tests go to the test's captured output (`RUST_LOG` sets the level), and every
/// line is also recorded in memory for tests to search ([`logcapture`]).
pub fn init_logging() {
    let printer =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
            .is_test(true)
            .build();
    logcapture::install(printer);
}
