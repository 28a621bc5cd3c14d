//! Closing a union into its successor and moving a union under another parent, over HTTP:
//! what moves, what is audited, what is refused (and that nothing is written then), and what
//! the subtree listings of the admins above show after a move — done in one batch, in many,
//! or resumed after an interruption.
//!
//! The second county and the admins above the demo county are made through the store until the
//! union and admin endpoints exist; an admin is disabled with SQL for the same reason.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};
use zhijian_domain::admin::{AdminRole, UnionPath};
use zhijian_domain::ids::UnionId;
use zhijian_domain::region::RegionCode;
use zhijian_domain::routing::UnionKind;
use zhijian_infra::store::admins::{NewAdmin, create_admin};
use zhijian_infra::store::applications::AdminActor;
use zhijian_infra::store::unions::{NewUnion, create_union};
use zhijian_infra::usecases::unions::moving::{self, MoveUnion};
use zhijian_integration_tests::fixtures::{
    DEMO_PASSWORD, application_form, approved_member, count, person,
};
use zhijian_integration_tests::{TestApp, TestResponse, spawn_app, spawn_app_with};

/// The demo tree, a second county under the same root, and managers at the root and there.
struct Federation {
    root: i64,
    county: i64,
    other_county: i64,
    courier: i64,
    gaotang: i64,
    jingtan: i64,
    root_manager_id: uuid::Uuid,
}

fn id_of(app: &TestApp, sql: &str) -> i64 {
    count(app, sql)
}

async fn federation(app: &TestApp) -> Federation {
    app.seed_demo().await;
    let mut conn = app.db.connect();
    let root = id_of(app, "SELECT id FROM unions WHERE parent_id IS NULL");
    let county = id_of(app, "SELECT id FROM unions WHERE name = '巫山县总工会'");
    let code: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
        "(SELECT code FROM regions WHERE code LIKE '50%' AND length(code) = 6 \
          AND code <> '500237' AND level = 3 ORDER BY code LIMIT 1)",
    ))
    .get_result(&mut conn)
    .unwrap();
    let other = create_union(
        &mut conn,
        &NewUnion {
            name: "另一县总工会".into(),
            kind: UnionKind::Federation,
            parent: Some(UnionId::new(root)),
            region: RegionCode::parse(&code).unwrap(),
            credit_code: None,
            occupations: vec![],
            priority: 0,
            review_hours: zhijian_domain::deadline::ReviewHours::DEFAULT,
            coverage: vec![],
        },
    )
    .unwrap();
    let admin = |conn: &mut PgConnection, username: &str, union: i64| {
        create_admin(
            conn,
            NewAdmin {
                username,
                display_name: username,
                password: DEMO_PASSWORD,
                role: AdminRole::Manager,
                union_id: UnionId::new(union),
            },
        )
        .unwrap()
    };
    let root_manager = admin(&mut conn, "root-manager", root);
    admin(&mut conn, "other-manager", other.id);
    Federation {
        root,
        county,
        other_county: other.id,
        courier: id_of(
            app,
            "SELECT id FROM unions WHERE name = '巫山县快递行业工会联合会'",
        ),
        gaotang: id_of(app, "SELECT id FROM unions WHERE name = '高唐街道总工会'"),
        jingtan: id_of(app, "SELECT id FROM unions WHERE name = '净坛社区联合工会'"),
        root_manager_id: root_manager.as_uuid(),
    }
}

fn exec(app: &TestApp, sql: &str) {
    let mut conn = app.db.connect();
    diesel::sql_query(sql).execute(&mut conn).unwrap();
}

fn version(app: &TestApp, union: i64) -> i64 {
    count(
        app,
        &format!("SELECT version::bigint FROM unions WHERE id = {union}"),
    )
}

async fn close(app: &TestApp, token: &str, union: i64, body: Value) -> TestResponse {
    let path = format!("/v1/admin/unions/{union}/close");
    app.call(Method::POST, &path, token, Some(&body)).await
}

async fn move_to(app: &TestApp, token: &str, union: i64, parent: i64) -> TestResponse {
    let path = format!("/v1/admin/unions/{union}/move");
    let body = json!({ "version": version(app, union), "parent_id": parent });
    app.call(Method::POST, &path, token, Some(&body)).await
}

/// A courier's application, pending at the courier federation; its id.
async fn pending_application(app: &TestApp, user: &str, n: u16) -> String {
    let worker = app.worker_token(user).await;
    let form = application_form(&person(n), "13812341234");
    let submitted = app
        .call(Method::POST, "/v1/applications", &worker, Some(&form))
        .await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    submitted.body["id"].as_str().unwrap().to_owned()
}

