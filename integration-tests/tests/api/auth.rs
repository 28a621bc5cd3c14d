//! Signing in and out over HTTP: WeChat and SMS-code sign-in with every verification-code
//! rule and sending cap, token refresh with rotation and reuse detection, logout, refused
//! tokens, binding a phone, admin password sign-in with its lockout, and no phone number in
//! the log.
//!
//! Choices pinned here: a bad WeChat code is 400 `invalid_wechat_code` (field `code`); an
//! admin locked after five failures answers 429 `account_locked` with `Retry-After`, from the
//! fifth failure on, even for the right password.
#![expect(
    clippy::expect_used,
    reason = "test helpers: a fixture that fails must fail the test loudly"
)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use diesel::{QueryableByName, RunQueryDsl, sql_query};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use zhijian_domain::admin::AdminRole;
use zhijian_domain::ids::UnionId;
use zhijian_infra::redis::sessions::SessionKind;
use zhijian_infra::store::admins::{NewAdmin, create_admin};
use zhijian_integration_tests::stub::{Fault, FaultTarget};
use zhijian_integration_tests::{
    MockClock, TestApp, TestResponse, logcapture, spawn_app, spawn_app_with, spawn_app_with_clock,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/// A random mainland mobile number no other test uses.
fn unique_phone() -> String {
    format!("139{:08}", rand::random::<u32>() % 100_000_000)
}

async fn post_with(app: &TestApp, path: &str, token: Option<&str>, body: &Value) -> TestResponse {
    let mut request = app.request(Method::POST, path).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    app.send(request).await
}

async fn get_with(app: &TestApp, path: &str, token: &str) -> TestResponse {
    app.send(app.request(Method::GET, path).bearer_auth(token))
        .await
}

async fn wechat_login(app: &TestApp, code: &str) -> TestResponse {
    app.post_json("/v1/auth/wechat", &json!({ "code": code }))
        .await
}

async fn send_code(app: &TestApp, phone: &str, purpose: &str) -> TestResponse {
    app.post_json(
        "/v1/auth/sms-codes",
        &json!({ "phone": phone, "purpose": purpose }),
    )
    .await
}

async fn phone_login(app: &TestApp, phone: &str, code: &str) -> TestResponse {
    app.post_json("/v1/auth/phone", &json!({ "phone": phone, "code": code }))
        .await
}

fn last_code(app: &TestApp, phone: &str) -> String {
    app.stub
        .last_sms_code(phone)
        .expect("an SMS reached the stub")
}

/// Signs in with WeChat as `code`; returns the token pair.
async fn worker(app: &TestApp, code: &str) -> Value {
    let response = wechat_login(app, code).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body
}

fn access(pair: &Value) -> &str {
    pair["access_token"].as_str().expect("access_token")
}

fn refresh_token(pair: &Value) -> &str {
    pair["refresh_token"].as_str().expect("refresh_token")
}

/// The claims of a JWT, read without checking anything.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
        .expect("JSON claims")
}

/// A JWT with this header and these claims, signed with HMAC-SHA256 under `secret`.
fn sign_hs256(header: &Value, claims: &Value, secret: &str) -> String {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn assert_unauthorized(response: &TestResponse) {
    assert_eq!(response.status, 401, "{}", response.text);
    assert_eq!(response.body["code"], "unauthorized");
    assert_eq!(response.body["message"], "请先登录");
    assert!(
        response
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer")),
        "{:?}",
        response.headers
    );
}

fn retry_after(response: &TestResponse) -> u64 {
    response
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("a numeric Retry-After")
}

fn assert_too_many(response: &TestResponse) -> u64 {
    assert_eq!(response.status, 429, "{}", response.text);
    assert_eq!(response.body["code"], "too_many_requests");
    retry_after(response)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

fn count(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.db.connect();
    sql_query(sql)
        .get_result::<Count>(&mut conn)
        .expect("count")
        .n
}

/// A county federation of 巫山县 (500237) and an admin bound to it.
async fn admin_fixture(
    app: &TestApp,
    username: &str,
    password: &str,
    role: AdminRole,
) -> (UnionId, String) {
    let mut conn = app.db.connect();
    let (username, password) = (username.to_owned(), password.to_owned());
    tokio::task::spawn_blocking(move || {
        let union = sql_query(
            "WITH n AS (SELECT nextval(pg_get_serial_sequence('unions', 'id')) AS id) \
             INSERT INTO unions (id, name, kind, region_code, path) \
             SELECT id, '巫山县总工会', 'federation', '500237', '/' || id || '/' FROM n RETURNING id",
        )
        .get_result::<Id>(&mut conn)
        .expect("a union")
        .id;
        let union_id = UnionId::new(union);
        let admin = create_admin(
            &mut conn,
            NewAdmin { username: &username, display_name: "巫山县审核员", password: &password, role, union_id },
        )
        .expect("an admin");
        (union_id, admin.to_string())
    })
    .await
    .expect("fixture")
}

async fn admin_login(app: &TestApp, username: &str, password: &str) -> TestResponse {
    app.post_json(
        "/v1/admin/auth/login",
        &json!({ "username": username, "password": password }),
    )
    .await
}

const ADMIN_PASSWORD: &str = "Wushan-review-2026";

// ---------------------------------------------------------------------------------------------
// WeChat sign-in

#[tokio::test]
async fn wechat_sign_in_keeps_one_account_per_openid() {
    let app = spawn_app().await;
    let first = worker(&app, "alice.1").await;
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], app.settings.auth.access_ttl_secs);
    let me = get_with(&app, "/v1/me", access(&first)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["wechat_linked"], true);
    assert!(me.body.get("phone").is_none(), "{}", me.body);

    let again = worker(&app, "alice.2").await;
    let me_again = get_with(&app, "/v1/me", access(&again)).await;
    assert_eq!(me_again.body["account_id"], me.body["account_id"]);
    let bob = worker(&app, "bob").await;
    assert_ne!(
        get_with(&app, "/v1/me", access(&bob)).await.body["account_id"],
        me.body["account_id"]
    );
    assert_eq!(count(&app, "SELECT count(*) AS n FROM accounts"), 2);
    let unionid = count(
        &app,
        "SELECT count(*) AS n FROM accounts WHERE wechat_unionid = 'u_stub_alice'",
    );
    assert_eq!(unionid, 1);
    // An account from before the mini-program was bound to an Open Platform account gets the
    // unionid at its next sign-in.
    {
        use diesel::RunQueryDsl;
        let mut conn = app.db.connect();
        diesel::sql_query(
            "UPDATE accounts SET wechat_unionid = NULL WHERE wechat_openid = 'o_stub_alice'",
        )
        .execute(&mut conn)
        .unwrap();
    }
    let later = worker(&app, "alice.3").await;
    assert_eq!(
        get_with(&app, "/v1/me", access(&later)).await.body["account_id"],
        me.body["account_id"]
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM accounts WHERE wechat_unionid = 'u_stub_alice'"
        ),
        1
    );

    // The access token carries ids only; WeChat's session_key never leaves the server.
    let claims = claims_of(access(&first));
    assert_eq!(claims["typ"], "worker");
    assert_eq!(claims["sub"], me.body["account_id"]);
    assert!(!first.to_string().contains("session_key"));
}

