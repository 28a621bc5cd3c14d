//! A database that stops answering without closing its connections (a stalled host, a partition
//! that drops packets): every wait is bounded, the answer is 503 with `Retry-After`, nothing is
//! half-written, and service comes back by itself when the line does.
//!
//! The bounds asserted here are not performance figures: they are far above the configured
//! timeouts (1 s for /readyz, 2.5 s for a request) and only say that a request does not hang for as long as the stall.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::Method;
use zhijian_infra::crypto::secret::Secret;
use zhijian_integration_tests::fixtures::{application_form, count, person};
use zhijian_integration_tests::proxy::{FaultProxy, redirect, socket_of};
use zhijian_integration_tests::{TestApp, TestResponse, spawn_app_with};

/// A stalled dependency must be answered for within this (generously measured) time.
const BOUND: Duration = Duration::from_secs(5);

/// Runs one request during a stall: it must finish within [`BOUND`] (the test fails instead of
/// hanging when it does not) and answer 503 with `Retry-After`.
async fn unavailable_in_time(
    what: &str,
    request: impl Future<Output = TestResponse>,
) -> TestResponse {
    let started = Instant::now();
    let response = tokio::time::timeout(BOUND * 3, request)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer after {:?} of stall", BOUND * 3));
    let took = started.elapsed();
    assert!(took < BOUND, "{what}: answered only after {took:?}");
    assert_eq!(response.status, 503, "{what}: {}", response.text);
    assert_eq!(response.header("retry-after"), Some("5"), "{what}");
    response
}

async fn wait_until_ready(app: &TestApp) {
    for _ in 0..120 {
        let ready = tokio::time::timeout(BOUND, app.get("/readyz")).await;
        if matches!(ready, Ok(ref r) if r.status == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("/readyz never became ready again");
}

fn submit(app: &TestApp, token: &str, n: u16, key: &str) -> impl Future<Output = TestResponse> {
    let request = app
        .request(Method::POST, "/v1/applications")
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&application_form(&person(n), "13812341234"));
    app.send(request)
}

/// Every approved application has exactly one member and one `approved` event; every
/// application its `submitted` history; every idempotency key the application it answered.
fn assert_nothing_half_written(app: &TestApp) {
    let approved = count(
        app,
        "SELECT count(*) FROM applications WHERE status = 'approved'",
    );
    assert_eq!(count(app, "SELECT count(*) FROM members"), approved);
    assert_eq!(
        count(
            app,
            "SELECT count(*) FROM application_events WHERE event = 'approved'"
        ),
        approved
    );
    assert_eq!(
        count(
            app,
            "SELECT count(*) FROM applications a WHERE NOT EXISTS \
             (SELECT 1 FROM application_events e WHERE e.application_id = a.id)"
        ),
        0
    );
    assert_eq!(
        count(app, "SELECT count(*) FROM idempotency_keys"),
        count(app, "SELECT count(*) FROM applications")
    );
}

#[tokio::test]
async fn a_stalled_postgres_answers_503_in_bounded_time_writes_nothing_half_and_recovers() {
    let proxy =
        FaultProxy::start(socket_of(&zhijian_integration_tests::database::admin_url())).await;
    let app = spawn_app_with(|s| {
        let url = redirect(s.database.url.expose(), proxy.addr);
        s.database.url = Secret::new(url);
        s.database.connect_timeout_ms = 500;
        s.database.statement_timeout_ms = 1_000;
        s.database.network_timeout_ms = 1_000;
    })
    .await;
    app.seed_demo().await;
    let worker = app.worker_token("stall-pg").await;
    let other = app.worker_token("stall-pg-2").await;
    let reviewer = app.admin_token("courier-reviewer").await;
    let first = submit(&app, &worker, 41, "stall-1").await;
    assert_eq!(first.status, 201, "{}", first.text);
    let id = first.body["id"].as_str().unwrap().to_owned();
    wait_until_ready(&app).await;

    proxy.set_stalled(true);
    let ready = unavailable_in_time("/readyz", app.get("/readyz")).await;
    assert_eq!(ready.body["code"], "not_ready");
    assert!(ready.body["message"].as_str().unwrap().contains("数据库"));
    // More requests than the pool has connections, at once: the ones holding a connection give
    // up at the work budget, the others at the checkout timeout.
    let reads = (0..8).map(|_| unavailable_in_time("a read", app.get("/v1/regions/500237")));
    futures_util::future::join_all(reads).await;
    unavailable_in_time("a submission", submit(&app, &other, 42, "stall-2")).await;
    unavailable_in_time("an approval", app.approve(&id, &reviewer, 1)).await;
    unavailable_in_time("/readyz again", app.get("/readyz")).await;

    proxy.set_stalled(false);
    wait_until_ready(&app).await;
    // The held work was one transaction each: it committed whole or not at all. Retrying with
    // the same key and version finishes the job exactly once.
    let retried = submit(&app, &other, 42, "stall-2").await;
    assert_eq!(retried.status, 201, "{}", retried.text);
    let approved = app.approve(&id, &reviewer, 1).await;
    assert!(
        approved.status == 200 || approved.body["code"] == "stale_version",
        "{}",
        approved.text
    );
    assert_eq!(count(&app, "SELECT count(*) FROM applications"), 2);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM members m JOIN applications a ON a.member_id = m.id WHERE a.id = '{id}'"
            )
        ),
        1
    );
    assert_nothing_half_written(&app);
    assert_eq!(app.get("/v1/regions/500237").await.status, 200);
}

