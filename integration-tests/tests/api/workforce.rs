//! Workforce estimates and targets (底数 and 目标) over HTTP: a manager sets a union's per group
//! and year, each group conditional on its version and audited before → after; a CSV sheet sets
//! many unions' at once, all or nothing, every problem reported by line and column; reviewers
//! and viewers are refused, unions outside the subtree do not exist; the demo county has some.

use reqwest::Method;
use serde_json::{Value, json};
use zhijian_domain::admin::AdminRole;
use zhijian_infra::store::admins::{NewAdmin, create_admin};
use zhijian_integration_tests::fixtures::{DEMO_PASSWORD, count};
use zhijian_integration_tests::{TestApp, TestResponse, spawn_app};

fn union_id(app: &TestApp, name: &str) -> i64 {
    count(app, &format!("SELECT id FROM unions WHERE name = '{name}'"))
}

fn rows(app: &TestApp) -> i64 {
    count(app, "SELECT count(*) FROM workforce_estimates")
}

fn audit_rows(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT count(*) FROM audit_log WHERE action IN ('set_workforce', 'import_workforce')",
    )
}

async fn put(app: &TestApp, token: &str, union: i64, year: &str, body: &Value) -> TestResponse {
    app.call(
        Method::PUT,
        &format!("/v1/admin/unions/{union}/workforce/{year}"),
        token,
        Some(body),
    )
    .await
}

async fn get(app: &TestApp, token: &str, union: i64, year: &str) -> TestResponse {
    app.call(
        Method::GET,
        &format!("/v1/admin/unions/{union}/workforce/{year}"),
        token,
        None,
    )
    .await
}

async fn import(app: &TestApp, token: &str, year: &str, csv: &[u8]) -> TestResponse {
    app.send(
        app.request(Method::POST, &format!("/v1/admin/workforce?year={year}"))
            .bearer_auth(token)
            .header("content-type", "text/csv; charset=utf-8")
            .body(csv.to_vec()),
    )
    .await
}

fn assert_refused(response: &TestResponse, status: u16, code: &str, field: Option<&str>) {
    assert_eq!(response.status, status, "{}", response.text);
    assert_eq!(response.body["code"], code, "{}", response.text);
    assert_eq!(response.body["field"].as_str(), field, "{}", response.text);
}

async fn manager_at(app: &TestApp, username: &'static str, union: &str) -> String {
    let union_id = zhijian_domain::ids::UnionId::new(union_id(app, union));
    let mut conn = app.db.connect();
    tokio::task::spawn_blocking(move || {
        create_admin(
            &mut conn,
            NewAdmin {
                username,
                display_name: "测试管理员",
                password: DEMO_PASSWORD,
                role: AdminRole::Manager,
                union_id,
            },
        )
        .unwrap()
    })
    .await
    .unwrap();
    app.admin_token(username).await
}

fn courier(estimate: i64, target: Value, version: Value) -> Value {
    json!({"occupation": "courier", "estimate": estimate, "target": target,
           "source": "2026年县总工会摸底调查", "version": version})
}

#[tokio::test]
async fn a_manager_sets_a_unions_figures_per_group_with_versions_and_each_change_is_audited() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let manager = app.admin_token("wushan-manager").await;
    let county = union_id(&app, "巫山县总工会");

    let empty = get(&app, &manager, county, "2026").await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(empty.body["groups"], json!([]));
    assert_eq!(empty.body["totals"], json!({"estimate": 0, "target": 0}));

    let body = json!({"groups": [
        courier(1200, json!(960), Value::Null),
        {"occupation": "cleaner", "estimate": 300, "source": "人社局数据"},
    ]});
    let set = put(&app, &manager, county, "2026", &body).await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body["union"]["id"], county);
    let groups = set.body["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["occupation"], "courier");
    assert_eq!(groups[0]["occupation_label"], "快递员");
    assert_eq!(groups[0]["key_group"], true);
    assert_eq!(groups[0]["version"], 1);
    assert_eq!(groups[1]["target"], Value::Null);
    assert_eq!(set.body["totals"], json!({"estimate": 1500, "target": 960}));
    assert_eq!(
        set.body["key_groups"],
        json!({"estimate": 1200, "target": 960})
    );
    assert_eq!(rows(&app), 2);
    assert_eq!(audit_rows(&app), 1);

    // Creating a group that exists, or changing one at an old version, is a lost race.
    let before = (rows(&app), audit_rows(&app));
    for stale in [
        courier(1300, json!(1000), Value::Null),
        courier(1300, json!(1000), json!(7)),
    ] {
        let refused = put(&app, &manager, county, "2026", &json!({"groups": [stale]})).await;
        assert_refused(&refused, 409, "stale_version", None);
    }
    let changed = put(
        &app,
        &manager,
        county,
        "2026",
        &json!({"groups": [courier(1300, json!(1000), json!(1))]}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["groups"][0]["estimate"], 1300);
    assert_eq!(changed.body["groups"][0]["version"], 2);
    assert_eq!(
        changed.body["groups"][1]["version"], 1,
        "the other group is untouched"
    );
    assert_eq!(rows(&app), before.0);
    assert_eq!(audit_rows(&app), before.1 + 1);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE action = 'set_workforce' \
                 AND object_kind = 'union' AND object_id = '{county}' \
                 AND reason LIKE '%快递员：底数 1200 → 1300，目标 960 → 1000%'"
            )
        ),
        1
    );
    // The same figures again change nothing and audit nothing.
    let again = put(
        &app,
        &manager,
        county,
        "2026",
        &json!({"groups": [courier(1300, json!(1000), json!(2))]}),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(audit_rows(&app), before.1 + 1);
    // Another year is its own.
    let other_year = get(&app, &manager, county, "2027").await;
    assert_eq!(other_year.body["groups"], json!([]));
}

