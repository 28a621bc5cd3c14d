//! Coverage counters (issue 16) over HTTP: kept in each event's transaction at every ancestor,
//! reconciled with the base tables (`zhijian stats verify`), read by the overview and the
//! quarterly report with its snapshots.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};
use zhijian_integration_tests::clock::beijing;
use zhijian_integration_tests::fixtures::{application_form, count, person};
use zhijian_integration_tests::{MockClock, TestApp, TestResponse, spawn_app_with_clock};

fn text(app: &TestApp, sql: &str) -> Option<String> {
    use diesel::RunQueryDsl;
    let mut conn = app.db.connect();
    diesel::select(diesel::dsl::sql::<
        diesel::sql_types::Nullable<diesel::sql_types::Text>,
    >(&format!("({sql})")))
    .get_result(&mut conn)
    .unwrap_or_else(|e| panic!("text query: {e}"))
}

/// Runs a statement that writes (the tests stand in for APIs other parts build).
fn exec(app: &TestApp, sql: &str) -> usize {
    use diesel::RunQueryDsl;
    let mut conn = app.db.connect();
    diesel::sql_query(sql)
        .execute(&mut conn)
        .unwrap_or_else(|e| panic!("statement: {e}"))
}

async fn differences(app: &TestApp) -> Vec<zhijian_infra::store::counters::Difference> {
    zhijian_infra::usecases::stats::verify_counters(&app.services(), None)
        .await
        .unwrap()
}

