//! The admin console's session over HTTP (the pages themselves are tested in a browser,
//! `console-tests/`): the cookie's flags, the security headers, the form token, and the idle
//! and absolute timeouts at the server's clock.
#![expect(
    clippy::expect_used,
    reason = "test helpers: a fixture that fails must fail the test loudly"
)]

use chrono::TimeDelta;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use zhijian_integration_tests::fixtures::DEMO_PASSWORD;
use zhijian_integration_tests::{MockClock, TestApp, spawn_app_with_clock};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The value of cookie `name` set by `headers`, and the whole `Set-Cookie` line.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<(String, String)> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|line| {
            let value = line[name.len() + 1..].split(';').next().unwrap().to_owned();
            (value, line.to_owned())
        })
}

fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).expect("a csrf field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

/// Signs `username` in through the forms; the session cookie's value and its line.
async fn sign_in(app: &TestApp, username: &str) -> (String, String) {
    let client = client();
    let login = client
        .get(format!("{}/console/login", app.address))
        .send()
        .await
        .unwrap();
    let (pre, _) = set_cookie(login.headers(), "zj_console_pre").expect("the pre-session cookie");
    let csrf = csrf_of(&login.text().await.unwrap());
    let signed_in = client
        .post(format!("{}/console/login", app.address))
        .header("cookie", format!("zj_console_pre={pre}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()[LOCATION], "/console/queue");
    set_cookie(signed_in.headers(), "zj_console").expect("the session cookie")
}

async fn queue(app: &TestApp, session: &str) -> reqwest::Response {
    client()
        .get(format!("{}/console/queue", app.address))
        .header("cookie", format!("zj_console={session}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_console_session_is_a_strict_http_only_cookie_behind_strict_headers() {
    let clock = MockClock::at_beijing(2026, 12, 7, 10, 0);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    app.seed_demo().await;
    let (session, line) = sign_in(&app, "courier-reviewer").await;
    assert!(line.contains("HttpOnly"), "{line}");
    assert!(line.contains("SameSite=Strict"), "{line}");
    assert!(line.contains("Path=/console"), "{line}");

    let page = queue(&app, &session).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let body = page.text().await.unwrap();
    let csrf = csrf_of(&body);

    // A form without the session's token (or with another) is refused, and signs nobody out.
    for form in [vec![], vec![("csrf", "x".repeat(43))]] {
        let refused = client()
            .post(format!("{}/console/logout", app.address))
            .header("cookie", format!("zj_console={session}"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);
    }
    assert_eq!(queue(&app, &session).await.status(), 200);
    let out = client()
        .post(format!("{}/console/logout", app.address))
        .header("cookie", format!("zj_console={session}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let after = queue(&app, &session).await;
    assert_eq!(after.status(), 303, "signed out");
    assert_eq!(after.headers()[LOCATION], "/console/login");
}

#[tokio::test]
async fn a_console_session_ends_after_thirty_idle_minutes_and_twelve_hours_in_all() {
    let clock = MockClock::at_beijing(2026, 12, 7, 8, 0);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    app.seed_demo().await;

    let (idle, _) = sign_in(&app, "courier-reviewer").await;
    clock.advance(TimeDelta::minutes(29));
    assert_eq!(
        queue(&app, &idle).await.status(),
        200,
        "used within 30 minutes"
    );
    clock.advance(TimeDelta::minutes(31));
    let ended = queue(&app, &idle).await;
    assert_eq!(ended.status(), 303, "idle for 31 minutes");
    assert_eq!(ended.headers()[LOCATION], "/console/login");

    let (busy, _) = sign_in(&app, "courier-reviewer").await;
    for _ in 0..28 {
        clock.advance(TimeDelta::minutes(25));
        assert_eq!(queue(&app, &busy).await.status(), 200);
    }
    // 11 h 40 min in use; the twelfth hour ends it however busy it is.
    clock.advance(TimeDelta::minutes(25));
    assert_eq!(queue(&app, &busy).await.status(), 303);
}