#[tokio::test]
async fn bad_figures_years_groups_roles_and_unions_outside_the_subtree_are_refused_writing_nothing()
{
    let app = spawn_app().await;
    app.seed_demo().await;
    let manager = app.admin_token("wushan-manager").await;
    let county = union_id(&app, "巫山县总工会");
    let ok = courier(100, json!(80), Value::Null);
    for (group, code, field) in [
        (
            courier(-1, json!(null), Value::Null),
            "workforce_estimate_out_of_range",
            "groups[0].estimate",
        ),
        (
            courier(10_000_001, json!(null), Value::Null),
            "workforce_estimate_out_of_range",
            "groups[0].estimate",
        ),
        (
            courier(100, json!(101), Value::Null),
            "workforce_target_above_estimate",
            "groups[0].target",
        ),
        (
            courier(100, json!(-5), Value::Null),
            "workforce_estimate_out_of_range",
            "groups[0].target",
        ),
        (
            json!({"occupation": "骑手", "estimate": 1, "source": "x"}),
            "invalid_occupation_group",
            "groups[0].occupation",
        ),
        (
            json!({"occupation": "courier", "estimate": 1, "source": "  "}),
            "required",
            "groups[0].source",
        ),
    ] {
        let refused = put(&app, &manager, county, "2026", &json!({"groups": [group]})).await;
        assert_refused(&refused, 400, code, Some(field));
    }
    let twice = put(&app, &manager, county, "2026", &json!({"groups": [ok, ok]})).await;
    assert_refused(&twice, 400, "workforce_duplicate_group", Some("groups"));
    for year in ["1999", "2101", "abc"] {
        let refused = put(&app, &manager, county, year, &json!({"groups": [ok]})).await;
        assert_refused(&refused, 400, "workforce_year_out_of_range", Some("year"));
        let refused = get(&app, &manager, county, year).await;
        assert_refused(&refused, 400, "workforce_year_out_of_range", Some("year"));
    }
    for role in ["wushan-viewer", "courier-reviewer"] {
        let token = app.admin_token(role).await;
        assert_refused(
            &get(&app, &token, county, "2026").await,
            403,
            "forbidden",
            None,
        );
        let refused = put(&app, &token, county, "2026", &json!({"groups": [ok]})).await;
        assert_refused(&refused, 403, "forbidden", None);
        let refused = import(
            &app,
            &token,
            "2026",
            b"union_id,occupation,estimate,source\n1,courier,1,x\n",
        )
        .await;
        assert_refused(&refused, 403, "forbidden", None);
    }
    let township = manager_at(&app, "gaotang-manager", "高唐街道总工会").await;
    let other = union_id(&app, "龙门街道联合工会");
    for outside in [county, other, 999_999] {
        assert_refused(
            &get(&app, &township, outside, "2026").await,
            404,
            "not_found",
            None,
        );
        let refused = put(&app, &township, outside, "2026", &json!({"groups": [ok]})).await;
        assert_refused(&refused, 404, "not_found", None);
    }
    assert_eq!(rows(&app), 0);
    assert_eq!(audit_rows(&app), 0);
    // Inside their own subtree the township's manager may.
    let own = union_id(&app, "高唐街道总工会");
    let set = put(&app, &township, own, "2026", &json!({"groups": [ok]})).await;
    assert_eq!(set.status, 200, "{}", set.text);
}

