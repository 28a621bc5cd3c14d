//! The admins' second factor (TOTP, RFC 6238) through HTTP: enrolment and confirmation, the
//! two-step sign-in, single-use codes and recovery codes, the shared lockout, the challenge's
//! life, the gate of managers without a factor, and no secret in the logs or the audit trail.
//!
//! The server runs on a [`MockClock`], so the 30-second windows are the test's to choose.

use chrono::TimeDelta;
use serde_json::{Value, json};
use zhijian_integration_tests::clock::beijing;
use zhijian_integration_tests::fixtures::{DEMO_PASSWORD, count};
use zhijian_integration_tests::{
    MockClock, TestApp, TestResponse, logcapture, spawn_app_with_clock,
};

const QUEUE: &str = "/v1/admin/applications";
const ENROL: &str = "/v1/admin/me/second-factor";
const CONFIRM: &str = "/v1/admin/me/second-factor/confirm";
const SECOND_STEP: &str = "/v1/admin/auth/second-factor";

/// A server on a clock standing at a Monday morning, with the demo county.
async fn app() -> (TestApp, MockClock) {
    let clock = MockClock::at(beijing(2026, 12, 7, 10, 0));
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    app.seed_demo().await;
    (app, clock)
}

async fn password_step(app: &TestApp, username: &str) -> TestResponse {
    app.post_json(
        "/v1/admin/auth/login",
        &json!({ "username": username, "password": DEMO_PASSWORD }),
    )
    .await
}

/// The password step of an admin with a factor: the challenge.
async fn challenge(app: &TestApp, username: &str) -> String {
    let response = password_step(app, username).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        response.body["second_factor_required"], true,
        "{}",
        response.text
    );
    assert_eq!(response.body["expires_in"], 300);
    assert!(response.body.get("access_token").is_none());
    response.body["challenge"].as_str().unwrap().to_owned()
}

async fn second_step(app: &TestApp, challenge: &str, proof: Value) -> TestResponse {
    let mut body = proof;
    body["challenge"] = json!(challenge);
    app.post_json(SECOND_STEP, &body).await
}

/// A one-step sign-in (no factor): the access token.
async fn token(app: &TestApp, username: &str) -> String {
    let response = password_step(app, username).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["access_token"].as_str().unwrap().to_owned()
}

async fn post(app: &TestApp, path: &str, token: &str, body: Option<Value>) -> TestResponse {
    app.call(reqwest::Method::POST, path, token, body.as_ref())
        .await
}

/// Starts an enrolment; returns the base32 secret.
async fn start(app: &TestApp, token: &str) -> String {
    let response = post(app, ENROL, token, None).await;
    assert_eq!(response.status, 201, "{}", response.text);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    response.body["secret"].as_str().unwrap().to_owned()
}

