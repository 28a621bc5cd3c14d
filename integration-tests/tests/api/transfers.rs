//! Transfers over HTTP (会籍转接: 一次入会、动态接转): request by union or by job facts, the
//! source's release and the target's acceptance, refusals, cancellation, scope, races, the
//! auto-release of a silent source on a moved clock, and completion into a pool.

use std::time::Duration;

use chrono::TimeDelta;
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};
use zhijian_integration_tests::clock::beijing;
use zhijian_integration_tests::fixtures::{approved_member, count};
use zhijian_integration_tests::{
    MockClock, TestApp, TestResponse, spawn_app, spawn_app_with_clock,
};

async fn request(app: &TestApp, token: &str, body: &Value) -> TestResponse {
    app.call(Method::POST, "/v1/transfers", token, Some(body))
        .await
}

async fn admin_post(app: &TestApp, token: &str, path: &str, body: Value) -> TestResponse {
    app.call(Method::POST, path, token, Some(&body)).await
}

fn union_id(demo: &zhijian_devtools::demo::DemoReport, name: &str) -> i64 {
    demo.union_named(name).unwrap().get()
}

const COURIER: &str = "巫山县快递行业工会联合会";
const JINGTAN: &str = "净坛社区联合工会";

#[tokio::test]
async fn a_member_moves_when_the_source_releases_and_the_target_accepts() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (worker, before) = approved_member(&app, "mover", 1).await;
    let jingtan = union_id(&demo, JINGTAN);
    let member_id = before["member_id"].as_str().unwrap().to_owned();

    let requested = request(
        &app,
        &worker,
        &json!({"to_union_id": jingtan, "reason": "搬到净坛社区送快递"}),
    )
    .await;
    assert_eq!(requested.status, 201, "{}", requested.text);
    let transfer = &requested.body;
    let id = transfer["id"].as_str().unwrap().to_owned();
    assert_eq!(transfer["status"], "requested");
    assert_eq!(transfer["version"], 1);
    assert_eq!(transfer["from_union"]["name"], COURIER);
    assert_eq!(transfer["to_union"]["id"], jingtan);
    assert_eq!(
        transfer["member"]["membership_number"],
        before["membership_number"]
    );
    assert_eq!(transfer["reason"], "搬到净坛社区送快递");
    assert_eq!(transfer["into_pool"], false);
    assert!(transfer["release_due_at"].is_string());
    assert!(
        transfer.get("routing").is_none(),
        "chosen by id, not routed"
    );

    // No gap: still a member of the source union while the transfer is open.
    let during = app.call(Method::GET, "/v1/membership", &worker, None).await;
    assert_eq!(during.body["status"], "transferring");
    assert_eq!(during.body["union"]["name"], COURIER);

    // One open transfer per member.
    let again = request(&app, &worker, &json!({"to_union_id": jingtan})).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.body["code"], "transfer_in_progress");
    let mine = app
        .call(Method::GET, "/v1/transfers/mine", &worker, None)
        .await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);

    let source = app.admin_token("courier-reviewer").await;
    let target = app.admin_token("jingtan-reviewer").await;
    let path = |action: &str| format!("/v1/admin/transfers/{id}/{action}");

    // Each side sees it in its own list.
    let out = app
        .call(
            Method::GET,
            "/v1/admin/transfers?direction=out",
            &source,
            None,
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.text);
    assert_eq!(out.body["items"][0]["id"], id.as_str());
    let incoming = app
        .call(
            Method::GET,
            "/v1/admin/transfers?direction=in&status=requested",
            &target,
            None,
        )
        .await;
    assert_eq!(incoming.body["items"][0]["id"], id.as_str());
    let not_out = app
        .call(
            Method::GET,
            "/v1/admin/transfers?direction=out",
            &target,
            None,
        )
        .await;
    assert_eq!(not_out.body["items"].as_array().unwrap().len(), 0);

    // Accept before release is a conflict; each side acts only at its own step.
    let early = admin_post(&app, &target, &path("accept"), json!({"version": 1})).await;
    assert_eq!(early.status, 409, "{}", early.text);
    assert_eq!(early.body["code"], "transfer_not_released");
    let wrong_side = admin_post(&app, &target, &path("release"), json!({"version": 1})).await;
    assert_eq!(wrong_side.status, 403);
    assert_eq!(wrong_side.body["code"], "not_source_union");

    let released = admin_post(&app, &source, &path("release"), json!({"version": 1})).await;
    assert_eq!(released.status, 200, "{}", released.text);
    assert_eq!(released.body["status"], "released");
    assert_eq!(released.body["auto_released"], false);
    assert!(released.body["released_at"].is_string());
    assert!(released.body.get("release_due_at").is_none());
    let stale = admin_post(&app, &source, &path("release"), json!({"version": 1})).await;
    assert_eq!(stale.status, 409);
    let source_accepts = admin_post(&app, &source, &path("accept"), json!({"version": 2})).await;
    assert_eq!(source_accepts.status, 403);
    assert_eq!(source_accepts.body["code"], "not_target_union");

    let accepted = admin_post(&app, &target, &path("accept"), json!({"version": 2})).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.body["status"], "completed");
    assert!(accepted.body["completed_at"].is_string());

    // The membership moved: same number, same joined date, new union.
    let after = app.call(Method::GET, "/v1/membership", &worker, None).await;
    assert_eq!(after.body["status"], "active");
    assert_eq!(after.body["union"]["id"], jingtan);
    assert_eq!(after.body["membership_number"], before["membership_number"]);
    assert_eq!(after.body["joined_on"], before["joined_on"]);

    // Both periods, append-only, each with the number.
    let history = app
        .call(Method::GET, "/v1/membership/affiliations", &worker, None)
        .await;
    assert_eq!(history.status, 200, "{}", history.text);
    let periods = history.body["items"].as_array().unwrap();
    assert_eq!(periods.len(), 2);
    assert_eq!(periods[0]["union"]["name"], COURIER);
    assert_eq!(periods[0]["reason"], "joined");
    assert_eq!(periods[0]["end_reason"], "transfer");
    assert_eq!(periods[0]["to"], periods[1]["from"], "no gap");
    assert_eq!(periods[1]["union"]["id"], jingtan);
    assert_eq!(periods[1]["reason"], "transfer");
    assert!(periods[1].get("to").is_none());
    for period in periods {
        assert_eq!(period["membership_number"], before["membership_number"]);
    }

    // Admins of both unions see the member with the history; others do not.
    for admin in ["courier-reviewer", "jingtan-reviewer", "wushan-viewer"] {
        let token = app.admin_token(admin).await;
        let seen = app
            .call(
                Method::GET,
                &format!("/v1/admin/members/{member_id}"),
                &token,
                None,
            )
            .await;
        assert_eq!(seen.status, 200, "{admin}: {}", seen.text);
        assert_eq!(seen.body["affiliations"].as_array().unwrap().len(), 2);
        let events: Vec<&str> = seen.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert_eq!(events, ["transfer_started", "transfer_finished"]);
    }
    // The old union may look, not act.
    let old_union_acts = admin_post(
        &app,
        &source,
        &format!("/v1/admin/members/{member_id}/retain"),
        json!({"version": after_version(&app, &member_id), "reason": "unemployed"}),
    )
    .await;
    assert_eq!(old_union_acts.status, 403);
    assert_eq!(old_union_acts.body["code"], "not_current_union");

    let transfer_audit = format!(
        "SELECT count(*) FROM audit_log WHERE object_kind = 'transfer' AND object_id = '{id}'"
    );
    assert_eq!(
        count(&app, &transfer_audit),
        3,
        "requested, released, accepted"
    );
    for event in [
        "transfer.requested",
        "transfer.released",
        "transfer.accepted",
    ] {
        let sql = format!(
            "SELECT count(*) FROM outbox WHERE event_type = '{event}' AND aggregate_id = '{id}'"
        );
        assert_eq!(count(&app, &sql), 1, "{event}");
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM affiliations WHERE ended_at IS NULL"
        ),
        1
    );
}

