//! Notifications through the outbox, over HTTP with the provider stub: subscribe messages,
//! the SMS fallback, admins' notices, every mapped provider failure retried until it clears,
//! permanent failures and the dead letter, a server killed mid-delivery, two dispatchers on one
//! database, and business actions that never wait for a provider.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};
use reqwest::Method;
use serde_json::{Value, json};
use zhijian_api::startup::Application;
use zhijian_devtools::demo::demo_admin_phone;
use zhijian_infra::crypto::pii::PiiCipher;
use zhijian_integration_tests::fixtures::{application_form, person};
use zhijian_integration_tests::stub::{Fault, FaultTarget, Provider, RecordedSms};
use zhijian_integration_tests::{TestApp, spawn_app, spawn_app_with};

/// The SMS template id of notifications in the test settings (verification codes: 1000001).
pub(crate) const NOTIFICATION_SMS: &str = "1000002";

/// Polls `check` every 50 ms until it answers, for up to 10 s.
pub(crate) async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An outbox row.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct OutboxRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub last_error: Option<String>,
}

/// The outbox rows about one object, oldest first.
pub(crate) fn outbox_of(conn: &mut PgConnection, aggregate_id: &str) -> Vec<OutboxRow> {
    diesel::sql_query(
        "SELECT id, event_type, status, attempts, last_error FROM outbox \
         WHERE aggregate_id = $1 ORDER BY id",
    )
    .bind::<Text, _>(aggregate_id)
    .load(conn)
    .unwrap()
}

/// The outbox row of one event about one object.
pub(crate) fn event(
    conn: &mut PgConnection,
    aggregate_id: &str,
    event_type: &str,
) -> Option<OutboxRow> {
    outbox_of(conn, aggregate_id)
        .into_iter()
        .find(|row| row.event_type == event_type)
}

/// A recorded provider call.
#[derive(Debug, Clone, QueryableByName)]
pub(crate) struct DeliveryRow {
    #[diesel(sql_type = Integer)]
    pub attempt: i32,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Text)]
    pub recipient_kind: String,
    #[diesel(sql_type = Text)]
    pub provider: String,
    #[diesel(sql_type = Text)]
    pub out_id: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Bool)]
    pub retryable: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub error_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub provider_ref: Option<String>,
}

/// The provider calls recorded for an outbox row, in order.
pub(crate) fn deliveries_of(conn: &mut PgConnection, outbox_id: i64) -> Vec<DeliveryRow> {
    diesel::sql_query(
        "SELECT attempt, channel, recipient_kind, provider, out_id, status, retryable, error_code, provider_ref \
         FROM deliveries WHERE outbox_id = $1 ORDER BY id",
    )
    .bind::<BigInt, _>(outbox_id)
    .load(conn)
    .unwrap()
}

/// Waits until the event about `aggregate_id` is settled with `status`.
pub(crate) async fn settled(
    app: &TestApp,
    aggregate_id: &str,
    event_type: &str,
    status: &str,
) -> OutboxRow {
    let mut conn = app.db.connect();
    eventually(&format!("{event_type} to be {status}"), || {
        event(&mut conn, aggregate_id, event_type).filter(|row| row.status == status)
    })
    .await
}

/// The demo county, with every demo admin's notice phone set.
pub(crate) async fn seed_with_phones(app: &TestApp) {
    app.seed_demo().await;
    let pii = PiiCipher::from_config(
        &app.settings.pii.encryption_keys,
        &app.settings.pii.blind_index_key,
    )
    .unwrap();
    let mut conn = app.db.connect();
    tokio::task::spawn_blocking(move || {
        zhijian_devtools::demo::seed_demo_phones(&mut conn, &pii).unwrap()
    })
    .await
    .unwrap();
}

/// The notice phone of a demo admin.
pub(crate) fn admin_phone(username: &str) -> String {
    demo_admin_phone(username).unwrap()
}