async fn overview(app: &TestApp, token: &str, query: &str) -> TestResponse {
    app.call(
        Method::GET,
        &format!("/v1/admin/stats/overview{query}"),
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

fn version_of(app: &TestApp, table: &str, id: &str) -> i64 {
    count(
        app,
        &format!("SELECT version::bigint FROM {table} WHERE id = '{id}'"),
    )
}

const GROUPS: [&str; 4] = [
    "courier",
    "delivery_rider",
    "ride_hailing_driver",
    "cleaner",
];
const PLACES: [&str; 3] = ["500237001009", "500237001004", "500237107001"];

#[derive(Debug, Clone)]
enum Worker {
    Idle,
    Applied(String),
    Member(String),
}

async fn submit_form(app: &TestApp, token: &str, form: &Value) -> TestResponse {
    app.call(Method::POST, "/v1/applications", token, Some(form))
        .await
}

/// Admin step on an application at its current version.
async fn decide(app: &TestApp, admin: &str, id: &str, action: &str, extra: Value) -> TestResponse {
    let mut body = json!({ "version": version_of(app, "applications", id) });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    app.call(
        Method::POST,
        &format!("/v1/admin/applications/{id}/{action}"),
        admin,
        Some(&body),
    )
    .await
}

async fn member_step(
    app: &TestApp,
    admin: &str,
    member: &str,
    action: &str,
    extra: Value,
) -> TestResponse {
    let mut body = json!({ "version": version_of(app, "members", member) });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    app.call(
        Method::POST,
        &format!("/v1/admin/members/{member}/{action}"),
        admin,
        Some(&body),
    )
    .await
}

/// A whole transfer: requested by the worker, released and accepted by the county manager.
async fn transfer(app: &TestApp, worker: &str, manager: &str, to: i64) -> bool {
    let requested = app
        .call(
            Method::POST,
            "/v1/transfers",
            worker,
            Some(&json!({"to_union_id": to})),
        )
        .await;
    assert!(requested.status < 500, "{}", requested.text);
    if requested.status != 201 {
        return false;
    }
    let id = requested.body["id"].as_str().unwrap().to_owned();
    for step in ["release", "accept"] {
        let version = version_of(app, "transfers", &id);
        let done = app
            .call(
                Method::POST,
                &format!("/v1/admin/transfers/{id}/{step}"),
                manager,
                Some(&json!({"version": version})),
            )
            .await;
        assert_eq!(done.status, 200, "{step}: {}", done.text);
    }
    true
}

#[tokio::test]
async fn a_random_mix_of_events_leaves_the_counters_equal_to_a_recount() {
    let clock = MockClock::at_beijing(2026, 11, 23, 9, 30);
    let app = spawn_app_with_clock(clock.port(), |s| s.auth.access_ttl_secs = 3600).await;
    let demo = app.seed_demo().await;
    let mut manager = app.admin_token("wushan-manager").await;
    let mut since_login = 0;
    let targets: Vec<i64> = [
        "净坛社区联合工会",
        "巫山县快递行业工会联合会",
        "巫山县外卖配送行业工会联合会",
        "巫山县网约车行业工会联合会",
    ]
    .iter()
    .filter_map(|name| demo.union_named(name).map(|id| id.get()))
    .collect();
    let mut rng = StdRng::seed_from_u64(16);
    let mut workers = vec![Worker::Idle; 10];
    let mut applied = 0;
    for step in 0..90 {
        // Up to 40 minutes a step (tokens live an hour here): the mix spans two days.
        let minutes = rng.random_range(0..40);
        clock.advance(chrono::TimeDelta::minutes(minutes));
        since_login += minutes;
        if since_login > 20 {
            manager = app.admin_token("wushan-manager").await;
            since_login = 0;
        }
        let w = rng.random_range(0..workers.len());
        let token = app.worker_token(&format!("mix-{w}")).await;
        let state = workers[w].clone();
        let n = u16::try_from(w).unwrap() + 300;
        let phone = format!("1381234{:04}", n);
        let roll = rng.random_range(0..100);
        match state {
            Worker::Idle => {
                let mut form = application_form(&person(n), &phone);
                form["occupation"] = json!(GROUPS[rng.random_range(0..GROUPS.len())]);
                form["work_region"] = json!(PLACES[rng.random_range(0..PLACES.len())]);
                let submitted = submit_form(&app, &token, &form).await;
                assert_eq!(submitted.status, 201, "step {step}: {}", submitted.text);
                applied += 1;
                workers[w] = Worker::Applied(submitted.body["id"].as_str().unwrap().to_owned());
            }
            Worker::Applied(id) => {
                let status = text(
                    &app,
                    &format!("SELECT status FROM applications WHERE id = '{id}'"),
                )
                .unwrap();
                let answer = match (status.as_str(), roll) {
                    ("returned", 0..50) => {
                        let mut form = application_form(&person(n), &phone);
                        form["occupation"] = json!(GROUPS[rng.random_range(0..GROUPS.len())]);
                        app.call(
                            Method::PUT,
                            &format!("/v1/applications/{id}"),
                            &token,
                            Some(&form),
                        )
                        .await
                    }
                    (_, 0..45) => decide(&app, &manager, &id, "approve", json!({})).await,
                    (_, 45..60) => {
                        decide(
                            &app,
                            &manager,
                            &id,
                            "reject",
                            json!({"reason_code": "not_eligible"}),
                        )
                        .await
                    }
                    (_, 60..80) => {
                        decide(
                            &app,
                            &manager,
                            &id,
                            "return",
                            json!({"fields": ["work_address"]}),
                        )
                        .await
                    }
                    _ => {
                        app.call(
                            Method::POST,
                            &format!("/v1/applications/{id}/withdraw"),
                            &token,
                            None,
                        )
                        .await
                    }
                };
                assert!(answer.status < 500, "step {step}: {}", answer.text);
                let now = text(
                    &app,
                    &format!("SELECT status FROM applications WHERE id = '{id}'"),
                )
                .unwrap();
                workers[w] = match now.as_str() {
                    "approved" => Worker::Member(
                        text(
                            &app,
                            &format!("SELECT member_id::text FROM applications WHERE id = '{id}'"),
                        )
                        .unwrap(),
                    ),
                    "rejected" | "withdrawn" => Worker::Idle,
                    _ => Worker::Applied(id),
                };
            }
            Worker::Member(member) => {
                let status = text(
                    &app,
                    &format!("SELECT status FROM members WHERE id = '{member}'"),
                )
                .unwrap();
                let answer = match (status.as_str(), roll) {
                    ("retained", 0..60) => {
                        member_step(&app, &manager, &member, "reactivate", json!({})).await
                    }
                    ("active", 0..35) => {
                        let to = targets[rng.random_range(0..targets.len())];
                        transfer(&app, &token, &manager, to).await;
                        continue;
                    }
                    ("active", 35..55) => {
                        member_step(
                            &app,
                            &manager,
                            &member,
                            "retain",
                            json!({"reason": "unemployed"}),
                        )
                        .await
                    }
                    (_, 55..65) => {
                        member_step(
                            &app,
                            &manager,
                            &member,
                            "expel",
                            json!({"reason": "严重违反工会章程"}),
                        )
                        .await
                    }
                    (_, 65..72) => {
                        member_step(&app, &manager, &member, "deceased", json!({})).await
                    }
                    _ => {
                        app.call(
                            Method::POST,
                            "/v1/membership/withdraw",
                            &token,
                            Some(&json!({"confirm": true})),
                        )
                        .await
                    }
                };
                assert!(answer.status < 500, "step {step}: {}", answer.text);
                let now = text(
                    &app,
                    &format!("SELECT status FROM members WHERE id = '{member}'"),
                )
                .unwrap();
                // A member who withdrew may apply again (a new membership); the others stay.
                if now == "withdrawn" {
                    workers[w] = Worker::Idle;
                }
            }
        }
    }
    assert!(applied >= 10, "the mix submitted {applied} applications");
    let kinds = count(
        &app,
        "SELECT count(*) FROM (SELECT 1 FROM union_stats_daily GROUP BY union_id) u",
    );
    assert!(kinds > 3, "counters at several unions");
    for (what, sql) in [
        (
            "approvals",
            "SELECT count(*) FROM applications WHERE status = 'approved'",
        ),
        (
            "returns",
            "SELECT count(*) FROM application_events WHERE event = 'returned'",
        ),
        (
            "transfers",
            "SELECT count(*) FROM transfers WHERE status = 'completed'",
        ),
        (
            "lifecycle",
            "SELECT count(*) FROM member_events WHERE event IN ('retained', 'withdrawn', 'expelled', 'deceased')",
        ),
    ] {
        assert!(count(&app, sql) > 0, "the mix has {what}");
    }
    let found = differences(&app).await;
    assert!(found.is_empty(), "{found:#?}");
    // The national root (the demo province) holds everything, at the cost of one union's rows.
    let root_submitted = count(
        &app,
        "SELECT COALESCE(sum(submitted), 0)::bigint FROM union_stats_daily s \
         JOIN unions u ON u.id = s.union_id WHERE u.parent_id IS NULL",
    );
    assert_eq!(
        root_submitted,
        count(&app, "SELECT count(*) FROM applications")
    );
}

fn run_stats(app: &TestApp, binary: &std::path::Path, args: &[&str]) -> std::process::Output {
    zhijian_integration_tests::cli::zhijian_command(app, binary)
        .arg("stats")
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn stats_verify_prints_every_difference_and_rebuild_repairs_them() {
    let clock = MockClock::at_beijing(2026, 11, 23, 10, 0);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    let demo = app.seed_demo().await;
    let worker = app.worker_token("cli-a").await;
    let submitted = submit_form(&app, &worker, &application_form(&person(41), "13812340041")).await;
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    let reviewer = app.admin_token("courier-reviewer").await;
    assert_eq!(
        decide(&app, &reviewer, &id, "approve", json!({}))
            .await
            .status,
        200
    );
    let binary = tokio::task::spawn_blocking(zhijian_integration_tests::cli::zhijian_binary)
        .await
        .unwrap();

    let clean = run_stats(&app, &binary, &["verify"]);
    let out = String::from_utf8_lossy(&clean.stdout).to_string();
    assert!(
        clean.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert!(out.contains("agree"), "{out}");

    // A lost update at the courier federation: verify names it, for the union or its county.
    let courier = demo.union_named("巫山县快递行业工会联合会").unwrap().get();
    exec(
        &app,
        &format!(
            "UPDATE union_stats_daily SET approved = approved + 1 \
             WHERE ctid = (SELECT ctid FROM union_stats_daily WHERE union_id = {courier} \
                           AND approved > 0 LIMIT 1)"
        ),
    );
    let county = demo.union_named("巫山县总工会").unwrap().get().to_string();
    for args in [vec!["verify"], vec!["verify", "--union", county.as_str()]] {
        let dirty = run_stats(&app, &binary, &args);
        let out = String::from_utf8_lossy(&dirty.stdout).to_string();
        assert!(!dirty.status.success(), "{out}");
        assert!(
            out.contains(&format!(
                "union {courier} day 2026-11-23 group courier approved: kept 2 recounted 1"
            )),
            "{out}"
        );
    }
    let jingtan = demo
        .union_named("净坛社区联合工会")
        .unwrap()
        .get()
        .to_string();
    let elsewhere = run_stats(&app, &binary, &["verify", "--union", &jingtan]);
    assert!(
        elsewhere.status.success(),
        "another subtree has no difference"
    );

    let rebuilt = run_stats(&app, &binary, &["rebuild"]);
    assert!(
        rebuilt.status.success(),
        "{}",
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    assert!(differences(&app).await.is_empty());
    assert!(
        !run_stats(&app, &binary, &["verify", "extra"])
            .status
            .success()
    );
}

#[tokio::test]
async fn the_overview_counts_flows_by_day_child_and_group_with_coverage_and_referrals() {
    // Submitted at 23:59 and approved at 00:01 Beijing time: two days.
    let clock = MockClock::at_beijing(2026, 11, 23, 23, 59);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    let demo = app.seed_demo().await;
    let worker = app.worker_token("ov-a").await;
    let first = submit_form(&app, &worker, &application_form(&person(51), "13812340051")).await;
    let first = first.body["id"].as_str().unwrap().to_owned();
    clock.set(beijing(2026, 11, 24, 0, 1));
    let reviewer = app.admin_token("courier-reviewer").await;
    assert_eq!(
        decide(&app, &reviewer, &first, "approve", json!({}))
            .await
            .status,
        200
    );
    let referrer = text(
        &app,
        &format!("SELECT member_id::text FROM applications WHERE id = '{first}'"),
    )
    .unwrap();

    // A second courier brought in by the first (the column the referral API sets), approved.
    let second_worker = app.worker_token("ov-b").await;
    let second = submit_form(
        &app,
        &second_worker,
        &application_form(&person(52), "13812340052"),
    )
    .await;
    let second = second.body["id"].as_str().unwrap().to_owned();
    exec(
        &app,
        &format!("UPDATE applications SET referrer_member_id = '{referrer}' WHERE id = '{second}'"),
    );
    assert_eq!(
        decide(&app, &reviewer, &second, "approve", json!({}))
            .await
            .status,
        200
    );
    // A rider waiting past the deadline.
    let mut rider = application_form(&person(53), "13812340053");
    rider["occupation"] = json!("delivery_rider");
    let third = app.worker_token("ov-c").await;
    assert_eq!(submit_form(&app, &third, &rider).await.status, 201);

    // Estimates for the couriers of the county (workforce_estimates, set by the targets API).
    let courier_fed = demo.union_named("巫山县快递行业工会联合会").unwrap().get();
    let county = demo.union_named("巫山县总工会").unwrap().get();
    exec(
        &app,
        &format!(
            "INSERT INTO workforce_estimates (union_id, occupation, year, estimate, target, source) \
             VALUES ({courier_fed}, 'courier', 2026, 8, 6, '邮政管理局')"
        ),
    );
    clock.set(beijing(2026, 11, 26, 10, 0));
    let manager = app.admin_token("wushan-manager").await;
    let reviewer = app.admin_token("courier-reviewer").await;
    let body = overview(&app, &manager, "?from=2026-11-23&to=2026-11-26").await;
    assert_eq!(body.status, 200, "{}", body.text);
    let body = body.body;
    assert_eq!(body["union"]["union"]["id"], county);
    let totals = &body["union"];
    assert_eq!(totals["counts"]["submitted"], 3);
    assert_eq!(totals["counts"]["approved"], 2);
    assert_eq!(totals["counts"]["joined"], 2);
    assert_eq!(totals["referrals"], 1);
    assert_eq!(totals["active_members"], 2);
    assert_eq!(totals["estimate"], 8);
    assert_eq!(totals["target"], 6);
    assert_eq!(totals["coverage"], json!(0.25));
    assert_eq!(totals["overdue"], 1);
    let couriers = child(&body, "巫山县快递行业工会联合会");
    assert_eq!(couriers["counts"]["approved"], 2);
    assert_eq!(couriers["coverage"], json!(0.25));
    let riders = child(&body, "巫山县外卖配送行业工会联合会");
    assert_eq!(riders["counts"]["submitted"], 1);
    assert_eq!(riders["coverage"], Value::Null);
    let series = body["series"].as_array().unwrap();
    let day = |d: &str| {
        series
            .iter()
            .find(|s| s["start"] == d)
            .cloned()
            .unwrap_or(json!(null))
    };
    assert_eq!(day("2026-11-23")["counts"]["submitted"], 1);
    assert_eq!(day("2026-11-23")["counts"]["approved"], 0);
    assert_eq!(day("2026-11-24")["counts"]["approved"], 2);

    // Weekly buckets start on Monday; one group only.
    let weekly = overview(
        &app,
        &manager,
        "?from=2026-11-01&to=2026-11-30&interval=week&group=courier",
    )
    .await;
    assert_eq!(weekly.status, 200, "{}", weekly.text);
    let buckets: Vec<&str> = weekly.body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["start"].as_str().unwrap())
        .collect();
    assert_eq!(buckets, ["2026-11-23"]);
    assert_eq!(weekly.body["union"]["counts"]["submitted"], 2);
    // Overdue is what waits now, whatever the group.
    assert_eq!(weekly.body["union"]["overdue"], 1);

    // Bad inputs.
    for (query, code, field) in [
        (
            "?from=2026-11-26&to=2026-11-01",
            "invalid_date_range",
            "from",
        ),
        (
            "?from=2022-01-01&to=2026-11-01",
            "date_range_too_long",
            "from",
        ),
        ("?group=astronaut", "invalid_occupation_group", "group"),
        ("?interval=hour", "invalid_interval", "interval"),
        ("?from=26-11-01", "invalid_date", "from"),
        ("?union=0", "invalid_union_id", "union"),
    ] {
        let refused = overview(&app, &manager, query).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.text);
        assert_eq!(refused.body["code"], code, "{query}");
        assert_eq!(refused.body["field"], field, "{query}");
    }
    // Outside the subtree: 404 — the courier reviewer cannot see the county.
    let outside = overview(&app, &reviewer, &format!("?union={county}")).await;
    assert_eq!(outside.status, 404, "{}", outside.text);
    let missing = overview(&app, &manager, "?union=999999").await;
    assert_eq!(missing.status, 404);
    assert!(differences(&app).await.is_empty());
}

async fn quarterly(app: &TestApp, token: &str, query: &str) -> TestResponse {
    app.call(
        Method::GET,
        &format!("/v1/admin/stats/quarterly{query}"),
        token,
        None,
    )
    .await
}

#[tokio::test]
async fn a_member_transferred_mid_quarter_counts_once_and_the_quarter_end_snapshot_stays() {
    let clock = MockClock::at_beijing(2026, 11, 2, 10, 0);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    let demo = app.seed_demo().await;
    let worker = app.worker_token("q-a").await;
    let id = submit_form(&app, &worker, &application_form(&person(61), "13812340061")).await;
    let id = id.body["id"].as_str().unwrap().to_owned();
    let reviewer = app.admin_token("courier-reviewer").await;
    assert_eq!(
        decide(&app, &reviewer, &id, "approve", json!({}))
            .await
            .status,
        200
    );

    // Mid-quarter the member moves from the courier federation to 净坛社区 (under 高唐街道).
    clock.set(beijing(2026, 11, 16, 10, 0));
    let manager = app.admin_token("wushan-manager").await;
    let jingtan = demo.union_named("净坛社区联合工会").unwrap().get();
    let worker = app.worker_token("q-a").await;
    assert!(transfer(&app, &worker, &manager, jingtan).await);

    let flows = overview(&app, &manager, "?from=2026-10-01&to=2026-12-31").await;
    assert_eq!(flows.status, 200, "{}", flows.text);
    let body = &flows.body;
    let couriers = child(body, "巫山县快递行业工会联合会");
    assert_eq!(couriers["counts"]["joined"], 1);
    assert_eq!(couriers["counts"]["transferred_out"], 1);
    assert_eq!(couriers["counts"]["transferred_in"], 0);
    assert_eq!(couriers["active_members"], 0);
    let gaotang = body["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["union"]["name"].as_str().unwrap().contains("高唐"))
        .unwrap();
    assert_eq!(gaotang["counts"]["transferred_in"], 1);
    assert_eq!(gaotang["counts"]["joined"], 0);
    assert_eq!(gaotang["active_members"], 1);
    // Inside the county the move crossed no border.
    assert_eq!(body["union"]["counts"]["transferred_in"], 0);
    assert_eq!(body["union"]["counts"]["transferred_out"], 0);
    assert_eq!(body["union"]["counts"]["joined"], 1);
    assert_eq!(body["union"]["active_members"], 1);

    // The current quarter: live from the counters; its snapshot is refused until it ends.
    let live = quarterly(&app, &manager, "?year=2026&quarter=4").await;
    assert_eq!(live.status, 200, "{}", live.text);
    assert_eq!(live.body["source"], "live");
    assert_eq!(live.body["subtree"]["by_group"]["courier"], 1);
    assert_eq!(live.body["subtree"]["total"], 1);
    let not_yet = quarterly(&app, &manager, "?year=2026&quarter=4&snapshot=true").await;
    assert_eq!(not_yet.status, 409, "{}", not_yet.text);
    assert_eq!(not_yet.body["code"], "quarter_not_ended");
    for (query, code) in [
        ("?year=2026&quarter=5", "invalid_quarter"),
        ("?format=pdf", "invalid_report_format"),
    ] {
        let refused = quarterly(&app, &manager, query).await;
        assert_eq!(refused.status, 400, "{query}: {}", refused.text);
        assert_eq!(refused.body["code"], code);
    }
    let county = demo.union_named("巫山县总工会").unwrap().get();
    let reviewer = app.admin_token("courier-reviewer").await;
    let outside = quarterly(&app, &reviewer, &format!("?union={county}")).await;
    assert_eq!(outside.status, 404);

    // The quarter ends; the job keeps the snapshot; a later change does not alter it.
    clock.set(beijing(2027, 1, 1, 0, 30));
    let manager = app.admin_token("wushan-manager").await;
    assert!(
        zhijian_infra::usecases::stats::take_quarter_snapshot(&app.services())
            .await
            .unwrap()
    );
    assert!(
        !zhijian_infra::usecases::stats::take_quarter_snapshot(&app.services())
            .await
            .unwrap()
    );
    // A quarter from before the counters held anything is answered live and never frozen:
    // no request writes a snapshot for it, and insisting on one finds none.
    let old = quarterly(&app, &manager, "?year=2025&quarter=1").await;
    assert_eq!(old.status, 200, "{}", old.text);
    assert_eq!(old.body["source"], "live");
    let insisted = quarterly(&app, &manager, "?year=2025&quarter=1&snapshot=true").await;
    assert_eq!(insisted.status, 404, "{}", insisted.text);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM quarterly_snapshots WHERE year = 2025"
        ),
        0
    );
    let snapshot = quarterly(&app, &manager, "?year=2026&quarter=4&snapshot=true").await;
    assert_eq!(snapshot.status, 200, "{}", snapshot.text);
    assert_eq!(snapshot.body["source"], "snapshot");
    assert_eq!(snapshot.body["subtree"]["by_group"]["courier"], 1);
    let courier_row = snapshot.body["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["union"]["name"] == "巫山县快递行业工会联合会")
        .unwrap()
        .clone();
    assert_eq!(courier_row["total"], 1);
    // Snapshots reconcile with the counters: every union's figure equals the counters' sum.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM (SELECT union_id, occupation, sum(joined) AS n FROM union_stats_daily \
             WHERE day BETWEEN '2026-10-01' AND '2026-12-31' GROUP BY 1, 2 HAVING sum(joined) > 0) c \
             FULL JOIN (SELECT union_id, occupation, joined FROM quarterly_snapshot_rows \
                        WHERE year = 2026 AND quarter = 4) s USING (union_id, occupation) \
             WHERE c.n IS DISTINCT FROM s.joined"
        ),
        0
    );
    let immutable = {
        use diesel::RunQueryDsl;
        let mut conn = app.db.connect();
        diesel::sql_query("DELETE FROM quarterly_snapshot_rows").execute(&mut conn)
    };
    assert!(immutable.is_err(), "snapshots cannot be deleted");
    // A late change to the counters (a rebuild, an approval dated in the quarter) leaves it.
    exec(
        &app,
        "UPDATE union_stats_daily SET joined = joined + 5 WHERE day = '2026-11-02'",
    );
    let again = quarterly(&app, &manager, "?year=2026&quarter=4").await;
    assert_eq!(again.body["subtree"]["by_group"]["courier"], 1);

    // CSV with a BOM, and XLSX.
    let csv = app
        .send(
            app.request(
                Method::GET,
                "/v1/admin/stats/quarterly?year=2026&quarter=4&format=csv",
            )
            .bearer_auth(&manager),
        )
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv.text.starts_with('\u{feff}'), "UTF-8 with BOM");
    let lines: Vec<&str> = csv.text.trim_start_matches('\u{feff}').lines().collect();
    assert!(
        lines[0].starts_with("工会,外卖配送员") || lines[0].starts_with("工会,"),
        "{}",
        lines[0]
    );
    assert!(lines[0].ends_with("合计"));
    assert!(lines.last().unwrap().starts_with("巫山县总工会（合计）"));
    assert!(lines.last().unwrap().ends_with(",1"));
    let xlsx = app
        .client
        .get(format!(
            "{}/v1/admin/stats/quarterly?year=2026&quarter=4&format=xlsx",
            app.address
        ))
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    assert!(
        xlsx.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".xlsx")
    );
    let bytes = xlsx.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK", "an XLSX is a zip");
}

