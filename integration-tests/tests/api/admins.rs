//! Admins run by the federation itself (issue 13, bullets 1 and 3): the first admin from the
//! command line, managers creating and changing admins inside their subtree, the password
//! policy, one-time passwords changed before anything else, and changes that apply at the
//! admin's next request.

use reqwest::Method;
use serde_json::{Value, json};
use zhijian_integration_tests::fixtures::{DEMO_PASSWORD, count};
use zhijian_integration_tests::{TestApp, TestResponse, spawn_app};

async fn login(app: &TestApp, username: &str, password: &str) -> TestResponse {
    app.post_json(
        "/v1/admin/auth/login",
        &json!({ "username": username, "password": password }),
    )
    .await
}

fn token(response: &TestResponse) -> String {
    response.body["access_token"].as_str().unwrap().to_owned()
}

async fn create(app: &TestApp, token: &str, body: &Value) -> TestResponse {
    app.call(Method::POST, "/v1/admin/admins", token, Some(body))
        .await
}

fn new_admin(username: &str, role: &str, union_id: i64) -> Value {
    json!({
        "username": username,
        "display_name": format!("{username} 的名字"),
        "role": role,
        "union_id": union_id,
    })
}

async fn get_admin(app: &TestApp, token: &str, id: &str) -> TestResponse {
    app.call(Method::GET, &format!("/v1/admin/admins/{id}"), token, None)
        .await
}

async fn act(app: &TestApp, token: &str, id: &str, what: &str, version: &Value) -> TestResponse {
    app.call(
        Method::POST,
        &format!("/v1/admin/admins/{id}/{what}"),
        token,
        Some(&json!({ "version": version })),
    )
    .await
}

async fn patch(app: &TestApp, token: &str, id: &str, body: &Value) -> TestResponse {
    app.call(
        Method::PATCH,
        &format!("/v1/admin/admins/{id}"),
        token,
        Some(body),
    )
    .await
}

async fn change_password(app: &TestApp, token: &str, current: &str, new: &str) -> TestResponse {
    app.call(
        Method::POST,
        "/v1/admin/me/password",
        token,
        Some(&json!({ "current_password": current, "new_password": new })),
    )
    .await
}

fn admin_id(app: &TestApp, username: &str) -> String {
    use diesel::prelude::*;
    let mut conn = app.db.connect();
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(&format!(
        "(SELECT id::text FROM admins WHERE username = '{username}')"
    )))
    .get_result(&mut conn)
    .unwrap()
}

fn audit_rows(app: &TestApp) -> i64 {
    count(app, "SELECT count(*) FROM audit_log")
}

/// The `reason` of the newest audit row about admin `id` with `action`, as JSON.
fn audited_change(app: &TestApp, id: &str, action: &str) -> (String, Value) {
    use diesel::prelude::*;
    let mut conn = app.db.connect();
    let (actor, reason): (String, String) = diesel::select((
        diesel::dsl::sql::<diesel::sql_types::Text>(&format!(
            "(SELECT actor_kind || ':' || coalesce(actor_id, '') FROM audit_log \
             WHERE object_kind = 'admin' AND object_id = '{id}' AND action = '{action}' \
             ORDER BY id DESC LIMIT 1)"
        )),
        diesel::dsl::sql::<diesel::sql_types::Text>(&format!(
            "(SELECT reason FROM audit_log WHERE object_kind = 'admin' AND object_id = '{id}' \
             AND action = '{action}' ORDER BY id DESC LIMIT 1)"
        )),
    ))
    .get_result(&mut conn)
    .unwrap();
    (actor, serde_json::from_str(&reason).unwrap())
}

