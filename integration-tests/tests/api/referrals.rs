//! Referrals over HTTP: every member's code and QR scene, a code on the join form resolved to
//! its member at submission and correction, the codes refused (malformed, unknown, a former
//! member's, the applicant's own — also after a withdrawal and a new application), and the
//! member's approved referrals, masked and paginated.

use reqwest::Method;
use serde_json::{Value, json};
use zhijian_domain::referral::ReferralCode;
use zhijian_integration_tests::fixtures::{application_form, approved_member, count, person};
use zhijian_integration_tests::{TestApp, spawn_app};

async fn my_code(app: &TestApp, token: &str) -> String {
    let code = app
        .call(Method::GET, "/v1/membership/referral", token, None)
        .await;
    assert_eq!(code.status, 200, "{}", code.text);
    code.body["code"].as_str().unwrap().to_owned()
}

fn form_with(n: u16, name: &str, code: &str) -> Value {
    let mut form = application_form(&person(n), "13912345678");
    form["name"] = json!(name);
    form["referral_code"] = json!(code);
    form
}

async fn submit(
    app: &TestApp,
    token: &str,
    form: &Value,
) -> zhijian_integration_tests::TestResponse {
    app.call(Method::POST, "/v1/applications", token, Some(form))
        .await
}

#[tokio::test]
async fn a_member_has_a_code_and_scene_and_sees_the_friends_it_brought_in_once_approved() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let (member, membership) = approved_member(&app, "ref-member", 21).await;
    let member_id = membership["member_id"].as_str().unwrap();

    let answer = app
        .call(Method::GET, "/v1/membership/referral", &member, None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let code = answer.body["code"].as_str().unwrap().to_owned();
    assert_eq!(answer.body["scene"], format!("r={code}"));
    assert_eq!(answer.body["usable"], true);
    assert!(ReferralCode::parse(&code).is_ok(), "{code}");
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM members WHERE id = '{member_id}' AND referral_code = '{code}'"
            )
        ),
        1
    );

    // A worker who is not a member has no code.
    let friend = app.worker_token("ref-friend").await;
    let none = app
        .call(Method::GET, "/v1/membership/referral", &friend, None)
        .await;
    assert_eq!(none.status, 404);
    assert_eq!(none.body["code"], "not_a_member");

    // Typed in lower case with a hyphen, the code still names the member.
    let typed = format!("{}-{}", &code[..4], &code[4..]).to_lowercase();
    let submitted = submit(&app, &friend, &form_with(22, "李小四", &typed)).await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let first = submitted.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM applications WHERE id = '{first}' \
                 AND referrer_member_id = '{member_id}' AND referral_code = '{code}'"
            )
        ),
        1
    );
    let listed = app
        .call(Method::GET, "/v1/membership/referrals", &member, None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["items"], json!([]), "not approved yet");

    let second_friend = app.worker_token("ref-friend-2").await;
    let submitted = submit(&app, &second_friend, &form_with(23, "王五", &code)).await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let second = submitted.body["id"].as_str().unwrap().to_owned();
    let reviewer = app.admin_token("courier-reviewer").await;
    for id in [&first, &second] {
        let approved = app.approve(id, &reviewer, 1).await;
        assert_eq!(approved.status, 200, "{}", approved.text);
    }

    let page = app
        .call(
            Method::GET,
            "/v1/membership/referrals?limit=1",
            &member,
            None,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    let items = page.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = app
        .call(
            Method::GET,
            &format!("/v1/membership/referrals?limit=1&cursor={cursor}"),
            &member,
            None,
        )
        .await;
    assert_eq!(rest.status, 200, "{}", rest.text);
    assert!(rest.body.get("next_cursor").is_none(), "{}", rest.text);
    let mut names: Vec<String> = items
        .iter()
        .chain(rest.body["items"].as_array().unwrap())
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["李*四", "王*"]);
    assert!(
        rest.body["items"][0]["union"]["name"]
            .as_str()
            .unwrap()
            .contains("快递"),
        "{}",
        rest.text
    );
    assert!(rest.body["items"][0]["approved_on"].is_string());
    let bad = app
        .call(
            Method::GET,
            "/v1/membership/referrals?cursor=nonsense",
            &member,
            None,
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["code"], "invalid_cursor");

    // The friends are members now, with codes of their own, all distinct.
    let theirs = my_code(&app, &friend).await;
    assert_ne!(theirs, code);
}

