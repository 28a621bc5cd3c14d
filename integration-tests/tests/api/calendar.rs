//! The working-day calendar over HTTP: reading a year, replacing it (JSON or the CSV of
//! `data/calendar/`) as a manager of a root union only, refusing bad lists with the entry named
//! and nothing written, the status and the monitoring gauge of missing years, and deadlines:
//! every server uses a change for the next deadline it computes, deadlines given never move.
//!
//! The 2027 calendar here is MADE UP for the tests ("测试假日（非官方）" on dates that are no
//! holiday): it is not the State Council's arrangement and is never shipped.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use zhijian_api::startup::{AppHandle, Application};
use zhijian_domain::admin::AdminRole;
use zhijian_domain::ports::Clock;
use zhijian_infra::store::admins::{NewAdmin, create_admin};
use zhijian_integration_tests::database::repo_root;
use zhijian_integration_tests::fixtures::{DEMO_PASSWORD, application_form, count, person};
use zhijian_integration_tests::{
    MockClock, TestApp, TestResponse, spawn_app, spawn_app_with_clock,
};

/// A made-up 2027 for tests (not the State Council's): Wednesday 10 March off, Saturday 13
/// March worked.
const MADE_UP_2027_CSV: &str = "date,kind,holiday\n\
2027-03-10,rest,测试假日（非官方）\n\
2027-03-13,work,测试假日（非官方）\n";

fn made_up_2027_days() -> Value {
    json!([
        {"date": "2027-03-10", "kind": "rest", "holiday": "测试假日（非官方）"},
        {"date": "2027-03-13", "kind": "work", "holiday": "测试假日（非官方）"},
    ])
}

/// Creates an admin of `role` at the union named `union` (password [`DEMO_PASSWORD`]) and signs
/// them in.
async fn admin_at(app: &TestApp, username: &'static str, role: AdminRole, union: &str) -> String {
    let demo = app.seed_demo().await;
    let union_id = demo.union_named(union).unwrap();
    let mut conn = app.db.connect();
    tokio::task::spawn_blocking(move || {
        create_admin(
            &mut conn,
            NewAdmin {
                username,
                display_name: "测试管理员",
                password: DEMO_PASSWORD,
                role,
                union_id,
            },
        )
        .unwrap()
    })
    .await
    .unwrap();
    app.admin_token(username).await
}

/// A manager of the demo's root union, 重庆市总工会 (it has no parent).
async fn root_manager(app: &TestApp) -> String {
    admin_at(app, "chongqing-manager", AdminRole::Manager, "重庆市总工会").await
}

async fn get_year(app: &TestApp, token: &str, year: &str) -> TestResponse {
    app.call(
        Method::GET,
        &format!("/v1/admin/calendar/{year}"),
        token,
        None,
    )
    .await
}

async fn put_json(app: &TestApp, token: &str, year: i32, body: &Value) -> TestResponse {
    app.call(
        Method::PUT,
        &format!("/v1/admin/calendar/{year}"),
        token,
        Some(body),
    )
    .await
}

async fn put_csv(
    app: &TestApp,
    token: &str,
    year: i32,
    version: Option<i32>,
    csv: &str,
) -> TestResponse {
    let query = version.map(|v| format!("?version={v}")).unwrap_or_default();
    let request = app
        .request(Method::PUT, &format!("/v1/admin/calendar/{year}{query}"))
        .bearer_auth(token)
        .header("content-type", "text/csv; charset=utf-8")
        .body(csv.to_owned());
    app.send(request).await
}

fn days_stored(app: &TestApp, year: i32) -> i64 {
    count(
        app,
        &format!("SELECT count(*) FROM calendar_days WHERE extract(year FROM day) = {year}"),
    )
}

fn calendar_audit_rows(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT count(*) FROM audit_log WHERE object_kind = 'calendar'",
    )
}