/// Enrols and confirms the admin of `token` at the clock's time; returns the secret and the
/// recovery codes.
async fn enrol(app: &TestApp, token: &str) -> (String, Vec<String>) {
    let secret = start(app, token).await;
    let confirmed = post(
        app,
        CONFIRM,
        token,
        Some(json!({ "code": app.totp_code(&secret) })),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let codes = confirmed.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

fn admin_id(app: &TestApp, username: &str) -> String {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let mut conn = app.db.connect();
    diesel::sql_query("SELECT id::text AS id FROM admins WHERE username = $1")
        .bind::<diesel::sql_types::Text, _>(username)
        .get_result::<Row>(&mut conn)
        .unwrap()
        .id
}

fn assert_error(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "{}", response.text);
    assert_eq!(response.body["code"], code, "{}", response.text);
}

#[tokio::test]
async fn an_enrolled_reviewer_signs_in_in_two_steps_and_each_code_works_once() {
    let (app, clock) = app().await;
    let reviewer = token(&app, "gaotang-reviewer").await;

    // The enrolment answers the secret, its URI and its QR code.
    let response = post(&app, ENROL, &reviewer, None).await;
    assert_eq!(response.status, 201, "{}", response.text);
    let first_secret = response.body["secret"].as_str().unwrap().to_owned();
    let uri = response.body["otpauth_uri"].as_str().unwrap();
    assert_eq!(
        uri.split('&').next().unwrap(),
        format!("otpauth://totp/zhijian:gaotang-reviewer?secret={first_secret}")
    );
    assert!(uri.contains("&issuer=zhijian"));
    assert!(response.body["qr_svg"].as_str().unwrap().contains("<svg"));
    // Before confirmation, starting again replaces the pending secret: the first one's code
    // is now a code from another secret.
    let secret = start(&app, &reviewer).await;
    assert_ne!(secret, first_secret);
    let stale = post(
        &app,
        CONFIRM,
        &reviewer,
        Some(json!({ "code": app.totp_code(&first_secret) })),
    )
    .await;
    assert_error(&stale, 400, "invalid_totp_code");
    assert_eq!(stale.body["field"], "code");
    let id = admin_id(&app, "gaotang-reviewer");
    let confirmed_sql = format!(
        "SELECT count(*) FROM admin_second_factors WHERE admin_id = '{id}' AND confirmed_at IS NOT NULL"
    );
    assert_eq!(
        count(&app, &confirmed_sql),
        0,
        "nothing confirmed on refusal"
    );

    let code = app.totp_code(&secret);
    let confirmed = post(&app, CONFIRM, &reviewer, Some(json!({ "code": code }))).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    assert_eq!(confirmed.header("cache-control"), Some("no-store"));
    let codes = confirmed.body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    assert_eq!(count(&app, &confirmed_sql), 1);
    let stored = format!(
        "SELECT count(*) FROM admin_recovery_codes WHERE admin_id = '{id}' AND used_at IS NULL"
    );
    assert_eq!(count(&app, &stored), 10);
    // Confirmed: no second enrolment.
    assert_error(
        &post(&app, ENROL, &reviewer, None).await,
        409,
        "second_factor_already_enrolled",
    );
    assert_error(
        &post(&app, CONFIRM, &reviewer, Some(json!({ "code": code }))).await,
        409,
        "second_factor_already_enrolled",
    );

    // The password alone no longer signs in.
    let first = challenge(&app, "gaotang-reviewer").await;
    // The confirming code was used in this window: refused.
    let reused = second_step(&app, &first, json!({ "code": code })).await;
    assert_error(&reused, 400, "totp_code_reused");
    // A code of another secret: refused.
    let foreign = second_step(
        &app,
        &first,
        json!({ "code": app.totp_code(&first_secret) }),
    )
    .await;
    assert_error(&foreign, 400, "invalid_totp_code");
    // The next window's code signs in.
    clock.advance(TimeDelta::seconds(30));
    let fresh = app.totp_code(&secret);
    let signed_in = second_step(&app, &first, json!({ "code": fresh })).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(signed_in.body["admin"]["username"], "gaotang-reviewer");
    let access = signed_in.body["access_token"].as_str().unwrap();
    let queue = app.call(reqwest::Method::GET, QUEUE, access, None).await;
    assert_eq!(queue.status, 200, "{}", queue.text);
    // The same code again, on a new challenge, within its window: refused.
    let second = challenge(&app, "gaotang-reviewer").await;
    let again = second_step(&app, &second, json!({ "code": fresh })).await;
    assert_error(&again, 400, "totp_code_reused");
    // A code of an earlier window than the last used one: refused too.
    let earlier = app.totp_code_at(&secret, clock_now(&clock) - TimeDelta::seconds(30));
    assert_error(
        &second_step(&app, &second, json!({ "code": earlier })).await,
        400,
        "totp_code_reused",
    );
}

fn clock_now(clock: &MockClock) -> chrono::DateTime<chrono::Utc> {
    use zhijian_domain::ports::Clock as _;
    clock.now()
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let (app, _clock) = app().await;
    let reviewer = token(&app, "jingtan-reviewer").await;
    let (_, codes) = enrol(&app, &reviewer).await;
    let id = admin_id(&app, "jingtan-reviewer");

    let first = challenge(&app, "jingtan-reviewer").await;
    // Case and dash do not matter.
    let typed = codes[3].to_uppercase().replace('-', "");
    let signed_in = second_step(&app, &first, json!({ "recovery_code": typed })).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let unused = format!(
        "SELECT count(*) FROM admin_recovery_codes WHERE admin_id = '{id}' AND used_at IS NULL"
    );
    assert_eq!(count(&app, &unused), 9);

    let second = challenge(&app, "jingtan-reviewer").await;
    let reused = second_step(&app, &second, json!({ "recovery_code": codes[3] })).await;
    assert_error(&reused, 400, "invalid_recovery_code");
    assert_eq!(reused.body["field"], "recovery_code");
    let other = second_step(&app, &second, json!({ "recovery_code": "aaaaa-bbbbb" })).await;
    assert_error(&other, 400, "invalid_recovery_code");
    assert_eq!(count(&app, &unused), 9);
    // Another one still works.
    let signed_in = second_step(&app, &second, json!({ "recovery_code": codes[4] })).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
}

#[tokio::test]
async fn wrong_codes_count_toward_the_lockout_of_wrong_passwords() {
    let (app, _clock) = app().await;
    let id = admin_id(&app, "wushan-manager");
    let secret = zhijian_devtools::demo::demo_totp_secret("wushan-manager");
    let right = app.totp_code(secret.expose_base32());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let failures = format!("SELECT failed_logins::bigint FROM admins WHERE id = '{id}'");

    let first = challenge(&app, "wushan-manager").await;
    for _ in 0..2 {
        let refused = second_step(&app, &first, json!({ "code": wrong })).await;
        assert_error(&refused, 400, "invalid_totp_code");
    }
    assert_eq!(count(&app, &failures), 2);
    // The right password again does not wipe the count: the sign-in is not over.
    let second = challenge(&app, "wushan-manager").await;
    assert_eq!(count(&app, &failures), 2);
    for _ in 0..2 {
        let refused = second_step(&app, &second, json!({ "code": wrong })).await;
        assert_error(&refused, 400, "invalid_totp_code");
    }
    let locking = second_step(&app, &second, json!({ "recovery_code": "aaaaa-bbbbb" })).await;
    assert_error(&locking, 429, "account_locked");
    assert!(locking.header("retry-after").is_some());
    let locked = format!(
        "SELECT count(*) FROM admins WHERE id = '{id}' AND locked_until > now() + interval '10 minutes'"
    );
    assert_eq!(count(&app, &locked), 1);
    // Locked: even the right code, and the right password, are refused.
    let refused = second_step(&app, &second, json!({ "code": right })).await;
    assert_error(&refused, 429, "account_locked");
    assert_error(
        &password_step(&app, "wushan-manager").await,
        429,
        "account_locked",
    );
    let sessions =
        format!("SELECT count(*) FROM audit_log WHERE object_id = '{id}' AND action = 'login'");
    assert_eq!(count(&app, &sessions), 0, "no sign-in completed");
}

#[tokio::test]
async fn an_expired_spent_or_unknown_challenge_is_refused() {
    let (app, clock) = app().await;
    let secret = zhijian_devtools::demo::demo_totp_secret("wushan-manager");
    let secret = secret.expose_base32().to_owned();

    let expiring = challenge(&app, "wushan-manager").await;
    clock.advance(TimeDelta::seconds(301));
    let expired = second_step(&app, &expiring, json!({ "code": app.totp_code(&secret) })).await;
    assert_error(&expired, 401, "invalid_login_challenge");

    let live = challenge(&app, "wushan-manager").await;
    let signed_in = second_step(&app, &live, json!({ "code": app.totp_code(&secret) })).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    clock.advance(TimeDelta::seconds(30));
    let spent = second_step(&app, &live, json!({ "code": app.totp_code(&secret) })).await;
    assert_error(&spent, 401, "invalid_login_challenge");
    assert!(spent.header("www-authenticate").is_some());

    for unknown in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "not a challenge",
        "",
    ] {
        let refused = second_step(&app, unknown, json!({ "code": "123456" })).await;
        assert_error(&refused, 401, "invalid_login_challenge");
    }
    // Neither or both proofs, or a malformed one, are refused before the challenge is spent.
    let fresh = challenge(&app, "wushan-manager").await;
    assert_error(&second_step(&app, &fresh, json!({})).await, 400, "required");
    assert_error(
        &second_step(
            &app,
            &fresh,
            json!({ "code": "123456", "recovery_code": "aaaaa-bbbbb" }),
        )
        .await,
        400,
        "invalid_field",
    );
    assert_error(
        &second_step(&app, &fresh, json!({ "code": "12ab56" })).await,
        400,
        "invalid_totp_code",
    );
    assert_error(
        &second_step(&app, &fresh, json!({ "recovery_code": "short" })).await,
        400,
        "invalid_recovery_code",
    );
    let id = admin_id(&app, "wushan-manager");
    let failures = format!("SELECT failed_logins::bigint FROM admins WHERE id = '{id}'");
    assert_eq!(
        count(&app, &failures),
        0,
        "malformed proofs are not counted"
    );
    clock.advance(TimeDelta::seconds(30));
    let signed_in = second_step(&app, &fresh, json!({ "code": app.totp_code(&secret) })).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
}

