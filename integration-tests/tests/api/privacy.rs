//! Personal-information rights over HTTP (issue 18): "my data" (`GET /v1/me/data`), account
//! cancellation (`POST /v1/me/cancel`), the erasure of the personal data of closed applications
//! (at cancellation, and by the retention sweep after `retention.closed_application_days`), and
//! the proof: after a full flow, neither the logs nor a `pg_dump` of the database nor the audit
//! trail holds the worker's resident ID or phone in clear.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use zhijian_integration_tests::fixtures::{
    application_form, approved_member, count, person, resident_id,
};
use zhijian_integration_tests::{TestApp, TestResponse, logcapture, spawn_app_with};

async fn post(app: &TestApp, path: &str, token: &str, body: &Value) -> TestResponse {
    app.call(Method::POST, path, token, Some(body)).await
}

async fn get(app: &TestApp, path: &str, token: &str) -> TestResponse {
    app.call(Method::GET, path, token, None).await
}

/// Signs in (or up) with `phone` and a `login` code; answers the token pair.
async fn phone_sign_in(app: &TestApp, phone: &str) -> Value {
    let sent = app
        .post_json(
            "/v1/auth/sms-codes",
            &json!({ "phone": phone, "purpose": "login" }),
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    let code = app.stub.last_sms_code(phone).unwrap();
    let signed_in = app
        .post_json("/v1/auth/phone", &json!({ "phone": phone, "code": code }))
        .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    signed_in.body
}

fn token(pair: &Value) -> String {
    pair["access_token"].as_str().unwrap().to_owned()
}

/// Sends a `cancel` code to `phone` for the worker of `token`; answers the code.
async fn cancel_code(app: &TestApp, token: &str, phone: &str) -> String {
    let sent = post(
        app,
        "/v1/auth/sms-codes",
        token,
        &json!({ "phone": phone, "purpose": "cancel" }),
    )
    .await;
    assert_eq!(sent.status, 202, "{}", sent.text);
    app.stub.last_sms_code(phone).unwrap()
}

async fn submit(app: &TestApp, token: &str, resident: &str, phone: &str) -> String {
    let submitted = post(
        app,
        "/v1/applications",
        token,
        &application_form(resident, phone),
    )
    .await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    submitted.body["id"].as_str().unwrap().to_owned()
}

async fn reject(app: &TestApp, reviewer: &str, id: &str) {
    let rejected = post(
        app,
        &format!("/v1/admin/applications/{id}/reject"),
        reviewer,
        &json!({ "version": 1, "reason_code": "not_eligible" }),
    )
    .await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
}

fn execute(app: &TestApp, sql: &str) {
    use diesel::RunQueryDsl;
    let mut conn = app.db.connect();
    diesel::sql_query(sql).execute(&mut conn).unwrap();
}

fn account_of(app: &TestApp, application: &str) -> String {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        account: String,
    }
    let mut conn = app.db.connect();
    diesel::sql_query(format!(
        "SELECT account_id::text AS account FROM applications WHERE id = '{application}'"
    ))
    .get_result::<Row>(&mut conn)
    .unwrap()
    .account
}

