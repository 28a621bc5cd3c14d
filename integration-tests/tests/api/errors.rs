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