/// Signs a worker in with a phone number (no WeChat openid); returns the access token.
pub(crate) async fn phone_worker(app: &TestApp, phone: &str) -> String {
    let sent = app
        .post_json(
            "/v1/auth/sms-codes",
            &json!({ "phone": phone, "purpose": "login" }),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    let code = app.stub.last_sms_code(phone).unwrap();
    let login = app
        .post_json("/v1/auth/phone", &json!({ "phone": phone, "code": code }))
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    login.body["access_token"].as_str().unwrap().to_owned()
}

/// Submits test person `n`'s courier application with `phone` on the form; returns its id.
pub(crate) async fn submit(app: &TestApp, token: &str, n: u16, phone: &str) -> String {
    let response = app
        .call(
            Method::POST,
            "/v1/applications",
            token,
            Some(&application_form(&person(n), phone)),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.body["id"].as_str().unwrap().to_owned()
}

/// `POST /v1/admin/applications/{id}/{action}` at version 1.
pub(crate) async fn decide(
    app: &TestApp,
    admin: &str,
    id: &str,
    action: &str,
    extra: Value,
) -> Value {
    let mut body = json!({ "version": 1 });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let response = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{id}/{action}"),
            admin,
            Some(&body),
        )
        .await;
    assert_eq!(response.status, 200, "{action}: {}", response.text);
    response.body
}

/// Notification SMS accepted for `phone`.
pub(crate) fn notices_to(app: &TestApp, phone: &str) -> Vec<RecordedSms> {
    app.stub
        .sms_to(phone)
        .into_iter()
        .filter(|sms| sms.template_id == NOTIFICATION_SMS)
        .collect()
}

#[tokio::test]
async fn a_worker_hears_by_subscribe_message_and_the_union_reviewer_by_sms() {
    let app = spawn_app().await;
    seed_with_phones(&app).await;
    let worker = app.worker_token("notify-ok").await;
    let openid = "o_stub_notify-ok";
    let id = submit(&app, &worker, 11, "13812340011").await;

    let received = eventually("the receipt", || {
        app.stub.subscribe_messages(openid).into_iter().next()
    })
    .await;
    assert_eq!(received.template_id, "tpl-application_received");
    assert_eq!(
        received.page.as_deref(),
        Some(format!("pages/application/detail?id={id}").as_str())
    );
    assert_eq!(received.miniprogram_state.as_deref(), Some("formal"));
    assert_eq!(received.data["thing1"]["value"], "巫山县快递行业工会联合会");
    assert_eq!(received.data["phrase2"]["value"], "待审核");
    assert!(
        received.data["time4"]["value"]
            .as_str()
            .unwrap()
            .ends_with("18:00"),
        "{}",
        received.data
    );

    // The courier federation's reviewer is told; the county's admins are not.
    let reviewer_phone = admin_phone("courier-reviewer");
    let notice = eventually("the reviewer's notice", || {
        notices_to(&app, &reviewer_phone).into_iter().next()
    })
    .await;
    assert_eq!(notice.params[0], "巫山县快递行业工会联合会有新的入会申请");
    assert!(notice.params[1].starts_with("请于"), "{:?}", notice.params);
    let submitted = settled(&app, &id, "application.submitted", "delivered").await;
    let admin_out_id = notice.out_id.clone().unwrap();
    assert!(
        admin_out_id.starts_with(&format!("outbox-{}-a", submitted.id)),
        "{admin_out_id}"
    );
    for quiet in ["wushan-manager", "wushan-viewer", "gaotang-reviewer"] {
        assert!(notices_to(&app, &admin_phone(quiet)).is_empty(), "{quiet}");
    }

    let reviewer = app.admin_token("courier-reviewer").await;
    let approved = decide(&app, &reviewer, &id, "approve", json!({})).await;
    let number = approved["membership_number"].as_str().unwrap().to_owned();
    let message = eventually("the approval", || {
        app.stub
            .subscribe_messages(openid)
            .into_iter()
            .find(|m| m.template_id == "tpl-application_approved")
    })
    .await;
    assert_eq!(message.data["character_string3"]["value"], number.as_str());
    assert_eq!(message.data["phrase2"]["value"], "已通过");
    assert_eq!(message.page.as_deref(), Some("pages/membership/index"));

    let row = settled(&app, &id, "application.approved", "delivered").await;
    assert_eq!(row.attempts, 1);
    assert_eq!(row.last_error, None);
    let mut conn = app.db.connect();
    let calls = deliveries_of(&mut conn, row.id);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        (
            calls[0].channel.as_str(),
            calls[0].status.as_str(),
            calls[0].provider.as_str(),
            calls[0].recipient_kind.as_str()
        ),
        ("wechat", "ok", "wechat", "worker")
    );
    assert_eq!(calls[0].out_id, format!("outbox-{}-w", row.id));
    assert_eq!(
        calls[0].provider_ref.as_deref(),
        Some(message.msgid.to_string().as_str())
    );
    assert!(
        notices_to(&app, "13812340011").is_empty(),
        "a subscribed worker gets no SMS"
    );

    // The token was fetched once and is shared through Redis.
    let fetched = app
        .stub
        .requests(Provider::Wechat)
        .iter()
        .filter(|r| r.path == "/cgi-bin/stable_token")
        .count();
    assert_eq!(fetched, 1);
    let mut redis = redis::Client::open(zhijian_integration_tests::app::redis_url())
        .unwrap()
        .get_connection()
        .unwrap();
    let cached: Option<String> = redis::cmd("GET")
        .arg(format!("{}:wechat:access_token", app.redis_namespace))
        .query(&mut redis)
        .unwrap();
    assert!(cached.is_some());
}