fn metric(text: &str, kind: &str) -> Option<u64> {
    let prefix = format!("zhijian_retention_removed_total{{kind=\"{kind}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.trim().parse().unwrap())
}

#[tokio::test]
async fn cancelling_with_an_sms_code_withdraws_erases_ends_sessions_and_frees_the_phone() {
    let app = spawn_app_with(|s| s.sms_policy.resend_interval_secs = 0).await;
    app.seed_demo().await;
    let phone = "13655501801";
    let resident = resident_id("500237", "19870212", 811);
    let pair = phone_sign_in(&app, phone).await;
    let worker = token(&pair);
    let id = submit(&app, &worker, &resident, phone).await;
    let account = account_of(&app, &id);

    // Refusals change nothing.
    let wechat = post(
        &app,
        "/v1/me/cancel",
        &worker,
        &json!({ "method": "wechat", "code": "someone.abc" }),
    )
    .await;
    assert_eq!(
        (wechat.status, wechat.body["code"].as_str()),
        (400, Some("confirmation_required")),
        "a phone-only account confirms by SMS: {}",
        wechat.text
    );
    assert_eq!(wechat.body["field"], "method");
    let code = cancel_code(&app, &worker, phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let refused = post(
        &app,
        "/v1/me/cancel",
        &worker,
        &json!({ "method": "sms", "code": wrong }),
    )
    .await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (400, Some("invalid_sms_code"))
    );
    let login_code = post(
        &app,
        "/v1/me/cancel",
        &worker,
        &json!({ "method": "fax", "code": code }),
    )
    .await;
    assert_eq!(login_code.status, 400);
    assert_eq!(login_code.body["field"], "method");
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM applications WHERE id = '{id}' AND status = 'pending_review' AND erased_at IS NULL"
            )
        ),
        1,
        "nothing changed on refusal"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'cancel_account'"
        ),
        0
    );

    let cancelled = post(
        &app,
        "/v1/me/cancel",
        &worker,
        &json!({ "method": "sms", "code": code }),
    )
    .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(
        cancelled.body,
        json!({"cancelled": true, "applications_withdrawn": 1, "applications_erased": 1, "member_entries_kept": 0})
    );

    // Every token of the account stops working.
    assert_eq!(get(&app, "/v1/me", &worker).await.status, 401);
    let refreshed = app
        .post_json(
            "/v1/auth/refresh",
            &json!({ "refresh_token": pair["refresh_token"] }),
        )
        .await;
    assert_eq!(refreshed.status, 401, "{}", refreshed.text);

    // The application is withdrawn and erased; the account is a tombstone.
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM applications WHERE id = '{id}' AND status = 'withdrawn' \
                 AND erased_at IS NOT NULL AND name = '已删除' AND resident_id_cipher = '' \
                 AND phone_cipher = '' AND person_index = 'erased:' || id::text \
                 AND phone_index = 'erased:' || id::text AND work_address = '已删除' \
                 AND household_region IS NULL AND occupation = 'courier' \
                 AND birth_date = '1987-01-01'"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM application_events WHERE application_id = '{id}' \
                 AND to_status = 'withdrawn'"
            )
        ),
        1,
        "withdrawn through the withdraw rule, on the timeline"
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM accounts WHERE id = '{account}' AND cancelled_at IS NOT NULL \
                 AND phone_cipher IS NULL AND phone_index IS NULL AND wechat_openid IS NULL"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE action = 'cancel_account' \
                 AND actor_id = '{account}' AND object_id = '{account}'"
            )
        ),
        1
    );

    // The phone signs up again as a new account that sees nothing of the old one, and the
    // person may apply again.
    let again = token(&phone_sign_in(&app, phone).await);
    let me = get(&app, "/v1/me", &again).await;
    assert_eq!(me.status, 200);
    assert_ne!(me.body["account_id"], json!(account));
    let mine = get(&app, "/v1/applications/mine", &again).await;
    assert_eq!(mine.body["items"], json!([]));
    let data = get(&app, "/v1/me/data", &again).await;
    assert_eq!(data.status, 200, "{}", data.text);
    assert_eq!(data.body["applications"], json!([]));
    submit(&app, &again, &resident, phone).await;

    // The reviewer still sees the erased application, with placeholders.
    let reviewer = app.admin_token("courier-reviewer").await;
    let detail = get(&app, &format!("/v1/admin/applications/{id}"), &reviewer).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    assert_eq!(detail.body["applicant"]["name"], "已删除");
    assert_eq!(detail.body["applicant"]["resident_id"], "已删除");
    assert_eq!(detail.body["applicant"]["phone"], "已删除");
    assert_eq!(detail.body["status"], "withdrawn");
}

