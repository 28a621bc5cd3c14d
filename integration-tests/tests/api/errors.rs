//! actix's own errors leave the server in the JSON envelope too.

use reqwest::Method;
use zhijian_integration_tests::app::assert_error_envelope;
use zhijian_integration_tests::spawn_app;

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let app = spawn_app().await;
    let response = app.get("/v1/nothing-here").await;
    assert_eq!(response.status, 404);
    assert!(response.is_json(), "{:?}", response.headers);
    assert_error_envelope(&response.body);
    assert_eq!(response.body["code"], "not_found");
    assert!(response.header("x-request-id").is_some());
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405_with_allow() {
    let app = spawn_app().await;
    let response = app
        .send(app.request(Method::DELETE, "/v1/regions/500237"))
        .await;
    assert_eq!(response.status, 405);
    assert!(response.is_json());
    assert_error_envelope(&response.body);
    assert_eq!(response.body["code"], "method_not_allowed");
    assert!(
        response.header("allow").unwrap_or_default().contains("GET"),
        "{:?}",
        response.headers
    );
}

#[tokio::test]
async fn a_bad_path_parameter_names_the_field() {
    let app = spawn_app().await;
    for bad in ["5002370", "abc", "50023x"] {
        let response = app.get(&format!("/v1/regions/{bad}")).await;
        assert_eq!(response.status, 400, "{bad}");
        assert_eq!(response.body["code"], "invalid_region_code");
        assert_eq!(response.body["field"], "code");
    }
}

#[tokio::test]
async fn a_body_too_large_is_a_json_413_on_every_kind_of_route() {
    let app = spawn_app().await;
    let big = format!("{{\"payload\":\"{}\"}}", "x".repeat(200 * 1024));
    let worker = app.worker_token("big-body").await;
    for path in ["/v1/cards/verify", "/v1/applications", "/v1/auth/wechat"] {
        let request = app.request(Method::POST, path).bearer_auth(&worker);
        let response = app
            .send(
                request
                    .header("content-type", "application/json")
                    .body(big.clone()),
            )
            .await;
        assert_eq!(response.status, 413, "{path}: {}", response.text);
        assert!(response.is_json());
        assert_eq!(response.body["code"], "payload_too_large");
    }
}

#[tokio::test]
async fn malformed_json_and_a_wrong_content_type_are_json_errors() {
    let app = spawn_app().await;
    let broken = app
        .send(
            app.request(Method::POST, "/v1/cards/verify")
                .header("content-type", "application/json")
                .body("{\"payload\":"),
        )
        .await;
    assert_eq!(broken.status, 400);
    assert_eq!(broken.body["code"], "malformed_json");
    let wrong_type = app
        .send(
            app.request(Method::POST, "/v1/cards/verify")
                .header("content-type", "text/plain")
                .body("hello"),
        )
        .await;
    assert_eq!(wrong_type.status, 415);
    assert_eq!(wrong_type.body["code"], "unsupported_media_type");
    let wrong_field_type = app
        .post_json("/v1/cards/verify", &serde_json::json!({"payload": 42}))
        .await;
    assert_eq!(wrong_field_type.status, 400);
    assert_eq!(wrong_field_type.body["code"], "invalid_field");
}