fn year_loaded(app: &TestApp, year: i32) -> i64 {
    count(
        app,
        &format!("SELECT count(*) FROM calendar_years WHERE year = {year}"),
    )
}

/// The body's days as the CSV of `data/calendar/`.
fn as_csv(body: &Value) -> String {
    let mut csv = String::from("date,kind,holiday\n");
    for day in body["days"].as_array().unwrap() {
        csv.push_str(&format!(
            "{},{},{}\n",
            day["date"].as_str().unwrap(),
            day["kind"].as_str().unwrap(),
            day["holiday"].as_str().unwrap()
        ));
    }
    csv
}

fn assert_refused(response: &TestResponse, status: u16, code: &str, field: Option<&str>) {
    assert_eq!(response.status, status, "{}", response.text);
    assert_eq!(response.body["code"], code, "{}", response.text);
    assert_eq!(response.body["field"].as_str(), field, "{}", response.text);
}

#[tokio::test]
async fn any_admin_reads_the_shipped_2026_and_an_unloaded_2027() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let viewer = app.admin_token("wushan-viewer").await;

    let year = get_year(&app, &viewer, "2026").await;
    assert_eq!(year.status, 200, "{}", year.text);
    assert_eq!(year.body["year"], 2026);
    assert_eq!(year.body["version"], 1);
    assert_eq!(year.body["loaded"], true);
    assert_eq!(year.body["source"], "migration");
    let days = year.body["days"].as_array().unwrap();
    assert_eq!(days.len(), 39);
    assert_eq!(
        days[0],
        json!({"date": "2026-01-01", "kind": "rest", "holiday": "元旦"})
    );
    assert_eq!(
        days[3],
        json!({"date": "2026-01-04", "kind": "work", "holiday": "元旦"})
    );
    let shipped = std::fs::read_to_string(repo_root().join("data/calendar/cn-2026.csv")).unwrap();
    assert_eq!(as_csv(&year.body), shipped);

    let next = get_year(&app, &viewer, "2027").await;
    assert_eq!(next.status, 200, "{}", next.text);
    assert_eq!(
        (
            &next.body["version"],
            &next.body["loaded"],
            &next.body["days"]
        ),
        (&json!(0), &json!(false), &json!([]))
    );
    assert!(next.body.get("updated_at").is_none());

    for bad in ["1999", "2100", "20x6", "99999999999999999999"] {
        let refused = get_year(&app, &viewer, bad).await;
        assert_refused(&refused, 400, "invalid_calendar_year", Some("year"));
    }
    let anonymous = app.get("/v1/admin/calendar/2026").await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn a_root_manager_replaces_years_by_json_and_by_csv_and_each_change_is_audited() {
    let app = spawn_app().await;
    let manager = root_manager(&app).await;

    // The shipped file round-trips: loaded as CSV it answers the same days.
    let shipped = std::fs::read_to_string(repo_root().join("data/calendar/cn-2026.csv")).unwrap();
    let replaced = put_csv(&app, &manager, 2026, Some(1), &shipped).await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    assert_eq!(replaced.body["version"], 2);
    assert_eq!(replaced.body["source"], "csv");
    assert_eq!(as_csv(&replaced.body), shipped);
    let read = get_year(&app, &manager, "2026").await;
    assert_eq!(as_csv(&read.body), shipped);
    assert_eq!(read.body["version"], 2);
    assert_eq!(days_stored(&app, 2026), 39);

    // A year not loaded is loaded at version 0 → 1, by JSON.
    let loaded = put_json(
        &app,
        &manager,
        2027,
        &json!({"version": 0, "days": made_up_2027_days()}),
    )
    .await;
    assert_eq!(loaded.status, 200, "{}", loaded.text);
    assert_eq!(loaded.body["version"], 1);
    assert_eq!(loaded.body["loaded"], true);
    assert_eq!(loaded.body["source"], "json");
    assert_eq!(loaded.body["days"], made_up_2027_days());
    assert_eq!(days_stored(&app, 2027), 2);

    // A correction: one day removed, one added, one renamed.
    let corrected = put_json(
        &app,
        &manager,
        2027,
        &json!({"version": 1, "days": [
            {"date": "2027-03-10", "kind": "rest", "holiday": "测试假日二（非官方）"},
            {"date": "2027-03-11", "kind": "rest", "holiday": " 测试假日二（非官方） "},
        ]}),
    )
    .await;
    assert_eq!(corrected.status, 200, "{}", corrected.text);
    assert_eq!(corrected.body["version"], 2);
    assert_eq!(
        corrected.body["days"][1],
        json!({"date": "2027-03-11", "kind": "rest", "holiday": "测试假日二（非官方）"})
    );
    assert_eq!(days_stored(&app, 2027), 2);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM calendar_days WHERE day = '2027-03-13'"
        ),
        0
    );

    // Each replacement wrote one audit row: who, which year, before → after.
    assert_eq!(calendar_audit_rows(&app), 3);
    let audit = app
        .call(
            Method::GET,
            "/v1/admin/audit?object_kind=calendar",
            &manager,
            None,
        )
        .await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    let items = audit.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let newest = &items[0];
    assert_eq!(newest["object_kind"], "calendar");
    assert_eq!(newest["object_id"], "2027");
    assert_eq!(newest["action"], "replace_year");
    assert_eq!(newest["actor_role"], "manager");
    assert_eq!(newest["union"]["name"], "重庆市总工会");
    let reason = newest["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("2027年：2 → 2 天（新增 1，删除 1，修改 1）"),
        "{reason}"
    );
    assert!(
        reason.contains("+2027-03-11 rest 测试假日二（非官方）"),
        "{reason}"
    );
    assert!(
        reason.contains("-2027-03-13 work 测试假日（非官方）"),
        "{reason}"
    );
    assert!(reason.contains("版本 1 → 2"), "{reason}");
    assert!(
        items[2]["reason"]
            .as_str()
            .unwrap()
            .starts_with("2026年：39 → 39 天（新增 0，删除 0，修改 0）"),
        "{}",
        items[2]
    );
    let by: String = {
        use diesel::prelude::*;
        let mut conn = app.db.connect();
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "(SELECT updated_by::text || ' ' || source FROM calendar_years WHERE year = 2027)",
        ))
        .get_result(&mut conn)
        .unwrap()
    };
    assert_eq!(by, format!("{} json", newest["actor_id"].as_str().unwrap()));
}