/// Everything the tables say about the tree and its rows that a close or move may change.
fn snapshot(app: &TestApp) -> [i64; 6] {
    [
        count(app, "SELECT count(*) FROM audit_log"),
        count(app, "SELECT coalesce(sum(version), 0)::bigint FROM unions"),
        count(
            app,
            "SELECT count(*) FROM unions WHERE closed_at IS NOT NULL",
        ),
        count(
            app,
            "SELECT coalesce(sum(version), 0)::bigint FROM applications",
        ),
        count(app, "SELECT coalesce(sum(version), 0)::bigint FROM members"),
        count(app, "SELECT count(*) FROM affiliations"),
    ]
}

fn assert_refused(response: &TestResponse, status: u16, code: &str) {
    assert_eq!(response.status, status, "{}", response.text);
    assert_eq!(response.body["code"], code, "{}", response.text);
}

/// Every application, member and audit reach row carries its union's anchor, and every path is
/// its parent's plus its id.
fn assert_anchors_exact(app: &TestApp) {
    for sql in [
        "SELECT count(*) FROM applications a JOIN unions u ON u.id = a.union_id WHERE a.anchor_id <> u.anchor_id",
        "SELECT count(*) FROM members a JOIN unions u ON u.id = a.union_id WHERE a.anchor_id <> u.anchor_id",
        "SELECT count(*) FROM audit_reach a JOIN unions u ON u.id = a.union_id WHERE a.anchor_id <> u.anchor_id",
        "SELECT count(*) FROM unions c JOIN unions p ON p.id = c.parent_id WHERE c.path <> p.path || c.id || '/'",
    ] {
        assert_eq!(count(app, sql), 0, "{sql}");
    }
}

async fn ids(app: &TestApp, token: &str, path: &str, key: &str) -> Vec<String> {
    let response = app.call(Method::GET, path, token, None).await;
    assert_eq!(response.status, 200, "{path}: {}", response.text);
    response.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap().to_owned())
        .collect()
}

/// What the admin of `token` lists of the given applications, members and audit objects.
async fn listed(app: &TestApp, token: &str, objects: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    for (path, key) in [
        (
            "/v1/admin/applications?status=pending_review&limit=100",
            "id",
        ),
        ("/v1/admin/members?limit=100", "id"),
        ("/v1/admin/audit?limit=100", "object_id"),
    ] {
        for id in ids(app, token, path, key).await {
            if objects.contains(&id) && !seen.contains(&format!("{path} {id}")) {
                seen.push(format!("{path} {id}"));
            }
        }
    }
    seen.sort();
    seen
}