#[tokio::test]
async fn an_invalid_or_used_wechat_code_is_a_400_naming_the_code() {
    let app = spawn_app().await;
    for code in ["invalid", "", "   ", "a\u{0}b", "\u{1e}a\u{db}t", "码"] {
        let response = wechat_login(&app, code).await;
        assert_eq!(response.status, 400, "{code:?}: {}", response.text);
        assert_eq!(response.body["code"], "invalid_wechat_code");
        assert_eq!(response.body["field"], "code");
    }
    worker(&app, "carol.1").await;
    let reused = wechat_login(&app, "carol.1").await;
    assert_eq!(
        (reused.status, &reused.body["code"]),
        (400, &json!("invalid_wechat_code"))
    );
    let missing = app.post_json("/v1/auth/wechat", &json!({})).await;
    assert_eq!(
        (missing.status, &missing.body["field"]),
        (400, &json!("code"))
    );
    let blocked = wechat_login(&app, "blocked").await;
    assert_eq!(
        (blocked.status, &blocked.body["code"]),
        (403, &json!("wechat_user_blocked"))
    );
    assert_eq!(count(&app, "SELECT count(*) AS n FROM accounts"), 1);
}

#[tokio::test]
async fn wechat_down_is_a_503_with_retry_after_and_stores_nothing() {
    let app = spawn_app().await;
    app.stub
        .inject_fault(Fault::status(FaultTarget::Jscode2session, 502));
    let response = wechat_login(&app, "dave").await;
    assert_eq!(response.status, 503, "{}", response.text);
    assert_eq!(response.body["code"], "service_unavailable");
    assert!(retry_after(&response) >= 1);
    assert_eq!(count(&app, "SELECT count(*) AS n FROM accounts"), 0);

    app.stub.clear_faults();
    worker(&app, "dave").await;
}

// ---------------------------------------------------------------------------------------------
// SMS codes

#[tokio::test]
async fn a_phone_signs_in_with_its_code_once() {
    let app = spawn_app_with(|s| s.sms_policy.resend_interval_secs = 0).await;
    let phone = unique_phone();
    let sent = send_code(&app, &phone, "login").await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    assert_eq!(sent.body, json!({ "expires_in": 300, "resend_after": 0 }));
    let sms = app.stub.sms_to(&phone);
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].template_id, "1000001");
    assert_eq!(sms[0].params[1], "5", "the template says how many minutes");
    let code = last_code(&app, &phone);
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );

    let signed_in = phone_login(&app, &format!("+86 {phone}"), &code).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let me = get_with(&app, "/v1/me", access(&signed_in.body)).await;
    assert_eq!(
        me.body["phone"],
        format!("{}****{}", &phone[..3], &phone[7..])
    );
    assert_eq!(me.body["wechat_linked"], false);

    // Single use.
    let again = phone_login(&app, &phone, &code).await;
    assert_eq!(
        (again.status, &again.body["code"]),
        (400, &json!("sms_code_expired"))
    );
    assert_eq!(again.body["field"], "code");

    // A new code signs in to the same account.
    send_code(&app, &phone, "login").await;
    let second = phone_login(&app, &phone, &last_code(&app, &phone)).await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(
        get_with(&app, "/v1/me", access(&second.body)).await.body["account_id"],
        me.body["account_id"]
    );

    // The phone is stored encrypted, with a blind index.
    let clear = count(
        &app,
        &format!(
            "SELECT count(*) AS n FROM accounts WHERE phone_cipher LIKE '%{phone}%' OR phone_index = '{phone}'"
        ),
    );
    assert_eq!(clear, 0);
}

