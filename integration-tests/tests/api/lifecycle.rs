//! The membership lifecycle over HTTP: retain, reactivate, expel, deceased by admins with
//! reasons; withdrawal by the member, confirmed; joining again with a new number while the old
//! one stays in the history; races.

use reqwest::Method;
use serde_json::{Value, json};
use zhijian_integration_tests::fixtures::{application_form, person};
use zhijian_integration_tests::{TestApp, TestResponse, spawn_app};

use zhijian_integration_tests::fixtures::{approved_member, count};

async fn act(app: &TestApp, token: &str, member: &str, action: &str, body: Value) -> TestResponse {
    app.call(
        Method::POST,
        &format!("/v1/admin/members/{member}/{action}"),
        token,
        Some(&body),
    )
    .await
}

fn member_id(membership: &Value) -> String {
    membership["member_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn admins_retain_reactivate_expel_and_record_a_death_with_reasons() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (_, membership) = approved_member(&app, "lifecycle-a", 11).await;
    let id = member_id(&membership);
    let reviewer = app.admin_token("courier-reviewer").await;
    let detail = app
        .call(
            Method::GET,
            &format!("/v1/admin/members/{id}"),
            &reviewer,
            None,
        )
        .await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let version = detail.body["version"].as_i64().unwrap();

    let bad_reason = act(
        &app,
        &reviewer,
        &id,
        "retain",
        json!({"version": version, "reason": "bored"}),
    )
    .await;
    assert_eq!(bad_reason.status, 400);
    assert_eq!(bad_reason.body["code"], "invalid_retain_reason");
    assert_eq!(bad_reason.body["field"], "reason");
    let viewer = app.admin_token("wushan-viewer").await;
    let denied = act(
        &app,
        &viewer,
        &id,
        "retain",
        json!({"version": version, "reason": "unemployed"}),
    )
    .await;
    assert_eq!(denied.status, 403);
    let outsider = app.admin_token("delivery-reviewer").await;
    let hidden = act(
        &app,
        &outsider,
        &id,
        "retain",
        json!({"version": version, "reason": "unemployed"}),
    )
    .await;
    assert_eq!(hidden.status, 404);

    let retained = act(
        &app,
        &reviewer,
        &id,
        "retain",
        json!({"version": version, "reason": "unemployed", "note": "平台停单"}),
    )
    .await;
    assert_eq!(retained.status, 200, "{}", retained.text);
    assert_eq!(retained.body["status"], "retained");
    let event = &retained.body["events"][0];
    assert_eq!(event["event"], "retained");
    assert_eq!(event["reason_code"], "unemployed");
    assert_eq!(event["reason"], "平台停单");
    assert_eq!(event["actor"], "admin");
    let version = retained.body["version"].as_i64().unwrap();
    let stale = act(
        &app,
        &reviewer,
        &id,
        "retain",
        json!({"version": version - 1, "reason": "retired"}),
    )
    .await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["code"], "stale_version");
    let again = act(
        &app,
        &reviewer,
        &id,
        "retain",
        json!({"version": version, "reason": "retired"}),
    )
    .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["code"], "member_not_active");

    let reactivated = act(
        &app,
        &reviewer,
        &id,
        "reactivate",
        json!({"version": version}),
    )
    .await;
    assert_eq!(reactivated.status, 200, "{}", reactivated.text);
    assert_eq!(reactivated.body["status"], "active");
    let version = reactivated.body["version"].as_i64().unwrap();
    let twice = act(
        &app,
        &reviewer,
        &id,
        "reactivate",
        json!({"version": version}),
    )
    .await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.body["code"], "member_not_retained");

    let no_reason = act(
        &app,
        &reviewer,
        &id,
        "expel",
        json!({"version": version, "reason": ""}),
    )
    .await;
    assert_eq!(no_reason.status, 400);
    assert_eq!(no_reason.body["code"], "reason_required");
    let expelled = act(
        &app,
        &reviewer,
        &id,
        "expel",
        json!({"version": version, "reason": "严重违反工会章程"}),
    )
    .await;
    assert_eq!(expelled.status, 200, "{}", expelled.text);
    assert_eq!(expelled.body["status"], "expelled");
    assert_eq!(expelled.body["affiliations"][0]["end_reason"], "expelled");
    assert!(expelled.body["affiliations"][0]["to"].is_string());
    let version = expelled.body["version"].as_i64().unwrap();
    let dead_after = act(
        &app,
        &reviewer,
        &id,
        "deceased",
        json!({"version": version}),
    )
    .await;
    assert_eq!(dead_after.status, 409);
    assert_eq!(dead_after.body["code"], "membership_ended");

    for (action, event) in [
        ("retain", "member.retained"),
        ("reactivate", "member.reactivated"),
        ("expel", "member.expelled"),
    ] {
        let audit = format!(
            "SELECT count(*) FROM audit_log WHERE object_kind = 'member' AND object_id = '{id}' AND action = '{action}' AND actor_kind = 'admin'"
        );
        assert_eq!(count(&app, &audit), 1, "{action}");
        let outbox = format!(
            "SELECT count(*) FROM outbox WHERE event_type = '{event}' AND aggregate_id = '{id}'"
        );
        assert_eq!(count(&app, &outbox), 1, "{event}");
    }
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE object_id = '{id}' AND action = 'expel' AND reason = '严重违反工会章程'"
            )
        ),
        1
    );

    // A death is recorded; a member mid-transfer loses the open transfer with it.
    let (worker, membership) = approved_member(&app, "lifecycle-b", 12).await;
    let id = member_id(&membership);
    let jingtan = demo.union_named("净坛社区联合工会").unwrap().get();
    let transfer = app
        .call(
            Method::POST,
            "/v1/transfers",
            &worker,
            Some(&json!({"to_union_id": jingtan})),
        )
        .await;
    assert_eq!(transfer.status, 201);
    let transfer_id = transfer.body["id"].as_str().unwrap();
    let version = count(
        &app,
        &format!("SELECT version::bigint FROM members WHERE id = '{id}'"),
    );
    let deceased = act(
        &app,
        &reviewer,
        &id,
        "deceased",
        json!({"version": version, "note": "家属告知"}),
    )
    .await;
    assert_eq!(deceased.status, 200, "{}", deceased.text);
    assert_eq!(deceased.body["status"], "deceased");
    let last = deceased.body["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["event"], "deceased");
    assert_eq!(last["transfer_id"], transfer_id);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM transfers WHERE id = '{transfer_id}' AND status = 'cancelled'"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM outbox WHERE event_type = 'member.deceased' AND aggregate_id = '{id}'"
            )
        ),
        1
    );
    let late = app
        .call(
            Method::POST,
            &format!("/v1/admin/transfers/{transfer_id}/release"),
            &reviewer,
            Some(&json!({"version": 1})),
        )
        .await;
    assert_eq!(late.status, 409);
    let card = app
        .call(Method::GET, "/v1/membership/card", &worker, None)
        .await;
    assert_eq!(card.status, 409, "no card once the membership has ended");
}

