//! Log set-up: one line per event, with the request id when there is one, as text or as JSON
//! (`[log] format`, `APP__LOG__FORMAT=json`).
//!
//! Values are logged as key-values — `log::info!(route = route.as_str(), status = 200;
//! "request")` — not formatted into the message, so a JSON line carries each as a field:
//!
//! ```text
//! 1764880000000 INFO  zhijian_api::telemetry [0193…] request method=GET route=/v1/regions status=200 latency_ms=1.4
//! {"latency_ms":1.4,"level":"INFO","message":"request","method":"GET","request_id":"0193…","route":"/v1/regions","status":200,"target":"zhijian_api::telemetry","ts":1764880000000}
//! ```
//!
//! Personal data cannot be a value: a key-value needs `log::kv::ToValue`, which neither
//! `ResidentId` nor `PhoneNumber` implements (their `Display` and `Debug` write the masked
//! form, so `phone:% = …` logs `138****1234`), so this does not compile:
//!
//! ```compile_fail,E0277
//! let phone = zhijian_domain::phone::PhoneNumber::parse("13812341234").unwrap();
//! log::info!(phone = phone; "code sent");
//! ```
//!
//! ```compile_fail,E0277
//! let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
//! let id = zhijian_domain::resident_id::ResidentId::parse("11010519491231002X", today).unwrap();
//! log::info!(resident_id = id; "application received");
//! ```
//!
//! while a plain value does:
//!
//! ```
//! let status: u16 = 200;
//! log::info!(status = status, route = "/v1/regions"; "request");
//! ```

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use log::kv::{Key, Value, VisitSource};
use serde::Deserialize;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `timestamp LEVEL target [request id] message key=value…`, for people.
    #[default]
    Text,
    /// One JSON object per line, each key-value a field, for a log pipeline.
    Json,
}

/// `[log]` settings.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogConfig {
    /// `text` (default) or `json`.
    #[serde(default)]
    pub format: LogFormat,
}

static JSON: AtomicBool = AtomicBool::new(false);

/// Sets the format of the lines written from now on (the logger is installed before the
/// settings are read).
pub fn set_format(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
}

fn format() -> LogFormat {
    if JSON.load(Ordering::Relaxed) {
        LogFormat::Json
    } else {
        LogFormat::Text
    }
}

/// Initialises `env_logger` (level from `RUST_LOG`, default `info`). Safe to call twice.
pub fn init() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format(|buf, record| {
            let request_id = zhijian_infra::log_context::current();
            let line = render(
                format(),
                &buf.timestamp_millis().to_string(),
                record,
                request_id.as_deref(),
            );
            writeln!(buf, "{line}")
        })
        .try_init();
}

/// One log line (without its newline).
pub fn render(
    format: LogFormat,
    timestamp: &str,
    record: &log::Record<'_>,
    request_id: Option<&str>,
) -> String {
    match format {
        LogFormat::Text => format!(
            "{} {:<5} {} [{}] {}",
            timestamp,
            record.level(),
            record.target(),
            request_id.unwrap_or("-"),
            message_with_key_values(record)
        ),
        LogFormat::Json => {
            let mut fields = serde_json::Map::new();
            fields.insert(
                "ts".to_owned(),
                timestamp.parse::<u64>().map_or_else(
                    |_| serde_json::Value::from(timestamp),
                    serde_json::Value::from,
                ),
            );
            fields.insert("level".to_owned(), record.level().as_str().into());
            fields.insert("target".to_owned(), record.target().into());
            fields.insert(
                "request_id".to_owned(),
                request_id.map_or(serde_json::Value::Null, Into::into),
            );
            fields.insert("message".to_owned(), record.args().to_string().into());
            for (key, value) in key_values(record) {
                // a key-value never replaces the line's own fields
                let key = if fields.contains_key(&key) && key != "request_id" {
                    format!("kv_{key}")
                } else {
                    key
                };
                fields.insert(key, value);
            }
            serde_json::Value::Object(fields).to_string()
        }
    }
}