#[tokio::test]
async fn five_wrong_codes_void_the_code_even_for_the_right_one_next() {
    let app = spawn_app().await;
    let phone = unique_phone();
    send_code(&app, &phone, "login").await;
    let code = last_code(&app, &phone);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for attempt in 1..=4 {
        let response = phone_login(&app, &phone, wrong).await;
        assert_eq!(
            (response.status, &response.body["code"]),
            (400, &json!("invalid_sms_code")),
            "attempt {attempt}"
        );
        assert_eq!(response.body["field"], "code");
    }
    let fifth = phone_login(&app, &phone, wrong).await;
    assert_eq!(
        (fifth.status, &fifth.body["code"]),
        (400, &json!("sms_code_expired"))
    );
    let right = phone_login(&app, &phone, &code).await;
    assert_eq!(
        (right.status, &right.body["code"]),
        (400, &json!("sms_code_expired"))
    );
    assert_eq!(count(&app, "SELECT count(*) AS n FROM accounts"), 0);

    // A malformed code is wrong without using up an attempt.
    let malformed = phone_login(&app, &phone, "12ab").await;
    assert_eq!(malformed.body["code"], "invalid_sms_code");
}

#[tokio::test]
async fn a_code_is_bound_to_its_phone_and_purpose() {
    let app = spawn_app_with(|s| s.sms_policy.resend_interval_secs = 0).await;
    let pair = worker(&app, "erin").await;
    let phone = unique_phone();

    // bind_phone codes need a signed-in worker.
    assert_unauthorized(&send_code(&app, &phone, "bind_phone").await);
    let sent = post_with(
        &app,
        "/v1/auth/sms-codes",
        Some(access(&pair)),
        &json!({ "phone": phone, "purpose": "bind_phone" }),
    )
    .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    let bind_code = last_code(&app, &phone);

    // Not a login code, and not a code for another phone.
    let as_login = phone_login(&app, &phone, &bind_code).await;
    assert_eq!(
        (as_login.status, &as_login.body["code"]),
        (400, &json!("sms_code_expired"))
    );
    let other_phone = unique_phone();
    let bound_elsewhere = post_with(
        &app,
        "/v1/me/phone",
        Some(access(&pair)),
        &json!({ "phone": other_phone, "code": bind_code }),
    )
    .await;
    assert_eq!(bound_elsewhere.body["code"], "sms_code_expired");

    let bound = post_with(
        &app,
        "/v1/me/phone",
        Some(access(&pair)),
        &json!({ "phone": phone, "code": bind_code }),
    )
    .await;
    assert_eq!(bound.status, 200, "{}", bound.text);
    assert_eq!(
        bound.body["phone"],
        format!("{}****{}", &phone[..3], &phone[7..])
    );
    assert_eq!(bound.body["wechat_linked"], true);

    // A login code does not bind.
    send_code(&app, &phone, "login").await;
    let login_code = last_code(&app, &phone);
    let as_bind = post_with(
        &app,
        "/v1/me/phone",
        Some(access(&pair)),
        &json!({ "phone": phone, "code": login_code }),
    )
    .await;
    assert_eq!(as_bind.body["code"], "sms_code_expired");
    // … but signs in, to the account the phone is now bound to.
    let signed_in = phone_login(&app, &phone, &login_code).await;
    assert_eq!(
        get_with(&app, "/v1/me", access(&signed_in.body)).await.body["account_id"],
        bound.body["account_id"]
    );

    let unknown = send_code(&app, &phone, "reset_password").await;
    assert_eq!(
        (
            unknown.status,
            &unknown.body["code"],
            &unknown.body["field"]
        ),
        (400, &json!("invalid_sms_purpose"), &json!("purpose"))
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let app = spawn_app_with(|s| s.sms_policy.code_ttl_secs = 1).await;
    let phone = unique_phone();
    let sent = send_code(&app, &phone, "login").await;
    assert_eq!(sent.body["expires_in"], 1);
    let code = last_code(&app, &phone);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let late = phone_login(&app, &phone, &code).await;
    assert_eq!(
        (late.status, &late.body["code"]),
        (400, &json!("sms_code_expired"))
    );
}

#[tokio::test]
async fn invalid_phone_numbers_are_refused_and_nothing_is_sent() {
    let app = spawn_app().await;
    for phone in [
        "02365123456",
        "0236512345",
        "138123456789",
        "+12025550123",
        "12812341234",
        "1381234abcd",
        "",
    ] {
        let response = send_code(&app, phone, "login").await;
        assert_eq!(response.status, 400, "{phone}: {}", response.text);
        assert_eq!(response.body["code"], "invalid_phone", "{phone}");
        assert_eq!(response.body["field"], "phone", "{phone}");
        let login = phone_login(&app, phone, "123456").await;
        assert_eq!(
            (login.status, &login.body["field"]),
            (400, &json!("phone")),
            "{phone}"
        );
    }
    assert!(app.stub.all_sms().is_empty());
}

#[tokio::test]
async fn a_second_send_within_60_seconds_is_refused() {
    let app = spawn_app().await;
    let phone = unique_phone();
    assert_eq!(
        send_code(&app, &phone, "login").await.body["resend_after"],
        60
    );
    let again = send_code(&app, &phone, "login").await;
    let wait = assert_too_many(&again);
    assert!((55..=60).contains(&wait), "{wait}");
    assert_eq!(app.stub.sms_to(&phone).len(), 1);
    // Per phone, whatever the purpose.
    let pair = worker(&app, "frank").await;
    let bind = post_with(
        &app,
        "/v1/auth/sms-codes",
        Some(access(&pair)),
        &json!({ "phone": phone, "purpose": "bind_phone" }),
    )
    .await;
    assert_too_many(&bind);
    assert_eq!(app.stub.sms_to(&phone).len(), 1);
}

#[tokio::test]
async fn the_hourly_cap_per_phone_is_enforced() {
    let app = spawn_app_with(|s| {
        s.sms_policy.resend_interval_secs = 0;
        s.sms_policy.phone_per_hour = 3;
    })
    .await;
    let phone = unique_phone();
    for _ in 0..3 {
        assert_eq!(send_code(&app, &phone, "login").await.status, 202);
    }
    let wait = assert_too_many(&send_code(&app, &phone, "login").await);
    assert!((3500..=3600).contains(&wait), "{wait}");
    assert_eq!(app.stub.sms_to(&phone).len(), 3);
    // Another phone is not affected.
    assert_eq!(send_code(&app, &unique_phone(), "login").await.status, 202);
}

#[tokio::test]
async fn the_daily_cap_per_phone_is_enforced() {
    let app = spawn_app_with(|s| {
        s.sms_policy.resend_interval_secs = 0;
        s.sms_policy.phone_per_hour = 3;
        s.sms_policy.phone_per_day = 3;
    })
    .await;
    let phone = unique_phone();
    for _ in 0..3 {
        assert_eq!(send_code(&app, &phone, "login").await.status, 202);
    }
    // Retry-After is the time until the day's window frees up, not the hour's.
    let wait = assert_too_many(&send_code(&app, &phone, "login").await);
    assert!((86_300..=86_400).contains(&wait), "{wait}");
    assert_eq!(app.stub.sms_to(&phone).len(), 3);
}

#[tokio::test]
async fn the_cap_per_ip_is_enforced() {
    let app = spawn_app_with(|s| s.sms_policy.ip_per_hour = 2).await;
    let phones = [unique_phone(), unique_phone(), unique_phone()];
    assert_eq!(send_code(&app, &phones[0], "login").await.status, 202);
    assert_eq!(send_code(&app, &phones[1], "login").await.status, 202);
    let wait = assert_too_many(&send_code(&app, &phones[2], "login").await);
    assert!((3500..=3600).contains(&wait), "{wait}");
    assert!(app.stub.sms_to(&phones[2]).is_empty());
}

#[tokio::test]
async fn the_cap_per_account_is_enforced() {
    let app = spawn_app_with(|s| s.sms_policy.account_per_day = 2).await;
    let pair = worker(&app, "grace").await;
    let phones = [unique_phone(), unique_phone(), unique_phone()];
    for (i, phone) in phones.iter().enumerate() {
        let response = post_with(
            &app,
            "/v1/auth/sms-codes",
            Some(access(&pair)),
            &json!({ "phone": phone, "purpose": "bind_phone" }),
        )
        .await;
        if i < 2 {
            assert_eq!(response.status, 202, "{}", response.text);
        } else {
            assert_too_many(&response);
        }
    }
    assert!(app.stub.sms_to(&phones[2]).is_empty());
}

#[tokio::test]
async fn the_global_daily_cap_is_enforced() {
    let app = spawn_app_with(|s| s.sms_policy.global_per_day = 2).await;
    let phones = [unique_phone(), unique_phone(), unique_phone()];
    assert_eq!(send_code(&app, &phones[0], "login").await.status, 202);
    assert_eq!(send_code(&app, &phones[1], "login").await.status, 202);
    let wait = assert_too_many(&send_code(&app, &phones[2], "login").await);
    assert!(
        (1..=86_400).contains(&wait),
        "until midnight in Beijing: {wait}"
    );
    assert!(app.stub.sms_to(&phones[2]).is_empty());
}

#[tokio::test]
async fn concurrent_requests_cannot_exceed_a_cap() {
    let app = spawn_app_with(|s| {
        s.sms_policy.resend_interval_secs = 0;
        s.sms_policy.phone_per_hour = 4;
    })
    .await;
    let phone = unique_phone();
    let requests = (0..10).map(|_| send_code(&app, &phone, "login"));
    let statuses: Vec<u16> = futures_util::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        6,
        "{statuses:?}"
    );
    assert_eq!(app.stub.sms_to(&phone).len(), 4);
}