/// A new admin made by `manager`, who changed the one-time password to `password`: its id and
/// a token.
async fn ready_admin(
    app: &TestApp,
    manager: &str,
    username: &str,
    role: &str,
    union_id: i64,
    password: &str,
) -> (String, String) {
    let created = create(app, manager, &new_admin(username, role, union_id)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let otp = created.body["one_time_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let signed_in = login(app, username, &otp).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let token = token(&signed_in);
    let changed = change_password(app, &token, &otp, password).await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    if role == "manager" {
        // the second factor is mandatory for managers: enrol it before anything else
        let started = app
            .send(
                app.request(Method::POST, "/v1/admin/me/second-factor")
                    .bearer_auth(&token),
            )
            .await;
        assert_eq!(started.status, 201, "{}", started.text);
        let code = app.totp_code(started.body["secret"].as_str().unwrap());
        let confirmed = app
            .send(
                app.request(Method::POST, "/v1/admin/me/second-factor/confirm")
                    .bearer_auth(&token)
                    .json(&json!({ "code": code })),
            )
            .await;
        assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    }
    (
        created.body["admin"]["id"].as_str().unwrap().to_owned(),
        token,
    )
}

#[tokio::test]
async fn a_new_admin_holds_a_one_time_password_and_must_change_it_before_anything_else() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let gaotang = demo.union_named("高唐街道总工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;
    let body = new_admin("Gaotang.Reviewer-2", "reviewer", gaotang);

    let request = |key: &str| {
        app.request(Method::POST, "/v1/admin/admins")
            .bearer_auth(&manager)
            .header("Idempotency-Key", key)
            .json(&body)
    };
    let created = app.send(request("create-gaotang-2")).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let admin = &created.body["admin"];
    assert_eq!(admin["username"], "gaotang.reviewer-2");
    assert_eq!(admin["role"], "reviewer");
    assert_eq!(admin["union"]["id"], gaotang);
    assert_eq!(admin["status"], "active");
    assert_eq!(admin["must_change_password"], true);
    assert_eq!(admin["version"], 1);
    let otp = created.body["one_time_password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(otp.len() >= 12);

    // A retry with the key answers the first answer, password included; nothing is added.
    let again = app.send(request("create-gaotang-2")).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, created.body);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM admins WHERE username = 'gaotang.reviewer-2'"
        ),
        1
    );
    // The password never rests in clear.
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM idempotency_keys WHERE response_body::text LIKE '%{otp}%'"
            )
        ),
        0
    );
    let id = admin["id"].as_str().unwrap();
    let (actor, change) = audited_change(&app, id, "create");
    assert!(actor.starts_with("admin:"), "{actor}");
    assert_eq!(change["before"], Value::Null);
    assert_eq!(change["after"]["role"], "reviewer");
    assert_eq!(change["after"]["must_change_password"], true);

    // Signed in with it: only the self routes answer.
    let signed_in = login(&app, "gaotang.reviewer-2", &otp).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(signed_in.body["admin"]["must_change_password"], true);
    let token = token(&signed_in);
    for path in ["/v1/admin/applications", "/v1/admin/transfers?direction=in"] {
        let gated = app.call(Method::GET, path, &token, None).await;
        assert_eq!(gated.status, 403, "{path}");
        assert_eq!(gated.body["code"], "password_change_required", "{path}");
    }
    let me = app.call(Method::GET, "/v1/admin/me", &token, None).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["must_change_password"], true);
    assert_eq!(me.body["union"]["name"], "高唐街道总工会");

    // The policy: 12 characters, not guessable; nothing changes on a refusal.
    let version = count(
        &app,
        &format!("SELECT version::bigint FROM admins WHERE id = '{id}'"),
    );
    for weak in [
        "Short-1",
        "password1234",
        "gaotang.reviewer-2x",
        "qwertyuiop12",
    ] {
        let refused = change_password(&app, &token, &otp, weak).await;
        assert_eq!(refused.status, 400, "{weak}: {}", refused.text);
        assert_eq!(refused.body["code"], "weak_password", "{weak}");
        assert_eq!(refused.body["field"], "new_password");
    }
    let same = change_password(&app, &token, &otp, &otp).await;
    assert_eq!(same.body["code"], "weak_password");
    // A wrong current password is refused and counted toward the lockout.
    let wrong = change_password(&app, &token, "not-the-password", "县总工会-审核-Qx7mLp2wR9").await;
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.body["code"], "wrong_current_password");
    assert_eq!(wrong.body["field"], "current_password");
    assert_eq!(
        count(
            &app,
            &format!("SELECT failed_logins::bigint FROM admins WHERE id = '{id}'")
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT version::bigint FROM admins WHERE id = '{id}'")
        ),
        version
    );

    // Changed: everything answers, the one-time password is spent, other sessions ended.
    let other = token_of(&login(&app, "gaotang.reviewer-2", &otp).await);
    let changed = change_password(&app, &token, &otp, "县总工会-审核-Qx7mLp2wR9").await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    let queue = app
        .call(Method::GET, "/v1/admin/applications", &token, None)
        .await;
    assert_eq!(queue.status, 200, "{}", queue.text);
    let ended = app.call(Method::GET, "/v1/admin/me", &other, None).await;
    assert_eq!(ended.status, 401, "the other session ended");
    let me = app.call(Method::GET, "/v1/admin/me", &token, None).await;
    assert_eq!(me.body["must_change_password"], false);
    assert_eq!(login(&app, "gaotang.reviewer-2", &otp).await.status, 401);
    assert_eq!(
        login(&app, "gaotang.reviewer-2", "县总工会-审核-Qx7mLp2wR9")
            .await
            .status,
        200
    );
    let (actor, change) = audited_change(&app, id, "change_password");
    assert_eq!(actor, format!("admin:{id}"));
    assert_eq!(change["before"]["must_change_password"], true);
    assert_eq!(change["after"]["must_change_password"], false);
}