#[tokio::test]
async fn an_unsubscribed_worker_is_told_by_sms_under_the_same_out_id_and_no_phone_is_logged() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let worker = app.worker_token("fallback1").await;
    app.stub.mark_unsubscribed("o_stub_fallback1");
    let phone = "13812340012";
    let id = submit(&app, &worker, 12, phone).await;
    let reviewer = app.admin_token("courier-reviewer").await;
    let approved = decide(&app, &reviewer, &id, "approve", json!({})).await;
    let number = approved["membership_number"].as_str().unwrap().to_owned();

    let sms = eventually("the approval by SMS", || {
        notices_to(&app, phone)
            .into_iter()
            .find(|sms| sms.params[0] == "入会申请已通过")
    })
    .await;
    assert_eq!(sms.params[1], format!("会员编号{number}"));
    let row = settled(&app, &id, "application.approved", "delivered").await;
    let mut conn = app.db.connect();
    let calls = deliveries_of(&mut conn, row.id);
    let summary: Vec<(&str, &str, Option<&str>)> = calls
        .iter()
        .map(|c| {
            (
                c.channel.as_str(),
                c.status.as_str(),
                c.error_code.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("wechat", "fallback", Some("43101")), ("sms", "ok", None)]
    );
    let out_id = format!("outbox-{}-w", row.id);
    assert!(calls.iter().all(|c| c.out_id == out_id));
    assert_eq!(
        sms.out_id.as_deref(),
        Some(out_id.as_str()),
        "Tencent SessionContext"
    );
    assert_eq!(calls[1].provider, "tencent");
    assert!(app.stub.subscribe_messages("o_stub_fallback1").is_empty());

    let leaks: Vec<String> = zhijian_integration_tests::logcapture::lines()
        .into_iter()
        .filter(|line| !line.is_from_stub() && line.message.contains(phone))
        .map(|line| line.to_string())
        .collect();
    assert!(leaks.is_empty(), "phone numbers in the log: {leaks:?}");
}

#[tokio::test]
async fn a_worker_without_wechat_is_told_by_sms_on_the_account_phone() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let account_phone = "13812340013";
    let worker = phone_worker(&app, account_phone).await;
    let form_phone = "13812340099";
    let id = submit(&app, &worker, 13, form_phone).await;
    let sms = eventually("the receipt by SMS", || {
        notices_to(&app, account_phone).into_iter().next()
    })
    .await;
    assert_eq!(sms.params[0], "入会申请已受理");
    assert!(
        sms.params[1].starts_with("巫山县快递行业工会联合会将于"),
        "{:?}",
        sms.params
    );
    let row = settled(&app, &id, "application.submitted", "delivered").await;
    let mut conn = app.db.connect();
    let calls = deliveries_of(&mut conn, row.id);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].channel.as_str(), calls[0].status.as_str()),
        ("sms", "ok")
    );
    assert!(
        notices_to(&app, form_phone).is_empty(),
        "the account's own phone wins"
    );
}

