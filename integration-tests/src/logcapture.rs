//! Every log line of the test process, kept in memory so a test can check what the server
//! logged (for instance, that no phone number ever reaches the log).
//!
//! A process has one global logger: [`crate::init_logging`] installs [`install`]'s, which
//! records lines into a bounded ring buffer and also prints them through `env_logger` as
//! before (`RUST_LOG` sets what is printed; warnings by default). It records `info` and above
//! from every crate, and `debug` from the zhijian crates. Tests run in parallel in one process,
//! so the buffer holds every test's lines: search it for values unique to your test.

use std::collections::VecDeque;
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Lines kept; the oldest are dropped beyond this.
const CAPACITY: usize = 200_000;

static LINES: Mutex<VecDeque<CapturedLine>> = Mutex::new(VecDeque::new());

/// One recorded log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedLine {
    /// Level.
    pub level: Level,
    /// Target (normally the module path, e.g. `zhijian_api::routes::auth`).
    pub target: String,
    /// The formatted message, followed by the key-values as ` key=value` (the server's text
    /// format without its prefix).
    pub message: String,
    /// The whole line as the server writes it with `[log] format = "json"`.
    pub json: String,
}

impl CapturedLine {
    /// Whether the line comes from the provider stub, which plays WeChat or an SMS provider and
    /// so legitimately logs the numbers it "delivers" to.
    pub fn is_from_stub(&self) -> bool {
        self.target.starts_with("zhijian_integration_tests::stub")
    }
}

impl std::fmt::Display for CapturedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.level, self.target, self.message)
    }
}

struct TeeLogger {
    printer: env_logger::Logger,
}

fn captured(metadata: &Metadata<'_>) -> bool {
    metadata.level() <= Level::Info
        || (metadata.level() <= Level::Debug && metadata.target().starts_with("zhijian"))
}

impl Log for TeeLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        captured(metadata) || self.printer.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if captured(record.metadata()) {
            let request_id = zhijian_infra::log_context::current();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let line = CapturedLine {
                level: record.level(),
                target: record.target().to_owned(),
                message: zhijian_api::logging::message_with_key_values(record),
                json: zhijian_api::logging::render(
                    zhijian_api::logging::LogFormat::Json,
                    &now.to_string(),
                    record,
                    request_id.as_deref(),
                ),
            };
            if let Ok(mut lines) = LINES.lock() {
                if lines.len() >= CAPACITY {
                    lines.pop_front();
                }
                lines.push_back(line);
            }
        }
        if self.printer.matches(record) {
            self.printer.log(record);
        }
    }

    fn flush(&self) {
        self.printer.flush();
    }
}

/// Installs the recording logger in front of `printer`; false when a logger was already set
/// (a second call changes nothing).
pub fn install(printer: env_logger::Logger) -> bool {
    let max = printer.filter().max(LevelFilter::Debug);
    match log::set_boxed_logger(Box::new(TeeLogger { printer })) {
        Ok(()) => {
            log::set_max_level(max);
            true
        }
        Err(_) => false,
    }
}

/// Every recorded line, oldest first.
pub fn lines() -> Vec<CapturedLine> {
    LINES
        .lock()
        .map(|lines| lines.iter().cloned().collect())
        .unwrap_or_default()
}

/// The recorded lines whose message or target contains `needle`.
pub fn lines_containing(needle: &str) -> Vec<CapturedLine> {
    LINES
        .lock()
        .map(|lines| {
            lines
                .iter()
                .filter(|l| l.message.contains(needle) || l.target.contains(needle))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}