fn token_of(response: &TestResponse) -> String {
    assert_eq!(response.status, 200, "{}", response.text);
    token(response)
}

#[tokio::test]
async fn only_managers_manage_admins_and_only_inside_their_subtree() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let root = demo.union_named("重庆市总工会").unwrap().get();
    let county = demo.union_named("巫山县总工会").unwrap().get();
    let gaotang = demo.union_named("高唐街道总工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;
    let others = [
        app.admin_token("gaotang-reviewer").await,
        app.admin_token("wushan-viewer").await,
    ];
    let admins_before = count(&app, "SELECT count(*) FROM admins");
    let audit_before = audit_rows(&app);

    // Reviewers and viewers manage nobody.
    for (username, token) in ["gaotang-reviewer", "wushan-viewer"].iter().zip(&others) {
        let refused = create(&app, token, &new_admin("someone", "viewer", gaotang)).await;
        assert_eq!(refused.status, 403, "{username}");
        assert_eq!(refused.body["code"], "forbidden");
        let list = app.call(Method::GET, "/v1/admin/admins", token, None).await;
        assert_eq!(list.status, 403, "{username}");
        let viewer = admin_id(&app, "wushan-viewer");
        let disable = act(&app, token, &viewer, "disable", &json!(1)).await;
        assert_eq!(disable.status, 403, "{username}");
    }
    // A union above the manager's own is outside: 404, as is one that does not exist.
    for union in [root, 999_999] {
        let outside = create(
            &app,
            &manager,
            &new_admin("province-admin", "manager", union),
        )
        .await;
        assert_eq!(outside.status, 404, "{union}: {}", outside.text);
    }
    // Bad inputs name their field.
    let bad = create(&app, &manager, &new_admin("a b", "viewer", gaotang)).await;
    assert_eq!(
        (bad.status, &bad.body["code"]),
        (400, &json!("invalid_username"))
    );
    let bad = create(&app, &manager, &new_admin("abc", "boss", gaotang)).await;
    assert_eq!((bad.status, &bad.body["field"]), (400, &json!("role")));
    let mut blank = new_admin("abc", "viewer", gaotang);
    blank["display_name"] = json!("  ");
    let bad = create(&app, &manager, &blank).await;
    assert_eq!(bad.body["code"], "invalid_display_name");
    // A taken username.
    let taken = create(
        &app,
        &manager,
        &new_admin("Gaotang-Reviewer", "viewer", gaotang),
    )
    .await;
    assert_eq!(taken.status, 409);
    assert_eq!(taken.body["code"], "username_taken");
    assert_eq!(taken.body["field"], "username");
    assert_eq!(count(&app, "SELECT count(*) FROM admins"), admins_before);
    assert_eq!(audit_rows(&app), audit_before, "nothing written on refusal");

    // A township manager reaches their township only: the county and its admins are outside.
    let (_, township) = ready_admin(
        &app,
        &manager,
        "gaotang-manager",
        "manager",
        gaotang,
        "高唐-管理-Vb8#nQ2xLm",
    )
    .await;
    let above = create(
        &app,
        &township,
        &new_admin("county-viewer-2", "viewer", county),
    )
    .await;
    assert_eq!(above.status, 404, "granting above one's union");
    let county_viewer = admin_id(&app, "wushan-viewer");
    assert_eq!(get_admin(&app, &township, &county_viewer).await.status, 404);
    let moved = patch(
        &app,
        &township,
        &county_viewer,
        &json!({"version": 1, "union_id": gaotang}),
    )
    .await;
    assert_eq!(moved.status, 404);
    let reviewer = admin_id(&app, "gaotang-reviewer");
    let away = patch(
        &app,
        &township,
        &reviewer,
        &json!({"version": 1, "union_id": county}),
    )
    .await;
    assert_eq!(away.status, 404, "moving an admin out of one's subtree");
    let promoted = patch(
        &app,
        &township,
        &reviewer,
        &json!({"version": 1, "role": "manager"}),
    )
    .await;
    assert_eq!(
        promoted.status, 200,
        "a manager may grant manager below: {}",
        promoted.text
    );
    assert_eq!(promoted.body["role"], "manager");
    assert_eq!(promoted.body["version"], 2);

    // The lists: the township manager sees their township's admins only.
    let listed = app
        .call(Method::GET, "/v1/admin/admins", &township, None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let names: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    // 高唐街道 and 净坛社区 below it.
    assert_eq!(
        names,
        ["gaotang-manager", "gaotang-reviewer", "jingtan-reviewer"]
    );
    let outside = app
        .call(
            Method::GET,
            &format!("/v1/admin/admins?union_id={county}"),
            &township,
            None,
        )
        .await;
    assert_eq!(outside.status, 404);
    // The county manager pages through everyone, by union then username.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.map_or("?limit=3".to_owned(), |c| format!("?limit=3&cursor={c}"));
        let page = app
            .call(
                Method::GET,
                &format!("/v1/admin/admins{query}"),
                &manager,
                None,
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["username"].as_str().unwrap().to_owned());
        }
        cursor = page.body["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(
        seen.len(),
        9,
        "the demo's eight and the township manager: {seen:?}"
    );
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 9, "no admin twice: {seen:?}");
    let only = app
        .call(
            Method::GET,
            &format!("/v1/admin/admins?union_id={gaotang}"),
            &manager,
            None,
        )
        .await;
    assert_eq!(only.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn nobody_disables_themselves_nor_the_last_active_manager_of_a_union() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let gaotang = demo.union_named("高唐街道总工会").unwrap().get();
    let jingtan = demo.union_named("净坛社区联合工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;
    let own = admin_id(&app, "wushan-manager");

    let me = act(&app, &manager, &own, "disable", &json!(1)).await;
    assert_eq!(me.status, 409);
    assert_eq!(me.body["code"], "cannot_disable_self");
    // The county's only manager cannot demote or move themselves either.
    let demote = patch(
        &app,
        &manager,
        &own,
        &json!({"version": 1, "role": "viewer"}),
    )
    .await;
    assert_eq!(demote.body["code"], "last_active_manager");

    let (first, _) = ready_admin(
        &app,
        &manager,
        "gaotang-manager",
        "manager",
        gaotang,
        "高唐-管理-Vb8#nQ2xLm",
    )
    .await;
    let version = get_admin(&app, &manager, &first).await.body["version"].clone();
    let audit_before = audit_rows(&app);
    for (what, response) in [
        (
            "disable",
            act(&app, &manager, &first, "disable", &version).await,
        ),
        (
            "demote",
            patch(
                &app,
                &manager,
                &first,
                &json!({"version": version, "role": "reviewer"}),
            )
            .await,
        ),
        (
            "move",
            patch(
                &app,
                &manager,
                &first,
                &json!({"version": version, "union_id": jingtan}),
            )
            .await,
        ),
    ] {
        assert_eq!(response.status, 409, "{what}: {}", response.text);
        assert_eq!(response.body["code"], "last_active_manager", "{what}");
    }
    assert_eq!(audit_rows(&app), audit_before, "nothing written on refusal");
    assert_eq!(
        get_admin(&app, &manager, &first).await.body["version"],
        version
    );

    // With a second manager, the first may go.
    ready_admin(
        &app,
        &manager,
        "gaotang-manager-2",
        "manager",
        gaotang,
        "高唐-管理-Zc4$kR7pWq",
    )
    .await;
    let disabled = act(&app, &manager, &first, "disable", &version).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(disabled.body["status"], "disabled");
    // A stale version, and a second disable.
    let stale = act(&app, &manager, &first, "enable", &version).await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["code"], "stale_version");
    let current = disabled.body["version"].clone();
    let again = act(&app, &manager, &first, "disable", &current).await;
    assert_eq!(again.body["code"], "admin_already_disabled");
    let (actor, change) = audited_change(&app, &first, "disable");
    assert_eq!(actor, format!("admin:{own}"));
    assert_eq!(change["before"]["status"], "active");
    assert_eq!(change["after"]["status"], "disabled");
    // Now the second is the last.
    let second = admin_id(&app, "gaotang-manager-2");
    let last = act(&app, &manager, &second, "disable", &json!(2)).await;
    assert_eq!(last.body["code"], "last_active_manager");
}