/// Injects `fault`, submits an application, waits until the failed attempt is recorded with
/// `code` and retried, clears the fault and waits for the delivery; returns the settled row.
async fn retried_until_cleared(
    app: &TestApp,
    token: &str,
    n: u16,
    fault: Fault,
    channel: &str,
    code: &str,
) -> OutboxRow {
    app.stub.inject_fault(fault.clone());
    let id = submit(app, token, n, &format!("138123401{n:02}")).await;
    let mut conn = app.db.connect();
    eventually(&format!("{fault:?} to be recorded and retried"), || {
        let row = event(&mut conn, &id, "application.submitted")?;
        let calls = deliveries_of(&mut conn, row.id);
        let failed = calls.iter().any(|c| {
            c.channel == channel
                && c.status == "failed"
                && c.retryable
                && c.error_code.as_deref() == Some(code)
        });
        (failed && row.attempts >= 2 && row.status == "pending").then_some(())
    })
    .await;
    app.stub.clear_faults();
    let row = settled(app, &id, "application.submitted", "delivered").await;
    let calls = deliveries_of(&mut conn, row.id);
    let last = calls.last().unwrap();
    assert_eq!(
        (last.channel.as_str(), last.status.as_str()),
        (channel, "ok"),
        "{fault:?}: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .all(|c| c.out_id == format!("outbox-{}-w", row.id))
    );
    row
}

#[tokio::test]
async fn every_passing_wechat_failure_is_retried_until_it_clears() {
    let app = spawn_app_with(|s| s.wechat.timeout_ms = 300).await;
    app.seed_demo().await;
    let cases = [
        (Fault::status(FaultTarget::Subscribe, 503), "unavailable"),
        (Fault::status(FaultTarget::Subscribe, 500), "unavailable"),
        (
            Fault::errcode(FaultTarget::Subscribe, 45011),
            "rate_limited",
        ),
        (Fault::errcode(FaultTarget::Subscribe, -1), "rate_limited"),
        (
            Fault::delay(FaultTarget::Subscribe, Duration::from_millis(1_500)),
            "unavailable",
        ),
        (
            Fault::drop_connection(FaultTarget::Subscribe),
            "unavailable",
        ),
    ];
    for (i, (fault, code)) in cases.into_iter().enumerate() {
        let n = 20 + u16::try_from(i).unwrap();
        let token = app.worker_token(&format!("wx-fault-{n}")).await;
        retried_until_cleared(&app, &token, n, fault, "wechat", code).await;
        assert!(
            notices_to(&app, &format!("138123401{n:02}")).is_empty(),
            "no SMS while WeChat is only passing trouble"
        );
    }
}

#[tokio::test]
async fn every_passing_sms_failure_is_retried_until_it_clears() {
    let app = spawn_app_with(|s| s.sms.timeout_ms = 300).await;
    app.seed_demo().await;
    let cases = [
        (Fault::status(FaultTarget::Tencent, 503), "unavailable"),
        (
            Fault::errcode(
                FaultTarget::Tencent,
                "LimitExceeded.PhoneNumberOneHourLimit",
            ),
            "rate_limited",
        ),
        (
            Fault::errcode(
                FaultTarget::Tencent,
                "FailedOperation.InsufficientBalanceInSmsPackage",
            ),
            "unavailable",
        ),
        (
            Fault::errcode(FaultTarget::Tencent, "InternalError.Timeout"),
            "unavailable",
        ),
        (
            Fault::delay(FaultTarget::Tencent, Duration::from_millis(1_500)),
            "unavailable",
        ),
        (Fault::drop_connection(FaultTarget::Tencent), "unavailable"),
    ];
    // Sign everyone in first: verification codes travel through the same provider.
    let mut tokens = Vec::new();
    for i in 0..cases.len() {
        tokens.push(phone_worker(&app, &format!("1391234{:04}", 30 + i)).await);
    }
    for (i, ((fault, code), token)) in cases.into_iter().zip(tokens).enumerate() {
        let n = 30 + u16::try_from(i).unwrap();
        retried_until_cleared(&app, &token, n, fault, "sms", code).await;
    }
}