#[tokio::test]
async fn a_member_withdraws_when_confirmed_and_may_join_again_keeping_the_old_number_in_history() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let (worker, membership) = approved_member(&app, "leaver", 13).await;
    let id = member_id(&membership);
    let old_number = membership["membership_number"].as_str().unwrap().to_owned();

    // Not while a transfer is open.
    let jingtan = demo.union_named("净坛社区联合工会").unwrap().get();
    let transfer = app
        .call(
            Method::POST,
            "/v1/transfers",
            &worker,
            Some(&json!({"to_union_id": jingtan})),
        )
        .await;
    let transfer_id = transfer.body["id"].as_str().unwrap();
    let mid_transfer = app
        .call(
            Method::POST,
            "/v1/membership/withdraw",
            &worker,
            Some(&json!({"confirm": true})),
        )
        .await;
    assert_eq!(mid_transfer.status, 409);
    assert_eq!(mid_transfer.body["code"], "transfer_in_progress");
    let cancelled = app
        .call(
            Method::POST,
            &format!("/v1/transfers/{transfer_id}/cancel"),
            &worker,
            None,
        )
        .await;
    assert_eq!(cancelled.status, 200);

    let unconfirmed = app
        .call(
            Method::POST,
            "/v1/membership/withdraw",
            &worker,
            Some(&json!({"confirm": false})),
        )
        .await;
    assert_eq!(unconfirmed.status, 400);
    assert_eq!(unconfirmed.body["code"], "confirmation_required");
    assert_eq!(unconfirmed.body["field"], "confirm");
    let missing = app
        .call(
            Method::POST,
            "/v1/membership/withdraw",
            &worker,
            Some(&json!({})),
        )
        .await;
    assert_eq!(missing.status, 400);

    let withdrawn = app
        .call(
            Method::POST,
            "/v1/membership/withdraw",
            &worker,
            Some(&json!({"confirm": true, "reason": "回老家务农"})),
        )
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    assert_eq!(withdrawn.body["status"], "withdrawn");
    let twice = app
        .call(
            Method::POST,
            "/v1/membership/withdraw",
            &worker,
            Some(&json!({"confirm": true})),
        )
        .await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.body["code"], "membership_ended");
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE object_id = '{id}' AND action = 'withdraw' AND actor_kind = 'member'"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM outbox WHERE event_type = 'member.withdrawn' AND aggregate_id = '{id}'"
            )
        ),
        1
    );
    let history = app
        .call(Method::GET, "/v1/membership/affiliations", &worker, None)
        .await;
    assert_eq!(history.body["items"][0]["end_reason"], "withdrawn");

    // Later the worker applies again and is approved: a new number; the old one stays in the
    // history, with its period.
    let form = application_form(&person(13), "13812341234");
    let submitted = app
        .call(Method::POST, "/v1/applications", &worker, Some(&form))
        .await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let application = submitted.body["id"].as_str().unwrap();
    let reviewer = app.admin_token("courier-reviewer").await;
    let approved = app.approve(application, &reviewer, 1).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    let new_number = approved.body["membership_number"].as_str().unwrap();
    assert_ne!(new_number, old_number);

    let history = app
        .call(Method::GET, "/v1/membership/affiliations", &worker, None)
        .await;
    let periods = history.body["items"].as_array().unwrap();
    assert_eq!(periods.len(), 2);
    assert_eq!(periods[0]["membership_number"], old_number.as_str());
    assert_eq!(periods[0]["end_reason"], "withdrawn");
    assert_eq!(periods[1]["membership_number"], new_number);
    assert!(periods[1].get("to").is_none());
    let detail = app
        .call(
            Method::GET,
            &format!("/v1/admin/members/{id}"),
            &reviewer,
            None,
        )
        .await;
    assert_eq!(detail.body["membership_number"], new_number);
    assert_eq!(detail.body["status"], "active");
    let withdrawal = detail.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "withdrawn")
        .unwrap();
    assert_eq!(withdrawal["membership_number"], old_number.as_str());
    assert_eq!(withdrawal["actor"], "member");
    assert_eq!(withdrawal["reason"], "回老家务农");
}

