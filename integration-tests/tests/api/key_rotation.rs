//! Key rotation in service (issue 18): data written under encryption key `k1` and blind-index
//! key `b0`; `zhijian keys add|rotate` (the built binary) makes `k2` and `b1` the keys of new
//! writes; while older rows are still on the old keys, lookups by blind index (duplicate
//! person, current member, sign-in by phone) find them; the key-rotation job moves every row
//! (progress in `/metrics`); reads still decrypt; `zhijian keys retire` refuses while a row
//! uses the key; a server refuses to start when a row uses a key it does not have.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use zhijian_api::settings::Settings;
use zhijian_api::startup::Application;
use zhijian_integration_tests::fixtures::{application_form, count, person};
use zhijian_integration_tests::{TestApp, TestResponse, spawn_app_with};

fn keys(app: &TestApp, binary: &std::path::Path, args: &[&str]) -> std::process::Output {
    zhijian_integration_tests::cli::zhijian_command(app, binary)
        .arg("keys")
        .args(args)
        .output()
        .unwrap()
}

fn ok(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn refused(output: &std::process::Output) -> String {
    assert!(!output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A second server on the app's database, with `settings`; answers its base URL and handle.
async fn server(settings: Settings) -> (String, zhijian_api::startup::AppHandle) {
    let app = Application::build(settings, Duration::from_secs(10))
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    (address, handle)
}

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

async fn phone_sign_in(app: &TestApp, base: &str, phone: &str) -> Value {
    let sent = call(
        app,
        base,
        Method::POST,
        "/v1/auth/sms-codes",
        None,
        Some(&json!({ "phone": phone, "purpose": "login" })),
    )
    .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    let code = app.stub.last_sms_code(phone).unwrap();
    let signed_in = call(
        app,
        base,
        Method::POST,
        "/v1/auth/phone",
        None,
        Some(&json!({ "phone": phone, "code": code })),
    )
    .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    signed_in.body
}

/// The account id behind a sign-in answer (`GET /v1/me`).
async fn account_of(app: &TestApp, base: &str, signed_in: &Value) -> String {
    let token = signed_in["access_token"].as_str().unwrap();
    let me = call(app, base, Method::GET, "/v1/me", Some(token), None).await;
    assert_eq!(me.status, 200, "{}", me.text);
    me.body["account_id"].as_str().unwrap().to_owned()
}

fn metric(text: &str, kind: &str) -> Option<i64> {
    let prefix = format!("zhijian_key_rotation_remaining{{kind=\"{kind}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.trim().parse().unwrap())
}

/// Rows on each key: `(sealed on k1, sealed on k2, indexes bare (b0), indexes on b1)`.
fn on_keys(app: &TestApp) -> (i64, i64, i64, i64) {
    let sealed = |key: &str| {
        count(
            app,
            &format!(
                "SELECT (SELECT count(*) FROM applications WHERE resident_id_cipher LIKE 'v1.{key}.%') \
                 + (SELECT count(*) FROM applications WHERE phone_cipher LIKE 'v1.{key}.%') \
                 + (SELECT count(*) FROM accounts WHERE phone_cipher LIKE 'v1.{key}.%')"
            ),
        )
    };
    let bare = count(
        app,
        "SELECT (SELECT count(*) FROM applications WHERE position(':' IN person_index) = 0) \
         + (SELECT count(*) FROM applications WHERE position(':' IN phone_index) = 0) \
         + (SELECT count(*) FROM members WHERE position(':' IN person_index) = 0) \
         + (SELECT count(*) FROM accounts WHERE phone_index IS NOT NULL AND position(':' IN phone_index) = 0)",
    );
    let b1 = count(
        app,
        "SELECT (SELECT count(*) FROM applications WHERE person_index LIKE 'b1:%') \
         + (SELECT count(*) FROM applications WHERE phone_index LIKE 'b1:%') \
         + (SELECT count(*) FROM members WHERE person_index LIKE 'b1:%') \
         + (SELECT count(*) FROM accounts WHERE phone_index LIKE 'b1:%')",
    );
    (sealed("k1"), sealed("k2"), bare, b1)
}

#[tokio::test]
async fn keys_rotate_in_service_and_lookups_find_rows_under_either_key() {
    let keyring = std::env::temp_dir().join(format!("keyring-{}.json", uuid::Uuid::now_v7()));
    let ring = keyring.clone();
    let app = spawn_app_with(move |s| {
        s.pii.keyring_file = Some(ring);
        s.sms_policy.resend_interval_secs = 0;
    })
    .await;
    app.seed_demo().await;
    let base = app.address.clone();
    let reviewer = app.admin_token("courier-reviewer").await;

    // Under k1 / b0: a phone account with a pending application, and an approved member.
    let phone_worker = phone_sign_in(&app, &base, "13655502001").await;
    let phone_token = phone_worker["access_token"].as_str().unwrap().to_owned();
    let pending = app
        .call(
            Method::POST,
            "/v1/applications",
            &phone_token,
            Some(&application_form(&person(201), "13655502001")),
        )
        .await;
    assert_eq!(pending.status, 201, "{}", pending.text);
    let pending_id = pending.body["id"].as_str().unwrap().to_owned();
    let member = app.worker_token("rot-member").await;
    let submitted = app
        .call(
            Method::POST,
            "/v1/applications",
            &member,
            Some(&application_form(&person(202), "13655502002")),
        )
        .await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let member_app = submitted.body["id"].as_str().unwrap().to_owned();
    assert_eq!(app.approve(&member_app, &reviewer, 1).await.status, 200);
    let (k1, k2, bare, b1) = on_keys(&app);
    assert!(
        k1 >= 5 && k2 == 0 && bare >= 6 && b1 == 0,
        "{:?}",
        on_keys(&app)
    );

    // The operator adds and rotates both keys with the command.
    let binary = tokio::task::spawn_blocking(zhijian_integration_tests::cli::zhijian_binary)
        .await
        .unwrap();
    assert!(ok(&keys(&app, &binary, &["add", "k2"])).contains("k2 added"));
    let again = refused(&keys(&app, &binary, &["add", "k1"]));
    assert!(again.contains("k1"), "{again}");
    ok(&keys(&app, &binary, &["rotate", "k2"]));
    ok(&keys(&app, &binary, &["add", "--blind-index", "b1"]));
    ok(&keys(&app, &binary, &["rotate", "--blind-index", "b1"]));
    let text = std::fs::read_to_string(&keyring).unwrap();
    assert!(text.contains("\"active_encryption_key\": \"k2\""), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&keyring).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the keyring is private: {mode:o}");
    }
    let status = ok(&keys(&app, &binary, &["status"]));
    assert!(
        status.contains("encryption key k2 (active): 0 rows"),
        "{status}"
    );
    assert!(status.contains("encryption key k1: "), "{status}");
    let busy = refused(&keys(&app, &binary, &["retire", "k1"]));
    assert!(busy.contains("k1 is still used by"), "{busy}");
    let active = refused(&keys(&app, &binary, &["retire", "k2"]));
    assert!(active.contains("active key"), "{active}");

    // A server without the keyring refuses to start: rows need k2 only after writes, so
    // first a server with the new keys and the job off writes under k2 / b1.
    let mut during = app.settings.clone();
    during.key_rotation.enabled = false;
    let (mid, mid_handle) = server(during).await;
    // Lookups find the rows still under the old keys.
    let first_account = account_of(&app, &base, &phone_worker).await;
    let again = phone_sign_in(&app, &mid, "13655502001").await;
    assert_eq!(
        account_of(&app, &mid, &again).await,
        first_account,
        "the same account by its phone under b0"
    );
    let other = app.worker_token("rot-other").await;
    let duplicate = call(
        &app,
        &mid,
        Method::POST,
        "/v1/applications",
        Some(&other),
        Some(&application_form(&person(201), "13655502003")),
    )
    .await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.text);
    assert_eq!(duplicate.body["code"], "application_exists");
    let member_again = call(
        &app,
        &mid,
        Method::POST,
        "/v1/applications",
        Some(&other),
        Some(&application_form(&person(202), "13655502003")),
    )
    .await;
    assert_eq!(
        member_again.body["code"], "already_member",
        "{}",
        member_again.text
    );
    // New writes use the new keys.
    let fresh = call(
        &app,
        &mid,
        Method::POST,
        "/v1/applications",
        Some(&other),
        Some(&application_form(&person(203), "13655502003")),
    )
    .await;
    assert_eq!(fresh.status, 201, "{}", fresh.text);
    let fresh_id = fresh.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM applications WHERE id = '{fresh_id}' \
                 AND resident_id_cipher LIKE 'v1.k2.%' AND person_index LIKE 'b1:%'"
            )
        ),
        1
    );
    // Reads still decrypt both.
    let detail = call(
        &app,
        &mid,
        Method::GET,
        &format!("/v1/applications/{pending_id}"),
        Some(&phone_token),
        None,
    )
    .await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    mid_handle.stop(true).await;

    // Without the keyring (k2, b1 missing), a server refuses to start and names the keys.
    let mut without = app.settings.clone();
    without.pii.keyring_file = None;
    let refusal = Application::build(without, Duration::from_secs(10))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        refusal.contains("encryption key `k2`") && refusal.contains("blind_index key `b1`"),
        "{refusal}"
    );

    // The job moves every row; /metrics shows the progress.
    let mut after = app.settings.clone();
    after.key_rotation.interval_ms = 200;
    after.key_rotation.batch_size = 2;
    let (done, done_handle) = server(after).await;
    let mut finished = false;
    for _ in 0..100 {
        let metrics = call(&app, &done, Method::GET, "/metrics", None, None).await;
        if metric(&metrics.text, "encryption") == Some(0)
            && metric(&metrics.text, "blind_index") == Some(0)
        {
            finished = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(finished, "the job finishes");
    let metrics = call(&app, &done, Method::GET, "/metrics", None, None).await;
    assert!(
        metrics
            .text
            .contains("zhijian_key_rotation_moved_total{kind=\"encryption\"}"),
        "{}",
        metrics.text
    );
    let (k1, k2, bare, b1) = on_keys(&app);
    assert_eq!((k1, bare), (0, 0), "{:?}", on_keys(&app));
    assert!(k2 >= 7 && b1 >= 8, "{:?}", on_keys(&app));

    // After: reads decrypt, lookups find.
    let detail = call(
        &app,
        &done,
        Method::GET,
        &format!("/v1/applications/{pending_id}"),
        Some(&phone_token),
        None,
    )
    .await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let data = call(
        &app,
        &done,
        Method::GET,
        "/v1/me/data",
        Some(&phone_token),
        None,
    )
    .await;
    assert_eq!(data.status, 200, "{}", data.text);
    assert!(
        data.text.contains("13655502001"),
        "my data in clear: {}",
        data.text
    );
    let again = phone_sign_in(&app, &done, "13655502001").await;
    assert_eq!(account_of(&app, &done, &again).await, first_account);
    let duplicate = call(
        &app,
        &done,
        Method::POST,
        "/v1/applications",
        Some(&app.worker_token("rot-third").await),
        Some(&application_form(&person(201), "13655502004")),
    )
    .await;
    assert_eq!(
        duplicate.body["code"], "application_exists",
        "{}",
        duplicate.text
    );
    done_handle.stop(true).await;

    // Now k1 and b0 hold no rows: retiring them is allowed (they live in the configuration,
    // so the command says to remove them there); k2 was never retired.
    let retired = ok(&keys(&app, &binary, &["retire", "k1"]));
    assert!(retired.contains("pii.encryption_keys"), "{retired}");
    ok(&keys(&app, &binary, &["retire", "--blind-index", "b0"]));
    let _ = std::fs::remove_file(&keyring);
}

#[tokio::test]
async fn a_key_added_to_the_keyring_is_retired_from_it_once_unused() {
    let keyring = std::env::temp_dir().join(format!("keyring-{}.json", uuid::Uuid::now_v7()));
    let ring = keyring.clone();
    let app = spawn_app_with(move |s| s.pii.keyring_file = Some(ring)).await;
    let binary = tokio::task::spawn_blocking(zhijian_integration_tests::cli::zhijian_binary)
        .await
        .unwrap();
    ok(&keys(&app, &binary, &["add", "k7"]));
    assert!(
        std::fs::read_to_string(&keyring)
            .unwrap()
            .contains("\"k7\"")
    );
    let unknown = refused(&keys(&app, &binary, &["retire", "k8"]));
    assert!(unknown.contains("no encryption key k8"), "{unknown}");
    let retired = ok(&keys(&app, &binary, &["retire", "k7"]));
    assert!(retired.contains("k7 retired"), "{retired}");
    assert!(
        !std::fs::read_to_string(&keyring)
            .unwrap()
            .contains("\"k7\"")
    );
    let _ = std::fs::remove_file(&keyring);
}