#[tokio::test]
async fn cancelling_with_wechat_keeps_the_member_entry_unlinked() {
    let app = spawn_app_with(|_| {}).await;
    app.seed_demo().await;
    let (worker, membership) = approved_member(&app, "leaver", 812).await;
    let member_id = membership["member_id"]
        .as_str()
        .expect("member id")
        .to_owned();

    let other = post(
        &app,
        "/v1/me/cancel",
        &worker,
        &json!({ "method": "wechat", "code": format!("stranger.{}", uuid::Uuid::new_v4().simple()) }),
    )
    .await;
    assert_eq!(
        (other.status, other.body["code"].as_str()),
        (403, Some("wechat_identity_mismatch")),
        "{}",
        other.text
    );
    let sms = post(
        &app,
        "/v1/me/cancel",
        &worker,
        &json!({ "method": "sms", "code": "123456" }),
    )
    .await;
    assert_eq!(
        (sms.status, sms.body["code"].as_str()),
        (400, Some("confirmation_required")),
        "a WeChat-only account has no phone to confirm by"
    );
    let bad = post(
        &app,
        "/v1/me/cancel",
        &worker,
        &json!({ "method": "wechat", "code": "invalid" }),
    )
    .await;
    assert_eq!(
        (bad.status, bad.body["code"].as_str()),
        (400, Some("invalid_wechat_code"))
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM members WHERE id = '{member_id}' AND account_id IS NOT NULL"
            )
        ),
        1
    );

    let cancelled = post(
        &app,
        "/v1/me/cancel",
        &worker,
        &json!({ "method": "wechat", "code": format!("leaver.{}", uuid::Uuid::new_v4().simple()) }),
    )
    .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["member_entries_kept"], 1);
    assert_eq!(cancelled.body["applications_erased"], 0);
    assert_eq!(get(&app, "/v1/me", &worker).await.status, 401);

    // The register keeps the member, unlinked; the approved application is not erased.
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM members WHERE id = '{member_id}' AND account_id IS NULL \
                 AND status = 'active'"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM applications a JOIN members m ON m.application_id = a.id \
                 WHERE m.id = '{member_id}' AND a.erased_at IS NULL"
            )
        ),
        1
    );
    let reviewer = app.admin_token("courier-reviewer").await;
    let entry = get(&app, &format!("/v1/admin/members/{member_id}"), &reviewer).await;
    assert_eq!(entry.status, 200, "{}", entry.text);

    // The same WeChat user signs up again as a new account, not a member.
    let again = app.worker_token("leaver").await;
    let membership = get(&app, "/v1/membership", &again).await;
    assert_eq!(membership.status, 404, "{}", membership.text);
}

#[tokio::test]
async fn my_data_holds_everything_in_clear_with_the_admins_who_looked_and_is_audited() {
    let app = spawn_app_with(|_| {}).await;
    app.seed_demo().await;
    let (worker, membership) = approved_member(&app, "curious", 813).await;
    let mine = get(&app, "/v1/applications/mine", &worker).await;
    let id = mine.body["items"][0]["id"].as_str().expect("id").to_owned();
    let reviewer = app.admin_token("courier-reviewer").await;
    assert_eq!(
        get(&app, &format!("/v1/admin/applications/{id}"), &reviewer)
            .await
            .status,
        200
    );

    let data = get(&app, "/v1/me/data", &worker).await;
    assert_eq!(data.status, 200, "{}", data.text);
    assert_eq!(data.header("cache-control"), Some("no-store"));
    let body = &data.body;
    assert_eq!(body["schema"], "zhijian.my-data.v1");
    assert_eq!(body["account"]["wechat_linked"], true);
    let application = &body["applications"][0];
    assert_eq!(application["id"], id.as_str());
    assert_eq!(application["applicant"]["resident_id"], person(813));
    assert_eq!(application["applicant"]["phone"], "13812341234");
    assert!(
        application["timeline"]
            .as_array()
            .is_some_and(|t| t.len() >= 2),
        "{application}"
    );
    assert_eq!(
        body["membership"]["membership_number"],
        membership["membership_number"]
    );
    assert!(
        body["membership"]["affiliations"]
            .as_array()
            .is_some_and(|a| a.len() == 1)
    );
    assert_eq!(
        body["consents"],
        json!([{"application_id": id, "privacy_notice_version": "2026-01", "consented_at": application["submitted_at"]}])
    );
    let views = body["personal_data_views"].as_array().expect("views");
    assert_eq!(views.len(), 1, "{views:?}");
    assert_eq!(views[0]["application_id"], id.as_str());
    assert_eq!(views[0]["role"], "reviewer");
    assert!(views[0]["union"]["name"].is_string());
    let account = account_of(&app, &id);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE action = 'data_export' \
                 AND actor_id = '{account}' AND reason IS NULL"
            )
        ),
        1
    );
    assert_eq!(app.get("/v1/me/data").await.status, 401);
}

