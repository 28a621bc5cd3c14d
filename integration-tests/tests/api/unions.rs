//! The federation's own union tree over HTTP: managers create unions of each kind inside their
//! subtree and edit them; routing sees every change at the next submission; every refusal
//! writes nothing.

use reqwest::Method;
use serde_json::{Value, json};
use zhijian_domain::admin::AdminRole;
use zhijian_infra::store::admins::{NewAdmin, create_admin};
use zhijian_integration_tests::fixtures::{DEMO_PASSWORD, application_form, count, person};
use zhijian_integration_tests::{TestApp, TestResponse, spawn_app};

/// A valid credit code no demo union holds (its check character is right).
const NEW_CREDIT_CODE: &str = "91350100M000100Y43";

/// The same code with a wrong check character.
const BAD_CHECK_CREDIT_CODE: &str = "91350100M000100Y44";

fn union_id(app: &TestApp, name: &str) -> i64 {
    count(app, &format!("SELECT id FROM unions WHERE name = '{name}'"))
}

fn unions(app: &TestApp) -> i64 {
    count(app, "SELECT count(*) FROM unions")
}

fn union_audit_rows(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT count(*) FROM audit_log WHERE object_kind = 'union'",
    )
}

async fn create(app: &TestApp, token: &str, body: &Value) -> TestResponse {
    app.call(Method::POST, "/v1/admin/unions", token, Some(body))
        .await
}

async fn edit(app: &TestApp, token: &str, id: i64, body: &Value) -> TestResponse {
    app.call(
        Method::PATCH,
        &format!("/v1/admin/unions/{id}"),
        token,
        Some(body),
    )
    .await
}

async fn get(app: &TestApp, token: &str, path: &str) -> TestResponse {
    app.call(Method::GET, path, token, None).await
}

/// A manager bound to the union called `union`.
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

/// A cleaner's form (no industry federation serves cleaners) for work in `region`.
fn cleaner_in(n: u16, region: &str) -> Value {
    let mut form = application_form(&person(n), &format!("1381234{:04}", n));
    form["occupation"] = json!("cleaner");
    form["work_region"] = json!(region);
    form
}

async fn submit(app: &TestApp, user: &str, form: &Value) -> Value {
    let worker = app.worker_token(user).await;
    let response = app
        .call(Method::POST, "/v1/applications", &worker, Some(form))
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.body
}

fn assert_refused(response: &TestResponse, status: u16, code: &str, field: Option<&str>) {
    assert_eq!(response.status, status, "{}", response.text);
    assert_eq!(response.body["code"], code, "{}", response.text);
    if let Some(field) = field {
        assert_eq!(response.body["field"], field, "{}", response.text);
    }
}

