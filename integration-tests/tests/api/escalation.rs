//! Same-day supervision (督办) with a moved clock: a reminder an hour before the deadline for
//! the union's reviewers, an overdue alert for them and the parent union's admins — each once —
//! and the parent union's overdue view with how late each application is.

use std::time::Duration;

use diesel::prelude::*;
use reqwest::Method;
use serde_json::json;
use zhijian_integration_tests::clock::beijing;
use zhijian_integration_tests::{MockClock, spawn_app_with_clock};

use crate::notifications::{
    admin_phone, decide, eventually, notices_to, seed_with_phones, settled, submit,
};

const COURIER_FEDERATION: &str = "巫山县快递行业工会联合会";

fn alerts(app: &zhijian_integration_tests::TestApp, kind: &str) -> i64 {
    let mut conn = app.db.connect();
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
        "(SELECT count(*) FROM deadline_alerts WHERE kind = '{kind}')"
    )))
    .get_result(&mut conn)
    .unwrap()
}

fn notices_saying(app: &zhijian_integration_tests::TestApp, username: &str, words: &str) -> usize {
    notices_to(app, &admin_phone(username))
        .iter()
        .filter(|sms| sms.params[0].contains(words))
        .count()
}

#[tokio::test]
async fn the_union_is_reminded_an_hour_ahead_and_an_overdue_application_reaches_the_parent_union_once()
 {
    // Monday 23 November 2026, 10:00 in Beijing: due at 18:00 the same day.
    let clock = MockClock::at_beijing(2026, 11, 23, 10, 0);
    let app = spawn_app_with_clock(clock.port(), |s| s.outbox.escalation_interval_ms = 50).await;
    seed_with_phones(&app).await;
    let late = submit(
        &app,
        &app.worker_token("esc-late").await,
        101,
        "13812340101",
    )
    .await;
    let handled = submit(
        &app,
        &app.worker_token("esc-handled").await,
        102,
        "13812340102",
    )
    .await;
    eventually("the new-application notices", || {
        (notices_saying(&app, "courier-reviewer", "有新的入会申请") == 2).then_some(())
    })
    .await;

    // One of them is approved in time and never alerted about.
    clock.set(beijing(2026, 11, 23, 11, 0));
    let reviewer = app.admin_token("courier-reviewer").await;
    decide(&app, &reviewer, &handled, "approve", json!({})).await;

    // More than an hour ahead: nothing yet.
    clock.set(beijing(2026, 11, 23, 16, 59));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(notices_saying(&app, "courier-reviewer", "即将到期"), 0);

    // Within the hour: the federation's reviewer is reminded, the county is not.
    clock.set(beijing(2026, 11, 23, 17, 5));
    let reminder = eventually("the reminder", || {
        notices_to(&app, &admin_phone("courier-reviewer"))
            .into_iter()
            .find(|sms| sms.params[0].contains("即将到期"))
    })
    .await;
    assert_eq!(
        reminder.params,
        [
            format!("{COURIER_FEDERATION}入会申请即将到期"),
            "截止2026-11-23 18:00，请尽快审核".to_owned()
        ]
    );
    settled(&app, &late, "application.due_soon", "delivered").await;
    for supervisor in ["wushan-manager", "wushan-viewer", "pool-reviewer"] {
        assert_eq!(
            notices_saying(&app, supervisor, "即将到期"),
            0,
            "{supervisor}"
        );
    }

    // Overdue: the federation's reviewer and every admin of the county federation above it.
    clock.set(beijing(2026, 11, 23, 18, 30));
    let supervised = [
        "courier-reviewer",
        "wushan-manager",
        "wushan-viewer",
        "pool-reviewer",
    ];
    for username in supervised {
        let alert = eventually(&format!("the overdue alert to {username}"), || {
            notices_to(&app, &admin_phone(username))
                .into_iter()
                .find(|sms| sms.params[0].starts_with("【督办】"))
        })
        .await;
        assert_eq!(
            alert.params[0],
            format!("【督办】{COURIER_FEDERATION}入会申请已超期")
        );
    }
    settled(&app, &late, "application.overdue", "delivered").await;

    // Further scans, and later times, alert nobody again.
    clock.set(beijing(2026, 11, 23, 19, 0));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(notices_saying(&app, "courier-reviewer", "即将到期"), 1);
    for username in supervised {
        assert_eq!(notices_saying(&app, username, "【督办】"), 1, "{username}");
    }
    for outsider in ["gaotang-reviewer", "jingtan-reviewer", "delivery-reviewer"] {
        assert!(
            notices_to(&app, &admin_phone(outsider)).is_empty(),
            "{outsider}"
        );
    }
    assert_eq!((alerts(&app, "due_soon"), alerts(&app, "overdue")), (1, 1));

    // The county federation sees its child's overdue application, and how late it is.
    let manager = app.admin_token("wushan-manager").await;
    let overdue = app
        .call(
            Method::GET,
            "/v1/admin/applications?overdue=true",
            &manager,
            None,
        )
        .await;
    assert_eq!(overdue.status, 200, "{}", overdue.text);
    let items = overdue.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["id"], late.as_str());
    assert_eq!(items[0]["union"]["name"], COURIER_FEDERATION);
    assert_eq!(items[0]["overdue_minutes"], 60);
    let on_time = app
        .call(
            Method::GET,
            "/v1/admin/applications?overdue=false",
            &manager,
            None,
        )
        .await;
    assert!(on_time.body["items"].as_array().unwrap().is_empty());
    let elsewhere = app.admin_token("gaotang-reviewer").await;
    let hidden = app
        .call(
            Method::GET,
            "/v1/admin/applications?overdue=true",
            &elsewhere,
            None,
        )
        .await;
    assert!(
        hidden.body["items"].as_array().unwrap().is_empty(),
        "another subtree sees nothing"
    );
}