#[tokio::test]
async fn a_close_moves_open_applications_pooled_ones_and_members_to_the_successor() {
    let app = spawn_app().await;
    let f = federation(&app).await;
    let (_, membership) = approved_member(&app, "close-member", 1).await;
    let member = membership["member_id"].as_str().unwrap().to_owned();
    let pending = pending_application(&app, "close-pending", 2).await;
    let pooled = pending_application(&app, "close-pooled", 3).await;
    // (pooling goes through routing's fallback; here the state is set directly)
    exec(
        &app,
        &format!("UPDATE applications SET status = 'pooled' WHERE id = '{pooled}'"),
    );
    let manager = app.admin_token("wushan-manager").await;

    // the courier reviewer is still bound to it
    let before = snapshot(&app);
    let body = json!({ "version": version(&app, f.courier), "successor_id": f.gaotang });
    assert_refused(
        &close(&app, &manager, f.courier, body.clone()).await,
        409,
        "union_has_admins",
    );
    assert_eq!(snapshot(&app), before);
    exec(
        &app,
        "UPDATE admins SET disabled_at = now() WHERE username = 'courier-reviewer'",
    );

    let closed = close(&app, &manager, f.courier, body).await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    assert_eq!(closed.body["accepting"], false);
    assert_eq!(closed.body["successor_id"], f.gaotang);
    assert!(closed.body["closed_at"].is_string());
    assert_eq!(
        closed.body["moved"],
        json!({ "applications": 2, "members": 1, "transfers": 0 })
    );
    for (table, id) in [
        ("applications", &pending),
        ("applications", &pooled),
        ("members", &member),
    ] {
        assert_eq!(
            count(
                &app,
                &format!("SELECT union_id FROM {table} WHERE id = '{id}'")
            ),
            f.gaotang
        );
    }
    // one audit row per moved object, from → to
    let why = format!("union {} → union {}", f.courier, f.gaotang);
    for id in [&pending, &pooled, &member] {
        assert_eq!(
            count(
                &app,
                &format!(
                    "SELECT count(*) FROM audit_log WHERE object_id = '{id}' AND action = 'reorganise' AND reason = '{why}'"
                )
            ),
            1
        );
    }
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE object_kind = 'union' AND object_id = '{}' AND action = 'close'",
                f.courier
            )
        ),
        1
    );
    // the affiliation history shows the reorganisation
    let detail = app
        .call(
            Method::GET,
            &format!("/v1/admin/members/{member}"),
            &manager,
            None,
        )
        .await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let periods = detail.body["affiliations"].as_array().unwrap();
    assert_eq!(periods.len(), 2, "{}", detail.text);
    assert_eq!(periods[0]["union"]["id"], f.courier);
    assert_eq!(periods[0]["end_reason"], "reorganised");
    assert_eq!(periods[1]["union"]["id"], f.gaotang);
    assert_eq!(periods[1]["reason"], "reorganised");
    assert!(periods[1].get("to").is_none());
    // the successor's admins decide now
    let gaotang = app.admin_token("gaotang-reviewer").await;
    assert!(
        ids(
            &app,
            &gaotang,
            "/v1/admin/applications?status=pending_review&limit=100",
            "id"
        )
        .await
        .contains(&pending)
    );
    // routing never sends it anything again
    let next = pending_application(&app, "close-after", 4).await;
    assert_ne!(
        count(
            &app,
            &format!("SELECT union_id FROM applications WHERE id = '{next}'")
        ),
        f.courier
    );
    // closed once
    let again = json!({ "version": version(&app, f.courier), "successor_id": f.gaotang });
    assert_refused(
        &close(&app, &manager, f.courier, again).await,
        409,
        "union_closed",
    );
}

#[tokio::test]
async fn a_close_without_successor_while_members_remain_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    let f = federation(&app).await;
    approved_member(&app, "nosucc", 5).await;
    exec(
        &app,
        "UPDATE admins SET disabled_at = now() WHERE username = 'courier-reviewer'",
    );
    let manager = app.admin_token("wushan-manager").await;
    let before = snapshot(&app);
    let refused = close(
        &app,
        &manager,
        f.courier,
        json!({ "version": version(&app, f.courier) }),
    )
    .await;
    assert_refused(&refused, 409, "successor_required");
    assert_eq!(refused.body["field"], "successor_id");
    assert_eq!(snapshot(&app), before);
}

#[tokio::test]
async fn a_successor_outside_the_subtree_or_inside_the_closed_union_is_refused() {
    let app = spawn_app().await;
    let f = federation(&app).await;
    let manager = app.admin_token("wushan-manager").await;
    let before = snapshot(&app);
    // another county: not in the manager's subtree
    let outside = json!({ "version": version(&app, f.jingtan), "successor_id": f.other_county });
    assert_refused(
        &close(&app, &manager, f.jingtan, outside).await,
        404,
        "not_found",
    );
    // the closed union's own child
    let inside = json!({ "version": version(&app, f.gaotang), "successor_id": f.jingtan });
    let refused = close(&app, &manager, f.gaotang, inside).await;
    assert_refused(&refused, 400, "successor_inside_closed_union");
    let itself = json!({ "version": version(&app, f.gaotang), "successor_id": f.gaotang });
    assert_refused(
        &close(&app, &manager, f.gaotang, itself).await,
        400,
        "successor_inside_closed_union",
    );
    // children still open
    let children = json!({ "version": version(&app, f.gaotang), "successor_id": f.courier });
    assert_refused(
        &close(&app, &manager, f.gaotang, children).await,
        409,
        "union_has_children",
    );
    assert_eq!(snapshot(&app), before);
}

