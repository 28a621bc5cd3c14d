//! Dates people see and rules count are Beijing dates (Asia/Shanghai), also between 00:00 and
//! 08:00 Beijing time, when the UTC date is still yesterday.

use reqwest::Method;
use zhijian_integration_tests::fixtures::{application_form, resident_id};
use zhijian_integration_tests::{MockClock, spawn_app_with_clock};

/// 2026-12-05 03:00 in Beijing is 2026-12-04 19:00 UTC.
fn early_morning_in_beijing() -> MockClock {
    MockClock::at_beijing(2026, 12, 5, 3, 0)
}

#[tokio::test]
async fn a_worker_whose_sixteenth_birthday_is_today_in_beijing_may_join_before_8_am() {
    let clock = early_morning_in_beijing();
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    app.seed_demo().await;
    let token = app.worker_token("birthday").await;
    // Born 2010-12-05: sixteen today in Beijing, still fifteen by the UTC date.
    let form = application_form(&resident_id("500237", "20101205", 11), "13812340001");
    let response = app
        .call(Method::POST, "/v1/applications", &token, Some(&form))
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
}

#[tokio::test]
async fn a_worker_sixteen_tomorrow_in_beijing_is_still_too_young() {
    let clock = early_morning_in_beijing();
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    app.seed_demo().await;
    let token = app.worker_token("almost").await;
    let form = application_form(&resident_id("500237", "20101206", 13), "13812340002");
    let response = app
        .call(Method::POST, "/v1/applications", &token, Some(&form))
        .await;
    assert_eq!(response.status, 400, "{}", response.text);
    assert_eq!(response.body["code"], "applicant_too_young");
    assert_eq!(response.body["field"], "resident_id");
}

#[tokio::test]
async fn an_approval_on_new_years_morning_in_beijing_numbers_the_member_in_the_new_year() {
    // 2027-01-01 02:00 in Beijing is still 2026 by the UTC date.
    let clock = MockClock::at_beijing(2027, 1, 1, 2, 0);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    app.seed_demo().await;
    let (_, member) =
        zhijian_integration_tests::fixtures::approved_member(&app, "newyear", 7).await;
    let number = member["membership_number"]
        .as_str()
        .unwrap_or_else(|| panic!("no membership number: {member}"));
    // County code (6 digits), then the two digits of the year of joining.
    assert_eq!(
        &number[6..8],
        "27",
        "a member approved on 2027-01-01 in Beijing has a 2027 number: {number}"
    );
    let joined = member["joined_on"].as_str().unwrap_or_default();
    assert_eq!(joined, "2027-01-01", "{member}");
}

#[tokio::test]
async fn a_decision_at_7_30_in_beijing_counts_on_that_beijing_day_and_today_is_beijings() {
    // 2026-11-24 07:30 in Beijing is still 2026-11-23 by the UTC date.
    let clock = MockClock::at_beijing(2026, 11, 24, 7, 30);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    app.seed_demo().await;
    let id =
        crate::notifications::submit(&app, &app.worker_token("dawn").await, 121, "13812340121")
            .await;
    let courier = app.admin_token("courier-reviewer").await;
    crate::notifications::decide(&app, &courier, &id, "approve", serde_json::json!({})).await;
    let manager = app.admin_token("wushan-manager").await;
    let stats = |query: &'static str| {
        let (app, manager) = (&app, &manager);
        async move {
            let response = app
                .call(
                    Method::GET,
                    &format!("/v1/admin/stats/review{query}"),
                    manager,
                    None,
                )
                .await;
            assert_eq!(response.status, 200, "{}", response.text);
            response.body
        }
    };
    let today = stats("").await;
    assert_eq!(
        today["to"], "2026-11-24",
        "today is the Beijing date: {today}"
    );
    assert_eq!(today["union"]["decided"], 1, "{today}");
    let beijing_day = stats("?from=2026-11-24&to=2026-11-24").await;
    assert_eq!(beijing_day["union"]["decided"], 1, "{beijing_day}");
    let utc_day = stats("?from=2026-11-23&to=2026-11-23").await;
    assert_eq!(utc_day["union"]["decided"], 0, "{utc_day}");
}