#[tokio::test]
async fn a_send_the_provider_fails_is_a_503_and_not_counted() {
    let app = spawn_app().await;
    let phone = unique_phone();
    app.stub
        .inject_fault(Fault::status(FaultTarget::Tencent, 503).times(1));
    let failed = send_code(&app, &phone, "login").await;
    assert_eq!(
        (failed.status, &failed.body["code"]),
        (503, &json!("service_unavailable"))
    );
    assert!(retry_after(&failed) >= 1);
    // Not counted against the 60-second resend interval.
    assert_eq!(send_code(&app, &phone, "login").await.status, 202);
    assert_eq!(app.stub.sms_to(&phone).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_sign_in() {
    let app = spawn_app().await;
    let first = worker(&app, "heidi").await;
    let second = app
        .post_json(
            "/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token(&first) }),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_ne!(refresh_token(&second.body), refresh_token(&first));
    assert_eq!(
        get_with(&app, "/v1/me", access(&second.body)).await.status,
        200
    );
    let third = app
        .post_json(
            "/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token(&second.body) }),
        )
        .await;
    assert_eq!(third.status, 200, "{}", third.text);

    // The first token comes back: a thief or a confused client. Everything of the sign-in ends.
    let reused = app
        .post_json(
            "/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token(&first) }),
        )
        .await;
    assert_eq!(
        (reused.status, &reused.body["code"]),
        (401, &json!("refresh_token_reused"))
    );
    assert!(reused.header("www-authenticate").is_some());
    let newest = app
        .post_json(
            "/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token(&third.body) }),
        )
        .await;
    assert_eq!(
        (newest.status, &newest.body["code"]),
        (401, &json!("invalid_refresh_token"))
    );
    assert_unauthorized(&get_with(&app, "/v1/me", access(&third.body)).await);
    assert_unauthorized(&get_with(&app, "/v1/me", access(&first)).await);

    // Another sign-in of the same person is not affected.
    let other = worker(&app, "heidi.2").await;
    assert_eq!(get_with(&app, "/v1/me", access(&other)).await.status, 200);
}

/// A flaky phone retries a refresh, or two requests race: the same refresh token presented
/// again within `auth.refresh_reuse_grace_secs` answers the same pair, and the sign-in lives on.
#[tokio::test]
async fn parallel_refreshes_within_the_grace_answer_the_same_pair() {
    let app = spawn_app().await;
    let first = worker(&app, "ivan").await;
    let body = json!({ "refresh_token": refresh_token(&first) });
    let (a, b) = tokio::join!(
        app.post_json("/v1/auth/refresh", &body),
        app.post_json("/v1/auth/refresh", &body)
    );
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(access(&a.body), access(&b.body));
    assert_eq!(refresh_token(&a.body), refresh_token(&b.body));
    assert_ne!(refresh_token(&a.body), refresh_token(&first));
    assert_eq!(get_with(&app, "/v1/me", access(&a.body)).await.status, 200);

    // A third retry, still within the grace, gets the same answer again.
    let again = app.post_json("/v1/auth/refresh", &body).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(refresh_token(&again.body), refresh_token(&a.body));

    // The new token goes on rotating as usual.
    let next = app
        .post_json(
            "/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token(&a.body) }),
        )
        .await;
    assert_eq!(next.status, 200, "{}", next.text);
    assert_eq!(
        get_with(&app, "/v1/me", access(&next.body)).await.status,
        200
    );
}

/// After the grace, a spent token is reuse as before: the whole sign-in is revoked.
#[tokio::test]
async fn a_spent_refresh_token_after_the_grace_revokes_the_sign_in() {
    let clock = MockClock::at(Utc::now());
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    let first = worker(&app, "judy").await;
    let body = json!({ "refresh_token": refresh_token(&first) });
    let second = app.post_json("/v1/auth/refresh", &body).await;
    assert_eq!(second.status, 200, "{}", second.text);

    clock.advance(chrono::TimeDelta::seconds(
        i64::try_from(app.settings.auth.refresh_reuse_grace_secs).expect("small") + 1,
    ));
    let reused = app.post_json("/v1/auth/refresh", &body).await;
    assert_eq!(
        (reused.status, &reused.body["code"]),
        (401, &json!("refresh_token_reused"))
    );
    assert!(reused.header("www-authenticate").is_some());
    assert_unauthorized(&get_with(&app, "/v1/me", access(&second.body)).await);
    let newest = app
        .post_json(
            "/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token(&second.body) }),
        )
        .await;
    assert_eq!(
        (newest.status, &newest.body["code"]),
        (401, &json!("invalid_refresh_token"))
    );
}

/// With no grace configured, the second of two sequential refreshes is reuse at once.
#[tokio::test]
async fn without_a_grace_the_same_token_twice_is_reuse() {
    let app = spawn_app_with(|s| s.auth.refresh_reuse_grace_secs = 0).await;
    let first = worker(&app, "kate").await;
    let body = json!({ "refresh_token": refresh_token(&first) });
    let second = app.post_json("/v1/auth/refresh", &body).await;
    assert_eq!(second.status, 200, "{}", second.text);
    let reused = app.post_json("/v1/auth/refresh", &body).await;
    assert_eq!(
        (reused.status, &reused.body["code"]),
        (401, &json!("refresh_token_reused"))
    );
    assert_unauthorized(&get_with(&app, "/v1/me", access(&second.body)).await);
}

#[tokio::test]
async fn unknown_refresh_tokens_are_refused() {
    let app = spawn_app().await;
    let pair = worker(&app, "ivan").await;
    let session = refresh_token(&pair).split_once('.').unwrap().0.to_owned();
    for bad in [
        "garbage",
        "",
        &format!("{session}.forged"),
        &format!("{}x", refresh_token(&pair)),
    ] {
        let response = app
            .post_json("/v1/auth/refresh", &json!({ "refresh_token": bad }))
            .await;
        assert_eq!(
            (response.status, &response.body["code"]),
            (401, &json!("invalid_refresh_token")),
            "{bad}"
        );
    }
    // A forged token naming the session does not revoke it.
    assert_eq!(get_with(&app, "/v1/me", access(&pair)).await.status, 200);
    let missing = app.post_json("/v1/auth/refresh", &json!({})).await;
    assert_eq!(
        (missing.status, &missing.body["field"]),
        (400, &json!("refresh_token"))
    );
}

#[tokio::test]
async fn logout_ends_the_access_and_refresh_tokens_at_once() {
    let app = spawn_app().await;
    let pair = worker(&app, "judy").await;
    assert_eq!(get_with(&app, "/v1/me", access(&pair)).await.status, 200);
    let out = post_with(&app, "/v1/auth/logout", Some(access(&pair)), &json!({})).await;
    assert_eq!(out.status, 204, "{}", out.text);
    assert_unauthorized(&get_with(&app, "/v1/me", access(&pair)).await);
    let refreshed = app
        .post_json(
            "/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token(&pair) }),
        )
        .await;
    assert_eq!(refreshed.status, 401);
    assert_unauthorized(&post_with(&app, "/v1/auth/logout", Some(access(&pair)), &json!({})).await);
}

#[tokio::test]
async fn tampered_expired_foreign_and_unsigned_tokens_are_refused() {
    let app = spawn_app().await;
    let pair = worker(&app, "kim").await;
    let token = access(&pair).to_owned();
    let claims = claims_of(&token);
    let auth = &app.settings.auth;
    let secret = auth.jwt_secret.expose();
    let hs256 = json!({ "alg": "HS256", "typ": "JWT" });
    assert_eq!(
        get_with(&app, "/v1/me", &sign_hs256(&hs256, &claims, secret))
            .await
            .status,
        200
    );

    assert_unauthorized(&app.get("/v1/me").await);
    assert_unauthorized(
        &app.send(
            app.request(Method::GET, "/v1/me")
                .header("authorization", format!("Basic {token}")),
        )
        .await,
    );
    assert_unauthorized(&get_with(&app, "/v1/me", "not-a-jwt").await);

    // One character of the payload changed.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut payload = claims.clone();
    payload["sub"] = json!(uuid::Uuid::new_v4().to_string());
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    assert_unauthorized(&get_with(&app, "/v1/me", &parts.join(".")).await);

    let mut forged = Vec::new();
    let with = |key: &str, value: Value| {
        let mut c = claims.clone();
        c[key] = value;
        c
    };
    let now = Utc::now().timestamp();
    forged.push((
        "expired",
        sign_hs256(&hs256, &with("exp", json!(now - 3600)), secret),
    ));
    forged.push((
        "wrong typ",
        sign_hs256(&hs256, &with("typ", json!("admin")), secret),
    ));
    forged.push((
        "unknown typ",
        sign_hs256(&hs256, &with("typ", json!("partner")), secret),
    ));
    forged.push((
        "wrong iss",
        sign_hs256(&hs256, &with("iss", json!("someone-else")), secret),
    ));
    forged.push((
        "wrong aud",
        sign_hs256(&hs256, &with("aud", json!("another-api")), secret),
    ));
    forged.push((
        "unknown session",
        sign_hs256(
            &hs256,
            &with("sid", json!("0123456789abcdef0123456789abcdef")),
            secret,
        ),
    ));
    forged.push((
        "other key",
        sign_hs256(&hs256, &claims, "another-secret-another-secret-0000"),
    ));
    forged.push((
        "HS512 header",
        sign_hs256(&json!({ "alg": "HS512", "typ": "JWT" }), &claims, secret),
    ));
    let none_header = URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "JWT" }).to_string());
    let none_payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    forged.push(("alg none", format!("{none_header}.{none_payload}.")));
    forged.push(("alg none, no dot", format!("{none_header}.{none_payload}")));
    let mut no_exp = claims.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    forged.push(("no exp", sign_hs256(&hs256, &no_exp, secret)));
    // Signed by the server's own code, but issued an hour ago: expired.
    let an_hour_ago = Utc::now() - chrono::TimeDelta::hours(1);
    let issued_late = zhijian_api::auth::issue_access_token(
        auth,
        SessionKind::Worker,
        claims["sub"].as_str().unwrap(),
        claims["sid"].as_str().unwrap(),
        an_hour_ago,
    )
    .unwrap();
    forged.push(("issued an hour ago", issued_late));
    for (what, token) in forged {
        let response = get_with(&app, "/v1/me", &token).await;
        assert_eq!(response.status, 401, "{what}: {}", response.text);
        assert_unauthorized(&response);
    }
    // None of that ended the real session.
    assert_eq!(get_with(&app, "/v1/me", &token).await.status, 200);
}