#[tokio::test]
async fn a_root_union_is_neither_closed_nor_moved_and_a_cycle_is_refused() {
    let app = spawn_app().await;
    let f = federation(&app).await;
    let root_manager = app.admin_token("root-manager").await;
    let manager = app.admin_token("wushan-manager").await;
    let before = snapshot(&app);
    let root = json!({ "version": version(&app, f.root) });
    assert_refused(
        &close(&app, &root_manager, f.root, root).await,
        400,
        "union_is_root",
    );
    assert_refused(
        &move_to(&app, &root_manager, f.root, f.county).await,
        400,
        "union_is_root",
    );
    // the county manager does not even see the root
    assert_refused(
        &move_to(&app, &manager, f.root, f.county).await,
        404,
        "not_found",
    );
    // under its own descendant, or itself
    assert_refused(
        &move_to(&app, &manager, f.gaotang, f.jingtan).await,
        400,
        "union_move_cycle",
    );
    assert_refused(
        &move_to(&app, &manager, f.gaotang, f.gaotang).await,
        400,
        "union_move_cycle",
    );
    assert_refused(
        &move_to(&app, &root_manager, f.county, f.jingtan).await,
        400,
        "union_move_cycle",
    );
    // a new parent outside the subtree
    assert_refused(
        &move_to(&app, &manager, f.jingtan, f.other_county).await,
        404,
        "not_found",
    );
    // only federations have unions below them: not an industry federation, not a joint union
    let refused = move_to(&app, &manager, f.gaotang, f.courier).await;
    assert_refused(&refused, 400, "parent_not_federation");
    assert_eq!(refused.body["field"], "parent_id");
    let joint = id_of(
        &app,
        "SELECT id FROM unions WHERE name = '高唐街道联合工会'",
    );
    assert_refused(
        &move_to(&app, &manager, f.jingtan, joint).await,
        400,
        "parent_not_federation",
    );
    assert_eq!(snapshot(&app), before);
}

#[tokio::test]
async fn stale_versions_and_roles_that_may_not_manage_are_refused() {
    let app = spawn_app().await;
    let f = federation(&app).await;
    let manager = app.admin_token("wushan-manager").await;
    let viewer = app.admin_token("wushan-viewer").await;
    let reviewer = app.admin_token("gaotang-reviewer").await;
    let before = snapshot(&app);
    let stale = json!({ "version": version(&app, f.jingtan) + 1, "parent_id": f.county });
    let path = format!("/v1/admin/unions/{}/move", f.jingtan);
    assert_refused(
        &app.call(Method::POST, &path, &manager, Some(&stale)).await,
        409,
        "stale_version",
    );
    let stale = json!({ "version": version(&app, f.jingtan) + 1 });
    assert_refused(
        &close(&app, &manager, f.jingtan, stale).await,
        409,
        "stale_version",
    );
    for token in [viewer, reviewer] {
        assert_refused(
            &move_to(&app, &token, f.jingtan, f.county).await,
            403,
            "forbidden",
        );
        let body = json!({ "version": version(&app, f.jingtan) });
        assert_refused(
            &close(&app, &token, f.jingtan, body).await,
            403,
            "forbidden",
        );
    }
    assert_eq!(snapshot(&app), before);
}