#[tokio::test]
async fn a_manager_creates_a_union_of_each_kind_and_reads_it_back() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let county = app.admin_token("wushan-manager").await;
    let county_id = union_id(&app, "巫山县总工会");
    let gaotang = union_id(&app, "高唐街道总工会");

    let joint = create(
        &app,
        &county,
        &json!({"parent_id": gaotang, "name": " 高唐东片联合工会 ", "kind": "joint",
                "region_code": "500237001",
                "coverage": ["500237001006", "500237001005", "500237001005"],
                "review_hours": {"opens": "08:30", "cutoff": "15:30", "closes": "17:30"}}),
    )
    .await;
    assert_eq!(joint.status, 201, "{}", joint.text);
    let body = &joint.body;
    assert_eq!(body["name"], "高唐东片联合工会");
    assert_eq!(body["kind"], "joint");
    assert_eq!(body["parent"]["name"], "高唐街道总工会");
    assert_eq!(body["region"]["name"], "高唐街道");
    assert_eq!(
        body["coverage"],
        json!([{"code": "500237001005", "name": "松峦社区居民委员会"},
               {"code": "500237001006", "name": "集仙社区居民委员会"}])
    );
    assert_eq!(
        body["review_hours"],
        json!({"opens": "08:30", "cutoff": "15:30", "closes": "17:30"})
    );
    assert_eq!(body["status"], "active");
    assert_eq!(body["accepting"], true);
    assert_eq!(body["version"], 1);
    let id = body["id"].as_i64().unwrap();
    assert!(
        body["path"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/{gaotang}/{id}/"))
    );

    let industry = create(
        &app,
        &county,
        &json!({"parent_id": county_id, "name": "巫山县货运行业工会联合会",
                "kind": "industry_federation", "region_code": "500237",
                "occupations": ["truck_driver"]}),
    )
    .await;
    assert_eq!(industry.status, 201, "{}", industry.text);
    assert_eq!(industry.body["occupations"], json!(["truck_driver"]));
    assert_eq!(
        industry.body["review_hours"],
        json!({"opens": "09:00", "cutoff": "16:00", "closes": "18:00"})
    );

    let enterprise = create(
        &app,
        &county,
        &json!({"parent_id": gaotang, "name": "巫山某物流公司工会", "kind": "enterprise",
                "region_code": "500237001", "credit_code": NEW_CREDIT_CODE}),
    )
    .await;
    assert_eq!(enterprise.status, 201, "{}", enterprise.text);
    assert_eq!(enterprise.body["credit_code"], NEW_CREDIT_CODE);

    let federation = create(
        &app,
        &county,
        &json!({"parent_id": county_id, "name": "巫山县新城街道总工会", "kind": "federation",
                "region_code": "500237002"}),
    )
    .await;
    assert_eq!(federation.status, 201, "{}", federation.text);

    // A pool: one per county, under the county's federation — here a new county of 重庆市,
    // created by a manager of the province.
    let province = manager_at(&app, "chongqing-manager", "重庆市总工会").await;
    let root = union_id(&app, "重庆市总工会");
    let wuxi = create(
        &app,
        &province,
        &json!({"parent_id": root, "name": "巫溪县总工会", "kind": "federation",
                "region_code": "500238"}),
    )
    .await;
    assert_eq!(wuxi.status, 201, "{}", wuxi.text);
    let wuxi_id = wuxi.body["id"].as_i64().unwrap();
    let pool = json!({"parent_id": wuxi_id, "name": "巫溪县临时库", "kind": "pool",
                      "region_code": "500238"});
    let created = create(&app, &province, &pool).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["kind"], "pool");
    let mut another = pool.clone();
    another["name"] = json!("巫溪县临时库二");
    let second = create(&app, &province, &another).await;
    assert_refused(&second, 409, "pool_exists", None);

    // Read back: one union, its children, and the audit rows of each creation.
    let shown = get(&app, &county, &format!("/v1/admin/unions/{id}")).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    assert_eq!(shown.body, joint.body);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE object_kind = 'union' AND object_id = '{id}' \
                 AND action = 'create' AND actor_kind = 'admin' AND reason LIKE '%500237001005、500237001006%'"
            )
        ),
        1
    );
    assert_eq!(union_audit_rows(&app), 6);
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM union_coverage WHERE union_id = {id}")
        ),
        2
    );
}