#[tokio::test]
async fn worker_and_admin_tokens_only_open_their_own_routes() {
    let app = spawn_app().await;
    admin_fixture(&app, "mixed.admin", ADMIN_PASSWORD, AdminRole::Viewer).await;
    let admin = admin_login(&app, "mixed.admin", ADMIN_PASSWORD).await;
    assert_eq!(admin.status, 200, "{}", admin.text);
    let pair = worker(&app, "leo").await;
    assert_unauthorized(&get_with(&app, "/v1/me", access(&admin.body)).await);
    assert_unauthorized(
        &post_with(
            &app,
            "/v1/admin/auth/logout",
            Some(access(&pair)),
            &json!({}),
        )
        .await,
    );
    // A token naming a worker session as `admin` (signed with the real key) is refused too.
    let mut claims = claims_of(access(&pair));
    claims["typ"] = json!("admin");
    let forged = sign_hs256(
        &json!({ "alg": "HS256", "typ": "JWT" }),
        &claims,
        app.settings.auth.jwt_secret.expose(),
    );
    assert_unauthorized(&post_with(&app, "/v1/admin/auth/logout", Some(&forged), &json!({})).await);
    assert_eq!(get_with(&app, "/v1/me", access(&pair)).await.status, 200);
}

// ---------------------------------------------------------------------------------------------
// Binding a phone