#[tokio::test]
async fn the_sweep_erases_closed_applications_past_their_period_only() {
    let app = spawn_app_with(|s| s.retention.interval_ms = 200).await;
    app.seed_demo().await;
    let reviewer = app.admin_token("courier-reviewer").await;
    let mut ids = Vec::new();
    for (n, user) in [
        (821_u16, "old-rejected"),
        (822, "new-rejected"),
        (823, "old-withdrawn"),
    ] {
        let worker = app.worker_token(user).await;
        let id = submit(&app, &worker, &person(n), "13812341234").await;
        ids.push((id, worker));
    }
    reject(&app, &reviewer, &ids[0].0).await;
    reject(&app, &reviewer, &ids[1].0).await;
    let withdrawn = post(
        &app,
        &format!("/v1/applications/{}/withdraw", ids[2].0),
        &ids[2].1,
        &json!({}),
    )
    .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    let (approved_worker, _) = approved_member(&app, "old-member", 824).await;
    let approved = get(&app, "/v1/applications/mine", &approved_worker)
        .await
        .body["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for id in [&ids[0].0, &ids[2].0, &approved] {
        execute(
            &app,
            &format!(
                "UPDATE applications SET updated_at = now() - interval '181 days', \
                 decided_at = CASE WHEN decided_at IS NULL THEN NULL ELSE now() - interval '181 days' END \
                 WHERE id = '{id}'"
            ),
        );
    }
    execute(
        &app,
        &format!(
            "UPDATE applications SET updated_at = now() - interval '179 days' WHERE id = '{}'",
            ids[1].0
        ),
    );

    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while count(
        &app,
        "SELECT count(*) FROM applications WHERE erased_at IS NOT NULL",
    ) < 2
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the sweep did not run"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let erased = |id: &str| {
        count(
            &app,
            &format!(
                "SELECT count(*) FROM applications WHERE id = '{id}' AND erased_at IS NOT NULL \
                 AND resident_id_cipher = '' AND phone_cipher = '' AND name = '已删除'"
            ),
        ) == 1
    };
    assert!(erased(&ids[0].0), "a rejection 181 days old is erased");
    assert!(erased(&ids[2].0), "a withdrawal 181 days old is erased");
    assert!(!erased(&ids[1].0), "a rejection 179 days old is kept");
    assert!(!erased(&approved), "an approved application never is");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM applications WHERE erased_at IS NOT NULL"
        ),
        2
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM applications WHERE id = '{}' AND status = 'rejected' \
                 AND reject_code = 'not_eligible' AND occupation = 'courier'",
                ids[0].0
            )
        ),
        1,
        "the statistics' columns stay"
    );

    // Readers answer sensibly: the worker still sees the status, the admin placeholders.
    let mine = get(&app, "/v1/applications/mine", &ids[0].1).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.body["items"][0]["status"], "rejected");
    let own = get(&app, &format!("/v1/applications/{}", ids[0].0), &ids[0].1).await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.body["applicant"]["resident_id"], "已删除");
    let detail = get(
        &app,
        &format!("/v1/admin/applications/{}", ids[0].0),
        &reviewer,
    )
    .await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    assert_eq!(detail.body["applicant"]["phone"], "已删除");
    let queue = get(&app, "/v1/admin/applications?status=rejected", &reviewer).await;
    assert_eq!(queue.status, 200, "{}", queue.text);

    let metrics = app.get("/metrics").await;
    assert_eq!(metric(&metrics.text, "erased_applications"), Some(2));
}

