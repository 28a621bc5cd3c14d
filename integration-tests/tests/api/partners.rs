//! Partner platforms (issue 15): clients and their secrets, the token endpoint, the partner
//! token's audience and scopes, the worker's consent, intake, member verification, per-partner
//! rate limits, and the `zhijian partner` command.

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use zhijian_integration_tests::fixtures::{application_form, approved_member, count, person};
use zhijian_integration_tests::{TestApp, TestResponse, spawn_app, spawn_app_with};

const ALL: [&str; 3] = ["applications:write", "applications:read", "members:verify"];

fn exec(app: &TestApp, sql: &str) {
    use diesel::RunQueryDsl;
    let mut conn = app.db.connect();
    diesel::sql_query(sql).execute(&mut conn).unwrap();
}

/// The demo county, with `wushan-manager` moved to the root union (重庆市总工会): a manager of a
/// root union, who manages partner clients.
async fn root_manager(app: &TestApp) -> String {
    app.seed_demo().await;
    exec(
        app,
        "UPDATE admins SET union_id = (SELECT id FROM unions WHERE parent_id IS NULL ORDER BY id LIMIT 1) \
         WHERE username = 'wushan-manager'",
    );
    app.admin_token("wushan-manager").await
}

/// Registers a partner; its id and secret.
async fn register(app: &TestApp, admin: &str, name: &str, scopes: &[&str]) -> (String, String) {
    let created = app
        .call(
            Method::POST,
            "/v1/admin/partners",
            admin,
            Some(&json!({ "name": name, "contact": "张三 13800000000", "scopes": scopes })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    (
        created.body["client_id"].as_str().unwrap().to_owned(),
        created.body["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// `POST /v1/oauth/token` with `client_secret_basic`.
async fn token_request(app: &TestApp, id: &str, secret: &str, form: &str) -> TestResponse {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    app.send(
        app.request(Method::POST, "/v1/oauth/token")
            .header("Authorization", format!("Basic {basic}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.to_owned()),
    )
    .await
}

async fn partner_token(app: &TestApp, id: &str, secret: &str) -> String {
    let response = token_request(app, id, secret, "grant_type=client_credentials").await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["access_token"].as_str().unwrap().to_owned()
}

/// A worker grants the request the partner made for `user`; the consent.
async fn consent_through_request(
    app: &TestApp,
    partner: &str,
    worker: &str,
    user: &str,
    purposes: &[&str],
) -> Value {
    let request = app
        .call(
            Method::POST,
            "/v1/partner/consent-requests",
            partner,
            Some(&json!({ "partner_user_id": user, "purposes": purposes })),
        )
        .await;
    assert_eq!(request.status, 201, "{}", request.text);
    let code = request.body["code"].as_str().unwrap();
    assert!(
        request.body["path"]
            .as_str()
            .unwrap()
            .ends_with(&format!("?scene={code}"))
    );
    let granted = app
        .call(
            Method::POST,
            "/v1/me/consents",
            worker,
            Some(&json!({ "request_code": code, "notice_version": "partner-2026-01" })),
        )
        .await;
    assert_eq!(granted.status, 201, "{}", granted.text);
    granted.body
}

async fn intake(app: &TestApp, partner: &str, key: Option<&str>, body: &Value) -> TestResponse {
    let mut request = app
        .request(Method::POST, "/v1/partner/applications")
        .bearer_auth(partner)
        .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    app.send(request).await
}

#[tokio::test]
async fn only_a_root_manager_registers_partners_and_the_secret_is_shown_once() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let county = app.admin_token("wushan-manager").await;
    let refused = app
        .call(
            Method::POST,
            "/v1/admin/partners",
            &county,
            Some(&json!({ "name": "某平台", "contact": "c", "scopes": ["members:verify"] })),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.body["code"], "forbidden");

    let admin = root_manager(&app).await;
    for (body, field) in [
        (
            json!({ "name": "某平台", "contact": "c", "scopes": ["admin"] }),
            "scopes",
        ),
        (
            json!({ "name": "某平台", "contact": "c", "scopes": [] }),
            "scopes",
        ),
        (
            json!({ "name": " ", "contact": "c", "scopes": ["members:verify"] }),
            "name",
        ),
    ] {
        let bad = app
            .call(Method::POST, "/v1/admin/partners", &admin, Some(&body))
            .await;
        assert_eq!(bad.status, 400, "{}", bad.text);
        assert_eq!(bad.body["field"], field);
    }
    assert_eq!(count(&app, "SELECT count(*) FROM partner_clients"), 0);

    let (id, secret) = register(&app, &admin, "某外卖平台", &ALL).await;
    assert!(secret.starts_with("zjs_"));
    let stored: i64 = count(
        &app,
        &format!("SELECT count(*) FROM partner_clients WHERE secret_hash = '{secret}'"),
    );
    assert_eq!(stored, 0, "the secret is not stored in clear");
    let list = app
        .call(Method::GET, "/v1/admin/partners", &admin, None)
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["items"][0]["id"], id.as_str());
    assert!(!list.text.contains(&secret));
    let shown = app
        .call(
            Method::GET,
            &format!("/v1/admin/partners/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["scopes"], json!(ALL));
    let missing = app
        .call(
            Method::GET,
            &format!("/v1/admin/partners/{}", uuid::Uuid::now_v7()),
            &admin,
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE object_kind = 'partner_client' AND action = 'partner_client_create'"
        ),
        1
    );
}

#[tokio::test]
async fn the_token_endpoint_speaks_client_credentials_and_answers_in_the_oauth_error_form() {
    let app = spawn_app().await;
    let admin = root_manager(&app).await;
    let (id, secret) = register(&app, &admin, "某外卖平台", &["members:verify"]).await;

    let basic = token_request(&app, &id, &secret, "grant_type=client_credentials").await;
    assert_eq!(basic.status, 200, "{}", basic.text);
    assert_eq!(basic.header("cache-control"), Some("no-store"));
    assert_eq!(basic.body["token_type"], "Bearer");
    assert_eq!(basic.body["scope"], "members:verify");
    assert_eq!(basic.body["expires_in"], 300);

    let post = app
        .send(
            app.request(Method::POST, "/v1/oauth/token")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=members%3Averify"
                )),
        )
        .await;
    assert_eq!(post.status, 200, "{}", post.text);

    let wrong = token_request(&app, &id, "zjs_wrong", "grant_type=client_credentials").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body["error"], "invalid_client");
    assert!(
        wrong
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(wrong.header("cache-control"), Some("no-store"));
    let unknown = token_request(
        &app,
        &uuid::Uuid::now_v7().to_string(),
        &secret,
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(unknown.body["error"], "invalid_client");

    for (form, status, error) in [
        ("scope=members%3Averify", 400, "invalid_request"),
        ("grant_type=password", 400, "unsupported_grant_type"),
        (
            "grant_type=client_credentials&scope=applications%3Awrite",
            400,
            "invalid_scope",
        ),
        (
            "grant_type=client_credentials&scope=root",
            400,
            "invalid_scope",
        ),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&client_secret=x",
            400,
            "invalid_request",
        ),
    ] {
        let answer = token_request(&app, &id, &secret, form).await;
        assert_eq!(answer.status, status, "{form}: {}", answer.text);
        assert_eq!(answer.body["error"], error, "{form}");
        assert_eq!(answer.header("cache-control"), Some("no-store"));
    }
    let json_body = app
        .send(
            app.request(Method::POST, "/v1/oauth/token")
                .json(&json!({ "grant_type": "client_credentials" })),
        )
        .await;
    assert_eq!(json_body.status, 400);
    assert_eq!(json_body.body["error"], "invalid_request");
    let no_credentials = app
        .send(
            app.request(Method::POST, "/v1/oauth/token")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials"),
        )
        .await;
    assert_eq!(no_credentials.status, 401);
    assert_eq!(no_credentials.body["error"], "invalid_client");
}

#[tokio::test]
async fn rotation_keeps_the_old_secret_for_the_overlap_and_disabling_stops_tokens_at_next_use() {
    let app = spawn_app().await;
    let admin = root_manager(&app).await;
    let (id, old) = register(&app, &admin, "某网约车平台", &["members:verify"]).await;
    let path = |action: &str| format!("/v1/admin/partners/{id}/{action}");

    let rotated = app
        .call(
            Method::POST,
            &path("rotate-secret"),
            &admin,
            Some(&json!({ "version": 1, "overlap_secs": 3600 })),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new = rotated.body["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated.body["client"]["previous_secret_expires_at"].is_string());
    partner_token(&app, &id, &old).await;
    let token = partner_token(&app, &id, &new).await;

    let stale = app
        .call(
            Method::POST,
            &path("rotate-secret"),
            &admin,
            Some(&json!({ "version": 1, "overlap_secs": 0 })),
        )
        .await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["code"], "stale_version");
    let too_long = app
        .call(
            Method::POST,
            &path("rotate-secret"),
            &admin,
            Some(&json!({ "version": 2, "overlap_secs": 604_801 })),
        )
        .await;
    assert_eq!(too_long.status, 400);
    assert_eq!(too_long.body["field"], "overlap_secs");
    let no_overlap = app
        .call(
            Method::POST,
            &path("rotate-secret"),
            &admin,
            Some(&json!({ "version": 2, "overlap_secs": 0 })),
        )
        .await;
    assert_eq!(no_overlap.status, 200);
    let newest = no_overlap.body["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = token_request(&app, &id, &new, "grant_type=client_credentials").await;
    assert_eq!(refused.body["error"], "invalid_client");
    partner_token(&app, &id, &newest).await;

    // The token issued before disabling works until the client is disabled, then not.
    let verify = json!({ "payload": "x" });
    let before = app
        .call(
            Method::POST,
            "/v1/partner/members/verify",
            &token,
            Some(&verify),
        )
        .await;
    assert_eq!(before.status, 200, "{}", before.text);
    let disabled = app
        .call(
            Method::POST,
            &path("disable"),
            &admin,
            Some(&json!({ "version": 3 })),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert!(disabled.body["disabled_at"].is_string());
    let after = app
        .call(
            Method::POST,
            "/v1/partner/members/verify",
            &token,
            Some(&verify),
        )
        .await;
    assert_eq!(after.status, 401);
    let no_token = token_request(&app, &id, &newest, "grant_type=client_credentials").await;
    assert_eq!(no_token.status, 400);
    assert_eq!(no_token.body["error"], "unauthorized_client");
    let twice = app
        .call(
            Method::POST,
            &path("disable"),
            &admin,
            Some(&json!({ "version": 4 })),
        )
        .await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.body["code"], "partner_client_disabled");
    let enabled = app
        .call(
            Method::POST,
            &path("enable"),
            &admin,
            Some(&json!({ "version": 4 })),
        )
        .await;
    assert_eq!(enabled.status, 200);
    partner_token(&app, &id, &newest).await;
    let again = app
        .call(
            Method::POST,
            &path("enable"),
            &admin,
            Some(&json!({ "version": 5 })),
        )
        .await;
    assert_eq!(again.body["code"], "partner_client_not_disabled");
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE object_kind = 'partner_client' AND object_id = '{id}'"
            )
        ),
        5,
        "create, two rotations, disable, enable (refused changes write nothing)"
    );
}

#[tokio::test]
async fn partner_tokens_and_worker_or_admin_tokens_are_refused_on_each_others_routes() {
    let app = spawn_app().await;
    let admin = root_manager(&app).await;
    let (id, secret) = register(&app, &admin, "某平台", &["members:verify"]).await;
    let partner = partner_token(&app, &id, &secret).await;
    let worker = app.worker_token("tokens").await;
    let verify = json!({ "payload": "x" });

    for token in [&worker, &admin] {
        let refused = app
            .call(
                Method::POST,
                "/v1/partner/members/verify",
                token,
                Some(&verify),
            )
            .await;
        assert_eq!(refused.status, 401, "{}", refused.text);
    }
    for path in ["/v1/me", "/v1/admin/me", "/v1/me/consents"] {
        let refused = app.call(Method::GET, path, &partner, None).await;
        assert_eq!(refused.status, 401, "{path}: {}", refused.text);
    }
    // Tampered, expired, another audience.
    // A character well inside the signature (the last one carries unused bits).
    let mut tampered = partner.clone().into_bytes();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let jwt = |claims: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(
                app.settings.auth.jwt_secret.expose().as_bytes(),
            ),
        )
        .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let claims = |aud: &str, exp: i64| {
        json!({ "sub": id, "typ": "partner", "scope": "members:verify", "iss": "zhijian",
                "aud": aud, "iat": exp - 300, "exp": exp })
    };
    for token in [
        tampered,
        jwt(claims("zhijian-partner", now - 120)),
        jwt(claims("zhijian-api", now + 300)),
    ] {
        let refused = app
            .call(
                Method::POST,
                "/v1/partner/members/verify",
                &token,
                Some(&verify),
            )
            .await;
        assert_eq!(refused.status, 401, "{}", refused.text);
    }
    assert_eq!(
        app.call(
            Method::POST,
            "/v1/partner/members/verify",
            &jwt(claims("zhijian-partner", now + 300)),
            Some(&verify)
        )
        .await
        .status,
        200
    );

    // A scope not granted: 403 insufficient_scope naming the scope needed.
    let read = app
        .call(
            Method::GET,
            &format!("/v1/partner/applications/{}", uuid::Uuid::now_v7()),
            &partner,
            None,
        )
        .await;
    assert_eq!(read.status, 403, "{}", read.text);
    assert_eq!(read.body["code"], "insufficient_scope");
    assert_eq!(
        read.header("www-authenticate"),
        Some("Bearer error=\"insufficient_scope\", scope=\"applications:read\"")
    );
}

#[tokio::test]
async fn a_consenting_worker_is_submitted_by_the_partner_and_a_withdrawal_ends_its_reach() {
    let app = spawn_app().await;
    let admin = root_manager(&app).await;
    let (a_id, a_secret) = register(&app, &admin, "平台甲", &ALL).await;
    let (b_id, b_secret) = register(&app, &admin, "平台乙", &ALL).await;
    let partner = partner_token(&app, &a_id, &a_secret).await;
    let other = partner_token(&app, &b_id, &b_secret).await;
    let worker = app.worker_token("rider").await;
    let body = json!({
        "partner_user_id": "rider-1",
        "form": application_form(&person(151), "13812340151"),
    });

    // No consent yet: as if the worker did not exist; nothing written.
    let unknown = intake(&app, &partner, Some("k-0"), &body).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert_eq!(count(&app, "SELECT count(*) FROM applications"), 0);

    let consent = consent_through_request(
        &app,
        &partner,
        &worker,
        "rider-1",
        &["application", "membership_verification"],
    )
    .await;
    assert_eq!(consent["partner"]["name"], "平台甲");
    assert_eq!(consent["live"], true);

    let missing_key = intake(&app, &partner, None, &body).await;
    assert_eq!(missing_key.status, 400);
    assert_eq!(missing_key.body["code"], "idempotency_key_required");
    let bad_user = intake(
        &app,
        &partner,
        Some("k-1"),
        &json!({ "partner_user_id": "有中文", "form": body["form"] }),
    )
    .await;
    assert_eq!(bad_user.status, 400);
    assert_eq!(bad_user.body["field"], "partner_user_id");
    let bad_form = intake(
        &app,
        &partner,
        Some("k-2"),
        &json!({ "partner_user_id": "rider-1", "form": application_form("500237199001011234", "13812340151") }),
    )
    .await;
    assert_eq!(bad_form.status, 400);
    assert_eq!(bad_form.body["field"], "resident_id");
    let other_partner = intake(&app, &other, Some("k-3"), &body).await;
    assert_eq!(other_partner.status, 404);
    assert_eq!(count(&app, "SELECT count(*) FROM applications"), 0);

    let submitted = intake(&app, &partner, Some("k-4"), &body).await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    assert_eq!(submitted.body["status"], "pending_review");
    assert!(submitted.body.get("resident_id").is_none());
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    let replay = intake(&app, &partner, Some("k-4"), &body).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.body, submitted.body);
    let second = intake(&app, &partner, Some("k-5"), &body).await;
    assert_eq!(second.status, 409, "one open application: {}", second.text);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM applications WHERE id = '{id}' AND channel = 'partner:{a_id}'"
            )
        ),
        1
    );

    let mine = app
        .call(Method::GET, "/v1/applications/mine", &worker, None)
        .await;
    assert_eq!(mine.body["items"][0]["id"], id.as_str());

    let path = format!("/v1/partner/applications/{id}");
    let read = app.call(Method::GET, &path, &partner, None).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["id"], id.as_str());
    let not_theirs = app.call(Method::GET, &path, &other, None).await;
    assert_eq!(not_theirs.status, 404);

    // The worker's data export lists the consent.
    let data = app.call(Method::GET, "/v1/me/data", &worker, None).await;
    assert_eq!(data.body["partner_consents"][0]["id"], consent["id"]);

    // Withdrawal: at once, audited; reads and intake answer 404.
    let withdraw = format!(
        "/v1/me/consents/{}/withdraw",
        consent["id"].as_str().unwrap()
    );
    let withdrawn = app.call(Method::POST, &withdraw, &worker, None).await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    assert_eq!(withdrawn.body["live"], false);
    assert_eq!(
        app.call(Method::GET, &path, &partner, None).await.status,
        404
    );
    assert_eq!(intake(&app, &partner, Some("k-6"), &body).await.status, 404);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE object_kind = 'partner_consent' AND action = 'partner_consent_withdraw'"
        ),
        1
    );
    let listed = app
        .call(Method::GET, "/v1/me/consents", &worker, None)
        .await;
    assert_eq!(listed.body["items"][0]["live"], false);
    // Someone else's consent, or a malformed id.
    let stranger = app.worker_token("stranger").await;
    assert_eq!(
        app.call(Method::POST, &withdraw, &stranger, None)
            .await
            .status,
        404
    );
    assert_eq!(
        app.call(Method::POST, "/v1/me/consents/x/withdraw", &worker, None)
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn a_consent_request_is_used_once_and_bad_grants_are_refused() {
    let app = spawn_app().await;
    let admin = root_manager(&app).await;
    let (id, secret) = register(&app, &admin, "平台甲", &["members:verify"]).await;
    let partner = partner_token(&app, &id, &secret).await;
    let worker = app.worker_token("once").await;
    let request = app
        .call(
            Method::POST,
            "/v1/partner/consent-requests",
            &partner,
            Some(&json!({ "partner_user_id": "u-1", "purposes": ["membership_verification"] })),
        )
        .await;
    let code = request.body["code"].as_str().unwrap().to_owned();
    let grant = json!({ "request_code": code, "notice_version": "partner-2026-01" });
    let first = app
        .call(Method::POST, "/v1/me/consents", &worker, Some(&grant))
        .await;
    assert_eq!(first.status, 201);
    let second = app
        .call(Method::POST, "/v1/me/consents", &worker, Some(&grant))
        .await;
    assert_eq!(second.status, 409);
    assert_eq!(second.body["code"], "consent_request_expired");
    for (body, status, field) in [
        (
            json!({ "request_code": "ZZZZZZZZZZ", "notice_version": "v1" }),
            404,
            None,
        ),
        (
            json!({ "request_code": "short", "notice_version": "v1" }),
            400,
            Some("request_code"),
        ),
        (json!({ "notice_version": "v1" }), 400, Some("request_code")),
        (
            json!({ "partner_id": id, "purposes": ["marketing"], "notice_version": "v1" }),
            400,
            Some("purposes"),
        ),
        (
            json!({ "partner_id": uuid::Uuid::now_v7(), "purposes": ["application"], "notice_version": "v1" }),
            404,
            None,
        ),
    ] {
        let refused = app
            .call(Method::POST, "/v1/me/consents", &worker, Some(&body))
            .await;
        assert_eq!(refused.status, status, "{body}: {}", refused.text);
        if let Some(field) = field {
            assert_eq!(refused.body["field"], field, "{body}");
        }
    }
    let bad_request = app
        .call(
            Method::POST,
            "/v1/partner/consent-requests",
            &partner,
            Some(&json!({ "partner_user_id": "u-2", "purposes": [] })),
        )
        .await;
    assert_eq!(bad_request.status, 400);
    assert_eq!(bad_request.body["code"], "invalid_purpose");
    assert_eq!(count(&app, "SELECT count(*) FROM partner_consents"), 1);
}

#[tokio::test]
async fn verification_needs_the_workers_consent_or_their_card_and_answers_little() {
    let app = spawn_app().await;
    let admin = root_manager(&app).await;
    let (id, secret) = register(&app, &admin, "平台甲", &["members:verify"]).await;
    let partner = partner_token(&app, &id, &secret).await;
    let (worker, membership) = approved_member(&app, "member", 161).await;
    let verify = |body: Value| {
        let app = &app;
        let partner = partner.clone();
        async move {
            app.call(
                Method::POST,
                "/v1/partner/members/verify",
                &partner,
                Some(&body),
            )
            .await
        }
    };
    let identity = json!({ "name": "张三", "resident_id": person(161) });

    let without = verify(identity.clone()).await;
    assert_eq!(without.status, 404, "{}", without.text);

    let granted = app
        .call(
            Method::POST,
            "/v1/me/consents",
            &worker,
            Some(&json!({ "partner_id": id, "purposes": ["membership_verification"], "notice_version": "partner-2026-01" })),
        )
        .await;
    assert_eq!(granted.status, 201, "{}", granted.text);
    let verified = verify(identity.clone()).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(verified.header("cache-control"), Some("no-store"));
    assert_eq!(verified.body["member"], true);
    assert_eq!(verified.body["status"], "active");
    assert_eq!(verified.body["union_name"], membership["union"]["name"]);
    assert_eq!(verified.body["member_since"], membership["joined_on"]);
    let keys: Vec<&String> = verified.body.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "nothing else: {keys:?}");

    let wrong_name = verify(json!({ "name": "王五", "resident_id": person(161) })).await;
    assert_eq!(wrong_name.body["member"], false);

    let card = app
        .call(Method::GET, "/v1/membership/card", &worker, None)
        .await;
    let by_card = verify(json!({ "payload": card.body["payload"] })).await;
    assert_eq!(by_card.status, 200);
    assert_eq!(by_card.body["member"], true);
    let forged = verify(json!({ "payload": "not-a-card" })).await;
    assert_eq!(forged.body["member"], false);

    for (body, field) in [
        (json!({}), "payload"),
        (json!({ "name": "张三" }), "payload"),
        (
            json!({ "name": "张三", "resident_id": "123" }),
            "resident_id",
        ),
        (json!({ "payload": "" }), "payload"),
    ] {
        let refused = verify(body.clone()).await;
        assert_eq!(refused.status, 400, "{body}: {}", refused.text);
        assert_eq!(refused.body["field"], field, "{body}");
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE actor_kind = 'partner' AND action = 'partner_verify_member'"
        ),
        2,
        "the member found by identity and by card"
    );
}