#[tokio::test]
async fn a_stale_version_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    let manager = root_manager(&app).await;
    let body = json!({"version": 0, "days": made_up_2027_days()});
    assert_eq!(put_json(&app, &manager, 2027, &body).await.status, 200);
    let audited = calendar_audit_rows(&app);

    // Someone else loaded it first: version 0 is no longer current.
    let lost = put_json(
        &app,
        &manager,
        2027,
        &json!({"version": 0, "days": [{"date": "2027-03-12", "kind": "rest", "holiday": "x"}]}),
    )
    .await;
    assert_refused(&lost, 409, "stale_version", None);
    let behind = put_csv(
        &app,
        &manager,
        2026,
        Some(7),
        "date,kind,holiday\n2026-10-01,rest,国庆节\n",
    )
    .await;
    assert_refused(&behind, 409, "stale_version", None);

    assert_eq!(calendar_audit_rows(&app), audited);
    assert_eq!(days_stored(&app, 2027), 2);
    assert_eq!(days_stored(&app, 2026), 39);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM calendar_years WHERE (year, version) IN ((2026, 1), (2027, 1))"
        ),
        2
    );
}

#[tokio::test]
async fn bad_lists_are_refused_naming_the_entry_and_nothing_is_written() {
    let app = spawn_app().await;
    let manager = root_manager(&app).await;
    let day = |date: &str, kind: &str, holiday: &str| json!({"date": date, "kind": kind, "holiday": holiday});
    let json_cases = [
        (
            json!([
                day("2027-03-10", "rest", "甲"),
                day("2027-03-11", "rest", "甲"),
                day("2027-03-10", "rest", "甲")
            ]),
            "calendar_day_duplicate",
            "days[2].date",
        ),
        (
            json!([day("2026-12-31", "rest", "元旦")]),
            "calendar_day_outside_year",
            "days[0].date",
        ),
        (
            json!([
                day("2027-03-10", "rest", "甲"),
                day("2027-03-11", "holiday", "甲")
            ]),
            "invalid_day_kind",
            "days[1].kind",
        ),
        (
            // Friday 5 March 2027 is worked anyway.
            json!([day("2027-03-05", "work", "甲")]),
            "calendar_work_on_weekday",
            "days[0].date",
        ),
        (
            // Saturday 6 March 2027 is a rest day anyway: only as part of a named holiday.
            json!([day("2027-03-06", "rest", " ")]),
            "calendar_weekend_rest_unnamed",
            "days[0].holiday",
        ),
        (
            json!([day("2027-02-30", "rest", "甲")]),
            "invalid_date",
            "days[0].date",
        ),
        (
            json!([day("2027-03-10", "rest", &"节".repeat(21))]),
            "invalid_holiday_name",
            "days[0].holiday",
        ),
        (json!([]), "calendar_year_empty", "days"),
    ];
    for (days, code, field) in json_cases {
        let refused = put_json(&app, &manager, 2027, &json!({"version": 0, "days": days})).await;
        assert_refused(&refused, 400, code, Some(field));
    }
    let csv_cases = [
        (
            "date,kind,holiday\n2027-03-10,rest,甲\n2027-03-11,rest\n",
            "calendar_csv_row",
            Some("line[3]"),
        ),
        (
            "date;kind;holiday\n2027-03-10;rest;甲\n",
            "calendar_csv_header",
            Some("line[1]"),
        ),
        (
            "date,kind,holiday\n2027-03-10,rest,甲\n\n2027-03-10,rest,甲\n",
            "calendar_day_duplicate",
            Some("line[4].date"),
        ),
        (
            "date,kind,holiday\n2028-01-01,rest,元旦\n",
            "calendar_day_outside_year",
            Some("line[2].date"),
        ),
        (
            "date,kind,holiday\n2027-03-10,off,甲\n",
            "invalid_day_kind",
            Some("line[2].kind"),
        ),
        (
            "date,kind,holiday\n2027-03-10,work,甲\n",
            "calendar_work_on_weekday",
            Some("line[2].date"),
        ),
    ];
    for (csv, code, field) in csv_cases {
        let refused = put_csv(&app, &manager, 2027, Some(0), csv).await;
        assert_refused(&refused, 400, code, field);
    }
    let not_utf8 = app
        .send(
            app.request(Method::PUT, "/v1/admin/calendar/2027?version=0")
                .bearer_auth(&manager)
                .header("content-type", "text/csv")
                .body(b"date,kind,holiday\n2027-03-10,rest,\xff\n".to_vec()),
        )
        .await;
    assert_refused(&not_utf8, 400, "calendar_csv_not_utf8", None);
    let no_version = put_csv(&app, &manager, 2027, None, MADE_UP_2027_CSV).await;
    assert_refused(&no_version, 400, "required", Some("version"));
    let version_twice = app
        .send(
            app.request(Method::PUT, "/v1/admin/calendar/2027?version=0")
                .bearer_auth(&manager)
                .json(&json!({"version": 0, "days": made_up_2027_days()})),
        )
        .await;
    assert_refused(
        &version_twice,
        400,
        "invalid_query_parameter",
        Some("version"),
    );
    let plain = app
        .send(
            app.request(Method::PUT, "/v1/admin/calendar/2027?version=0")
                .bearer_auth(&manager)
                .header("content-type", "text/plain")
                .body(MADE_UP_2027_CSV),
        )
        .await;
    assert_refused(&plain, 415, "unsupported_media_type", None);
    let unknown = put_json(
        &app,
        &manager,
        2027,
        &json!({"version": 0, "days": made_up_2027_days(), "year": 2027}),
    )
    .await;
    assert_refused(&unknown, 400, "unknown_field", Some("year"));
    let bad_year = put_json(&app, &manager, 1999, &json!({"version": 0, "days": []})).await;
    assert_refused(&bad_year, 400, "invalid_calendar_year", Some("year"));

    assert_eq!(year_loaded(&app, 2027), 0);
    assert_eq!(days_stored(&app, 2027), 0);
    assert_eq!(calendar_audit_rows(&app), 0);
}