#[tokio::test]
async fn a_manager_without_a_factor_can_only_enrol_and_then_works() {
    let (app, clock) = app().await;
    let id = admin_id(&app, "wushan-manager");
    let mut conn = app.db.connect();
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!(
            "DELETE FROM admin_second_factors WHERE admin_id = '{id}'"
        ))
        .execute(&mut conn)
        .unwrap();
    }
    // Without a factor the password signs in, but every admin route but enrolment is closed.
    let manager = token(&app, "wushan-manager").await;
    let gated = app.call(reqwest::Method::GET, QUEUE, &manager, None).await;
    assert_error(&gated, 403, "second_factor_required");
    // Confirming before starting: nothing to confirm.
    assert_error(
        &post(&app, CONFIRM, &manager, Some(json!({ "code": "123456" }))).await,
        409,
        "second_factor_not_enrolled",
    );
    let secret = start(&app, &manager).await;
    // Pending is not enough.
    let still = app.call(reqwest::Method::GET, QUEUE, &manager, None).await;
    assert_error(&still, 403, "second_factor_required");
    assert_error(
        &post(&app, CONFIRM, &manager, Some(json!({ "code": "12345" }))).await,
        400,
        "invalid_totp_code",
    );
    let confirmed = post(
        &app,
        CONFIRM,
        &manager,
        Some(json!({ "code": app.totp_code(&secret) })),
    )
    .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    // The same session now works.
    let queue = app.call(reqwest::Method::GET, QUEUE, &manager, None).await;
    assert_eq!(queue.status, 200, "{}", queue.text);
    // A manager must keep the factor.
    clock.advance(TimeDelta::seconds(30));
    let removal = app
        .call(
            reqwest::Method::DELETE,
            ENROL,
            &manager,
            Some(&json!({ "code": app.totp_code(&secret) })),
        )
        .await;
    assert_error(&removal, 403, "forbidden");
    let enrolled = format!(
        "SELECT count(*) FROM admin_second_factors WHERE admin_id = '{id}' AND confirmed_at IS NOT NULL"
    );
    assert_eq!(count(&app, &enrolled), 1);
    // Signing out is never gated.
    let out = post(&app, "/v1/admin/auth/logout", &manager, None).await;
    assert_eq!(out.status, 204, "{}", out.text);
}