#[tokio::test]
async fn changes_apply_at_the_admins_next_request() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let jingtan = demo.union_named("净坛社区联合工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;
    let id = admin_id(&app, "gaotang-reviewer");
    let reviewer = app.admin_token("gaotang-reviewer").await;

    // A reviewer does not read the audit trail; as a viewer, the same token does.
    let audit = |token: String| {
        let app = &app;
        async move { app.call(Method::GET, "/v1/admin/audit", &token, None).await }
    };
    assert_eq!(audit(reviewer.clone()).await.status, 403);
    let changed = patch(
        &app,
        &manager,
        &id,
        &json!({"version": 1, "role": "viewer", "display_name": "高唐查看员"}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(
        audit(reviewer.clone()).await.status,
        200,
        "the role applies at once"
    );
    let (_, change) = audited_change(&app, &id, "update");
    assert_eq!(change["before"]["role"], "reviewer");
    assert_eq!(change["after"]["role"], "viewer");
    assert_eq!(change["after"]["display_name"], "高唐查看员");

    // A new union applies at once too.
    let moved = patch(
        &app,
        &manager,
        &id,
        &json!({"version": 2, "union_id": jingtan}),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let me = app.call(Method::GET, "/v1/admin/me", &reviewer, None).await;
    assert_eq!(me.body["union"]["id"], jingtan);
    assert_eq!(me.body["role"], "viewer");

    // Disabled: the token stops at its next request; signing in is answered like a wrong
    // password.
    let disabled = act(&app, &manager, &id, "disable", &json!(3)).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    for path in ["/v1/admin/applications", "/v1/admin/me"] {
        let refused = app.call(Method::GET, path, &reviewer, None).await;
        assert_eq!(refused.status, 401, "{path}");
    }
    let refused = login(&app, "gaotang-reviewer", DEMO_PASSWORD).await;
    let wrong = login(&app, "wushan-viewer", "not-the-password").await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body, wrong.body);

    // Enabled: signing in works again; the old token stays ended.
    let enabled = act(&app, &manager, &id, "enable", &json!(4)).await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    assert_eq!(enabled.body["status"], "active");
    let fresh = token_of(&login(&app, "gaotang-reviewer", DEMO_PASSWORD).await);
    assert_eq!(
        app.call(Method::GET, "/v1/admin/me", &reviewer, None)
            .await
            .status,
        401
    );

    // Locked out by failures, then reset: the one-time password signs in at once, held to the
    // self routes, and the admin's sessions ended.
    for _ in 0..5 {
        login(&app, "gaotang-reviewer", "not-the-password").await;
    }
    assert_eq!(
        login(&app, "gaotang-reviewer", DEMO_PASSWORD).await.status,
        429
    );
    let reset = act(&app, &manager, &id, "reset-password", &json!(5)).await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(reset.body["admin"]["must_change_password"], true);
    assert!(reset.body["admin"].get("locked_until").is_none());
    let otp = reset.body["one_time_password"].as_str().unwrap();
    assert_eq!(
        app.call(Method::GET, "/v1/admin/me", &fresh, None)
            .await
            .status,
        401
    );
    let signed_in = login(&app, "gaotang-reviewer", otp).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(signed_in.body["admin"]["must_change_password"], true);
    let gated = app
        .call(Method::GET, "/v1/admin/audit", &token(&signed_in), None)
        .await;
    assert_eq!(gated.body["code"], "password_change_required");
    assert_eq!(
        login(&app, "gaotang-reviewer", DEMO_PASSWORD).await.status,
        401
    );
}

fn run_cli(app: &TestApp, binary: &std::path::Path, args: &[&str]) -> std::process::Output {
    zhijian_integration_tests::cli::zhijian_command(app, binary)
        .args(["admin", "create"])
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_first_admin_of_a_federation_comes_from_the_command_line() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let county = demo.union_named("巫山县总工会").unwrap().get().to_string();
    let binary = tokio::task::spawn_blocking(zhijian_integration_tests::cli::zhijian_binary)
        .await
        .unwrap();
    let admins_before = count(&app, "SELECT count(*) FROM admins");

    let output = run_cli(
        &app,
        &binary,
        &[
            "--union",
            &county,
            "--role",
            "manager",
            "--username",
            "County-First",
            "--display-name",
            "县总工会管理员",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let otp = stdout
        .lines()
        .find_map(|line| {
            line.split_once("first sign-in): ")
                .map(|(_, p)| p.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no password in {stdout}"));
    let id = admin_id(&app, "county-first");
    let (actor, change) = audited_change(&app, &id, "create");
    assert_eq!(actor, "system:command-line");
    assert_eq!(change["after"]["role"], "manager");

    // The password works once, to be changed first.
    let signed_in = login(&app, "county-first", &otp).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(signed_in.body["admin"]["must_change_password"], true);
    assert_eq!(signed_in.body["admin"]["display_name"], "县总工会管理员");

    // Refusals: an unknown union, a taken username, a malformed one; nothing written.
    for (args, says) in [
        (
            vec![
                "--union",
                "999999",
                "--role",
                "manager",
                "--username",
                "nobody-here",
            ],
            "does not exist",
        ),
        (
            vec![
                "--union",
                county.as_str(),
                "--role",
                "viewer",
                "--username",
                "county-first",
            ],
            "is taken",
        ),
        (
            vec![
                "--union",
                county.as_str(),
                "--role",
                "viewer",
                "--username",
                "a b",
            ],
            "malformed",
        ),
        (
            vec![
                "--union",
                county.as_str(),
                "--role",
                "boss",
                "--username",
                "abc",
            ],
            "--role",
        ),
    ] {
        let output = run_cli(&app, &binary, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM admins"),
        admins_before + 1
    );
}

/// Station staff are bound to a station: the admins API neither grants that role nor takes it
/// away (400 on `role`, nothing written), and a list cursor carrying a byte no username has is
/// a 400, never a database error.
#[tokio::test]
async fn the_station_role_is_not_granted_here_and_a_forged_cursor_is_refused() {
    use base64::Engine as _;
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let county = demo.union_named("巫山县总工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;
    let admins_before = count(&app, "SELECT count(*) FROM admins");

    let station = create(&app, &manager, &new_admin("ct-station", "station", county)).await;
    assert_eq!(station.status, 400, "{}", station.text);
    assert_eq!(station.body["code"], "invalid_admin_role");
    assert_eq!(station.body["field"], "role");
    let viewer_id = admin_id(&app, "wushan-viewer");
    let re_role = app
        .call(
            Method::PATCH,
            &format!("/v1/admin/admins/{viewer_id}"),
            &manager,
            Some(&json!({ "version": 1, "role": "station" })),
        )
        .await;
    assert_eq!(re_role.status, 400, "{}", re_role.text);
    assert_eq!(re_role.body["code"], "invalid_admin_role");
    assert_eq!(count(&app, "SELECT count(*) FROM admins"), admins_before);
    assert_eq!(
        count(&app, "SELECT count(*) FROM admins WHERE role = 'station'"),
        0
    );

    for forged in [format!("{county}|wushan\u{0}"), format!("{county}|x")] {
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged);
        let page = app
            .call(
                Method::GET,
                &format!("/v1/admin/admins?cursor={cursor}"),
                &manager,
                None,
            )
            .await;
        assert_eq!(page.status, 400, "{}", page.text);
        assert_eq!(page.body["code"], "invalid_cursor");
        assert_eq!(page.body["field"], "cursor");
    }
}