#[tokio::test]
async fn a_refused_template_falls_back_to_sms_and_a_refused_number_stops_for_good() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let mut conn = app.db.connect();

    // WeChat refuses the template (40037): the worker still hears, by SMS.
    let token = app.worker_token("bad-template").await;
    app.stub
        .inject_fault(Fault::errcode(FaultTarget::Subscribe, 40037));
    let id = submit(&app, &token, 40, "13812340040").await;
    let row = settled(&app, &id, "application.submitted", "delivered").await;
    let calls = deliveries_of(&mut conn, row.id);
    assert_eq!(calls[0].error_code.as_deref(), Some("40037"));
    assert_eq!(
        (calls[0].status.as_str(), calls[1].status.as_str()),
        ("fallback", "ok")
    );
    assert_eq!(notices_to(&app, "13812340040").len(), 1);
    app.stub.clear_faults();

    // The provider says the number is invalid: recorded, not retried.
    let phones = ["13912340041", "13912340042"];
    let tokens = [
        phone_worker(&app, phones[0]).await,
        phone_worker(&app, phones[1]).await,
    ];
    app.stub.inject_fault(
        Fault::errcode(
            FaultTarget::Tencent,
            "InvalidParameterValue.IncorrectPhoneNumber",
        )
        .times(1),
    );
    let id = submit(&app, &tokens[0], 41, phones[0]).await;
    let row = settled(&app, &id, "application.submitted", "failed").await;
    assert_eq!(row.attempts, 1);
    assert!(row.last_error.is_some());
    let calls = deliveries_of(&mut conn, row.id);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].status.as_str(), calls[0].retryable),
        ("failed", false)
    );
    assert_eq!(calls[0].error_code.as_deref(), Some("invalid_number"));

    // A blacklisted number (the worker unsubscribed from SMS) likewise.
    app.stub.blacklist_phone(phones[1]);
    let id = submit(&app, &tokens[1], 42, phones[1]).await;
    let row = settled(&app, &id, "application.submitted", "failed").await;
    let calls = deliveries_of(&mut conn, row.id);
    assert_eq!(calls[0].error_code.as_deref(), Some("blacklisted"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(deliveries_of(&mut conn, row.id).len(), 1, "never retried");
}

#[tokio::test]
async fn a_delivery_still_failing_after_the_last_attempt_is_parked_as_dead() {
    let app = spawn_app_with(|s| s.outbox.max_attempts = 3).await;
    app.seed_demo().await;
    let phone = "13912340050";
    let token = phone_worker(&app, phone).await;
    app.stub
        .inject_fault(Fault::status(FaultTarget::Tencent, 503));
    let id = submit(&app, &token, 50, phone).await;
    let row = settled(&app, &id, "application.submitted", "dead").await;
    assert_eq!(row.attempts, 3);
    assert!(
        row.last_error.as_deref().is_some_and(|e| e.contains("503")),
        "{:?}",
        row.last_error
    );
    let mut conn = app.db.connect();
    let calls = deliveries_of(&mut conn, row.id);
    let attempts: Vec<i32> = calls.iter().map(|c| c.attempt).collect();
    assert_eq!(attempts, [1, 2, 3]);
    assert!(calls.iter().all(|c| c.status == "failed" && c.retryable));
    app.stub.clear_faults();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        deliveries_of(&mut conn, row.id).len(),
        3,
        "a dead row stays parked"
    );
}

#[tokio::test]
async fn a_server_killed_mid_delivery_loses_nothing_and_a_repeat_carries_the_same_out_id() {
    // The test server only serves HTTP; the dispatching servers are started by hand.
    let app = spawn_app_with(|s| {
        s.outbox.enabled = false;
        s.outbox.lease_ms = 2_000;
        s.sms.timeout_ms = 5_000;
    })
    .await;
    app.seed_demo().await;
    let phone = "13912340060";
    let token = phone_worker(&app, phone).await;
    let id = submit(&app, &token, 60, phone).await;
    let mut conn = app.db.connect();
    let row = event(&mut conn, &id, "application.submitted").unwrap();
    let out_id = format!("outbox-{}-w", row.id);

    // The first dispatcher sends, the provider hangs, and the server dies.
    app.stub
        .inject_fault(Fault::delay(FaultTarget::Tencent, Duration::from_secs(3)).times(1));
    let mut settings = app.settings.clone();
    settings.outbox.enabled = true;
    let first = Application::build(settings.clone(), Duration::from_secs(10))
        .await
        .unwrap();
    let first_handle = first.handle();
    tokio::spawn(first.run_until_stopped());
    eventually("the first server to call the provider", || {
        app.stub
            .requests(Provider::Tencent)
            .iter()
            .any(|r| r.body["SessionContext"] == out_id.as_str())
            .then_some(())
    })
    .await;
    first_handle.stop(false).await;
    let orphan = event(&mut conn, &id, "application.submitted").unwrap();
    assert_eq!(
        (orphan.status.as_str(), orphan.attempts),
        ("pending", 1),
        "claimed, never settled"
    );

    // A new server takes the row over once the lease expires.
    let second = Application::build(settings, Duration::from_secs(10))
        .await
        .unwrap();
    let second_handle = second.handle();
    tokio::spawn(second.run_until_stopped());
    let row = settled(&app, &id, "application.submitted", "delivered").await;
    assert_eq!(row.attempts, 2);
    let delivered = notices_to(&app, phone);
    assert!(!delivered.is_empty());
    assert!(
        delivered
            .iter()
            .all(|sms| sms.out_id.as_deref() == Some(out_id.as_str())),
        "a repeat is recognisable: {delivered:?}"
    );
    let calls = deliveries_of(&mut conn, row.id);
    assert!(
        calls.iter().any(|c| c.attempt == 2 && c.status == "ok"),
        "{calls:?}"
    );
    second_handle.stop(true).await;
}