fn after_version(app: &TestApp, member_id: &str) -> i64 {
    count(
        app,
        &format!("SELECT version::bigint FROM members WHERE id = '{member_id}'"),
    )
}

#[tokio::test]
async fn requests_are_checked_and_routed_and_a_member_may_cancel() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let outsider = app.worker_token("not-a-member").await;
    let jingtan = union_id(&demo, JINGTAN);
    let none = request(&app, &outsider, &json!({"to_union_id": jingtan})).await;
    assert_eq!(none.status, 404);
    assert_eq!(none.body["code"], "not_a_member");

    let (worker, _) = approved_member(&app, "checker", 2).await;
    let courier = union_id(&demo, COURIER);
    let pool = union_id(&demo, "巫山县临时库");
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({"to_union_id": courier}),
            400,
            "transfer_same_union",
            Some("to_union_id"),
        ),
        (
            json!({"work_region": "500237001009", "occupation": "courier"}),
            400,
            "transfer_same_union",
            Some("work_region"),
        ),
        (
            json!({"reason": "想换"}),
            400,
            "transfer_target_required",
            Some("to_union_id"),
        ),
        (
            json!({"to_union_id": jingtan, "work_region": "500237001009", "occupation": "cleaner"}),
            400,
            "transfer_target_ambiguous",
            Some("to_union_id"),
        ),
        (
            json!({"to_union_id": 999_999}),
            400,
            "invalid_target_union",
            Some("to_union_id"),
        ),
        (
            json!({"to_union_id": pool}),
            400,
            "invalid_target_union",
            Some("to_union_id"),
        ),
        (
            json!({"work_region": "500237", "occupation": "cleaner"}),
            400,
            "work_region_too_coarse",
            Some("work_region"),
        ),
        (
            json!({"work_region": "500237001009", "occupation": "astronaut"}),
            400,
            "invalid_occupation_group",
            Some("occupation"),
        ),
        (
            json!({"work_region": "500237001009"}),
            400,
            "required",
            Some("occupation"),
        ),
        (
            json!({"to_union_id": jingtan, "colour": "red"}),
            400,
            "unknown_field",
            Some("colour"),
        ),
    ];
    for (body, status, code, field) in cases {
        let response = request(&app, &worker, &body).await;
        assert_eq!(response.status, status, "{body}: {}", response.text);
        assert_eq!(response.body["code"], code, "{body}");
        if let Some(field) = field {
            assert_eq!(response.body["field"], field, "{body}");
        }
    }
    assert_eq!(count(&app, "SELECT count(*) FROM transfers"), 0);

    // By facts: a cleaner in 净坛社区 is routed to the community joint union (rule 3).
    let routed = request(
        &app,
        &worker,
        &json!({"work_region": "500237001009", "occupation": "cleaner"}),
    )
    .await;
    assert_eq!(routed.status, 201, "{}", routed.text);
    assert_eq!(routed.body["to_union"]["id"], jingtan);
    assert_eq!(routed.body["routing"]["rule"], "joint_union");
    assert!(
        routed.body["routing"]["explanation"]
            .as_str()
            .unwrap()
            .contains(JINGTAN)
    );
    let id = routed.body["id"].as_str().unwrap();

    // Nobody else cancels it.
    let other = app.worker_token("someone-else").await;
    let foreign = app
        .call(
            Method::POST,
            &format!("/v1/transfers/{id}/cancel"),
            &other,
            None,
        )
        .await;
    assert_eq!(foreign.status, 404);
    let bad_id = app
        .call(
            Method::POST,
            "/v1/transfers/not-a-uuid/cancel",
            &worker,
            None,
        )
        .await;
    assert_eq!(bad_id.status, 400);

    let cancelled = app
        .call(
            Method::POST,
            &format!("/v1/transfers/{id}/cancel"),
            &worker,
            None,
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert!(cancelled.body["cancelled_at"].is_string());
    let twice = app
        .call(
            Method::POST,
            &format!("/v1/transfers/{id}/cancel"),
            &worker,
            None,
        )
        .await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.body["code"], "transfer_not_open");
    let membership = app.call(Method::GET, "/v1/membership", &worker, None).await;
    assert_eq!(membership.body["status"], "active");
    assert_eq!(membership.body["union"]["id"], courier);

    // The target cannot act on a cancelled transfer, and a new one may be asked for.
    let target = app.admin_token("jingtan-reviewer").await;
    let late = admin_post(
        &app,
        &target,
        &format!("/v1/admin/transfers/{id}/accept"),
        json!({"version": 2}),
    )
    .await;
    assert_eq!(late.status, 409);

    // With an Idempotency-Key, a retry answers the first response.
    let send = || {
        app.send(
            app.request(Method::POST, "/v1/transfers")
                .bearer_auth(&worker)
                .header("Idempotency-Key", "move-1")
                .json(&json!({"to_union_id": jingtan})),
        )
    };
    let first = send().await;
    assert_eq!(first.status, 201, "{}", first.text);
    let retry = send().await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM transfers WHERE status = 'requested'"
        ),
        1
    );
}