/// The message followed by the key-values as ` key=value` (a value with a space, a quote or
/// an `=` quoted): the text form, and what the tests search for personal data.
pub fn message_with_key_values(record: &log::Record<'_>) -> String {
    let mut line = record.args().to_string();
    for (key, value) in key_values(record) {
        let text = match value {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        };
        if text.is_empty() || text.contains([' ', '"', '=']) {
            line.push_str(&format!(" {key}={text:?}"));
        } else {
            line.push_str(&format!(" {key}={text}"));
        }
    }
    line
}

/// The record's key-values, in order, as JSON values (numbers and booleans as such).
fn key_values(record: &log::Record<'_>) -> Vec<(String, serde_json::Value)> {
    struct Collect(Vec<(String, serde_json::Value)>);

    impl<'kvs> VisitSource<'kvs> for Collect {
        fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
            self.0.push((key.as_str().to_owned(), json_value(&value)));
            Ok(())
        }
    }

    let mut collect = Collect(Vec::new());
    // Collecting never fails.
    let _ = record.key_values().visit(&mut collect);
    collect.0
}

fn json_value(value: &Value<'_>) -> serde_json::Value {
    if let Some(b) = value.to_bool() {
        b.into()
    } else if let Some(n) = value.to_i64() {
        n.into()
    } else if let Some(n) = value.to_u64() {
        n.into()
    } else if let Some(n) = value.to_f64().and_then(serde_json::Number::from_f64) {
        serde_json::Value::Number(n)
    } else {
        value.to_string().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_record<R>(
        kvs: &[(&str, Value<'_>)],
        message: std::fmt::Arguments<'_>,
        check: impl FnOnce(&log::Record<'_>) -> R,
    ) -> R {
        let record = log::Record::builder()
            .level(log::Level::Info)
            .target("zhijian_api::telemetry")
            .args(message)
            .key_values(&kvs)
            .build();
        check(&record)
    }

    #[test]
    fn text_appends_the_key_values_to_the_message() {
        let line = with_record(
            &[
                ("method", Value::from("GET")),
                ("route", Value::from("/v1/regions/{code}")),
                ("status", Value::from(200u16)),
                ("latency_ms", Value::from(1.5f64)),
                ("note", Value::from("two words")),
            ],
            format_args!("request"),
            |record| render(LogFormat::Text, "1700000000000", record, Some("req-1")),
        );
        assert_eq!(
            line,
            "1700000000000 INFO  zhijian_api::telemetry [req-1] request method=GET \
             route=/v1/regions/{code} status=200 latency_ms=1.5 note=\"two words\""
        );
    }

    #[test]
    fn json_is_one_object_with_a_field_per_key_value() {
        let line = with_record(
            &[
                ("method", Value::from("POST")),
                ("status", Value::from(201u16)),
                ("latency_ms", Value::from(12.25f64)),
                ("ok", Value::from(true)),
                ("message", Value::from("clash")),
            ],
            format_args!("request {}", "served"),
            |record| render(LogFormat::Json, "1700000000000", record, Some("req-2")),
        );
        assert!(!line.contains('\n'));
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "ts": 1_700_000_000_000u64,
                "level": "INFO",
                "target": "zhijian_api::telemetry",
                "request_id": "req-2",
                "message": "request served",
                "method": "POST",
                "status": 201,
                "latency_ms": 12.25,
                "ok": true,
                "kv_message": "clash",
            })
        );
    }

    #[test]
    fn json_without_a_request_has_a_null_request_id() {
        let line = with_record(&[], format_args!("a \"quoted\"\nline"), |record| {
            render(LogFormat::Json, "1", record, None)
        });
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["request_id"], serde_json::Value::Null);
        assert_eq!(json["message"], "a \"quoted\"\nline");
        assert!(!line.contains('\n'), "one line per event");
    }

    #[test]
    fn the_format_is_a_setting() {
        let config: LogConfig =
            serde_json::from_value(serde_json::json!({"format": "json"})).unwrap();
        assert_eq!(config.format, LogFormat::Json);
        let config: LogConfig = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(config.format, LogFormat::Text);
        assert!(serde_json::from_value::<LogConfig>(serde_json::json!({"format": "xml"})).is_err());
    }
}
