//! Consent to the privacy notice by purpose and version (issue 18): the first application's
//! consent block is the first consent; `GET`/`PUT /v1/me/privacy-consent` show it, grant and
//! withdraw optional purposes (audited); when `privacy.notice_version` changes, the sign-in
//! says re-consent is needed and every write answers 403 `consent_required` until the worker
//! consents to the new version; "my data" includes the consent.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use zhijian_api::startup::Application;
use zhijian_integration_tests::fixtures::{application_form, count, person};
use zhijian_integration_tests::{TestApp, TestResponse, spawn_app};

async fn call(
    app: &TestApp,
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> TestResponse {
    let mut request = app.client.request(method, format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    TestResponse {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

async fn wechat_sign_in(app: &TestApp, base: &str, user: &str) -> Value {
    let code = format!("{user}.{}", uuid::Uuid::new_v4().simple());
    let signed_in = call(
        app,
        base,
        Method::POST,
        "/v1/auth/wechat",
        None,
        Some(&json!({ "code": code })),
    )
    .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    signed_in.body
}

fn granted(view: &Value) -> Vec<String> {
    view["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["granted"] == true)
        .map(|p| p["purpose"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn consent_by_purpose_is_given_withdrawn_and_asked_again_when_the_notice_changes() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let base = app.address.clone();

    // A new worker: nothing consented yet, nothing to re-consent.
    let signed_in = wechat_sign_in(&app, &base, "consent-a").await;
    assert_eq!(signed_in["privacy_notice_version"], "2026-01");
    assert_eq!(signed_in["privacy_consent_required"], false);
    let token = signed_in["access_token"].as_str().unwrap().to_owned();
    let before = app
        .call(Method::GET, "/v1/me/privacy-consent", &token, None)
        .await;
    assert_eq!(before.status, 200, "{}", before.text);
    assert!(before.body.get("consent").is_none(), "{}", before.text);
    assert_eq!(before.body["consent_required"], false);
    assert!(granted(&before.body).is_empty());

    // The application's consent block is the first consent: notice 2026-01, membership.
    let submitted = app
        .call(
            Method::POST,
            "/v1/applications",
            &token,
            Some(&application_form(&person(301), "13655503001")),
        )
        .await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    let first = app
        .call(Method::GET, "/v1/me/privacy-consent", &token, None)
        .await;
    assert_eq!(first.body["consent"]["notice_version"], "2026-01");
    assert_eq!(granted(&first.body), ["membership"]);

    // Grant optional purposes, then withdraw one; each change is audited.
    let put = |purposes: Value, version: &str| {
        let body = json!({ "notice_version": version, "purposes": purposes });
        let token = token.clone();
        let app = &app;
        async move {
            app.call(Method::PUT, "/v1/me/privacy-consent", &token, Some(&body))
                .await
        }
    };
    let more = put(
        json!(["membership", "partner_sharing", "referral_stats"]),
        "2026-01",
    )
    .await;
    assert_eq!(more.status, 200, "{}", more.text);
    assert_eq!(
        granted(&more.body),
        ["membership", "referral_stats", "partner_sharing"]
    );
    let fewer = put(json!(["membership", "referral_stats"]), "2026-01").await;
    assert_eq!(fewer.status, 200, "{}", fewer.text);
    assert_eq!(granted(&fewer.body), ["membership", "referral_stats"]);
    let audited = |action: &str| {
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE action = '{action}' AND object_kind = 'account'"
            ),
        )
    };
    assert_eq!(
        audited("grant_consent"),
        2,
        "the application's and the PUT's"
    );
    assert_eq!(audited("withdraw_consent"), 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'withdraw_consent' \
             AND reason = 'notice 2026-01: partner_sharing'"
        ),
        1
    );

    // Refusals change nothing.
    let required = put(json!(["referral_stats"]), "2026-01").await;
    assert_eq!(
        (required.status, required.body["code"].as_str()),
        (400, Some("required_purpose_missing")),
        "{}",
        required.text
    );
    assert_eq!(required.body["field"], "purposes");
    let unknown = put(json!(["membership", "marketing"]), "2026-01").await;
    assert_eq!(unknown.body["code"], "invalid_field", "{}", unknown.text);
    let old = put(json!(["membership"]), "2025-01").await;
    assert_eq!(
        (old.status, old.body["code"].as_str()),
        (409, Some("notice_version_outdated")),
        "{}",
        old.text
    );
    let still = app
        .call(Method::GET, "/v1/me/privacy-consent", &token, None)
        .await;
    assert_eq!(granted(&still.body), ["membership", "referral_stats"]);

    // A new notice: a server configured with 2026-06 on the same database.
    let mut settings = app.settings.clone();
    settings.privacy.notice_version = "2026-06".into();
    let server = Application::build(settings, Duration::from_secs(10))
        .await
        .unwrap();
    let next = format!("http://127.0.0.1:{}", server.port());
    let handle = server.handle();
    tokio::spawn(server.run_until_stopped());

    let again = wechat_sign_in(&app, &next, "consent-a").await;
    assert_eq!(again["privacy_notice_version"], "2026-06");
    assert_eq!(again["privacy_consent_required"], true, "{again}");
    let token = again["access_token"].as_str().unwrap().to_owned();
    let withdraw_path = format!("/v1/applications/{id}/withdraw");
    let blocked = call(
        &app,
        &next,
        Method::POST,
        &withdraw_path,
        Some(&token),
        None,
    )
    .await;
    assert_eq!(blocked.status, 403, "{}", blocked.text);
    assert_eq!(blocked.body["code"], "consent_required");
    assert!(
        blocked.body["message"]
            .as_str()
            .unwrap()
            .contains("隐私政策"),
        "{}",
        blocked.text
    );
    // Reads still work; my data holds the consent.
    let data = call(&app, &next, Method::GET, "/v1/me/data", Some(&token), None).await;
    assert_eq!(data.status, 200, "{}", data.text);
    assert_eq!(data.body["privacy_consent"]["notice_version"], "2026-01");
    assert_eq!(
        data.body["privacy_consent"]["purposes"],
        json!(["membership", "referral_stats"])
    );
    let view = call(
        &app,
        &next,
        Method::GET,
        "/v1/me/privacy-consent",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(view.body["consent_required"], true);
    assert!(
        granted(&view.body).is_empty(),
        "nothing counts under the new notice"
    );
    let stale = call(
        &app,
        &next,
        Method::PUT,
        "/v1/me/privacy-consent",
        Some(&token),
        Some(&json!({ "notice_version": "2026-01", "purposes": ["membership"] })),
    )
    .await;
    assert_eq!(stale.body["code"], "notice_version_outdated");
    let consented = call(
        &app,
        &next,
        Method::PUT,
        "/v1/me/privacy-consent",
        Some(&token),
        Some(&json!({ "notice_version": "2026-06", "purposes": ["membership"] })),
    )
    .await;
    assert_eq!(consented.status, 200, "{}", consented.text);
    assert_eq!(consented.body["consent_required"], false);
    let withdrawn = call(
        &app,
        &next,
        Method::POST,
        &withdraw_path,
        Some(&token),
        None,
    )
    .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    let signed_again = wechat_sign_in(&app, &next, "consent-a").await;
    assert_eq!(signed_again["privacy_consent_required"], false);

    // A worker who never consented is not blocked: their first application consents.
    let fresh = wechat_sign_in(&app, &next, "consent-b").await;
    assert_eq!(fresh["privacy_consent_required"], false);
    handle.stop(true).await;
}