#[tokio::test]
async fn malformed_unknown_former_members_and_own_codes_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let (member, _) = approved_member(&app, "ref-owner", 31).await;
    let code = my_code(&app, &member).await;
    let (leaver, _) = approved_member(&app, "ref-leaver", 32).await;
    let leavers_code = my_code(&app, &leaver).await;
    let withdrawn = app
        .call(
            Method::POST,
            "/v1/membership/withdraw",
            &leaver,
            Some(&json!({"confirm": true})),
        )
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    let after_leaving = app
        .call(Method::GET, "/v1/membership/referral", &leaver, None)
        .await;
    assert_eq!(after_leaving.body["usable"], false);

    let worker = app.worker_token("ref-applicant").await;
    let mut unknown = ReferralCode::from_value(0x55_5555_5555);
    if unknown.as_str() == code || unknown.as_str() == leavers_code {
        unknown = ReferralCode::from_value(0x2A_AAAA_AAAA);
    }
    let mut typo: Vec<char> = code.chars().collect();
    typo[0] = if typo[0] == '7' { '8' } else { '7' };
    let typo: String = typo.into_iter().collect();
    for (bad, expected) in [
        ("ABC", "invalid_referral_code"),
        (typo.as_str(), "invalid_referral_code"),
        (unknown.as_str(), "referral_code_unknown"),
        (leavers_code.as_str(), "referrer_not_member"),
    ] {
        let refused = submit(&app, &worker, &form_with(33, "赵六", bad)).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
        assert_eq!(refused.body["code"], expected, "{bad}");
        assert_eq!(refused.body["field"], "referral_code");
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM applications WHERE name = '赵六'"
        ),
        0
    );

    // The leaver applies again with the code of their own (former) member record: still theirs.
    let again = submit(&app, &leaver, &form_with(32, "张三", &leavers_code)).await;
    assert_eq!(again.status, 400, "{}", again.text);
    assert_eq!(again.body["code"], "self_referral");
    assert_eq!(again.body["field"], "referral_code");
    // With another member's code the new application goes in, referred by that member.
    let again = submit(&app, &leaver, &form_with(32, "张三", &code)).await;
    assert_eq!(again.status, 201, "{}", again.text);

    // A correction resolves the code afresh: a bad one is refused, a good one recorded.
    let id = again.body["id"].as_str().unwrap().to_owned();
    let reviewer = app.admin_token("courier-reviewer").await;
    let returned = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{id}/return"),
            &reviewer,
            Some(&json!({"version": 1, "fields": ["work_address"], "note": "请填写具体门牌号"})),
        )
        .await;
    assert_eq!(returned.status, 200, "{}", returned.text);
    let mut corrected = form_with(32, "张三", &leavers_code);
    corrected["work_address"] = json!("重庆市巫山县高唐街道净坛社区广东中路8号");
    let refused = app
        .call(
            Method::PUT,
            &format!("/v1/applications/{id}"),
            &leaver,
            Some(&corrected),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(refused.body["code"], "self_referral");
    corrected["referral_code"] = json!(null);
    let accepted = app
        .call(
            Method::PUT,
            &format!("/v1/applications/{id}"),
            &leaver,
            Some(&corrected),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM applications WHERE id = '{id}' \
                 AND referrer_member_id IS NULL AND referral_code IS NULL"
            )
        ),
        1,
        "a correction without a code drops the referral"
    );
}

#[tokio::test]
async fn the_database_encodes_codes_exactly_as_the_domain_parses_them() {
    let app = spawn_app().await;
    for value in [0_i64, 1, 31, 32, 0x12_3456_789A, (1 << 40) - 1] {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Encoded {
            #[diesel(sql_type = diesel::sql_types::Text)]
            code: String,
        }
        let mut conn = app.db.connect();
        let encoded: Encoded = diesel::sql_query("SELECT referral_code_encode($1) AS code")
            .bind::<diesel::sql_types::BigInt, _>(value)
            .get_result(&mut conn)
            .unwrap();
        let expected = ReferralCode::from_value(u64::try_from(value).unwrap());
        assert_eq!(encoded.code, expected.as_str(), "{value}");
    }
    // A thousand codes drawn by the database: distinct, and each one the domain accepts.
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Drawn {
        #[diesel(sql_type = diesel::sql_types::Text)]
        code: String,
    }
    let mut conn = app.db.connect();
    let drawn: Vec<Drawn> =
        diesel::sql_query("SELECT referral_code_next() AS code FROM generate_series(1, 1000)")
            .load(&mut conn)
            .unwrap();
    let mut codes: Vec<String> = drawn.into_iter().map(|d| d.code).collect();
    assert!(codes.iter().all(|c| ReferralCode::parse(c).is_ok()));
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 1000);
}

#[tokio::test]
async fn members_from_before_the_referral_migration_get_codes_when_it_runs() {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Text {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    let text = |conn: &mut diesel::PgConnection, sql: &str| -> String {
        diesel::sql_query(sql)
            .get_result::<Text>(conn)
            .unwrap()
            .value
    };
    let app = spawn_app().await;
    app.seed_demo().await;
    approved_member(&app, "ref-old-1", 41).await;
    approved_member(&app, "ref-old-2", 42).await;
    let mut conn = app.db.connect();
    let newer: usize = text(
        &mut conn,
        "SELECT count(*)::text AS value FROM __diesel_schema_migrations \
         WHERE version >= '20261206000018'",
    )
    .parse()
    .unwrap();
    let mut conn = tokio::task::spawn_blocking(move || {
        zhijian_infra::db::migrations::revert_newest(&mut conn, newer).unwrap();
        conn
    })
    .await
    .unwrap();
    assert_eq!(
        text(
            &mut conn,
            "SELECT count(*)::text AS value FROM information_schema.columns \
             WHERE table_name = 'members' AND column_name = 'referral_code'"
        ),
        "0"
    );
    zhijian_infra::db::migrations::run_pending(&mut conn).unwrap();
    let codes = text(
        &mut conn,
        "SELECT string_agg(referral_code, ',' ORDER BY id) AS value FROM members",
    );
    let codes: Vec<&str> = codes.split(',').collect();
    assert_eq!(codes.len(), 2);
    assert_ne!(codes[0], codes[1]);
    assert!(
        codes.iter().all(|c| ReferralCode::parse(c).is_ok()),
        "{codes:?}"
    );
}
