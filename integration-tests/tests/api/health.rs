use std::time::Duration;

use zhijian_integration_tests::proxy::{FaultProxy, redirect, socket_of};
use zhijian_integration_tests::{spawn_app, spawn_app_with};

#[tokio::test]
async fn healthz_answers_ok_with_a_request_id() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["status"], "ok");
    let id = response.header("x-request-id").expect("request id");
    assert!(id.len() >= 16, "{id}");
}

#[tokio::test]
async fn a_callers_request_id_is_echoed_and_a_bad_one_replaced() {
    let app = spawn_app().await;
    let ok = app
        .send(
            app.request(reqwest::Method::GET, "/healthz")
                .header("x-request-id", "abc-123_x"),
        )
        .await;
    assert_eq!(ok.header("x-request-id"), Some("abc-123_x"));
    let bad = app
        .send(
            app.request(reqwest::Method::GET, "/healthz")
                .header("x-request-id", "a b;c"),
        )
        .await;
    assert_ne!(bad.header("x-request-id"), Some("a b;c"));
}

#[tokio::test]
async fn readyz_is_ready_when_postgres_and_redis_answer() {
    let app = spawn_app().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["status"], "ready");
}

async fn wait_for_status(
    app: &zhijian_integration_tests::TestApp,
    status: u16,
) -> zhijian_integration_tests::TestResponse {
    let mut last = app.get("/readyz").await;
    for _ in 0..60 {
        if last.status == status {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        last = app.get("/readyz").await;
    }
    panic!(
        "/readyz never answered {status}; last: {} {}",
        last.status, last.text
    );
}

#[tokio::test]
async fn readyz_follows_redis_down_and_back_without_a_restart() {
    let proxy = FaultProxy::start(socket_of(&zhijian_integration_tests::app::redis_url())).await;
    let redis = redirect(&zhijian_integration_tests::app::redis_url(), proxy.addr);
    let app =
        spawn_app_with(|s| s.redis.url = zhijian_infra::crypto::secret::Secret::new(redis)).await;
    wait_for_status(&app, 200).await;

    proxy.set_down(true);
    let down = wait_for_status(&app, 503).await;
    assert_eq!(down.body["code"], "not_ready");
    assert!(down.body["message"].as_str().unwrap().contains("缓存"));
    assert_eq!(down.header("retry-after"), Some("5"));

    proxy.set_down(false);
    wait_for_status(&app, 200).await;
}

#[tokio::test]
async fn readyz_follows_postgres_down_and_back_without_a_restart() {
    let db_url = zhijian_integration_tests::database::admin_url();
    let proxy = FaultProxy::start(socket_of(&db_url)).await;
    let app = spawn_app_with(|s| {
        let url = redirect(s.database.url.expose(), proxy.addr);
        s.database.url = zhijian_infra::crypto::secret::Secret::new(url);
        s.database.connect_timeout_ms = 500;
    })
    .await;
    wait_for_status(&app, 200).await;

    proxy.set_down(true);
    let down = wait_for_status(&app, 503).await;
    assert_eq!(down.body["code"], "not_ready");
    assert!(down.body["message"].as_str().unwrap().contains("数据库"));
    // Business routes answer 503 too, with Retry-After, never 500.
    let region = app.get("/v1/regions/500237").await;
    assert_eq!(region.status, 503, "{}", region.text);
    assert_eq!(region.header("retry-after"), Some("5"));

    proxy.set_down(false);
    wait_for_status(&app, 200).await;
    assert_eq!(app.get("/v1/regions/500237").await.status, 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    app.get("/v1/regions/500237").await;
    app.get("/v1/regions/500237").await;
    app.get("/v1/regions/999999").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = &response.text;
    assert!(
        text.contains(
            r#"zhijian_http_requests_total{method="GET",route="/v1/regions/{code}",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(text.contains(
        r#"zhijian_http_requests_total{method="GET",route="/v1/regions/{code}",status="404"} 1"#
    ));
    assert!(text.contains("zhijian_http_request_duration_seconds_bucket"));
    assert!(text.contains(r#"zhijian_db_pool_connections{state="max"} 4"#));
}