#[tokio::test]
async fn reviewers_and_viewers_sign_in_without_a_factor_and_may_remove_theirs() {
    let (app, clock) = app().await;
    for username in ["courier-reviewer", "wushan-viewer"] {
        let access = token(&app, username).await;
        let queue = app.call(reqwest::Method::GET, QUEUE, &access, None).await;
        assert_eq!(queue.status, 200, "{username}: {}", queue.text);
    }
    let viewer = token(&app, "wushan-viewer").await;
    assert_error(
        &app.call(
            reqwest::Method::DELETE,
            ENROL,
            &viewer,
            Some(&json!({ "code": "123456" })),
        )
        .await,
        409,
        "second_factor_not_enrolled",
    );
    let (secret, _) = enrol(&app, &viewer).await;
    // The confirming code cannot remove it again within its window.
    let reused = app
        .call(
            reqwest::Method::DELETE,
            ENROL,
            &viewer,
            Some(&json!({ "code": app.totp_code(&secret) })),
        )
        .await;
    assert_error(&reused, 400, "totp_code_reused");
    clock.advance(TimeDelta::seconds(30));
    let removed = app
        .call(
            reqwest::Method::DELETE,
            ENROL,
            &viewer,
            Some(&json!({ "code": app.totp_code(&secret) })),
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let id = admin_id(&app, "wushan-viewer");
    let rows = format!(
        "SELECT (SELECT count(*) FROM admin_second_factors WHERE admin_id = '{id}') \
         + (SELECT count(*) FROM admin_recovery_codes WHERE admin_id = '{id}')"
    );
    assert_eq!(count(&app, &rows), 0);
    // One step again.
    token(&app, "wushan-viewer").await;
}

#[tokio::test]
async fn no_secret_or_code_reaches_the_logs_or_the_audit_trail() {
    let (app, clock) = app().await;
    let reviewer = token(&app, "delivery-reviewer").await;
    let (secret, recovery) = enrol(&app, &reviewer).await;
    let confirming = app.totp_code(&secret);
    clock.advance(TimeDelta::seconds(30));
    let first = challenge(&app, "delivery-reviewer").await;
    let code = app.totp_code(&secret);
    let signed_in = second_step(&app, &first, json!({ "code": code })).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let second = challenge(&app, "delivery-reviewer").await;
    let signed_in = second_step(&app, &second, json!({ "recovery_code": recovery[0] })).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let wrong = second_step(&app, &second, json!({ "code": "000001" })).await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);

    let id = admin_id(&app, "delivery-reviewer");
    let audit = format!(
        "SELECT count(*) FROM audit_log WHERE object_id = '{id}' AND action IN \
         ('second_factor_enrolment_started', 'second_factor_confirmed', 'login_password_accepted', \
          'recovery_code_used', 'login')"
    );
    assert!(count(&app, &audit) >= 6, "the steps are audited");
    let mut secrets: Vec<String> = vec![secret.clone(), confirming, code, first, second];
    secrets.extend(recovery.iter().cloned());
    secrets.extend(recovery.iter().map(|c| c.replace('-', "")));
    for value in &secrets {
        let leaks = logcapture::lines_containing(value);
        assert!(
            leaks.is_empty(),
            "a secret reached the log: {:?}",
            leaks.first().map(|l| &l.message)
        );
        let in_audit = format!(
            "SELECT count(*) FROM audit_log WHERE concat_ws(' ', actor_id, role, object_kind, \
             object_id, action, reason, request_id) LIKE '%{value}%'"
        );
        assert_eq!(
            count(&app, &in_audit),
            0,
            "a secret reached the audit trail"
        );
    }
    // At rest: the secret is sealed, the recovery codes hashed.
    let clear =
        format!("SELECT count(*) FROM admin_second_factors WHERE secret_cipher LIKE '%{secret}%'");
    assert_eq!(count(&app, &clear), 0);
    let clear_codes = format!(
        "SELECT count(*) FROM admin_recovery_codes WHERE code_hash LIKE '%{}%'",
        recovery[1].replace('-', "")
    );
    assert_eq!(count(&app, &clear_codes), 0);
}