#[tokio::test]
async fn two_dispatchers_on_one_database_never_deliver_an_event_twice() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let phones: Vec<String> = (0..8).map(|i| format!("139123401{i:02}")).collect();
    let mut tokens = Vec::new();
    for phone in &phones {
        tokens.push(phone_worker(&app, phone).await);
    }
    let other = Application::build(app.settings.clone(), Duration::from_secs(10))
        .await
        .unwrap();
    let other_handle = other.handle();
    tokio::spawn(other.run_until_stopped());

    let mut ids = Vec::new();
    for (i, (token, phone)) in tokens.iter().zip(&phones).enumerate() {
        ids.push(submit(&app, token, 70 + u16::try_from(i).unwrap(), phone).await);
    }
    let mut conn = app.db.connect();
    for id in &ids {
        let row = settled(&app, id, "application.submitted", "delivered").await;
        let out_id = format!("outbox-{}-w", row.id);
        let sent = app
            .stub
            .all_sms()
            .into_iter()
            .filter(|sms| sms.out_id.as_deref() == Some(out_id.as_str()))
            .count();
        assert_eq!(sent, 1, "{out_id}");
        assert_eq!(row.attempts, 1);
        assert_eq!(deliveries_of(&mut conn, row.id).len(), 1);
    }
    other_handle.stop(true).await;
}