#[tokio::test]
async fn a_partner_over_its_bucket_gets_429_with_the_ratelimit_headers() {
    let app = spawn_app_with(|settings| {
        settings.partners.limits.default = zhijian_domain::partner::TokenBucket {
            capacity: 2,
            per_minute: 1,
        };
    })
    .await;
    let admin = root_manager(&app).await;
    let (id, secret) = register(&app, &admin, "平台甲", &["members:verify"]).await;
    let partner = partner_token(&app, &id, &secret).await;
    let verify = json!({ "payload": "x" });
    for _ in 0..2 {
        let allowed = app
            .call(
                Method::POST,
                "/v1/partner/members/verify",
                &partner,
                Some(&verify),
            )
            .await;
        assert_eq!(allowed.status, 200);
    }
    let limited = app
        .call(
            Method::POST,
            "/v1/partner/members/verify",
            &partner,
            Some(&verify),
        )
        .await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(limited.body["code"], "too_many_requests");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        limited.header("ratelimit-policy"),
        Some("\"verify_member\";q=2;w=120")
    );
    assert!(
        limited
            .header("ratelimit")
            .unwrap()
            .starts_with("\"verify_member\";r=0;t=")
    );
    // Another operation has its own bucket.
    let other = app
        .call(
            Method::POST,
            "/v1/partner/consent-requests",
            &partner,
            Some(&json!({ "partner_user_id": "u", "purposes": ["membership_verification"] })),
        )
        .await;
    assert_eq!(other.status, 201);
}

