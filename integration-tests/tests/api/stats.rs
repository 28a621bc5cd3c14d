//! The same-day review rate (当天审核率) over HTTP: counters kept with each decision, summed
//! over a subtree with a row per child union, scoped to the caller.

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};
use zhijian_integration_tests::clock::beijing;
use zhijian_integration_tests::fixtures::{application_form, person};
use zhijian_integration_tests::{MockClock, TestApp, spawn_app_with_clock};

use crate::notifications::{decide, submit};

async fn stats(app: &TestApp, token: &str, query: &str) -> zhijian_integration_tests::TestResponse {
    app.call(
        Method::GET,
        &format!("/v1/admin/stats/review{query}"),
        token,
        None,
    )
    .await
}

fn child<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["union"]["name"] == name)
        .unwrap_or_else(|| panic!("no child {name}: {body}"))
}

fn figures(value: &Value) -> [i64; 6] {
    [
        "decided",
        "decided_on_time",
        "approved",
        "rejected",
        "pending",
        "overdue",
    ]
    .map(|k| value[k].as_i64().unwrap())
}

#[tokio::test]
async fn the_same_day_rate_counts_decisions_before_the_deadline_over_the_subtree() {
    let clock = MockClock::at_beijing(2026, 11, 23, 10, 0);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    app.seed_demo().await;
    let approved = submit(&app, &app.worker_token("stats-a").await, 111, "13812340111").await;
    let rejected = submit(&app, &app.worker_token("stats-b").await, 112, "13812340112").await;
    let waiting = submit(&app, &app.worker_token("stats-d").await, 114, "13812340114").await;
    let mut rider = application_form(&person(113), "13812340113");
    rider["occupation"] = json!("delivery_rider");
    let worker = app.worker_token("stats-c").await;
    let late = app
        .call(Method::POST, "/v1/applications", &worker, Some(&rider))
        .await;
    assert_eq!(late.status, 201, "{}", late.text);
    assert_eq!(late.body["union"]["name"], "巫山县外卖配送行业工会联合会");
    let late = late.body["id"].as_str().unwrap().to_owned();

    // In time at the courier federation; late at the delivery federation; one left waiting.
    clock.set(beijing(2026, 11, 23, 11, 0));
    let courier = app.admin_token("courier-reviewer").await;
    decide(&app, &courier, &approved, "approve", json!({})).await;
    decide(
        &app,
        &courier,
        &rejected,
        "reject",
        json!({"reason_code": "not_eligible"}),
    )
    .await;
    clock.set(beijing(2026, 11, 23, 18, 30));
    let delivery = app.admin_token("delivery-reviewer").await;
    decide(&app, &delivery, &late, "approve", json!({})).await;
    let _ = waiting;

    clock.set(beijing(2026, 11, 23, 18, 45));
    let manager = app.admin_token("wushan-manager").await;
    let today = stats(&app, &manager, "?from=2026-11-23&to=2026-11-23").await;
    assert_eq!(today.status, 200, "{}", today.text);
    let body = &today.body;
    assert_eq!(
        (body["from"].as_str(), body["to"].as_str()),
        (Some("2026-11-23"), Some("2026-11-23"))
    );
    assert_eq!(body["union"]["union"]["name"], "巫山县总工会");
    assert_eq!(figures(&body["union"]), [3, 2, 2, 1, 1, 1]);
    assert_eq!(body["union"]["on_time_rate"], json!(0.6667));
    let couriers = child(body, "巫山县快递行业工会联合会");
    assert_eq!(figures(couriers), [2, 2, 1, 1, 1, 1]);
    assert_eq!(couriers["on_time_rate"], json!(1.0));
    let riders = child(body, "巫山县外卖配送行业工会联合会");
    assert_eq!(figures(riders), [1, 0, 1, 0, 0, 0]);
    assert_eq!(riders["on_time_rate"], json!(0.0));
    let pool = child(body, "巫山县临时库");
    assert_eq!(figures(pool), [0; 6]);
    assert_eq!(pool["on_time_rate"], Value::Null);

    // The default period is the month so far; another day has no decisions (still waiting).
    let month = stats(&app, &manager, "").await;
    assert_eq!(month.body["from"], "2026-11-01");
    assert_eq!(figures(&month.body["union"]), [3, 2, 2, 1, 1, 1]);
    let yesterday = stats(&app, &manager, "?from=2026-11-22&to=2026-11-22").await;
    assert_eq!(figures(&yesterday.body["union"]), [0, 0, 0, 0, 1, 1]);
    assert_eq!(yesterday.body["union"]["on_time_rate"], Value::Null);

    // Counters, not counts: the coverage counters hold the decisions at each union and its
    // ancestors (summed over groups and slots), and agree with a recount.
    let mut conn = app.db.connect();
    let rows: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT sum(approved + rejected)::bigint FROM union_stats_daily s \
          JOIN unions u ON u.id = s.union_id \
          WHERE day = '2026-11-23' AND u.name = '巫山县总工会')",
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(rows, 3);

    // A reviewer sees their own union, without children; a viewer reads the county's figures.
    let own = stats(
        &app,
        &app.admin_token("courier-reviewer").await,
        "?from=2026-11-23",
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(
        own.body["union"]["union"]["name"],
        "巫山县快递行业工会联合会"
    );
    assert_eq!(own.body["children"], json!([]));
    let viewer = stats(
        &app,
        &app.admin_token("wushan-viewer").await,
        "?from=2026-11-23",
    )
    .await;
    assert_eq!(figures(&viewer.body["union"]), [3, 2, 2, 1, 1, 1]);
    let courier_id = couriers["union"]["id"].as_i64().unwrap();
    let drill = stats(
        &app,
        &manager,
        &format!("?union_id={courier_id}&from=2026-11-23"),
    )
    .await;
    assert_eq!(figures(&drill.body["union"]), [2, 2, 1, 1, 1, 1]);

    // Outside one's subtree: 404; bad periods: 400 naming the field.
    let county_id = body["union"]["union"]["id"].as_i64().unwrap();
    let outside = stats(
        &app,
        &app.admin_token("courier-reviewer").await,
        &format!("?union_id={county_id}"),
    )
    .await;
    assert_eq!(outside.status, 404);
    let elsewhere = stats(
        &app,
        &app.admin_token("gaotang-reviewer").await,
        &format!("?union_id={courier_id}"),
    )
    .await;
    assert_eq!(elsewhere.status, 404);
    let missing = stats(&app, &manager, "?union_id=999999").await;
    assert_eq!(missing.status, 404);
    for (query, code, field) in [
        ("?from=2026-13-01", "invalid_date", "from"),
        ("?to=yesterday", "invalid_date", "to"),
        (
            "?from=2026-11-24&to=2026-11-23",
            "invalid_date_range",
            "from",
        ),
        (
            "?from=2025-01-01&to=2026-11-23",
            "date_range_too_long",
            "from",
        ),
        ("?union_id=0", "invalid_union_id", "union_id"),
        ("?colour=red", "invalid_query_parameter", "colour"),
    ] {
        let response = stats(&app, &manager, query).await;
        assert_eq!(response.status, 400, "{query}: {}", response.text);
        assert_eq!(response.body["code"], code, "{query}");
        assert_eq!(response.body["field"], field, "{query}");
    }
}

#[tokio::test]
async fn a_day_outside_the_years_the_figures_hold_is_a_400_not_a_database_error() {
    let clock = MockClock::at_beijing(2026, 11, 23, 10, 0);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    app.seed_demo().await;
    let manager = app.admin_token("wushan-manager").await;
    for (query, field) in [
        ("?from=-5000-01-01&to=2026-11-02", "from"),
        ("?from=2026-11-01&to=99999-01-01", "to"),
    ] {
        let answer = stats(&app, &manager, query).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.text);
        assert_eq!(answer.body["code"], "invalid_date", "{query}");
        assert_eq!(answer.body["field"], field, "{query}");
    }
}