/// `scripts/totp.py` (what contract-tokens.sh, bench.sh and the walkthroughs compute codes with)
/// at the server's time.
fn python_totp(args: &[&str], at: chrono::DateTime<chrono::Utc>) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/totp.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .args(args)
        .arg(at.timestamp().to_string())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn the_python_snippet_computes_the_codes_the_server_accepts() {
    let (app, clock) = app().await;
    // A demo manager, by its derived secret.
    let first = challenge(&app, "wushan-manager").await;
    let code = python_totp(&["--demo", "wushan-manager"], clock_now(&clock));
    let signed_in = second_step(&app, &first, json!({ "code": code })).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    // A secret the server just made.
    let reviewer = token(&app, "pool-reviewer").await;
    let secret = start(&app, &reviewer).await;
    let code = python_totp(&[&secret], clock_now(&clock));
    let confirmed = post(&app, CONFIRM, &reviewer, Some(json!({ "code": code }))).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
}

/// A challenge from before a disable opens nothing: the right code afterwards answers 401
/// `invalid_login_challenge`, and no session starts.
#[tokio::test]
async fn an_admin_disabled_after_the_password_step_does_not_get_in() {
    let (app, clock) = app().await;
    let reviewer = token(&app, "gaotang-reviewer").await;
    let (secret, _) = enrol(&app, &reviewer).await;
    clock.advance(TimeDelta::seconds(30));
    let pending = challenge(&app, "gaotang-reviewer").await;

    let manager = app.admin_token("wushan-manager").await;
    let id = admin_id(&app, "gaotang-reviewer");
    let shown = app
        .call(
            reqwest::Method::GET,
            &format!("/v1/admin/admins/{id}"),
            &manager,
            None,
        )
        .await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    let disabled = post(
        &app,
        &format!("/v1/admin/admins/{id}/disable"),
        &manager,
        Some(json!({ "version": shown.body["version"] })),
    )
    .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);

    let logins = |app: &TestApp| {
        count(
            app,
            &format!("SELECT count(*) FROM audit_log WHERE action = 'login' AND actor_id = '{id}'"),
        )
    };
    let before = logins(&app);
    let refused = second_step(&app, &pending, json!({ "code": app.totp_code(&secret) })).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_eq!(refused.body["code"], "invalid_login_challenge");
    assert!(refused.body.get("access_token").is_none());
    assert_eq!(logins(&app), before, "no sign-in recorded");
}