#[tokio::test]
async fn the_partner_command_creates_rotates_and_disables_a_client() {
    let app = spawn_app().await;
    let binary = tokio::task::spawn_blocking(zhijian_integration_tests::cli::zhijian_binary)
        .await
        .unwrap();
    let run = |args: &[&str]| {
        let output = zhijian_integration_tests::cli::zhijian_command(&app, &binary)
            .arg("partner")
            .args(args)
            .output()
            .expect("runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(&[
        "create",
        "--name",
        "命令行平台",
        "--contact",
        "ops",
        "--scopes",
        "members:verify,applications:read",
    ]);
    assert!(ok, "{out}{err}");
    let field = |out: &str, label: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap()
            .trim()
            .to_owned()
    };
    let id = field(&out, "client_id:");
    let secret = field(&out, "client_secret (shown once):");
    partner_token(&app, &id, &secret).await;
    let (ok, out, err) = run(&["rotate", "--id", &id, "--overlap-secs", "0"]);
    assert!(ok, "{out}{err}");
    let rotated = field(&out, "client_secret (shown once):");
    assert_eq!(
        token_request(&app, &id, &secret, "grant_type=client_credentials")
            .await
            .status,
        401
    );
    partner_token(&app, &id, &rotated).await;
    let (ok, out, err) = run(&["disable", "--id", &id]);
    assert!(ok, "{out}{err}");
    assert_eq!(
        token_request(&app, &id, &rotated, "grant_type=client_credentials")
            .await
            .body["error"],
        "unauthorized_client"
    );
    let (ok, _, err) = run(&[
        "create",
        "--name",
        "x",
        "--contact",
        "y",
        "--scopes",
        "root",
    ]);
    assert!(!ok);
    assert!(err.contains("--scopes"), "{err}");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE object_kind = 'partner_client' AND actor_id = 'command-line'"
        ),
        3
    );
}