#[tokio::test]
async fn a_wechat_verified_phone_binds_once() {
    let app = spawn_app().await;
    let phone = unique_phone();
    let mallory = worker(&app, "mallory").await;
    let bound = post_with(
        &app,
        "/v1/auth/wechat-phone",
        Some(access(&mallory)),
        &json!({ "code": format!("phone-{phone}") }),
    )
    .await;
    assert_eq!(bound.status, 200, "{}", bound.text);
    assert_eq!(
        bound.body["phone"],
        format!("{}****{}", &phone[..3], &phone[7..])
    );
    assert_eq!(bound.body["wechat_linked"], true);
    // Binding it again (a new code) changes nothing.
    let again = post_with(
        &app,
        "/v1/auth/wechat-phone",
        Some(access(&mallory)),
        &json!({ "code": format!("phone-{phone}.2") }),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.text);

    // The phone signs in to the same account.
    send_code(&app, &phone, "login").await;
    let by_phone = phone_login(&app, &phone, &last_code(&app, &phone)).await;
    assert_eq!(
        get_with(&app, "/v1/me", access(&by_phone.body)).await.body["account_id"],
        bound.body["account_id"]
    );

    // Another account cannot take it.
    let niaj = worker(&app, "niaj").await;
    let taken = post_with(
        &app,
        "/v1/auth/wechat-phone",
        Some(access(&niaj)),
        &json!({ "code": format!("phone-{phone}.3") }),
    )
    .await;
    assert_eq!(
        (taken.status, &taken.body["code"]),
        (409, &json!("phone_taken"))
    );

    let used = post_with(
        &app,
        "/v1/auth/wechat-phone",
        Some(access(&niaj)),
        &json!({ "code": format!("phone-{phone}.3") }),
    )
    .await;
    assert_eq!(
        (used.status, &used.body["code"]),
        (400, &json!("invalid_wechat_code"))
    );
    let invalid = post_with(
        &app,
        "/v1/auth/wechat-phone",
        Some(access(&niaj)),
        &json!({ "code": "garbage" }),
    )
    .await;
    assert_eq!(
        (invalid.status, &invalid.body["field"]),
        (400, &json!("code"))
    );
    assert_unauthorized(
        &post_with(
            &app,
            "/v1/auth/wechat-phone",
            None,
            &json!({ "code": format!("phone-{phone}.4") }),
        )
        .await,
    );
}