#[tokio::test]
async fn bad_unions_are_refused_with_their_field_and_nothing_is_written() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let county = app.admin_token("wushan-manager").await;
    let county_id = union_id(&app, "巫山县总工会");
    let gaotang = union_id(&app, "高唐街道总工会");
    let before = (unions(&app), union_audit_rows(&app));
    let joint = |extra: Value| {
        let mut body = json!({"parent_id": gaotang, "name": "高唐片区联合工会", "kind": "joint",
                              "region_code": "500237001"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        // a federation of a village, of an unknown region
        (
            json!({"parent_id": county_id, "name": "净坛社区总工会", "kind": "federation",
                   "region_code": "500237001009"}),
            400,
            "federation_region_level",
            Some("region_code"),
        ),
        (
            json!({"parent_id": county_id, "name": "某乡总工会", "kind": "federation",
                   "region_code": "500237999"}),
            400,
            "unknown_region",
            Some("region_code"),
        ),
        (
            json!({"parent_id": county_id, "name": "某县总工会", "kind": "federation",
                   "region_code": "5002x7"}),
            400,
            "region_invalid_character",
            Some("region_code"),
        ),
        // coverage outside the parent's region, or not a township or village
        (
            joint(json!({"coverage": ["500237001009", "500237002001"]})),
            400,
            "coverage_outside_parent",
            Some("coverage"),
        ),
        (
            joint(json!({"region_code": "500237002"})),
            400,
            "coverage_outside_parent",
            Some("region_code"),
        ),
        (
            joint(json!({"coverage": ["500237"]})),
            400,
            "coverage_region_level",
            Some("coverage"),
        ),
        (
            joint(json!({"coverage": ["500237001999"]})),
            400,
            "unknown_region",
            Some("coverage"),
        ),
        // credit codes: a wrong check character, one already registered, one missing
        (
            json!({"parent_id": gaotang, "name": "某公司工会", "kind": "enterprise",
                   "region_code": "500237001", "credit_code": BAD_CHECK_CREDIT_CODE}),
            400,
            "credit_code_bad_check_character",
            Some("credit_code"),
        ),
        (
            json!({"parent_id": gaotang, "name": "某公司工会", "kind": "enterprise",
                   "region_code": "500237001",
                   "credit_code": zhijian_devtools::demo::ENTERPRISE_CREDIT_CODE}),
            409,
            "credit_code_taken",
            Some("credit_code"),
        ),
        (
            json!({"parent_id": gaotang, "name": "某公司工会", "kind": "enterprise",
                   "region_code": "500237001"}),
            400,
            "credit_code_required",
            Some("credit_code"),
        ),
        (
            joint(json!({"credit_code": NEW_CREDIT_CODE})),
            400,
            "field_not_applicable",
            Some("credit_code"),
        ),
        (
            json!({"parent_id": county_id, "name": "某行业工会联合会",
                   "kind": "industry_federation", "region_code": "500237"}),
            400,
            "occupations_required",
            Some("occupations"),
        ),
        // review hours that end before they start, or are not HH:MM
        (
            joint(
                json!({"review_hours": {"opens": "18:00", "cutoff": "16:00", "closes": "09:00"}}),
            ),
            400,
            "review_hours_end_before_start",
            Some("review_hours"),
        ),
        (
            joint(json!({"review_hours": {"opens": "9:00", "cutoff": "16:00", "closes": "18:00"}})),
            400,
            "invalid_review_time",
            Some("review_hours"),
        ),
        // a name, a parent that is no federation, a pool the county already has
        (
            joint(json!({"name": "会"})),
            400,
            "invalid_union_name",
            Some("name"),
        ),
        (
            joint(json!({"parent_id": union_id(&app, "高唐街道联合工会")})),
            400,
            "parent_not_federation",
            Some("parent_id"),
        ),
        (
            json!({"parent_id": county_id, "name": "巫山县临时库二", "kind": "pool",
                   "region_code": "500237"}),
            409,
            "pool_exists",
            None,
        ),
        (joint(json!({"parent_id": 999_999})), 404, "not_found", None),
    ];
    for (body, status, code, field) in cases {
        let response = create(&app, &county, &body).await;
        assert_refused(&response, status, code, field);
    }
    assert_eq!((unions(&app), union_audit_rows(&app)), before);
    assert_eq!(count(&app, "SELECT count(*) FROM union_coverage"), 0);
}

#[tokio::test]
async fn only_managers_write_and_only_inside_their_subtree() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let county_id = union_id(&app, "巫山县总工会");
    let gaotang = union_id(&app, "高唐街道总工会");
    let jingtan = union_id(&app, "净坛社区联合工会");
    let before = (unions(&app), union_audit_rows(&app));
    let body = json!({"parent_id": gaotang, "name": "高唐片区联合工会", "kind": "joint",
                      "region_code": "500237001"});
    for reviewer_or_viewer in ["wushan-viewer", "gaotang-reviewer"] {
        let token = app.admin_token(reviewer_or_viewer).await;
        assert_refused(&create(&app, &token, &body).await, 403, "forbidden", None);
        let refused = edit(
            &app,
            &token,
            jingtan,
            &json!({"version": 1, "accepting": false}),
        )
        .await;
        assert_refused(&refused, 403, "forbidden", None);
        // Reading is for every role, inside the subtree.
        let shown = get(&app, &token, &format!("/v1/admin/unions/{jingtan}")).await;
        assert_eq!(shown.status, 200, "{}", shown.text);
    }

    // A township's manager: the county and its other townships do not exist for them.
    let township = manager_at(&app, "gaotang-manager", "高唐街道总工会").await;
    let under_county = json!({"parent_id": county_id, "name": "巫山县某联合工会",
                              "kind": "joint", "region_code": "500237002"});
    assert_refused(
        &create(&app, &township, &under_county).await,
        404,
        "not_found",
        None,
    );
    let other = union_id(&app, "龙门街道联合工会");
    for path in [
        format!("/v1/admin/unions/{county_id}"),
        format!("/v1/admin/unions/{other}"),
        format!("/v1/admin/unions?parent_id={county_id}"),
    ] {
        assert_refused(&get(&app, &township, &path).await, 404, "not_found", None);
    }
    let refused = edit(
        &app,
        &township,
        other,
        &json!({"version": 1, "name": "改名"}),
    )
    .await;
    assert_refused(&refused, 404, "not_found", None);
    assert_eq!((unions(&app), union_audit_rows(&app)), before);
    assert_eq!(
        count(&app, "SELECT count(*) FROM unions WHERE version > 1"),
        0
    );

    // Inside it, the same manager creates.
    let created = create(&app, &township, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
}

#[tokio::test]
async fn a_create_retried_with_its_idempotency_key_happens_once() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let county = app.admin_token("wushan-manager").await;
    let gaotang = union_id(&app, "高唐街道总工会");
    let body = json!({"parent_id": gaotang, "name": "高唐片区联合工会", "kind": "joint",
                      "region_code": "500237001", "coverage": ["500237001005"]});
    let send = |body: Value| {
        let request = app
            .request(Method::POST, "/v1/admin/unions")
            .bearer_auth(&county)
            .header("Idempotency-Key", "union-create-1")
            .json(&body);
        app.send(request)
    };
    let first = send(body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = send(body.clone()).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.body, first.body);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM unions WHERE name = '高唐片区联合工会'"
        ),
        1
    );
    assert_eq!(union_audit_rows(&app), 1);
    let mut other = body.clone();
    other["name"] = json!("另一个联合工会");
    let reused = send(other).await;
    assert_refused(
        &reused,
        422,
        "idempotency_key_reused",
        Some("Idempotency-Key"),
    );
    assert_eq!(union_audit_rows(&app), 1);
}