/// What a receiver got: `webhook-id`, `webhook-timestamp`, `webhook-signature`, the body.
type Got = std::sync::Arc<std::sync::Mutex<Vec<(String, String, String, String)>>>;

/// A receiver on 127.0.0.1 answering 204; what it got.
fn receiver() -> (String, Got) {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let shared = std::sync::Arc::clone(&got);
    let server = HttpServer::new(move || {
        let shared = std::sync::Arc::clone(&shared);
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let shared = std::sync::Arc::clone(&shared);
            async move {
                let header = |n: &str| {
                    req.headers()
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                shared.lock().unwrap().push((
                    header("webhook-id"),
                    header("webhook-timestamp"),
                    header("webhook-signature"),
                    String::from_utf8_lossy(&body).into_owned(),
                ));
                HttpResponse::NoContent().finish()
            }
        }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/hooks"), got)
}

#[tokio::test]
async fn approvals_reach_consenting_workers_partners_as_signed_webhooks_and_withdrawn_ones_do_not()
{
    let app = spawn_app_with(|s| s.webhooks.allow_insecure_targets = true).await;
    let admin = root_manager(&app).await;
    let mut scopes = ALL.to_vec();
    scopes.push("webhooks:manage");
    let (id, secret) = register(&app, &admin, "平台甲", &scopes).await;
    let partner = partner_token(&app, &id, &secret).await;
    let (url, got) = receiver();

    for bad in [
        "ftp://example.com/x",
        "http://0x7f000001/x",
        "http://2130706433/x",
        "http://user:pw@example.com/x",
    ] {
        let refused = app
            .call(
                Method::POST,
                "/v1/partner/webhooks/endpoints",
                &partner,
                Some(&json!({ "url": bad, "event_types": ["application.approved"] })),
            )
            .await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
        assert_eq!(refused.body["code"], "webhook_url_refused", "{bad}");
    }
    let unknown_type = app
        .call(
            Method::POST,
            "/v1/partner/webhooks/endpoints",
            &partner,
            Some(&json!({ "url": url, "event_types": ["account.deleted"] })),
        )
        .await;
    assert_eq!(unknown_type.body["code"], "invalid_event_type");
    let created = app
        .call(
            Method::POST,
            "/v1/partner/webhooks/endpoints",
            &partner,
            Some(&json!({ "url": url, "event_types": ["application.approved", "application.rejected"] })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let whsec = created.body["secret"].as_str().unwrap().to_owned();
    assert!(whsec.starts_with("whsec_"));
    let listed = app
        .call(
            Method::GET,
            "/v1/partner/webhooks/endpoints",
            &partner,
            None,
        )
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert!(!listed.text.contains(&whsec));

    // Two workers consent and are submitted; the second withdraws before the approval.
    let reviewer = app.admin_token("courier-reviewer").await;
    let mut ids = Vec::new();
    for (n, user) in [(171u16, "w-171"), (172, "w-172")] {
        let worker = app.worker_token(user).await;
        let consent =
            consent_through_request(&app, &partner, &worker, user, &["application"]).await;
        let body = json!({
            "partner_user_id": user,
            "form": application_form(&person(n), &format!("138123{n:05}")),
        });
        let submitted = intake(&app, &partner, Some(user), &body).await;
        assert_eq!(submitted.status, 201, "{}", submitted.text);
        ids.push(submitted.body["id"].as_str().unwrap().to_owned());
        if n == 172 {
            let withdraw = format!(
                "/v1/me/consents/{}/withdraw",
                consent["id"].as_str().unwrap()
            );
            assert_eq!(
                app.call(Method::POST, &withdraw, &worker, None)
                    .await
                    .status,
                200
            );
        }
    }
    for id in &ids {
        let approved = app.approve(id, &reviewer, 1).await;
        assert_eq!(approved.status, 200, "{}", approved.text);
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM webhook_deliveries"),
        1,
        "only the consenting worker's approval is queued"
    );

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while got.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let received = got.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "{received:?}");
    let (msg_id, ts, signature, body) = &received[0];
    let expected = zhijian_infra::webhooks::sign::signature(
        &zhijian_infra::webhooks::sign::WebhookSecret::parse(&whsec).unwrap(),
        msg_id,
        ts.parse().unwrap(),
        body.as_bytes(),
    );
    assert!(signature.split(' ').any(|s| s == expected), "{signature}");
    let message: Value = serde_json::from_str(body).unwrap();
    assert_eq!(message["type"], "application.approved");
    assert_eq!(message["data"]["application_id"], ids[0].as_str());
    assert!(!body.contains(&person(171)), "no resident ID in a webhook");

    // The delivery log, and a redelivery with the same webhook-id.
    let mut log = Value::Null;
    for _ in 0..50 {
        log = app
            .call(
                Method::GET,
                "/v1/partner/webhooks/deliveries",
                &partner,
                None,
            )
            .await
            .body;
        if log["items"][0]["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(log["items"][0]["status"], "delivered", "{log}");
    assert_eq!(log["items"][0]["msg_id"], msg_id.as_str());
    let delivery = log["items"][0]["id"].as_str().unwrap();
    let again = app
        .call(
            Method::POST,
            &format!("/v1/partner/webhooks/deliveries/{delivery}/redeliver"),
            &partner,
            None,
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.text);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while got.lock().unwrap().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        got.lock().unwrap()[1].0,
        *msg_id,
        "a redelivery keeps the webhook-id"
    );
    let (b_id, b_secret) = register(&app, &admin, "平台乙", &["webhooks:manage"]).await;
    let other = partner_token(&app, &b_id, &b_secret).await;
    let theirs = app
        .call(
            Method::POST,
            &format!("/v1/partner/webhooks/deliveries/{delivery}/redeliver"),
            &other,
            None,
        )
        .await;
    assert_eq!(theirs.status, 404);
    let empty = app
        .call(Method::GET, "/v1/partner/webhooks/deliveries", &other, None)
        .await;
    assert_eq!(empty.body["items"], json!([]));
}