#[tokio::test]
async fn either_union_refuses_at_its_own_step_with_a_reason() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (worker, _) = approved_member(&app, "refused", 3).await;
    let jingtan = union_id(&demo, JINGTAN);
    let source = app.admin_token("courier-reviewer").await;
    let target = app.admin_token("jingtan-reviewer").await;

    // The source refuses.
    let first = request(&app, &worker, &json!({"to_union_id": jingtan})).await;
    let id = first.body["id"].as_str().unwrap();
    let reject = format!("/v1/admin/transfers/{id}/reject");
    let blank = admin_post(&app, &source, &reject, json!({"version": 1, "reason": " "})).await;
    assert_eq!(blank.status, 400);
    assert_eq!(blank.body["code"], "reason_required");
    let by_target_too_early = admin_post(
        &app,
        &target,
        &reject,
        json!({"version": 1, "reason": "不接收"}),
    )
    .await;
    assert_eq!(
        by_target_too_early.status, 409,
        "{}",
        by_target_too_early.text
    );
    let refused = admin_post(
        &app,
        &source,
        &reject,
        json!({"version": 1, "reason": "会费未结清"}),
    )
    .await;
    assert_eq!(refused.status, 200, "{}", refused.text);
    assert_eq!(refused.body["status"], "rejected");
    assert_eq!(
        refused.body["rejection"],
        json!({"by": "source", "reason": "会费未结清"})
    );
    let seen = app
        .call(Method::GET, "/v1/transfers/mine", &worker, None)
        .await;
    assert_eq!(seen.body["items"][0]["rejection"]["reason"], "会费未结清");
    let membership = app.call(Method::GET, "/v1/membership", &worker, None).await;
    assert_eq!(membership.body["status"], "active");
    assert_eq!(membership.body["union"]["name"], COURIER);

    // The target refuses once released.
    let second = request(&app, &worker, &json!({"to_union_id": jingtan})).await;
    assert_eq!(second.status, 201, "{}", second.text);
    let id = second.body["id"].as_str().unwrap();
    let released = admin_post(
        &app,
        &source,
        &format!("/v1/admin/transfers/{id}/release"),
        json!({"version": 1}),
    )
    .await;
    assert_eq!(released.status, 200);
    let by_source_too_late = admin_post(
        &app,
        &source,
        &format!("/v1/admin/transfers/{id}/reject"),
        json!({"version": 2, "reason": "反悔"}),
    )
    .await;
    assert_eq!(by_source_too_late.status, 409);
    let refused = admin_post(
        &app,
        &target,
        &format!("/v1/admin/transfers/{id}/reject"),
        json!({"version": 2, "reason": "工作地点不在本社区"}),
    )
    .await;
    assert_eq!(refused.status, 200, "{}", refused.text);
    assert_eq!(refused.body["rejection"]["by"], "target");
    let membership = app.call(Method::GET, "/v1/membership", &worker, None).await;
    assert_eq!(membership.body["status"], "active");
    assert_eq!(membership.body["union"]["name"], COURIER);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE object_kind = 'transfer' AND action LIKE 'rejected_by_%' AND reason IS NOT NULL"
        ),
        2
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE event_type LIKE 'transfer.rejected_by_%'"
        ),
        2
    );
}

