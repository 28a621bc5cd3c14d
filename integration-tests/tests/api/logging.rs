//! Structured logs: each request writes one line whose values are fields, not text.

use reqwest::Method;
use serde_json::Value;
use zhijian_integration_tests::{logcapture, spawn_app_with};

/// The server in this process logs through the test harness's logger, which records every
/// record as the server's own logger writes it with `[log] format = "json"`
/// (`zhijian_api::logging::render`) and in the text format (`CapturedLine::message`).
#[tokio::test]
async fn a_request_writes_one_json_line_with_its_fields() {
    let app = spawn_app_with(|settings| {
        settings.log.format = zhijian_api::logging::LogFormat::Json;
    })
    .await;
    let request_id = format!("jsonlog{}", uuid::Uuid::new_v4().simple());
    let response = app
        .send(
            app.request(Method::GET, "/v1/regions/500237")
                .header("x-request-id", &request_id),
        )
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("x-request-id"), Some(request_id.as_str()));

    let lines: Vec<Value> = logcapture::lines()
        .into_iter()
        .filter(|line| line.target == "zhijian_api::telemetry")
        .map(|line| {
            serde_json::from_str::<Value>(&line.json)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", line.json))
        })
        .filter(|json| json["request_id"] == request_id.as_str())
        .collect();
    assert_eq!(lines.len(), 1, "one line per request: {lines:?}");
    let line = &lines[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["message"], "request");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/v1/regions/{code}");
    assert_eq!(line["status"], 200);
    assert!(
        line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{line}"
    );
    assert!(line["ts"].is_u64(), "{line}");

    let text = logcapture::lines_containing(&request_id);
    assert!(
        text.iter().any(|line| line.message
            == format!(
                "request request_id={request_id} method=GET route=/v1/regions/{{code}} \
                 status=200 latency_ms={}",
                line_latency(line)
            )),
        "the text form appends the key-values: {text:?}"
    );
}

fn line_latency(line: &logcapture::CapturedLine) -> String {
    serde_json::from_str::<Value>(&line.json).unwrap()["latency_ms"].to_string()
}