#[tokio::test]
async fn wrong_codes_at_removal_count_toward_the_lockout() {
    let (app, _clock) = app().await;
    let viewer = token(&app, "wushan-viewer").await;
    let (secret, _) = enrol(&app, &viewer).await;
    let id = admin_id(&app, "wushan-viewer");
    let right = app.totp_code(&secret);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let remove = |code: String| {
        let app = &app;
        let viewer = &viewer;
        async move {
            app.call(
                reqwest::Method::DELETE,
                ENROL,
                viewer,
                Some(&json!({ "code": code })),
            )
            .await
        }
    };
    let failures = format!("SELECT failed_logins::bigint FROM admins WHERE id = '{id}'");
    for tried in 1..=4 {
        assert_error(&remove(wrong.to_owned()).await, 400, "invalid_totp_code");
        assert_eq!(count(&app, &failures), tried, "each wrong code counts");
    }
    // The confirming code of this window is a replay: it counts too, and locks.
    let locking = remove(right.clone()).await;
    assert_error(&locking, 429, "account_locked");
    assert!(locking.header("retry-after").is_some());
    let factor = format!(
        "SELECT count(*) FROM admin_second_factors WHERE admin_id = '{id}' AND confirmed_at IS NOT NULL"
    );
    assert_eq!(count(&app, &factor), 1, "the factor is still there");
    let locked_rows = format!(
        "SELECT count(*) FROM audit_log WHERE object_id = '{id}' AND action = 'login_failed_locked'"
    );
    assert_eq!(count(&app, &locked_rows), 1);
    // Locked: the password step is refused as well.
    assert_error(
        &password_step(&app, "wushan-viewer").await,
        429,
        "account_locked",
    );
}

#[tokio::test]
async fn two_attempts_at_once_with_one_challenge_spend_one_recovery_code() {
    let (app, _clock) = app().await;
    let reviewer = token(&app, "jingtan-reviewer").await;
    let (_, codes) = enrol(&app, &reviewer).await;
    let id = admin_id(&app, "jingtan-reviewer");
    let unused = format!(
        "SELECT count(*) FROM admin_recovery_codes WHERE admin_id = '{id}' AND used_at IS NULL"
    );
    for round in 0..3 {
        let challenge = challenge(&app, "jingtan-reviewer").await;
        let (a, b) = tokio::join!(
            second_step(
                &app,
                &challenge,
                json!({ "recovery_code": codes[2 * round] })
            ),
            second_step(
                &app,
                &challenge,
                json!({ "recovery_code": codes[2 * round + 1] })
            ),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 401], "{} / {}", a.text, b.text);
        let refused = if a.status == 401 { &a } else { &b };
        assert_eq!(refused.body["code"], "invalid_login_challenge");
        assert_eq!(
            count(&app, &unused),
            9 - i64::try_from(round).unwrap(),
            "only the sign-in that completed spent a code"
        );
    }
}

#[tokio::test]
async fn a_wrong_code_leaves_the_challenge_for_another_try() {
    let (app, _clock) = app().await;
    let secret = zhijian_devtools::demo::demo_totp_secret("wushan-manager");
    let right = app.totp_code(secret.expose_base32());
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let challenge = challenge(&app, "wushan-manager").await;
    assert_error(
        &second_step(&app, &challenge, json!({ "code": wrong })).await,
        400,
        "invalid_totp_code",
    );
    let signed_in = second_step(&app, &challenge, json!({ "code": right })).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    // Spent by the sign-in it completed.
    assert_error(
        &second_step(&app, &challenge, json!({ "code": right })).await,
        401,
        "invalid_login_challenge",
    );
}