#[tokio::test]
async fn moving_and_closing_unions_take_their_figures_along() {
    let clock = MockClock::at_beijing(2026, 11, 23, 10, 0);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    let demo = app.seed_demo().await;
    // A cleaner in 净坛社区 joins the community's joint union.
    let worker = app.worker_token("mv-a").await;
    let mut form = application_form(&person(71), "13812340071");
    form["occupation"] = json!("cleaner");
    let id = submit_form(&app, &worker, &form).await;
    assert_eq!(id.status, 201, "{}", id.text);
    let id = id.body["id"].as_str().unwrap().to_owned();
    let manager = app.admin_token("wushan-manager").await;
    assert_eq!(
        decide(&app, &manager, &id, "approve", json!({}))
            .await
            .status,
        200
    );
    let jingtan = demo.union_named("净坛社区联合工会").unwrap().get();
    let union_of = text(
        &app,
        &format!("SELECT union_id::text FROM applications WHERE id = '{id}'"),
    )
    .unwrap();
    assert_eq!(union_of, jingtan.to_string());

    // 净坛社区 moves from 高唐街道 to another township: its figures follow.
    let other_township = count(
        &app,
        &format!(
            "SELECT min(u.id) FROM unions u JOIN unions j ON j.id = {jingtan} \
             WHERE u.kind = (SELECT kind FROM unions WHERE id = j.parent_id) \
             AND u.parent_id = (SELECT parent_id FROM unions WHERE id = j.parent_id) \
             AND u.id <> j.parent_id"
        ),
    );
    let version = version_of(&app, "unions", &jingtan.to_string());
    let moved = app
        .call(
            Method::POST,
            &format!("/v1/admin/unions/{jingtan}/move"),
            &manager,
            Some(&json!({"version": version, "parent_id": other_township})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let found = differences(&app).await;
    assert!(found.is_empty(), "{found:#?}");
    let joined_at = |union: i64| {
        count(
            &app,
            &format!(
                "SELECT COALESCE(sum(joined), 0)::bigint FROM union_stats_daily WHERE union_id = {union}"
            ),
        )
    };
    assert_eq!(joined_at(other_township), 1);

    // A community union of the new township closes into the township: its member follows.
    exec(
        &app,
        "UPDATE admins SET disabled_at = now() WHERE username = 'jingtan-reviewer'",
    );
    let version = version_of(&app, "unions", &jingtan.to_string());
    let closed = app
        .call(
            Method::POST,
            &format!("/v1/admin/unions/{jingtan}/close"),
            &manager,
            Some(&json!({"version": version, "successor_id": other_township})),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    let found = differences(&app).await;
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COALESCE(sum(active), 0)::bigint FROM union_stats_active WHERE union_id = {jingtan}"
            )
        ),
        0
    );
}