#[tokio::test]
async fn a_stalled_redis_answers_503_in_bounded_time_and_recovers() {
    let redis_url = zhijian_integration_tests::app::redis_url();
    let proxy = FaultProxy::start(socket_of(&redis_url)).await;
    let redis = redirect(&redis_url, proxy.addr);
    let app = spawn_app_with(|s| s.redis.url = Secret::new(redis)).await;
    wait_until_ready(&app).await;
    let login = |user: &str| {
        let code = format!("{user}.{}", uuid::Uuid::new_v4().simple());
        let request = app
            .request(Method::POST, "/v1/auth/wechat")
            .json(&serde_json::json!({ "code": code }));
        app.send(request)
    };
    assert_eq!(login("stall-redis").await.status, 200);

    proxy.set_stalled(true);
    let ready = unavailable_in_time("/readyz", app.get("/readyz")).await;
    assert_eq!(ready.body["code"], "not_ready");
    assert!(ready.body["message"].as_str().unwrap().contains("缓存"));
    let logins = (0..4).map(|_| unavailable_in_time("a login", login("stall-redis")));
    futures_util::future::join_all(logins).await;

    proxy.set_stalled(false);
    wait_until_ready(&app).await;
    let again = login("stall-redis").await;
    assert_eq!(again.status, 200, "{}", again.text);
    // The logins refused during the stall made no second account.
    assert_eq!(count(&app, "SELECT count(*) FROM accounts"), 1);
}

#[tokio::test]
async fn pooled_connections_carry_the_statement_and_idle_transaction_timeouts() {
    let app = spawn_app_with(|s| {
        s.database.statement_timeout_ms = 1_500;
        s.database.network_timeout_ms = 7_000;
    })
    .await;
    let pool = zhijian_infra::db::build_pool(&app.settings.database);
    let settings = tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Shown {
            #[diesel(sql_type = diesel::sql_types::Text)]
            statement: String,
            #[diesel(sql_type = diesel::sql_types::Text)]
            idle: String,
        }
        let mut conn = pool.get().unwrap();
        let shown: Shown = diesel::sql_query(
            "SELECT current_setting('statement_timeout') AS statement, \
             current_setting('idle_in_transaction_session_timeout') AS idle",
        )
        .get_result(&mut conn)
        .unwrap();
        (shown.statement, shown.idle)
    })
    .await
    .unwrap();
    assert_eq!(settings, ("1500ms".to_owned(), "7s".to_owned()));
}