// ---------------------------------------------------------------------------------------------
// Admins

#[tokio::test]
async fn an_admin_signs_in_with_a_password_and_out() {
    let app = spawn_app().await;
    let (union_id, admin_id) =
        admin_fixture(&app, "wushan.reviewer", ADMIN_PASSWORD, AdminRole::Reviewer).await;
    let response = admin_login(&app, "  Wushan.Reviewer ", ADMIN_PASSWORD).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let body = &response.body;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["admin"],
        json!({
            "id": admin_id,
            "username": "wushan.reviewer",
            "display_name": "巫山县审核员",
            "role": "reviewer",
            "union": { "id": union_id.get(), "name": "巫山县总工会" },
            "must_change_password": false,
        })
    );
    let claims = claims_of(access(body));
    assert_eq!(
        (claims["typ"].as_str(), claims["sub"].as_str()),
        (Some("admin"), Some(admin_id.as_str()))
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'login' AND actor_kind = 'admin'"
        ),
        1
    );

    // Admin tokens refresh like workers'.
    let refreshed = app
        .post_json(
            "/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token(body) }),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);
    assert_eq!(claims_of(access(&refreshed.body))["typ"], "admin");

    let out = post_with(
        &app,
        "/v1/admin/auth/logout",
        Some(access(&refreshed.body)),
        &json!({}),
    )
    .await;
    assert_eq!(out.status, 204, "{}", out.text);
    assert_unauthorized(
        &post_with(
            &app,
            "/v1/admin/auth/logout",
            Some(access(&refreshed.body)),
            &json!({}),
        )
        .await,
    );
    assert_unauthorized(
        &post_with(
            &app,
            "/v1/admin/auth/logout",
            Some(access(body)),
            &json!({}),
        )
        .await,
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_admin_get_the_same_answer() {
    let app = spawn_app().await;
    admin_fixture(&app, "wushan.manager", ADMIN_PASSWORD, AdminRole::Manager).await;
    let wrong = admin_login(&app, "wushan.manager", "Not-the-password-1").await;
    let unknown = admin_login(&app, "nobody.here", "Not-the-password-1").await;
    // A username no admin can have — PostgreSQL would refuse its NUL — is just as unknown.
    let impossible = admin_login(&app, "wushan\u{0}manager\u{7f}", "Not-the-password-1").await;
    for response in [&wrong, &unknown, &impossible] {
        assert_eq!(response.status, 401, "{}", response.text);
        assert_eq!(response.body["code"], "invalid_credentials");
        assert!(response.header("www-authenticate").is_some());
    }
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body, impossible.body);
    let missing = app
        .post_json(
            "/v1/admin/auth/login",
            &json!({ "username": "wushan.manager" }),
        )
        .await;
    assert_eq!(
        (missing.status, &missing.body["field"]),
        (400, &json!("password"))
    );
}

#[tokio::test]
async fn five_failures_lock_an_admin_even_against_the_right_password() {
    let app = spawn_app().await;
    admin_fixture(&app, "wushan.viewer", ADMIN_PASSWORD, AdminRole::Viewer).await;
    for attempt in 1..=4 {
        let response = admin_login(&app, "wushan.viewer", "Wrong-password-1").await;
        assert_eq!(response.status, 401, "attempt {attempt}: {}", response.text);
    }
    let fifth = admin_login(&app, "wushan.viewer", "Wrong-password-1").await;
    assert_eq!(
        (fifth.status, &fifth.body["code"]),
        (429, &json!("account_locked"))
    );
    let wait = retry_after(&fifth);
    assert!((890..=900).contains(&wait), "{wait}");
    let right = admin_login(&app, "wushan.viewer", ADMIN_PASSWORD).await;
    assert_eq!(
        (right.status, &right.body["code"]),
        (429, &json!("account_locked"))
    );
    assert!(retry_after(&right) <= 900);

    // An unknown username locks the same way, so the lock does not reveal which names exist.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            admin_login(&app, "nobody.here", "Wrong-password-1")
                .await
                .status,
        );
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429]);
}