#[tokio::test]
async fn a_new_joint_union_receives_the_next_matching_application_at_once() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let county = app.admin_token("wushan-manager").await;
    let gaotang = union_id(&app, "高唐街道总工会");
    // Before: 松峦社区 falls to its township's joint union.
    let before = submit(&app, "before", &cleaner_in(301, "500237001005")).await;
    assert_eq!(before["union"]["name"], "高唐街道联合工会");

    let created = create(
        &app,
        &county,
        &json!({"parent_id": gaotang, "name": "松峦集仙片区联合工会", "kind": "joint",
                "region_code": "500237001", "coverage": ["500237001005", "500237001006"]}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    for (n, village) in [(302, "500237001005"), (303, "500237001006")] {
        let routed = submit(&app, &format!("after-{n}"), &cleaner_in(n, village)).await;
        assert_eq!(routed["union"]["id"], id, "{routed}");
        assert_eq!(
            routed["routing"]["explanation"],
            "按规则3（属地联合工会）分派至 松峦集仙片区联合工会（500237001）"
        );
    }
    // Its own township outside the listed villages still goes to the township's union.
    let elsewhere = submit(&app, "elsewhere", &cleaner_in(304, "500237001007")).await;
    assert_eq!(elsewhere["union"]["name"], "高唐街道联合工会");
}

#[tokio::test]
async fn a_union_that_stops_taking_applications_is_passed_by_and_the_explanation_says_so() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let county = app.admin_token("wushan-manager").await;
    let jingtan = union_id(&app, "净坛社区联合工会");
    let paused = edit(
        &app,
        &county,
        jingtan,
        &json!({"version": 1, "accepting": false}),
    )
    .await;
    assert_eq!(paused.status, 200, "{}", paused.text);
    assert_eq!(paused.body["accepting"], false);
    assert_eq!(paused.body["version"], 2);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE object_kind = 'union' AND object_id = '{jingtan}' \
                 AND action = 'edit' AND reason = '受理状态：受理中 → 暂停受理'"
            )
        ),
        1
    );

    let routed = submit(&app, "paused", &cleaner_in(311, "500237001009")).await;
    assert_eq!(routed["union"]["name"], "高唐街道联合工会");
    assert_eq!(
        routed["routing"]["explanation"],
        "按规则3（属地联合工会）分派至 高唐街道联合工会（500237001）；净坛社区联合工会暂停受理，已跳过"
    );

    // Resumed: it takes the next one again.
    let resumed = edit(
        &app,
        &county,
        jingtan,
        &json!({"version": 2, "accepting": true}),
    )
    .await;
    assert_eq!(resumed.status, 200, "{}", resumed.text);
    let routed = submit(&app, "resumed", &cleaner_in(312, "500237001009")).await;
    assert_eq!(routed["union"]["id"], jingtan);
}