#[tokio::test]
async fn only_a_manager_of_a_root_union_replaces_the_calendar() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let county_manager = app.admin_token("wushan-manager").await;
    let reviewer = app.admin_token("pool-reviewer").await;
    let root_viewer = admin_at(&app, "chongqing-viewer", AdminRole::Viewer, "重庆市总工会").await;
    let root_reviewer = admin_at(
        &app,
        "chongqing-reviewer",
        AdminRole::Reviewer,
        "重庆市总工会",
    )
    .await;
    let body = json!({"version": 0, "days": made_up_2027_days()});
    for token in [&county_manager, &reviewer, &root_viewer, &root_reviewer] {
        let refused = put_json(&app, token, 2027, &body).await;
        assert_refused(&refused, 403, "forbidden", None);
        let refused = put_csv(&app, token, 2027, Some(0), MADE_UP_2027_CSV).await;
        assert_refused(&refused, 403, "forbidden", None);
        // Reading is for every admin.
        assert_eq!(get_year(&app, token, "2027").await.status, 200);
    }
    assert_eq!(year_loaded(&app, 2027), 0);
    assert_eq!(days_stored(&app, 2027), 0);
    assert_eq!(calendar_audit_rows(&app), 0);
}

fn gauge(metrics: &str) -> Option<i64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("zhijian_calendar_missing_years "))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test]
async fn the_status_and_the_gauge_show_a_missing_year_until_it_is_loaded() {
    let clock = MockClock::at_beijing(2026, 12, 4, 10, 0);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    let manager = root_manager(&app).await;
    let viewer = app.admin_token("wushan-viewer").await;

    let status = app
        .call(Method::GET, "/v1/admin/calendar/status", &viewer, None)
        .await;
    assert_eq!(status.status, 200, "{}", status.text);
    assert_eq!(status.body["today"], "2026-12-04");
    assert_eq!(status.body["missing_years"], json!([2027]));
    let years = status.body["years"].as_array().unwrap();
    assert_eq!(years.len(), 2);
    assert_eq!(years[0]["year"], 2026);
    assert_eq!(years[0]["loaded"], true);
    assert_eq!(years[0]["days"], 39);
    assert_eq!(years[0]["version"], 1);
    assert_eq!(
        years[1],
        json!({"year": 2027, "loaded": false, "days": 0, "version": 0})
    );
    let metrics = app.get("/metrics").await;
    assert_eq!(gauge(&metrics.text), Some(1), "{}", metrics.text);

    let loaded = put_csv(&app, &manager, 2027, Some(0), MADE_UP_2027_CSV).await;
    assert_eq!(loaded.status, 200, "{}", loaded.text);
    assert_eq!(gauge(&app.get("/metrics").await.text), Some(0));
    let status = app
        .call(Method::GET, "/v1/admin/calendar/status", &viewer, None)
        .await;
    assert_eq!(status.body["missing_years"], json!([]));
    assert_eq!(status.body["years"][1]["loaded"], true);
    assert_eq!(status.body["years"][1]["days"], 2);
    assert_eq!(status.body["years"][1]["version"], 1);

    // From November, the year after is due too.
    clock.set(zhijian_integration_tests::clock::beijing(2027, 11, 1, 9, 0));
    let viewer = app.admin_token("wushan-viewer").await;
    let status = app
        .call(Method::GET, "/v1/admin/calendar/status", &viewer, None)
        .await;
    assert_eq!(status.body["today"], "2027-11-01");
    assert_eq!(status.body["missing_years"], json!([2028]));
    assert_eq!(gauge(&app.get("/metrics").await.text), Some(1));
}