#[tokio::test]
async fn a_down_or_slow_provider_never_holds_up_a_decision() {
    let app = spawn_app_with(|s| s.wechat.timeout_ms = 5_000).await;
    seed_with_phones(&app).await;
    let worker = app.worker_token("slow-provider").await;
    let id = submit(&app, &worker, 80, "13812340080").await;
    let reviewer = app.admin_token("courier-reviewer").await;
    app.stub
        .inject_fault(Fault::delay(FaultTarget::Subscribe, Duration::from_secs(4)));
    app.stub
        .inject_fault(Fault::status(FaultTarget::Tencent, 503));
    let started = Instant::now();
    decide(
        &app,
        &reviewer,
        &id,
        "reject",
        json!({"reason_code": "not_eligible"}),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    app.stub.clear_faults();
    let message = eventually("the rejection", || {
        app.stub
            .subscribe_messages("o_stub_slow-provider")
            .into_iter()
            .find(|m| m.template_id == "tpl-application_rejected")
    })
    .await;
    assert_eq!(message.data["phrase2"]["value"], "未通过");
    assert!(
        message.data["thing3"]["value"]
            .as_str()
            .unwrap()
            .chars()
            .count()
            <= 20
    );
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_the_message_still_goes() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let worker = app.worker_token("token-refresh").await;
    let openid = "o_stub_token-refresh";
    let first = submit(&app, &worker, 90, "13812340090").await;
    settled(&app, &first, "application.submitted", "delivered").await;
    app.stub.expire_access_tokens();
    let reviewer = app.admin_token("courier-reviewer").await;
    decide(&app, &reviewer, &first, "approve", json!({})).await;
    let row = settled(&app, &first, "application.approved", "delivered").await;
    assert_eq!(row.attempts, 1, "refreshed and retried inside one attempt");
    assert_eq!(app.stub.subscribe_messages(openid).len(), 2);
    let tokens: Vec<Value> = app
        .stub
        .requests(Provider::Wechat)
        .into_iter()
        .filter(|r| r.path == "/cgi-bin/stable_token")
        .map(|r| r.body["force_refresh"].clone())
        .collect();
    assert_eq!(tokens, [json!(false), json!(true)]);
}

#[tokio::test]
async fn every_transfer_step_reaches_the_member_and_the_union_that_must_act() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let worker = app.worker_token("transfer-steps").await;
    let openid = "o_stub_transfer-steps";
    let id = submit(&app, &worker, 95, "13812340095").await;
    let reviewer = app.admin_token("courier-reviewer").await;
    decide(&app, &reviewer, &id, "approve", json!({})).await;
    seed_with_phones(&app).await;

    let jingtan = demo.union_named("净坛社区联合工会").unwrap().get();
    let requested = app
        .call(
            Method::POST,
            "/v1/transfers",
            &worker,
            Some(&json!({"to_union_id": jingtan})),
        )
        .await;
    assert_eq!(requested.status, 201, "{}", requested.text);
    let transfer = requested.body["id"].as_str().unwrap().to_owned();
    let step = |label: &'static str| {
        let app = &app;
        move || {
            app.stub.subscribe_messages(openid).into_iter().find(|m| {
                m.template_id == "tpl-transfer_step" && m.data["thing3"]["value"] == label
            })
        }
    };
    let first = eventually("the request step", step("申请转接")).await;
    assert_eq!(first.data["thing1"]["value"], "净坛社区联合工会");
    assert_eq!(first.data["phrase2"]["value"], "待转出");
    let out = eventually("the source union's notice", || {
        notices_to(&app, &admin_phone("courier-reviewer"))
            .into_iter()
            .find(|sms| sms.params[0].contains("申请转出"))
    })
    .await;
    assert_eq!(out.params[0], "巫山县快递行业工会联合会有会员申请转出");

    let released = app
        .call(
            Method::POST,
            &format!("/v1/admin/transfers/{transfer}/release"),
            &reviewer,
            Some(&json!({"version": 1})),
        )
        .await;
    assert_eq!(released.status, 200, "{}", released.text);
    eventually("the release step", step("原工会同意转出")).await;
    let incoming = eventually("the target union's notice", || {
        notices_to(&app, &admin_phone("jingtan-reviewer"))
            .into_iter()
            .next()
    })
    .await;
    assert_eq!(incoming.params[0], "净坛社区联合工会有会员申请转入");

    let target = app.admin_token("jingtan-reviewer").await;
    let version = released.body["version"].as_i64().unwrap();
    let accepted = app
        .call(
            Method::POST,
            &format!("/v1/admin/transfers/{transfer}/accept"),
            &target,
            Some(&json!({"version": version})),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let done = eventually("the acceptance step", step("新工会接收")).await;
    assert_eq!(done.data["phrase2"]["value"], "已完成");
    settled(&app, &transfer, "transfer.accepted", "delivered").await;
}

#[tokio::test]
async fn aliyun_carries_the_notification_with_our_out_id() {
    let app = spawn_app_with(|s| {
        s.sms.provider = zhijian_infra::providers::sms::SmsProvider::Aliyun;
        s.sms.aliyun_base_url = s.sms.tencent_base_url.replace("/tencent", "/aliyun");
        s.sms.aliyun_access_key_id = "LTAIstub".into();
        s.sms.aliyun_access_key_secret =
            zhijian_infra::crypto::secret::Secret::new("stub-aliyun-secret");
        s.sms.aliyun_template_verification = "SMS_100001".into();
        s.sms.aliyun_template_notification = "SMS_100002".into();
    })
    .await;
    app.seed_demo().await;
    let phone = "13912340097";
    let worker = phone_worker(&app, phone).await;
    let id = submit(&app, &worker, 97, phone).await;
    let sms = eventually("the receipt through Aliyun", || {
        app.stub
            .sms_to(phone)
            .into_iter()
            .find(|sms| sms.template_id == "SMS_100002")
    })
    .await;
    assert_eq!(sms.provider, Provider::Aliyun);
    assert_eq!(sms.params[0], "入会申请已受理");
    let row = settled(&app, &id, "application.submitted", "delivered").await;
    assert_eq!(
        sms.out_id,
        Some(format!("outbox-{}-w", row.id)),
        "Aliyun OutId"
    );
    let mut conn = app.db.connect();
    let calls = deliveries_of(&mut conn, row.id);
    assert_eq!(
        (calls[0].provider.as_str(), calls[0].status.as_str()),
        ("aliyun", "ok")
    );
    assert!(calls[0].provider_ref.is_some(), "the BizId");
}