#[tokio::test]
async fn edits_are_conditional_on_the_version_and_audited_before_and_after() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let county = app.admin_token("wushan-manager").await;
    let jingtan = union_id(&app, "净坛社区联合工会");
    let courier = union_id(&app, "巫山县快递行业工会联合会");

    let renamed = edit(
        &app,
        &county,
        jingtan,
        &json!({"version": 1, "name": "净坛社区片区联合工会", "coverage": ["500237001009", "500237001010"]}),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "净坛社区片区联合工会");
    assert_eq!(renamed.body["coverage"].as_array().unwrap().len(), 2);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE object_id = '{jingtan}' AND action = 'edit' \
                 AND reason = '名称：净坛社区联合工会 → 净坛社区片区联合工会；覆盖地区：本地区 500237001009 → 500237001009、500237001010'"
            )
        ),
        1
    );

    // The version the manager saw is gone: 409, nothing changes.
    let before = union_audit_rows(&app);
    let stale = edit(
        &app,
        &county,
        jingtan,
        &json!({"version": 1, "name": "又一个名字"}),
    )
    .await;
    assert_refused(&stale, 409, "stale_version", None);
    for (id, body, status, code, field) in [
        (
            jingtan,
            json!({"version": 2, "review_hours": {"opens": "18:00", "cutoff": "16:00", "closes": "09:00"}}),
            400,
            "review_hours_end_before_start",
            "review_hours",
        ),
        (
            jingtan,
            json!({"version": 2, "coverage": ["500237002001"]}),
            400,
            "coverage_outside_parent",
            "coverage",
        ),
        (
            courier,
            json!({"version": 1, "coverage": ["500237001009"]}),
            400,
            "field_not_applicable",
            "coverage",
        ),
        (
            courier,
            json!({"version": 1, "occupations": []}),
            400,
            "occupations_required",
            "occupations",
        ),
    ] {
        let refused = edit(&app, &county, id, &body).await;
        assert_refused(&refused, status, code, Some(field));
    }
    assert_eq!(union_audit_rows(&app), before);
    let shown = get(&app, &county, &format!("/v1/admin/unions/{jingtan}")).await;
    assert_eq!(shown.body["name"], "净坛社区片区联合工会");
    assert_eq!(shown.body["version"], 2);
}

#[tokio::test]
async fn new_review_hours_apply_to_the_next_application_and_given_deadlines_never_move() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let county = app.admin_token("wushan-manager").await;
    let jingtan = union_id(&app, "净坛社区联合工会");
    let local_due = |id: &str| {
        count(
            &app,
            &format!(
                "SELECT to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'HH24MI')::bigint \
                 FROM applications WHERE id = '{id}'"
            ),
        )
    };
    let first = submit(&app, "first", &cleaner_in(321, "500237001009")).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    let first_due = count(
        &app,
        &format!(
            "SELECT extract(epoch FROM due_at)::bigint FROM applications WHERE id = '{first_id}'"
        ),
    );
    assert_eq!(local_due(&first_id), 1800);

    let hours = json!({"version": 1,
                       "review_hours": {"opens": "08:00", "cutoff": "23:59", "closes": "23:59"}});
    let changed = edit(&app, &county, jingtan, &hours).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(
        changed.body["review_hours"],
        json!({"opens": "08:00", "cutoff": "23:59", "closes": "23:59"})
    );

    let second = submit(&app, "second", &cleaner_in(322, "500237001009")).await;
    assert_eq!(local_due(second["id"].as_str().unwrap()), 2359);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT extract(epoch FROM due_at)::bigint FROM applications WHERE id = '{first_id}'"
            ),
        ),
        first_due,
        "a deadline already given never moves"
    );
}