// ---------------------------------------------------------------------------------------------
// Logs

#[tokio::test]
async fn no_log_line_contains_a_phone_number_or_a_token() {
    let app = spawn_app_with(|s| s.sms_policy.resend_interval_secs = 0).await;
    let (phone, wechat_phone) = (unique_phone(), unique_phone());
    send_code(&app, &phone, "login").await;
    phone_login(&app, &phone, "000000").await;
    let signed_in = phone_login(&app, &phone, &last_code(&app, &phone)).await;
    let pair = &signed_in.body;
    get_with(&app, "/v1/me", access(pair)).await;
    send_code(&app, "02365123456", "login").await;
    app.stub
        .inject_fault(Fault::status(FaultTarget::Tencent, 503).times(1));
    send_code(&app, &phone, "login").await;
    let rotated = app
        .post_json(
            "/v1/auth/refresh",
            &json!({ "refresh_token": refresh_token(pair) }),
        )
        .await;
    app.post_json(
        "/v1/auth/refresh",
        &json!({ "refresh_token": refresh_token(pair) }),
    )
    .await;
    let other = worker(&app, "olivia").await;
    post_with(
        &app,
        "/v1/auth/wechat-phone",
        Some(access(&other)),
        &json!({ "code": format!("phone-{wechat_phone}") }),
    )
    .await;
    post_with(
        &app,
        "/v1/auth/wechat-phone",
        Some(access(pair)),
        &json!({ "code": format!("phone-{wechat_phone}.2") }),
    )
    .await;

    assert!(
        !logcapture::lines_containing("/v1/auth/sms-codes").is_empty(),
        "the capture sees the server's access log"
    );
    let secrets = [
        phone.clone(),
        wechat_phone.clone(),
        access(pair).to_owned(),
        refresh_token(pair).to_owned(),
        refresh_token(&rotated.body).to_owned(),
    ];
    let leaks: Vec<String> = logcapture::lines()
        .into_iter()
        .filter(|line| !line.is_from_stub())
        .filter(|line| secrets.iter().any(|s| line.message.contains(s.as_str())))
        .map(|line| line.to_string())
        .collect();
    assert!(
        leaks.is_empty(),
        "personal data or tokens in the log:\n{}",
        leaks.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed bodies and a missing Redis

#[tokio::test]
async fn malformed_bodies_name_the_field_at_fault() {
    let app = spawn_app().await;
    let pair = worker(&app, "peggy").await;
    let cases: [(&str, Value, &str, &str); 8] = [
        (
            "/v1/auth/wechat",
            json!({ "code": "x", "extra": 1 }),
            "unknown_field",
            "extra",
        ),
        (
            "/v1/auth/sms-codes",
            json!({ "purpose": "login" }),
            "missing_field",
            "phone",
        ),
        (
            "/v1/auth/sms-codes",
            json!({ "phone": "13812341234" }),
            "missing_field",
            "purpose",
        ),
        (
            "/v1/auth/phone",
            json!({ "phone": "13812341234" }),
            "missing_field",
            "code",
        ),
        ("/v1/auth/wechat-phone", json!({}), "missing_field", "code"),
        (
            "/v1/me/phone",
            json!({ "code": "123456" }),
            "missing_field",
            "phone",
        ),
        (
            "/v1/auth/refresh",
            json!({ "refresh_token": "x", "account_id": "y" }),
            "unknown_field",
            "account_id",
        ),
        (
            "/v1/admin/auth/login",
            json!({ "password": "x" }),
            "missing_field",
            "username",
        ),
    ];
    for (path, body, code, field) in cases {
        let response = post_with(&app, path, Some(access(&pair)), &body).await;
        assert_eq!(response.status, 400, "{path}: {}", response.text);
        assert_eq!(
            (
                response.body["code"].as_str(),
                response.body["field"].as_str()
            ),
            (Some(code), Some(field)),
            "{path}"
        );
    }
    assert!(app.stub.all_sms().is_empty());
}

#[tokio::test]
async fn redis_down_is_a_503_and_sign_in_recovers_with_it() {
    use zhijian_integration_tests::proxy::{FaultProxy, redirect, socket_of};
    let redis_url = zhijian_integration_tests::app::redis_url();
    let proxy = FaultProxy::start(socket_of(&redis_url)).await;
    let through_proxy = redirect(&redis_url, proxy.addr);
    let app =
        spawn_app_with(|s| s.redis.url = zhijian_infra::crypto::secret::Secret::new(through_proxy))
            .await;
    let pair = worker(&app, "quentin").await;

    proxy.set_down(true);
    let me = get_with(&app, "/v1/me", access(&pair)).await;
    assert_eq!(
        (me.status, &me.body["code"]),
        (503, &json!("service_unavailable")),
        "{}",
        me.text
    );
    assert!(retry_after(&me) >= 1);
    let phone = unique_phone();
    let sent = send_code(&app, &phone, "login").await;
    assert_eq!(sent.status, 503, "{}", sent.text);
    assert!(
        app.stub.sms_to(&phone).is_empty(),
        "nothing is sent when the caps cannot be checked"
    );

    proxy.set_down(false);
    let mut status = 0;
    for _ in 0..40 {
        status = get_with(&app, "/v1/me", access(&pair)).await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(status, 200, "the session survives the outage");
}