#[tokio::test]
async fn admins_outside_both_unions_get_404_and_viewers_cannot_decide() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (worker, before) = approved_member(&app, "scoped", 4).await;
    let jingtan = union_id(&demo, JINGTAN);
    let requested = request(&app, &worker, &json!({"to_union_id": jingtan})).await;
    let id = requested.body["id"].as_str().unwrap();
    let member_id = before["member_id"].as_str().unwrap();

    let outsider = app.admin_token("delivery-reviewer").await;
    for direction in ["out", "in"] {
        let list = app
            .call(
                Method::GET,
                &format!("/v1/admin/transfers?direction={direction}"),
                &outsider,
                None,
            )
            .await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body["items"].as_array().unwrap().len(), 0);
    }
    for (method, path, body) in [
        (Method::GET, format!("/v1/admin/transfers/{id}"), None),
        (Method::GET, format!("/v1/admin/members/{member_id}"), None),
        (
            Method::POST,
            format!("/v1/admin/transfers/{id}/release"),
            Some(json!({"version": 1})),
        ),
        (
            Method::POST,
            format!("/v1/admin/transfers/{id}/reject"),
            Some(json!({"version": 1, "reason": "x"})),
        ),
        (
            Method::POST,
            format!("/v1/admin/members/{member_id}/expel"),
            Some(json!({"version": 2, "reason": "x"})),
        ),
    ] {
        let response = app.call(method, &path, &outsider, body.as_ref()).await;
        assert_eq!(response.status, 404, "{path}: {}", response.text);
    }

    // The target's admins see the member during the transfer.
    let target = app.admin_token("jingtan-reviewer").await;
    let seen = app
        .call(
            Method::GET,
            &format!("/v1/admin/members/{member_id}"),
            &target,
            None,
        )
        .await;
    assert_eq!(seen.status, 200, "{}", seen.text);

    let viewer = app.admin_token("wushan-viewer").await;
    let detail = app
        .call(
            Method::GET,
            &format!("/v1/admin/transfers/{id}"),
            &viewer,
            None,
        )
        .await;
    assert_eq!(detail.status, 200, "the county sees both sides");
    let denied = admin_post(
        &app,
        &viewer,
        &format!("/v1/admin/transfers/{id}/release"),
        json!({"version": 1}),
    )
    .await;
    assert_eq!(denied.status, 403);
    let bad_direction = app
        .call(
            Method::GET,
            "/v1/admin/transfers?direction=sideways",
            &viewer,
            None,
        )
        .await;
    assert_eq!(bad_direction.status, 400);
    assert_eq!(bad_direction.body["field"], "direction");
    let no_direction = app
        .call(Method::GET, "/v1/admin/transfers", &viewer, None)
        .await;
    assert_eq!(no_direction.status, 400);
    let as_worker = app
        .call(
            Method::GET,
            "/v1/admin/transfers?direction=out",
            &worker,
            None,
        )
        .await;
    assert_eq!(as_worker.status, 401);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM transfers WHERE status = 'requested'"
        ),
        1
    );
}

