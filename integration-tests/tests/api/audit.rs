//! The audit trail: append-only in the database, and readable over HTTP by managers and
//! viewers within their subtree, newest first.

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};
use zhijian_domain::admin::AdminRole;
use zhijian_infra::store::admins::{NewAdmin, create_admin};
use zhijian_integration_tests::fixtures::DEMO_PASSWORD;
use zhijian_integration_tests::{TestApp, spawn_app};

use crate::notifications::submit;

fn audit_rows(conn: &mut PgConnection) -> i64 {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM audit_log)",
    ))
    .get_result(conn)
    .unwrap()
}

#[tokio::test]
async fn the_audit_trail_cannot_be_changed_or_deleted() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let mut conn = app.db.connect();
    let before = audit_rows(&mut conn);
    assert!(before > 0, "seeding the demo admins is audited");
    for statement in [
        "UPDATE audit_log SET reason = 'tampered'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
        "TRUNCATE audit_log",
    ] {
        let error = diesel::sql_query(statement).execute(&mut conn).unwrap_err();
        assert!(
            error.to_string().contains("append-only"),
            "{statement}: {error}"
        );
    }
    assert_eq!(audit_rows(&mut conn), before);
    let tampered: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM audit_log WHERE reason = 'tampered')",
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(tampered, 0);
}

async fn audit(app: &TestApp, token: &str, query: &str) -> zhijian_integration_tests::TestResponse {
    app.call(Method::GET, &format!("/v1/admin/audit{query}"), token, None)
        .await
}

fn actions(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn managers_and_viewers_read_the_trail_of_their_subtree_newest_first() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let worker = app.worker_token("audited").await;
    let id = submit(&app, &worker, 121, "13812340121").await;
    let reviewer = app.admin_token("courier-reviewer").await;
    let detail = app
        .call(
            Method::GET,
            &format!("/v1/admin/applications/{id}"),
            &reviewer,
            None,
        )
        .await;
    assert_eq!(detail.status, 200);
    let approve = app
        .send(
            app.request(
                Method::POST,
                &format!("/v1/admin/applications/{id}/approve"),
            )
            .bearer_auth(&reviewer)
            .header("X-Request-Id", "audit-approve-1")
            .json(&json!({"version": 1})),
        )
        .await;
    assert_eq!(approve.status, 200, "{}", approve.text);

    let manager = app.admin_token("wushan-manager").await;
    let query = format!("?object_kind=application&object_id={id}");
    let trail = audit(&app, &manager, &query).await;
    assert_eq!(trail.status, 200, "{}", trail.text);
    assert_eq!(
        actions(&trail.body),
        ["approve", "view_personal_data", "submit"]
    );
    let items = trail.body["items"].as_array().unwrap();
    let approved = &items[0];
    assert_eq!(approved["actor_kind"], "admin");
    assert_eq!(approved["actor_role"], "reviewer");
    assert_eq!(approved["union"]["name"], "巫山县快递行业工会联合会");
    assert_eq!(approved["object_kind"], "application");
    assert_eq!(approved["object_id"], id.as_str());
    assert_eq!(approved["request_id"], "audit-approve-1");
    assert!(approved["at"].is_string() && approved["actor_id"].is_string());
    let submitted = &items[2];
    assert_eq!(submitted["actor_kind"], "applicant");
    assert!(
        submitted.get("union").is_none(),
        "an applicant acts for no union: {submitted}"
    );
    assert!(items[0]["id"].as_i64() > items[1]["id"].as_i64());

    // Viewers read it too; reviewers do not.
    let viewer = app.admin_token("wushan-viewer").await;
    assert_eq!(actions(&audit(&app, &viewer, &query).await.body).len(), 3);
    let refused = audit(&app, &reviewer, &query).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["code"], "forbidden");

    // A viewer of another subtree sees none of it.
    let gaotang = demo.union_named("高唐街道总工会").unwrap();
    let mut conn = app.db.connect();
    tokio::task::spawn_blocking(move || {
        create_admin(
            &mut conn,
            NewAdmin {
                username: "gaotang-viewer",
                display_name: "高唐街道总工会查看员",
                password: DEMO_PASSWORD,
                role: AdminRole::Viewer,
                union_id: gaotang,
            },
        )
        .unwrap()
    })
    .await
    .unwrap();
    let outsider = app.admin_token("gaotang-viewer").await;
    let nothing = audit(&app, &outsider, &query).await;
    assert_eq!(nothing.status, 200);
    assert_eq!(nothing.body["items"], json!([]));
    let own = audit(&app, &outsider, "").await;
    let own_items = own.body["items"].as_array().unwrap();
    assert!(
        own_items
            .iter()
            .all(|item| item["object_id"] != id.as_str())
    );
    assert!(
        own_items.iter().any(|item| item["action"] == "login"),
        "their own sign-in: {own_items:?}"
    );

    // Keyset pages, newest first.
    let first = audit(&app, &manager, &format!("{query}&limit=2")).await;
    assert_eq!(actions(&first.body), ["approve", "view_personal_data"]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = audit(&app, &manager, &format!("{query}&limit=2&cursor={cursor}")).await;
    assert_eq!(actions(&second.body), ["submit"]);
    assert!(second.body.get("next_cursor").is_none());
    for (bad, field) in [
        ("?cursor=nonsense", "cursor"),
        ("?limit=0", "limit"),
        ("?object_kind=a%20b", "object_kind"),
    ] {
        let response = audit(&app, &manager, bad).await;
        assert_eq!(response.status, 400, "{bad}: {}", response.text);
        assert_eq!(response.body["field"], field, "{bad}");
    }
}

/// The server's connections run without JIT compilation: a short index read whose generic plan
/// is estimated high (the audit page at a province) would otherwise spend hundreds of
/// milliseconds compiling.
#[tokio::test]
async fn pooled_connections_run_without_jit() {
    let app = spawn_app().await;
    let pool = zhijian_infra::db::build_pool(&app.settings.database);
    let jit = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
            "current_setting('jit')",
        ))
        .get_result::<String>(&mut conn)
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(jit, "off");
    let mut direct = app.db.connect();
    let default: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
        "current_setting('jit')",
    ))
    .get_result(&mut direct)
    .unwrap();
    assert_eq!(
        default, "on",
        "the database's own default, which the pool overrides"
    );
}