#[tokio::test]
async fn racing_lifecycle_changes_let_exactly_one_win() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let (_, membership) = approved_member(&app, "lifecycle-race", 14).await;
    let id = member_id(&membership);
    let version = count(
        &app,
        &format!("SELECT version::bigint FROM members WHERE id = '{id}'"),
    );
    let admins = [
        app.admin_token("courier-reviewer").await,
        app.admin_token("wushan-manager").await,
    ];
    let app = &app;
    let attempts = (0..10).map(|i| {
        let body = if i % 2 == 0 {
            json!({"version": version, "reason": "retired"})
        } else {
            json!({"version": version, "reason": "严重违反工会章程"})
        };
        let action = if i % 2 == 0 { "retain" } else { "expel" };
        let path = format!("/v1/admin/members/{id}/{action}");
        let token = admins[i % 2].clone();
        async move { app.call(Method::POST, &path, &token, Some(&body)).await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(
        count(
            app,
            &format!("SELECT count(*) FROM member_events WHERE member_id = '{id}'")
        ),
        1
    );
}

#[tokio::test]
async fn the_admin_member_list_pages_through_the_subtree() {
    let app = spawn_app().await;
    app.seed_demo().await;
    for n in 0..3 {
        approved_member(&app, &format!("listed-{n}"), 20 + n).await;
    }
    let reviewer = app.admin_token("courier-reviewer").await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/admin/members?limit=2&cursor={c}"),
            None => "/v1/admin/members?limit=2".to_owned(),
        };
        let page = app.call(Method::GET, &path, &reviewer, None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 3);

    let outsider = app.admin_token("delivery-reviewer").await;
    let empty = app
        .call(Method::GET, "/v1/admin/members", &outsider, None)
        .await;
    assert_eq!(empty.body["items"].as_array().unwrap().len(), 0);
    let bad = app
        .call(
            Method::GET,
            "/v1/admin/members?cursor=nonsense",
            &reviewer,
            None,
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["field"], "cursor");
    let bad_status = app
        .call(
            Method::GET,
            "/v1/admin/members?status=asleep",
            &reviewer,
            None,
        )
        .await;
    assert_eq!(bad_status.status, 400);
}