#[tokio::test]
async fn racing_decisions_let_exactly_one_win() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (worker, _) = approved_member(&app, "racer", 5).await;
    let jingtan = union_id(&demo, JINGTAN);
    let requested = request(&app, &worker, &json!({"to_union_id": jingtan})).await;
    let id = requested.body["id"].as_str().unwrap().to_owned();

    let statuses = |answers: &[TestResponse]| answers.iter().map(|a| a.status).collect::<Vec<_>>();
    let sources = [
        app.admin_token("courier-reviewer").await,
        app.admin_token("wushan-manager").await,
    ];
    let release = format!("/v1/admin/transfers/{id}/release");
    let body = json!({"version": 1});
    let answers = futures_util::future::join_all(
        (0..12).map(|i| app.call(Method::POST, &release, &sources[i % 2], Some(&body))),
    )
    .await;
    assert_eq!(
        answers.iter().filter(|a| a.status == 200).count(),
        1,
        "{:?}",
        statuses(&answers)
    );
    assert_eq!(answers.iter().filter(|a| a.status == 409).count(), 11);

    let targets = [
        app.admin_token("jingtan-reviewer").await,
        app.admin_token("wushan-manager").await,
    ];
    let accept = format!("/v1/admin/transfers/{id}/accept");
    let body = json!({"version": 2});
    let answers = futures_util::future::join_all(
        (0..12).map(|i| app.call(Method::POST, &accept, &targets[i % 2], Some(&body))),
    )
    .await;
    assert_eq!(
        answers.iter().filter(|a| a.status == 200).count(),
        1,
        "{:?}",
        statuses(&answers)
    );
    assert_eq!(answers.iter().filter(|a| a.status == 409).count(), 11);
    assert_eq!(count(&app, "SELECT count(*) FROM affiliations"), 2);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM affiliations WHERE ended_at IS NULL"
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM member_events WHERE event = 'transfer_finished'"
        ),
        1
    );

    // The member cancelling while the source releases: one of them wins, never both.
    let (worker, _) = approved_member(&app, "racer-2", 6).await;
    let requested = request(&app, &worker, &json!({"to_union_id": jingtan})).await;
    let id = requested.body["id"].as_str().unwrap().to_owned();
    let cancel = format!("/v1/transfers/{id}/cancel");
    let release = format!("/v1/admin/transfers/{id}/release");
    let body = json!({"version": 1});
    let cancels = (0..6).map(|_| app.call(Method::POST, &cancel, &worker, None));
    let releases = (0..6).map(|_| app.call(Method::POST, &release, &sources[0], Some(&body)));
    let (cancels, releases) = futures_util::future::join(
        futures_util::future::join_all(cancels),
        futures_util::future::join_all(releases),
    )
    .await;
    let won = |answers: &[TestResponse]| answers.iter().filter(|a| a.status == 200).count();
    let lost = |answers: &[TestResponse]| answers.iter().filter(|a| a.status == 409).count();
    let (cancels_won, releases_won) = (won(&cancels), won(&releases));
    assert_eq!(
        cancels_won + lost(&cancels) + releases_won + lost(&releases),
        12,
        "{:?} {:?}",
        statuses(&cancels),
        statuses(&releases)
    );
    // Each kind of step happens at most once; a release may precede the member's cancel (a
    // released transfer can still be cancelled), a cancel leaves nothing to release.
    assert!(cancels_won <= 1 && releases_won <= 1 && cancels_won + releases_won >= 1);
    let (transfer_status, member_status) = {
        let mut conn = app.db.connect();
        diesel::select(diesel::dsl::sql::<(diesel::sql_types::Text, diesel::sql_types::Text)>(&format!(
            "t.status, m.status FROM transfers t JOIN members m ON m.id = t.member_id WHERE t.id = '{id}'"
        )))
        .get_result::<(String, String)>(&mut conn)
        .unwrap()
    };
    if cancels_won == 1 {
        assert_eq!(
            (transfer_status.as_str(), member_status.as_str()),
            ("cancelled", "active")
        );
    } else {
        assert_eq!(
            (transfer_status.as_str(), member_status.as_str()),
            ("released", "transferring")
        );
    }
}

