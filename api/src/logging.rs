//! Log set-up: one line per event, with the request id when there is one.

use std::io::Write;

/// Initialises `env_logger` (level from `RUST_LOG`, default `info`). Safe to call twice.
pub fn init() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|buf, record| {
            let request_id = zhijian_infra::log_context::current();
            writeln!(
                buf,
                "{} {:<5} {} [{}] {}",
                buf.timestamp_millis(),
                record.level(),
                record.target(),
                request_id.as_deref().unwrap_or("-"),
                record.args()
            )
        })
        .try_init();
}