#[tokio::test]
async fn admins_list_children_and_search_their_subtree_by_name_and_region() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let county = app.admin_token("wushan-manager").await;
    let names = |response: &TestResponse| -> Vec<String> {
        assert_eq!(response.status, 200, "{}", response.text);
        response.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap().to_owned())
            .collect()
    };

    // Without filters: the children of the admin's own union, by id, page by page.
    let first = get(&app, &county, "/v1/admin/unions?limit=4").await;
    assert_eq!(
        names(&first),
        [
            "巫山县临时库",
            "巫山县快递行业工会联合会",
            "巫山县外卖配送行业工会联合会",
            "巫山县网约车行业工会联合会"
        ]
    );
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let next = get(
        &app,
        &county,
        &format!("/v1/admin/unions?limit=4&cursor={cursor}"),
    )
    .await;
    assert_eq!(names(&next)[0], "高唐街道总工会");
    let all = count(
        &app,
        "SELECT count(*) FROM unions WHERE parent_id = (SELECT id FROM unions WHERE name = '巫山县总工会')",
    );
    let everything = get(&app, &county, "/v1/admin/unions?limit=100").await;
    assert_eq!(names(&everything).len() as i64, all);
    assert!(everything.body.get("next_cursor").is_none());

    // A Chinese substring (three characters or more), a two-character prefix.
    let found = get(&app, &county, "/v1/admin/unions?q=快递行业").await;
    assert_eq!(names(&found), ["巫山县快递行业工会联合会"]);
    let found = get(&app, &county, "/v1/admin/unions?q=净坛").await;
    assert_eq!(names(&found), ["净坛社区联合工会"]);
    let found = get(&app, &county, "/v1/admin/unions?q=社区联合工会&limit=100").await;
    assert_eq!(names(&found).len(), 3, "净坛、神女、骡坪场镇社区");
    let refused = get(&app, &county, "/v1/admin/unions?q=巫").await;
    assert_refused(&refused, 400, "invalid_query_parameter", Some("q"));

    // By region: the unions of 高唐街道 and below, and a union covering one of its villages.
    let gaotang = union_id(&app, "高唐街道总工会");
    let created = create(
        &app,
        &county,
        &json!({"parent_id": union_id(&app, "巫山县总工会"), "name": "巫山县城区片区联合工会",
                "kind": "joint", "region_code": "500237002", "coverage": ["500237001010"]}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let in_region = get(&app, &county, "/v1/admin/unions?region=500237001").await;
    let mut listed = names(&in_region);
    listed.sort();
    let mut expected = vec![
        "高唐街道总工会",
        "高唐街道联合工会",
        "净坛社区联合工会",
        "神女社区联合工会",
        zhijian_devtools::demo::ENTERPRISE_NAME,
        "巫山县城区片区联合工会",
    ];
    expected.sort();
    assert_eq!(listed, expected);
    // Filters combine: the children of 高唐街道总工会 named …社区联合工会.
    let combined = get(
        &app,
        &county,
        &format!("/v1/admin/unions?parent_id={gaotang}&q=社区联合工会"),
    )
    .await;
    assert_eq!(names(&combined).len(), 2);

    // A township's reviewer sees only its subtree.
    let reviewer = app.admin_token("gaotang-reviewer").await;
    let theirs = get(&app, &reviewer, "/v1/admin/unions?q=联合工会&limit=100").await;
    assert_eq!(names(&theirs).len(), 3, "{}", theirs.text);
}

/// The plan of a name search (the statement `store::union_admin::list` sends) over a few
/// thousand unions.
fn search_plan(app: &TestApp, pattern: &str) -> String {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let root = union_id(app, "重庆市总工会");
    let mut conn = app.db.connect();
    diesel::sql_query(format!(
        "EXPLAIN SELECT id, name FROM unions WHERE path >= '/{root}/' AND path < '/{root}0' \
         AND name LIKE '{pattern}' ORDER BY id LIMIT 21"
    ))
    .load::<Line>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|l| l.line)
    .collect::<Vec<_>>()
    .join("\n")
}

#[tokio::test]
async fn a_name_search_over_thousands_of_unions_is_an_index_lookup() {
    let app = spawn_app().await;
    app.seed_demo().await;
    {
        use diesel::RunQueryDsl;
        let mut conn = app.db.connect();
        diesel::sql_query(
            "WITH root AS (SELECT id, path FROM unions WHERE parent_id IS NULL), \
                  picked AS (SELECT nextval('unions_id_seq') AS id, r.code, r.name \
                             FROM (SELECT code, name FROM regions WHERE level = 4 \
                                   AND code NOT LIKE '500237%' ORDER BY code LIMIT 3000) r) \
             INSERT INTO unions (id, name, kind, parent_id, region_code, path) \
             SELECT p.id, p.name || '联合工会', 'joint', root.id, p.code, root.path || p.id || '/' \
             FROM picked p, root",
        )
        .execute(&mut conn)
        .unwrap();
        diesel::sql_query("ANALYZE unions")
            .execute(&mut conn)
            .unwrap();
    }
    assert!(unions(&app) > 3000);
    for pattern in ["%快递行业%", "巫山%"] {
        let plan = search_plan(&app, pattern);
        assert!(plan.contains("unions_name_trgm_idx"), "{pattern}: {plan}");
    }
    let manager = app.admin_token("wushan-manager").await;
    let found = get(&app, &manager, "/v1/admin/unions?q=快递行业").await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(found.body["items"][0]["name"], "巫山县快递行业工会联合会");
}