/// The proof of issue 18: a full flow — sign-in, submission, an admin's reveal, a rejection,
/// the cancellation, and the retention sweep over another worker's old rejection — leaves
/// neither worker's resident ID nor phone in clear in the logs, in a `pg_dump --data-only` of
/// the database, or in the audit trail.
#[tokio::test]
async fn after_a_full_flow_no_resident_id_or_phone_is_left_in_clear() {
    let app = spawn_app_with(|s| {
        s.sms_policy.resend_interval_secs = 0;
        s.retention.interval_ms = 200;
    })
    .await;
    app.seed_demo().await;
    let reviewer = app.admin_token("courier-reviewer").await;
    let people = [
        ("13655501831", resident_id("500237", "19870212", 831)),
        ("13655501832", resident_id("500237", "19870212", 833)),
    ];

    // Worker 1: signs in by phone, applies, is looked at and rejected, cancels.
    let (phone, resident) = &people[0];
    let worker = token(&phone_sign_in(&app, phone).await);
    let id = submit(&app, &worker, resident, phone).await;
    let revealed = get(&app, &format!("/v1/admin/applications/{id}"), &reviewer).await;
    assert_eq!(revealed.body["applicant"]["resident_id"], resident.as_str());
    reject(&app, &reviewer, &id).await;
    let data = get(&app, "/v1/me/data", &worker).await;
    assert_eq!(data.body["applications"][0]["applicant"]["phone"], *phone);
    let code = cancel_code(&app, &worker, phone).await;
    let cancelled = post(
        &app,
        "/v1/me/cancel",
        &worker,
        &json!({ "method": "sms", "code": code }),
    )
    .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["applications_erased"], 1);

    // Worker 2: rejected long ago; the sweep erases it.
    let (phone2, resident2) = &people[1];
    let worker2 = token(&phone_sign_in(&app, phone2).await);
    let id2 = submit(&app, &worker2, resident2, phone2).await;
    reject(&app, &reviewer, &id2).await;
    execute(
        &app,
        &format!(
            "UPDATE applications SET updated_at = now() - interval '200 days', \
             decided_at = now() - interval '200 days' WHERE id = '{id2}'"
        ),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while count(
        &app,
        &format!("SELECT count(*) FROM applications WHERE id = '{id2}' AND erased_at IS NOT NULL"),
    ) == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the sweep did not run"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Worker 2 also gives up the account: the phone leaves the accounts table too.
    let code2 = cancel_code(&app, &worker2, phone2).await;
    let cancelled2 = post(
        &app,
        "/v1/me/cancel",
        &worker2,
        &json!({ "method": "sms", "code": code2 }),
    )
    .await;
    assert_eq!(cancelled2.status, 200, "{}", cancelled2.text);

    // Let the notifications of the flow go out before looking.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The logs (the provider stub plays the SMS gateway: it logs the numbers it delivers to).
    for (phone, resident) in &people {
        for needle in [*phone, resident.as_str()] {
            let lines: Vec<_> = logcapture::lines_containing(needle)
                .into_iter()
                .filter(|line| !line.is_from_stub())
                .collect();
            assert!(lines.is_empty(), "{needle} in the log: {lines:?}");
        }
    }

    // The database, as a backup would hold it.
    let dump = std::process::Command::new("/usr/lib/postgresql/15/bin/pg_dump")
        .arg("--data-only")
        .arg("--no-owner")
        .arg(&app.db.url)
        .output()
        .expect("pg_dump runs");
    assert!(
        dump.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dump.contains(&id) && dump.contains(&id2),
        "the dump holds the flow"
    );
    assert!(dump.contains("view_personal_data") && dump.contains("cancel_account"));
    assert!(
        dump.contains("grant_consent"),
        "the consent given with the application"
    );
    for (phone, resident) in &people {
        assert!(!dump.contains(*phone), "{phone} in the dump");
        assert!(!dump.contains(resident.as_str()), "{resident} in the dump");
        // Nor the resident ID's distinctive middle (birth date and sequence).
        assert!(
            !dump.contains(&resident[6..17]),
            "{resident} (in part) in the dump"
        );
    }

    // The audit trail of the flow, in particular.
    for (phone, resident) in &people {
        assert_eq!(
            count(
                &app,
                &format!(
                    "SELECT count(*) FROM audit_log WHERE concat_ws(' ', actor_id, object_id, \
                     action, reason, request_id) LIKE '%{phone}%' OR concat_ws(' ', actor_id, \
                     object_id, action, reason, request_id) LIKE '%{resident}%'"
                )
            ),
            0
        );
    }
    assert!(
        count(
            &app,
            &format!("SELECT count(*) FROM audit_log WHERE object_id IN ('{id}', '{id2}')")
        ) >= 4,
        "the flow is audited"
    );
}