#[tokio::test]
async fn a_silent_source_is_released_after_three_working_days_on_the_calendar() {
    // Wed 30 Sep 2026, 10:00 Beijing; 1–7 Oct is the National Day holiday and Sat 10 Oct is
    // worked (调休): the source's three working days are 8, 9 and 10 Oct.
    let clock = MockClock::at_beijing(2026, 9, 30, 10, 0);
    let app = spawn_app_with_clock(clock.port(), |settings| {
        settings.jobs.transfer_auto_release_interval_ms = 25;
    })
    .await;
    let demo = app.seed_demo().await;
    let (worker, _) = approved_member(&app, "silent", 7).await;
    let jingtan = union_id(&demo, JINGTAN);
    let requested = request(&app, &worker, &json!({"to_union_id": jingtan})).await;
    assert_eq!(requested.status, 201, "{}", requested.text);
    let id = requested.body["id"].as_str().unwrap().to_owned();
    assert_eq!(requested.body["release_due_at"], "2026-10-10T02:00:00Z");

    let status_of = || {
        let mut conn = app.db.connect();
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(&format!(
            "(SELECT status FROM transfers WHERE id = '{id}')"
        )))
        .get_result::<String>(&mut conn)
        .unwrap()
    };
    let ticks = Duration::from_millis(300);

    // Through the holiday and up to a minute before the third working day ends: still waiting.
    for moment in [
        beijing(2026, 10, 3, 10, 0),
        beijing(2026, 10, 7, 23, 59),
        beijing(2026, 10, 9, 10, 0),
        beijing(2026, 10, 10, 9, 59),
    ] {
        clock.set(moment);
        tokio::time::sleep(ticks).await;
        assert_eq!(status_of(), "requested", "at {moment}");
    }

    clock.advance(TimeDelta::minutes(1));
    let mut waited = Duration::ZERO;
    while status_of() != "released" {
        assert!(waited < Duration::from_secs(10), "not released in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }

    // Tokens from 30 Sep have expired on the moved clock: sign in again.
    let worker = app.worker_token("silent").await;
    let mine = app
        .call(Method::GET, "/v1/transfers/mine", &worker, None)
        .await;
    let transfer = &mine.body["items"][0];
    assert_eq!(transfer["status"], "released");
    assert_eq!(transfer["auto_released"], true);
    assert_eq!(transfer["released_at"], "2026-10-10T02:00:00Z");
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE object_id = '{id}' AND action = 'auto_released' AND actor_kind = 'system'"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM outbox WHERE aggregate_id = '{id}' AND event_type = 'transfer.auto_released'"
            )
        ),
        1
    );

    // The target accepts as usual; later ticks change nothing.
    let target = app.admin_token("jingtan-reviewer").await;
    let accepted = admin_post(
        &app,
        &target,
        &format!("/v1/admin/transfers/{id}/accept"),
        json!({"version": 2}),
    )
    .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    clock.advance(TimeDelta::days(30));
    tokio::time::sleep(ticks).await;
    assert_eq!(status_of(), "completed");
}