/// Another server on the same database, with the same settings (sessions and providers) and
/// clock.
async fn second_server(
    app: &TestApp,
    clock: Arc<dyn Clock>,
    customise: impl FnOnce(&mut zhijian_api::settings::Settings),
) -> (String, AppHandle) {
    let mut settings = app.settings.clone();
    customise(&mut settings);
    let server = Application::build_with_clock(settings, Duration::from_secs(10), clock)
        .await
        .unwrap();
    let address = format!("http://127.0.0.1:{}", server.port());
    let handle = server.handle();
    tokio::spawn(server.run_until_stopped());
    (address, handle)
}

async fn submit_at(app: &TestApp, server: &str, user: &str, n: u16) -> (String, DateTime<Utc>) {
    let worker = app.worker_token(user).await;
    let form = application_form(&person(n), "13812341234");
    let submitted = app
        .send(
            app.client
                .post(format!("{server}/v1/applications"))
                .bearer_auth(&worker)
                .json(&form),
        )
        .await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let due_at = submitted.body["due_at"].as_str().unwrap().parse().unwrap();
    (submitted.body["id"].as_str().unwrap().to_owned(), due_at)
}

#[tokio::test]
async fn the_next_deadline_on_every_server_uses_a_change_and_given_deadlines_never_move() {
    use zhijian_integration_tests::clock::beijing;
    // Tuesday 9 March 2027, 17:00 in Beijing: past the 16:00 cut-off, so due at 18:00 on the
    // next working day.
    let clock = MockClock::at_beijing(2027, 3, 9, 17, 0);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    let manager = root_manager(&app).await;
    let (other, other_handle) = second_server(&app, clock.port(), |s| {
        s.jobs.calendar_status_interval_ms = 50
    })
    .await;

    // The other server computes a deadline (and holds the calendar in memory): 2027 is not
    // loaded, the ordinary week makes Wednesday the 10th the next working day.
    let (first, first_due) = submit_at(&app, &other, "cal-first", 801).await;
    assert_eq!(first_due, beijing(2027, 3, 10, 18, 0));

    // This server loads (made-up) 2027: Wednesday the 10th is a rest day.
    let loaded = put_csv(&app, &manager, 2027, Some(0), MADE_UP_2027_CSV).await;
    assert_eq!(loaded.status, 200, "{}", loaded.text);

    // The other server's very next deadline uses it, with no waiting for a cache to expire.
    let (_, second_due) = submit_at(&app, &other, "cal-second", 802).await;
    assert_eq!(second_due, beijing(2027, 3, 11, 18, 0));
    let (_, third_due) = submit_at(&app, &app.address, "cal-third", 803).await;
    assert_eq!(third_due, beijing(2027, 3, 11, 18, 0));

    // The deadline already given did not move.
    let reviewer = app.admin_token("courier-reviewer").await;
    let detail = app
        .call(
            Method::GET,
            &format!("/v1/admin/applications/{first}"),
            &reviewer,
            None,
        )
        .await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let still: DateTime<Utc> = detail.body["due_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(still, first_due);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM applications WHERE id = '{first}' \
                 AND due_at = '2027-03-10T10:00:00Z'"
            )
        ),
        1
    );

    // The other server's gauge follows within its refresh interval (50 ms here).
    let mut seen = None;
    for _ in 0..100 {
        let metrics = app.send(app.client.get(format!("{other}/metrics"))).await;
        seen = gauge(&metrics.text);
        if seen == Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, Some(0));
    other_handle.stop(true).await;
}