#[tokio::test]
async fn an_admin_revealing_too_often_is_slowed_and_the_managers_above_are_told_once() {
    let app = spawn_app_with(|s| s.privacy.reveals_per_hour = 2).await;
    crate::notifications::seed_with_phones(&app).await;
    let worker = app.worker_token("looked-at").await;
    let id = submit(&app, &worker, &person(841), "13812341234").await;
    let reviewer = app.admin_token("courier-reviewer").await;
    let detail = format!("/v1/admin/applications/{id}");
    for _ in 0..2 {
        let shown = get(&app, &detail, &reviewer).await;
        assert_eq!(shown.status, 200, "{}", shown.text);
        assert_eq!(shown.body["applicant"]["resident_id"], person(841));
    }
    for _ in 0..2 {
        let slowed = get(&app, &detail, &reviewer).await;
        assert_eq!(
            (slowed.status, slowed.body["code"].as_str()),
            (429, Some("too_many_reveals")),
            "{}",
            slowed.text
        );
        let retry: u64 = slowed
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=3600).contains(&retry), "{retry}");
        assert!(slowed.body.get("applicant").is_none());
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'view_personal_data'"
        ),
        2,
        "a refused reading is no reveal"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'reveals_capped'"
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE event_type = 'admin.reveals_exceeded' \
             AND (payload->>'union_id')::bigint = (SELECT u.parent_id FROM unions u \
             JOIN admins a ON a.union_id = u.id WHERE a.username = 'courier-reviewer')"
        ),
        1,
        "the managers above are told once per window"
    );

    // The county's manager gets the notice by SMS; the reviewer's own union does not.
    let manager = crate::notifications::admin_phone("wushan-manager");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let told = app
            .stub
            .sms_to(&manager)
            .iter()
            .any(|sms| sms.params.iter().any(|p| p.contains("查看个人信息异常")));
        if told {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the managers were not told"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reviewer_phone = crate::notifications::admin_phone("courier-reviewer");
    assert!(
        !app.stub
            .sms_to(&reviewer_phone)
            .iter()
            .any(|sms| sms.params.iter().any(|p| p.contains("查看个人信息异常")))
    );

    // Another admin is not slowed by this one.
    let other = app.admin_token("wushan-manager").await;
    assert_eq!(get(&app, &detail, &other).await.status, 200);
}

#[tokio::test]
async fn a_cancel_code_needs_a_worker_token_and_confirms_nothing_else() {
    let app = spawn_app_with(|s| s.sms_policy.resend_interval_secs = 0).await;
    let phone = "13655501851";
    let anonymous = app
        .post_json(
            "/v1/auth/sms-codes",
            &json!({ "phone": phone, "purpose": "cancel" }),
        )
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    assert!(app.stub.sms_to(phone).is_empty(), "nothing was sent");

    let worker = token(&phone_sign_in(&app, phone).await);
    let code = cancel_code(&app, &worker, phone).await;
    // A cancel code does not sign in …
    let login = app
        .post_json("/v1/auth/phone", &json!({ "phone": phone, "code": code }))
        .await;
    assert_eq!(
        (login.status, login.body["code"].as_str()),
        (400, Some("sms_code_expired"))
    );
    // … and a login code does not cancel.
    let login_code = {
        let sent = app
            .post_json(
                "/v1/auth/sms-codes",
                &json!({ "phone": phone, "purpose": "login" }),
            )
            .await;
        assert_eq!(sent.status, 202);
        app.stub.last_sms_code(phone).unwrap()
    };
    let refused = post(
        &app,
        "/v1/me/cancel",
        &worker,
        &json!({ "method": "sms", "code": login_code }),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM accounts WHERE cancelled_at IS NOT NULL"
        ),
        0
    );
    assert_eq!(get(&app, "/v1/me", &worker).await.status, 200);
    // The cancel code itself still works.
    let cancelled = post(
        &app,
        "/v1/me/cancel",
        &worker,
        &json!({ "method": "sms", "code": code }),
    )
    .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["applications_erased"], 0);
}