#[tokio::test]
async fn with_no_union_at_the_target_the_membership_moves_into_the_county_pool() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (worker, before) = approved_member(&app, "pooled", 8).await;
    {
        let mut conn = app.db.connect();
        diesel::sql_query("UPDATE unions SET accepting = false WHERE kind = 'joint'")
            .execute(&mut conn)
            .unwrap();
    }
    let moved = request(
        &app,
        &worker,
        &json!({"work_region": "500237001009", "occupation": "security_guard", "reason": "改做保安"}),
    )
    .await;
    assert_eq!(moved.status, 201, "{}", moved.text);
    assert_eq!(moved.body["status"], "completed");
    assert_eq!(moved.body["into_pool"], true);
    assert_eq!(moved.body["routing"]["rule"], "pool");
    let pool = union_id(&demo, "巫山县临时库");
    assert_eq!(moved.body["to_union"]["id"], pool);

    let after = app.call(Method::GET, "/v1/membership", &worker, None).await;
    assert_eq!(after.body["status"], "active", "membership kept");
    assert_eq!(after.body["union"]["id"], pool);
    assert_eq!(after.body["membership_number"], before["membership_number"]);
    assert_eq!(after.body["joined_on"], before["joined_on"]);
    let history = app
        .call(Method::GET, "/v1/membership/affiliations", &worker, None)
        .await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 2);
    let id = moved.body["id"].as_str().unwrap();
    for event in ["transfer.requested", "transfer.completed_into_pool"] {
        let sql = format!(
            "SELECT count(*) FROM outbox WHERE event_type = '{event}' AND aggregate_id = '{id}'"
        );
        assert_eq!(count(&app, &sql), 1, "{event}");
    }
    // The pool's owner, the county federation, now holds the member.
    let county = app.admin_token("pool-reviewer").await;
    let members = app
        .call(
            Method::GET,
            "/v1/admin/members?status=active",
            &county,
            None,
        )
        .await;
    assert_eq!(members.status, 200, "{}", members.text);
    assert_eq!(members.body["items"][0]["union"]["id"], pool);
}