/// The courier federation's applications, members and their audit objects, after two members
/// and one pending application.
async fn courier_rows(app: &TestApp) -> Vec<String> {
    let mut objects = Vec::new();
    for (user, n) in [("move-a", 21), ("move-b", 22)] {
        let (_, membership) = approved_member(app, user, n).await;
        objects.push(membership["member_id"].as_str().unwrap().to_owned());
        objects.push(
            membership["application_id"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_default(),
        );
    }
    objects.push(pending_application(app, "move-c", 23).await);
    objects.retain(|o| !o.is_empty());
    objects
}

/// Moves the courier federation from the demo county to the other one and checks what each
/// county's manager lists.
async fn move_courier_and_check(app: &TestApp, f: &Federation, objects: &[String]) -> Value {
    let county = app.admin_token("wushan-manager").await;
    let other = app.admin_token("other-manager").await;
    let root = app.admin_token("root-manager").await;
    let before_county = listed(app, &county, objects).await;
    assert!(!before_county.is_empty());
    assert!(listed(app, &other, objects).await.is_empty());
    let moved = move_to(app, &root, f.courier, f.other_county).await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(moved.body["parent_id"], f.other_county);
    assert_eq!(moved.body["move"]["status"], "done");
    assert_anchors_exact(app);
    let path = count(
        app,
        &format!(
            "SELECT count(*) FROM unions WHERE id = {} AND path = (SELECT path FROM unions WHERE id = {}) || id || '/'",
            f.courier, f.other_county
        ),
    );
    assert_eq!(path, 1);
    // the old county sees none of it, the new county exactly what the old one saw (plus the
    // move's own audit row, about the union), the root everything
    assert!(listed(app, &county, objects).await.is_empty());
    assert_eq!(listed(app, &other, objects).await, before_county);
    assert_eq!(listed(app, &root, objects).await, before_county);
    let audit = ids(
        app,
        &other,
        "/v1/admin/audit?object_kind=union&limit=100",
        "object_id",
    )
    .await;
    assert!(audit.contains(&f.courier.to_string()));
    let audit = ids(
        app,
        &county,
        "/v1/admin/audit?object_kind=union&limit=100",
        "object_id",
    )
    .await;
    assert!(!audit.contains(&f.courier.to_string()));
    moved.body
}

#[tokio::test]
async fn after_a_move_each_county_lists_exactly_its_rows() {
    let app = spawn_app().await;
    let f = federation(&app).await;
    let objects = courier_rows(&app).await;
    let body = move_courier_and_check(&app, &f, &objects).await;
    assert!(body["move"]["rows_moved"].as_i64().unwrap() > 0);
    // moving under the current parent changes nothing
    let root = app.admin_token("root-manager").await;
    let again = move_to(&app, &root, f.courier, f.other_county).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert!(again.body.get("move").is_none());
    assert_eq!(again.body["version"], body["version"]);
}

#[tokio::test]
async fn a_move_in_many_batches_gives_the_same_result_as_in_one() {
    let app = spawn_app_with(|s| s.jobs.union_move_batch_size = 1).await;
    let f = federation(&app).await;
    let objects = courier_rows(&app).await;
    let body = move_courier_and_check(&app, &f, &objects).await;
    let rows = body["move"]["rows_moved"].as_i64().unwrap();
    assert!(rows > 1);
    assert_eq!(body["move"]["batches"].as_i64().unwrap(), rows);
}

#[tokio::test]
async fn an_interrupted_move_lists_each_row_once_and_resumes_at_start_up() {
    let app = spawn_app_with(|s| {
        s.jobs.union_move_batch_size = 1;
        s.jobs.union_move_resume_interval_ms = 86_400_000;
    })
    .await;
    let f = federation(&app).await;
    let objects = courier_rows(&app).await;
    let county = app.admin_token("wushan-manager").await;
    let other = app.admin_token("other-manager").await;
    let everything = listed(&app, &county, &objects).await;
    // the first transaction and one batch, then the server "dies"
    let mut conn = app.db.connect();
    let actor = AdminActor {
        admin_id: f.root_manager_id,
        role: "manager",
        union_path: UnionPath::parse(&format!("/{}/", f.root)).unwrap(),
    };
    let input = MoveUnion {
        union: f.courier,
        version: i32::try_from(version(&app, f.courier)).unwrap(),
        parent: f.other_county,
        batch_size: 1,
    };
    let started = moving::start_move(&mut conn, &actor, input, chrono::Utc::now()).unwrap();
    let mut record = started.record.unwrap();
    assert_eq!(record.status, "running");
    // the list of rows, then batches of one row: the applications, the members and part of the
    // audit reach
    let some = count(
        &app,
        &format!(
            "SELECT count(*) + (SELECT count(*) FROM members WHERE union_id = {0}) + 1 \
             FROM applications WHERE union_id = {0}",
            f.courier
        ),
    );
    for _ in 0..=some {
        record = moving::run_batch(&mut conn, &record, chrono::Utc::now()).unwrap();
    }
    assert_eq!(record.status, "running");
    // meanwhile every row is listed by exactly one of the two counties
    let mut split = listed(&app, &county, &objects).await;
    assert!(!split.is_empty());
    let new_side = listed(&app, &other, &objects).await;
    assert!(!new_side.is_empty());
    split.extend(new_side);
    split.sort();
    assert_eq!(split, everything);
    // another move waits for this one
    let root = app.admin_token("root-manager").await;
    assert_refused(
        &move_to(&app, &root, f.jingtan, f.county).await,
        409,
        "union_move_in_progress",
    );
    // a server starting on the database finishes it
    let second = zhijian_api::startup::Application::build_with_clock(
        app.settings.clone(),
        Duration::from_secs(10),
        Arc::new(zhijian_infra::usecases::SystemClock),
    )
    .await
    .unwrap();
    tokio::spawn(second.run_until_stopped());
    let mut done = false;
    for _ in 0..100 {
        if count(
            &app,
            &format!(
                "SELECT count(*) FROM union_moves WHERE id = {} AND status = 'done'",
                record.id
            ),
        ) == 1
        {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "the move was resumed");
    assert_anchors_exact(&app);
    assert!(listed(&app, &county, &objects).await.is_empty());
    assert_eq!(listed(&app, &other, &objects).await, everything);
}