#[tokio::test]
async fn a_sheet_sets_many_unions_at_once_or_reports_every_problem_and_writes_nothing() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let manager = app.admin_token("wushan-manager").await;
    let county = union_id(&app, "巫山县总工会");
    let gaotang = union_id(&app, "高唐街道总工会");
    let enterprise_code = zhijian_devtools::demo::ENTERPRISE_CREDIT_CODE;

    // Chinese headers, a byte-order mark, CRLF, a union named by its credit code, labels.
    let sheet = format!(
        "\u{feff}工会编号,统一社会信用代码,职业类别,底数,目标,数据来源\r\n\
         {county},,快递员,1200,960,2026年摸底调查\r\n\
         {county},,delivery_rider,900,,平台报送\r\n\
         {gaotang},,货车司机,150,120,\"街道调查,2026\"\r\n\
         ,{enterprise_code},courier,40,30,企业报送\r\n"
    );
    let imported = import(&app, &manager, "2026", sheet.as_bytes()).await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    assert_eq!(
        imported.body,
        json!({"year": 2026, "written": 4, "unchanged": 0, "unions": 3})
    );
    assert_eq!(rows(&app), 4);
    assert_eq!(audit_rows(&app), 3);
    let shown = get(&app, &manager, gaotang, "2026").await;
    assert_eq!(shown.body["groups"][0]["source"], "街道调查,2026");
    // The same sheet again changes nothing.
    let again = import(&app, &manager, "2026", sheet.as_bytes()).await;
    assert_eq!(again.body["written"], 0);
    assert_eq!(again.body["unchanged"], 4);
    assert_eq!(audit_rows(&app), 3);

    // English headers; every problem, by line and column; nothing written.
    let bad = format!(
        "union_id,occupation,estimate,target,source\n\
         {county},courier,1300,1000,调查\n\
         {county},骑手,-1,,调查\n\
         {county},truck_driver,100,101,调查\n\
         999999,courier,5,,调查\n\
         {county},courier,1,,调查\n\
         {county},courier\n"
    );
    let refused = import(&app, &manager, "2026", bad.as_bytes()).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let problems: Vec<(i64, Option<&str>, &str)> = refused.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_i64().unwrap(),
                p["column"].as_str(),
                p["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        [
            (3, Some("occupation"), "invalid_occupation_group"),
            (3, Some("estimate"), "workforce_estimate_out_of_range"),
            (4, Some("target"), "workforce_target_above_estimate"),
            (7, None, "invalid_workforce_csv"),
        ]
    );
    // Rows that parse but name a union outside the subtree, or a union × group twice.
    let township = manager_at(&app, "gaotang-manager", "高唐街道总工会").await;
    let outside = format!(
        "union_id,occupation,estimate,source\n\
         {gaotang},courier,10,调查\n\
         {county},courier,10,调查\n\
         {gaotang},courier,11,调查\n"
    );
    let refused = import(&app, &township, "2026", outside.as_bytes()).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(
        refused.body["problems"],
        json!([
            {"line": 3, "column": "union_id", "code": "not_found",
             "message": "工会不存在，或不在您管辖的范围内"},
            {"line": 4, "column": "occupation", "code": "workforce_duplicate_group",
             "message": "同一工会的同一职业类别在文件中出现了两次"},
        ])
    );
    assert_eq!(rows(&app), 4);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM workforce_estimates WHERE estimate IN (1300, 10, 11)"
        ),
        0
    );
    assert_eq!(audit_rows(&app), 3);

    // Files that cannot be read at all, and years out of range.
    for file in [
        &b""[..],
        b"union_id,occupation,estimate,source\n",
        b"union_id,occupation,estimate\n1,courier,1\n",
        b"union_id,occupation,estimate,source,shoe_size\n1,courier,1,x,42\n",
        b"union_id,occupation,estimate,source\n1,courier,1,\xff\n",
    ] {
        let refused = import(&app, &manager, "2026", file).await;
        assert_refused(&refused, 400, "invalid_workforce_csv", Some("body"));
    }
    let refused = import(&app, &manager, "1999", sheet.as_bytes()).await;
    assert_refused(&refused, 400, "workforce_year_out_of_range", Some("year"));
    let json_body = app
        .call(
            Method::POST,
            "/v1/admin/workforce?year=2026",
            &manager,
            Some(&json!({})),
        )
        .await;
    assert_eq!(json_body.status, 415, "{}", json_body.text);
    assert_eq!(rows(&app), 4);
}

#[tokio::test]
async fn the_demo_county_has_estimates_for_the_four_key_groups() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let mut conn = app.db.connect();
    let seeded = tokio::task::spawn_blocking(move || {
        let first = zhijian_devtools::demo::seed_demo_workforce(&mut conn).unwrap();
        let second = zhijian_devtools::demo::seed_demo_workforce(&mut conn).unwrap();
        (first, second)
    })
    .await
    .unwrap();
    assert_eq!(seeded, (4, 4));
    assert_eq!(rows(&app), 4);
    assert_eq!(audit_rows(&app), 1, "the second run changed nothing");
    let manager = app.admin_token("wushan-manager").await;
    let county = union_id(&app, "巫山县总工会");
    let year = count(
        &app,
        "SELECT extract(year FROM now() AT TIME ZONE 'Asia/Shanghai')::bigint",
    );
    let shown = get(&app, &manager, county, &year.to_string()).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(
        shown.body["key_groups"],
        json!({"estimate": 4200, "target": 3360})
    );
}