#[tokio::test]
async fn racing_requests_for_one_member_leave_one_transfer_and_answer_transfer_in_progress() {
    // Issue 12, defect 4: the losers of the race got 409 `stale_version`; the contract says
    // one open transfer per member, 409 `transfer_in_progress`.
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (worker, _) = approved_member(&app, "eager", 7).await;
    let jingtan = union_id(&demo, JINGTAN);
    let body = json!({"to_union_id": jingtan});
    let answers =
        futures_util::future::join_all((0..8).map(|_| request(&app, &worker, &body))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        answers.iter().filter(|a| a.status == 201).count(),
        1,
        "{statuses:?}"
    );
    for lost in answers.iter().filter(|a| a.status != 201) {
        assert_eq!(lost.status, 409, "{}", lost.text);
        assert_eq!(lost.body["code"], "transfer_in_progress", "{}", lost.text);
        assert_eq!(lost.body["message"], "已有正在办理的会籍转接");
    }
    assert_eq!(count(&app, "SELECT count(*) FROM transfers"), 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM member_events WHERE event = 'transfer_started'"
        ),
        1
    );
}

#[tokio::test]
async fn a_named_target_must_exist_accept_members_and_not_be_a_pool() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (worker, _) = approved_member(&app, "chooser", 8).await;
    let jingtan = union_id(&demo, JINGTAN);
    let pool = union_id(&demo, "巫山县临时库");
    {
        let mut conn = app.db.connect();
        diesel::sql_query(format!(
            "UPDATE unions SET accepting = false WHERE id = {jingtan}"
        ))
        .execute(&mut conn)
        .unwrap();
    }
    let cases = [
        (999_999, "目标工会不存在"),
        (pool, "目标工会暂不接收会员转入"),
        (jingtan, "目标工会暂不接收会员转入"),
    ];
    for (target, message) in cases {
        let refused = request(&app, &worker, &json!({"to_union_id": target})).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_eq!(refused.body["code"], "invalid_target_union");
        assert_eq!(refused.body["message"], message);
        assert_eq!(refused.body["field"], "to_union_id");
    }
    assert_eq!(count(&app, "SELECT count(*) FROM transfers"), 0);
    let membership = app.call(Method::GET, "/v1/membership", &worker, None).await;
    assert_eq!(membership.body["status"], "active");
}
