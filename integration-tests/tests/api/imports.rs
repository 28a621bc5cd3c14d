//! Bulk import of a member register over HTTP (issue 14): the two phases, the report, the
//! commit (all or nothing, or the good rows), the same file twice, bad files, a 10 k-row file,
//! and an imported member claiming the membership.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use zhijian_domain::membership_number::MembershipNumber;
use zhijian_domain::region::RegionCode;
use zhijian_integration_tests::fixtures::{approved_member, count, resident_id};
use zhijian_integration_tests::{TestApp, TestResponse, spawn_app};

const HEADER: &str = "姓名,身份证号,手机号,工会,入会日期,会员编号,职业,工作单位,平台";
const JINGTAN: &str = "巫山县总工会/高唐街道总工会/净坛社区联合工会";

async fn upload(app: &TestApp, token: &str, query: &str, body: Vec<u8>) -> TestResponse {
    app.send(
        app.request(Method::POST, &format!("/v1/admin/imports?{query}"))
            .bearer_auth(token)
            .header("content-type", "text/csv")
            .body(body),
    )
    .await
}

/// Polls the import until it leaves `validating`.
async fn settled(app: &TestApp, token: &str, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let got = app
            .call(Method::GET, &format!("/v1/admin/imports/{id}"), token, None)
            .await;
        assert_eq!(got.status, 200, "{}", got.text);
        if got.body["status"] != "validating" {
            return got.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still validating"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn report(app: &TestApp, token: &str, id: &str) -> String {
    let got = app
        .send(
            app.request(Method::GET, &format!("/v1/admin/imports/{id}/report.csv"))
                .bearer_auth(token),
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert!(got.text.starts_with('\u{feff}'));
    got.text
}

fn rid(n: u16) -> String {
    resident_id("500237", "19850505", n)
}

fn with_bad_check(id: &str) -> String {
    let mut bad = id.to_owned();
    let last = bad.pop().unwrap();
    bad.push(if last == '1' { '2' } else { '1' });
    bad
}

fn csv(rows: &[String]) -> Vec<u8> {
    let mut text = String::from("\u{feff}");
    text.push_str(HEADER);
    text.push('\n');
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text.into_bytes()
}

fn members_total(app: &TestApp) -> i64 {
    count(app, "SELECT count(*) FROM members")
}

#[tokio::test]
async fn a_register_is_checked_reported_and_its_good_rows_committed() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let (_, existing) = approved_member(&app, "import-existing", 11).await;
    let taken = existing["membership_number"].as_str().unwrap().to_owned();
    let manager = app.admin_token("wushan-manager").await;
    let outside = count(&app, "SELECT id FROM unions WHERE name = '重庆市总工会'");
    let county = RegionCode::parse("500237").unwrap();
    let kept = MembershipNumber::issue(&county, 2015, 42).unwrap();
    let rows = vec![
        format!(
            "王一,{},13900000001,{JINGTAN},2021-03-01,,快递员,巫山某快递网点,",
            rid(101)
        ),
        format!(
            "王二,{},13900000002,{JINGTAN},2015/6/1,{},courier,,",
            rid(102),
            kept.as_str()
        ),
        format!(
            "王三,{},13900000003,{JINGTAN},2021-03-01,,快递员,,",
            with_bad_check(&rid(103))
        ),
        format!(
            "王四,{},13900000004,{outside},2021-03-01,,快递员,,",
            rid(104)
        ),
        format!(
            "王一,{},13900000001,{JINGTAN},2021-03-01,,快递员,,",
            rid(101)
        ),
        format!(
            "张三,{},13812341234,{JINGTAN},2021-03-01,,快递员,,",
            zhijian_integration_tests::fixtures::person(11)
        ),
        format!(
            "=cmd|' /C calc'!A0,{},13900000007,{JINGTAN},2021-03-01,,快递员,,",
            rid(107)
        ),
        format!(
            "王八,{},13900000008,{JINGTAN},20210301,{taken},外卖配送员,,美团",
            rid(108)
        ),
    ];
    let before = members_total(&app);
    let file = csv(&rows);

    let started = upload(&app, &manager, "kind=members", file.clone()).await;
    assert_eq!(started.status, 202, "{}", started.text);
    let id = started.body["id"].as_str().unwrap().to_owned();
    let done = settled(&app, &manager, &id).await;
    assert_eq!(done["status"], "validated", "{done}");
    assert_eq!(done["charset"], "utf-8");
    assert_eq!(
        (
            &done["rows_total"],
            &done["rows_valid"],
            &done["rows_invalid"],
            &done["warnings"]
        ),
        (&json!(8), &json!(3), &json!(5), &json!(1)),
        "{done}"
    );
    let text = report(&app, &manager, &id).await;
    for expected in [
        "\"4\",\"身份证号\",\"错误\",\"resident_id_bad_check_character\"",
        "\"5\",\"工会\",\"错误\",\"import_union_unknown\"",
        "\"6\",\"身份证号\",\"错误\",\"import_duplicate_in_file\",\"与第2行是同一人",
        "\"7\",\"身份证号\",\"错误\",\"import_already_member\"",
        "\"8\",\"姓名\",\"错误\",\"invalid_name\"",
        "\"9\",\"会员编号\",\"提示\",\"import_number_replaced\"",
    ] {
        assert!(text.contains(expected), "{expected} not in\n{text}");
    }
    // Masked: the existing member's name and resident ID are not in the report.
    assert!(text.contains("张*"), "{text}");
    assert!(
        !text.contains("张三") && !text.contains(&zhijian_integration_tests::fixtures::person(11))
    );

    // All or nothing: refused, nothing written.
    let refused = app
        .call(
            Method::POST,
            &format!("/v1/admin/imports/{id}/commit"),
            &manager,
            None,
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.body["code"], "import_has_problems");
    assert_eq!(members_total(&app), before);
    assert_eq!(
        count(&app, "SELECT count(*) FROM accounts WHERE imported"),
        0
    );

    // The same file again: the same import.
    let again = upload(&app, &manager, "kind=members&mode=valid_only", file).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["id"], json!(id));

    // A reviewer may not commit; the manager commits the good rows.
    let reviewer = app.admin_token("gaotang-reviewer").await;
    let denied = app
        .call(
            Method::POST,
            &format!("/v1/admin/imports/{id}/commit?mode=valid_only"),
            &reviewer,
            None,
        )
        .await;
    assert_eq!(denied.status, 403);
    let committed = app
        .call(
            Method::POST,
            &format!("/v1/admin/imports/{id}/commit?mode=valid_only"),
            &manager,
            None,
        )
        .await;
    assert_eq!(committed.status, 200, "{}", committed.text);
    assert_eq!(committed.body["status"], "committed");
    assert_eq!(committed.body["rows_committed"], 3);
    assert_eq!(members_total(&app), before + 3);
    // The coverage counters follow in the commit's transaction: the three are active members
    // of their union and its ancestors (no review and no new member of the day); the recount
    // from the base tables agrees.
    let services = app.services();
    let differences = zhijian_infra::usecases::stats::verify_counters(&services, None)
        .await
        .unwrap();
    assert!(differences.is_empty(), "{differences:?}");
    assert_eq!(
        count(
            &app,
            "SELECT coalesce(sum(active), 0) FROM union_stats_active"
        ),
        count(
            &app,
            "SELECT count(*) FROM members m JOIN applications a ON a.id = m.application_id \
             CROSS JOIN LATERAL unnest(union_chain(m.union_id)) \
             WHERE m.status IN ('active', 'transferring')"
        ),
    );
    assert!(
        count(
            &app,
            "SELECT coalesce(sum(active), 0) FROM union_stats_active"
        ) >= 3,
        "the imported members are counted"
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM members WHERE membership_number = '{}'",
                kept.as_str()
            )
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM affiliations WHERE reason = 'imported'"
        ),
        3
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM applications WHERE channel = 'import' AND status = 'approved' AND member_id IS NOT NULL"
        ),
        3
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM accounts WHERE imported"),
        3
    );
    // New numbers come from the county counter and never collide with the kept one.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM members m JOIN applications a ON a.id = m.application_id WHERE a.channel = 'import' AND m.membership_number LIKE '500237%'"
        ),
        3
    );
    assert!(
        count(
            &app,
            "SELECT last_value::bigint FROM membership_counters WHERE county_code = '500237' AND year = 2015"
        ) >= 42
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'import_members'"
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE action = 'replace_membership_number' AND reason LIKE '%{taken}%'"
            )
        ),
        1
    );
    let twice = app
        .call(
            Method::POST,
            &format!("/v1/admin/imports/{id}/commit"),
            &manager,
            None,
        )
        .await;
    assert_eq!(twice.status, 409);
    assert_eq!(twice.body["code"], "import_not_committable");

    // An imported member appears in the admin list and detail like any other.
    let listed = app
        .call(Method::GET, "/v1/admin/members?limit=100", &manager, None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let imported = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["membership_number"] == json!(kept.as_str()))
        .expect("the imported member is listed")
        .clone();
    let detail = app
        .call(
            Method::GET,
            &format!("/v1/admin/members/{}", imported["id"].as_str().unwrap()),
            &manager,
            None,
        )
        .await;
    assert_eq!(detail.status, 200, "{}", detail.text);
}

#[tokio::test]
async fn an_imported_member_claims_the_membership_with_phone_id_and_name() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let manager = app.admin_token("wushan-manager").await;
    let phone = "13911112222";
    let id = rid(201);
    let started = upload(
        &app,
        &manager,
        "kind=members",
        csv(&[format!("李四,{id},{phone},{JINGTAN},2020-01-02,,快递员,,")]),
    )
    .await;
    assert_eq!(started.status, 202, "{}", started.text);
    let import = started.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        settled(&app, &manager, &import).await["status"],
        "validated"
    );
    let committed = app
        .call(
            Method::POST,
            &format!("/v1/admin/imports/{import}/commit"),
            &manager,
            None,
        )
        .await;
    assert_eq!(committed.status, 200, "{}", committed.text);

    // A WeChat account without a phone, and one with another phone: nothing found.
    let stranger = app.worker_token("claim-stranger").await;
    let claim = |name: &str, rid: &str| json!({"name": name, "resident_id": rid});
    let nothing = app
        .call(
            Method::POST,
            "/v1/membership/claim",
            &stranger,
            Some(&claim("李四", &id)),
        )
        .await;
    assert_eq!(nothing.status, 404, "{}", nothing.text);
    assert_eq!(nothing.body["message"], "未找到会员记录");

    // SMS sign-in with the imported phone.
    let sent = app
        .post_json(
            "/v1/auth/sms-codes",
            &json!({"phone": phone, "purpose": "login"}),
        )
        .await;
    assert!(sent.status < 300, "{}", sent.text);
    let code = app.stub.last_sms_code(phone).expect("an SMS");
    let login = app
        .post_json("/v1/auth/phone", &json!({"phone": phone, "code": code}))
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let worker = login.body["access_token"].as_str().unwrap().to_owned();
    let before = app.call(Method::GET, "/v1/membership", &worker, None).await;
    assert_eq!(before.status, 404);

    // A wrong name or another person's ID: the same answer, nothing linked.
    for (name, resident) in [("李五", id.clone()), ("李四", rid(202))] {
        let wrong = app
            .call(
                Method::POST,
                "/v1/membership/claim",
                &worker,
                Some(&claim(name, &resident)),
            )
            .await;
        assert_eq!(wrong.status, 404, "{}", wrong.text);
        assert_eq!(wrong.body["message"], "未找到会员记录");
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM accounts WHERE imported"),
        1
    );

    let claimed = app
        .call(
            Method::POST,
            "/v1/membership/claim",
            &worker,
            Some(&claim("李四", &id)),
        )
        .await;
    assert_eq!(claimed.status, 200, "{}", claimed.text);
    assert_eq!(claimed.body["name"], "李四");
    let membership = app.call(Method::GET, "/v1/membership", &worker, None).await;
    assert_eq!(membership.status, 200, "{}", membership.text);
    let card = app
        .call(Method::GET, "/v1/membership/card", &worker, None)
        .await;
    assert_eq!(card.status, 200, "{}", card.text);
    assert_eq!(
        count(&app, "SELECT count(*) FROM accounts WHERE imported"),
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'claim'"
        ),
        1
    );

    // Capped per account: five attempts an hour.
    let mut last = 0;
    for _ in 0..5 {
        last = app
            .call(
                Method::POST,
                "/v1/membership/claim",
                &stranger,
                Some(&claim("李四", &id)),
            )
            .await
            .status;
    }
    assert_eq!(last, 429);
}

#[tokio::test]
async fn bad_files_are_refused_or_reported_line_by_line() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let manager = app.admin_token("wushan-manager").await;
    let good = |n: u16| {
        let given =
            ["甲", "乙", "丙", "丁", "戊", "己", "庚", "辛", "壬", "癸"][usize::from(n % 10)];
        format!(
            "王{given},{},139{n:08},{JINGTAN},2021-03-01,,快递员,,",
            rid(n)
        )
    };

    // GB18030, detected.
    let text = format!("{HEADER}\n{}\n", good(301));
    let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
    let gb = upload(&app, &manager, "kind=members", gbk.to_vec()).await;
    assert_eq!(gb.status, 202, "{}", gb.text);
    let done = settled(&app, &manager, gb.body["id"].as_str().unwrap()).await;
    assert_eq!(
        (&done["charset"], &done["rows_valid"]),
        (&json!("gb18030"), &json!(1)),
        "{done}"
    );

    // Refused before anything is recorded.
    let mut mixed = format!("{HEADER}\n{}\n", good(302)).into_bytes();
    let line303 = good(303);
    let (gbk_line, _, _) = encoding_rs::GB18030.encode(&line303);
    mixed.extend_from_slice(&gbk_line);
    let (gbk_header, _, _) = encoding_rs::GB18030.encode("姓名,身份证号\n");
    let mut broken = gbk_header.to_vec();
    broken.extend_from_slice(&[0x81, 0x20, b'\n']);
    for (body, code) in [
        (mixed, "import_bad_encoding"),
        (broken, "import_bad_encoding"),
        (Vec::new(), "import_empty_file"),
        (b"\xEF\xBB\xBF\n".to_vec(), "import_empty_file"),
        (format!("{HEADER}\n").into_bytes(), "import_no_rows"),
        (
            "姓名,身份证号,手机号\n张三,1,2\n".as_bytes().to_vec(),
            "import_bad_header",
        ),
        (
            format!("{HEADER},血型\n{},A\n", good(304)).into_bytes(),
            "import_bad_header",
        ),
    ] {
        let refused = upload(&app, &manager, "kind=members", body).await;
        assert_eq!(refused.status, 400, "{code}: {}", refused.text);
        assert_eq!(refused.body["code"], code, "{}", refused.text);
    }
    let json_body = app
        .send(
            app.request(Method::POST, "/v1/admin/imports?kind=members")
                .bearer_auth(&manager)
                .json(&json!({"rows": []})),
        )
        .await;
    assert_eq!(json_body.status, 415);
    let too_large = upload(&app, &manager, "kind=members", vec![b'a'; 65 * 1024 * 1024]).await;
    assert_eq!(too_large.status, 413, "{}", too_large.text);
    assert_eq!(too_large.body["code"], "payload_too_large");
    let reviewer = app.admin_token("gaotang-reviewer").await;
    let denied = upload(&app, &reviewer, "kind=members", csv(&[good(305)])).await;
    assert_eq!(denied.status, 403);
    assert_eq!(count(&app, "SELECT count(*) FROM imports"), 1);

    // Reported per line: too many or too few cells, a quote left open, a 10 MB line.
    let mut body = csv(&[
        good(306),
        format!("{},多余", good(307)),
        "王八,1".to_owned(),
        format!("王九,\"{},139,{JINGTAN},2021-03-01,,快递员,,", rid(309)),
    ]);
    let lines = upload(&app, &manager, "kind=members", body.clone()).await;
    assert_eq!(lines.status, 202, "{}", lines.text);
    let id = lines.body["id"].as_str().unwrap().to_owned();
    let done = settled(&app, &manager, &id).await;
    assert_eq!(done["rows_valid"], 1, "{done}");
    let text = report(&app, &manager, &id).await;
    assert!(
        text.contains("\"3\",\"\",\"错误\",\"import_cell_count\""),
        "{text}"
    );
    assert!(
        text.contains("\"4\",\"\",\"错误\",\"import_cell_count\""),
        "{text}"
    );
    assert!(
        text.contains("\"5\",\"\",\"错误\",\"import_unreadable_line\""),
        "{text}"
    );
    body.truncate(body.len() - 1);
    let mut huge = csv(&[good(310)]);
    huge.extend_from_slice(format!("王十一,{},13900000311,", rid(311)).as_bytes());
    huge.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    huge.extend_from_slice(b",2021-03-01,,courier,,\n");
    let long = upload(&app, &manager, "kind=members", huge).await;
    assert_eq!(long.status, 202, "{}", long.text);
    let id = long.body["id"].as_str().unwrap().to_owned();
    let done = settled(&app, &manager, &id).await;
    assert_eq!(
        (&done["rows_valid"], &done["rows_invalid"]),
        (&json!(1), &json!(1)),
        "{done}"
    );
    assert!(
        report(&app, &manager, &id)
            .await
            .contains("import_unreadable_line")
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM accounts WHERE imported"),
        0
    );

    let template = app
        .send(
            app.request(Method::GET, "/v1/admin/imports/templates/members")
                .bearer_auth(&manager),
        )
        .await;
    assert_eq!(template.status, 200);
    assert_eq!(template.text, format!("\u{feff}{HEADER}\r\n"));
}

#[tokio::test]
async fn ten_thousand_rows_import() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let manager = app.admin_token("wushan-manager").await;
    let mut text = String::from(HEADER);
    text.push('\n');
    for n in 0..10_000u32 {
        let birth = format!("19{:02}0{}{:02}", 60 + n % 40, 1 + n % 9, 1 + n % 28);
        let id = resident_id("500237", &birth, u16::try_from(n % 1000).unwrap());
        text.push_str(&format!(
            "工人{},{id},13{:09},{JINGTAN},2020-01-01,,快递员,,\n",
            ["甲", "乙", "丙", "丁", "戊"][(n % 5) as usize],
            n
        ));
    }
    let clock = Instant::now();
    let started = upload(&app, &manager, "kind=members", text.into_bytes()).await;
    assert_eq!(started.status, 202, "{}", started.text);
    let id = started.body["id"].as_str().unwrap().to_owned();
    let done = settled(&app, &manager, &id).await;
    assert_eq!(done["status"], "validated", "{done}");
    let valid = done["rows_valid"].as_i64().unwrap();
    let committed = app
        .call(
            Method::POST,
            &format!("/v1/admin/imports/{id}/commit?mode=valid_only"),
            &manager,
            None,
        )
        .await;
    assert_eq!(committed.status, 200, "{}", committed.text);
    assert_eq!(committed.body["rows_committed"].as_i64().unwrap(), valid);
    assert!(valid > 9_000, "{done}");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM members m JOIN applications a ON a.id = m.application_id WHERE a.channel = 'import'"
        ),
        valid
    );
    eprintln!("10 k rows imported in {:?}", clock.elapsed());
}

#[tokio::test]
async fn a_union_tree_is_imported_before_its_members() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let manager = app.admin_token("wushan-manager").await;
    let sheet = "\u{feff}上级工会,名称,类型,地区,覆盖范围,服务职业,统一社会信用代码
高唐街道总工会,圣泉社区联合工会,联合工会,500237001001,,,
高唐街道总工会/圣泉社区联合工会,圣泉小组工会,联合工会,500237001001,,,
高唐街道总工会,登龙社区联合工会,joint,500237001002,500237001002;500237001003,,
巫山县总工会,某某公司工会,企业工会,500237001,,,
重庆市总工会,外面工会,联合工会,500237001003,,,
高唐街道总工会,乱码工会,联合工会,99,,,
";
    let before = count(&app, "SELECT count(*) FROM unions");
    let started = upload(&app, &manager, "kind=unions", sheet.as_bytes().to_vec()).await;
    assert_eq!(started.status, 202, "{}", started.text);
    let import = started.body["id"].as_str().unwrap().to_owned();
    assert_eq!(started.body["status"], "validated");
    assert_eq!(
        (
            &started.body["rows_total"],
            &started.body["rows_valid"],
            &started.body["rows_invalid"]
        ),
        (&json!(6), &json!(2), &json!(4)),
        "{}",
        started.text
    );
    assert_eq!(count(&app, "SELECT count(*) FROM unions"), before);
    let text = report(&app, &manager, &import).await;
    for line in ["\"3\"", "\"5\"", "\"6\"", "\"7\""] {
        assert!(text.contains(&format!("{line},")), "{line} not in\n{text}");
    }
    assert!(text.contains("import_union_unknown"), "{text}");

    let refused = app
        .call(
            Method::POST,
            &format!("/v1/admin/imports/{import}/commit"),
            &manager,
            None,
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(count(&app, "SELECT count(*) FROM unions"), before);
    let committed = app
        .call(
            Method::POST,
            &format!("/v1/admin/imports/{import}/commit?mode=valid_only"),
            &manager,
            None,
        )
        .await;
    assert_eq!(committed.status, 200, "{}", committed.text);
    assert_eq!(committed.body["rows_committed"], 2);
    assert_eq!(count(&app, "SELECT count(*) FROM unions"), before + 2);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM union_coverage c JOIN unions u ON u.id = c.union_id WHERE u.name = '登龙社区联合工会'"
        ),
        2
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'import_unions'"
        ),
        1
    );

    // Its members next, naming the new union by its path.
    let members = upload(
        &app,
        &manager,
        "kind=members",
        csv(&[format!(
            "赵一,{},13900000401,高唐街道总工会/圣泉社区联合工会,2022-05-01,,保洁员,,",
            rid(401)
        )]),
    )
    .await;
    assert_eq!(members.status, 202, "{}", members.text);
    let id = members.body["id"].as_str().unwrap().to_owned();
    assert_eq!(settled(&app, &manager, &id).await["rows_valid"], 1);
    let done = app
        .call(
            Method::POST,
            &format!("/v1/admin/imports/{id}/commit"),
            &manager,
            None,
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM members m JOIN unions u ON u.id = m.union_id WHERE u.name = '圣泉社区联合工会'"
        ),
        1
    );
}

#[tokio::test]
async fn the_command_line_imports_a_register_with_the_same_checks() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let county = demo.union_named("巫山县总工会").unwrap().get().to_string();
    let binary = tokio::task::spawn_blocking(zhijian_integration_tests::cli::zhijian_binary)
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("zj-import-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("register.csv");
    let text = format!(
        "{HEADER}\n孙一,{},13900000501,{JINGTAN},2019-09-09,,快递员,,\n孙二,{},13900000502,{JINGTAN},2019-09-09,,快递员,,\n",
        rid(501),
        with_bad_check(&rid(502)),
    );
    let (gbk, _, _) = encoding_rs::GB18030.encode(&text);
    std::fs::write(&file, gbk.as_ref()).unwrap();
    let run = |extra: &[&str]| {
        zhijian_integration_tests::cli::zhijian_command(&app, &binary)
            .args([
                "import",
                "members",
                file.to_str().unwrap(),
                "--union",
                &county,
                "--as",
                "wushan-manager",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let before = members_total(&app);
    // All or nothing by default: the bad line is reported and nothing is written.
    let refused = run(&["--yes"]);
    let out = String::from_utf8_lossy(&refused.stdout).to_string();
    assert!(!refused.status.success(), "{out}");
    assert!(
        out.contains("第3行 身份证号 错误 resident_id_bad_check_character"),
        "{out}"
    );
    assert_eq!(members_total(&app), before);
    // The good rows, confirmed by --yes.
    let done = run(&["--valid-only", "--yes"]);
    let out = String::from_utf8_lossy(&done.stdout).to_string();
    assert!(
        done.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(out.contains("committed: 1 rows written"), "{out}");
    assert_eq!(members_total(&app), before + 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM imports WHERE source = 'cli' AND charset = 'gb18030' AND status = 'committed'"
        ),
        1
    );
    // Another admin's subtree, or a reviewer: refused before reading.
    let reviewer = zhijian_integration_tests::cli::zhijian_command(&app, &binary)
        .args([
            "import",
            "members",
            file.to_str().unwrap(),
            "--union",
            &county,
            "--as",
            "gaotang-reviewer",
        ])
        .output()
        .unwrap();
    assert!(!reviewer.status.success());
    std::fs::remove_dir_all(&dir).ok();
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn upload_xlsx(app: &TestApp, token: &str, query: &str, body: Vec<u8>) -> TestResponse {
    app.send(
        app.request(Method::POST, &format!("/v1/admin/imports?{query}"))
            .bearer_auth(token)
            .header("content-type", XLSX)
            .body(body),
    )
    .await
}

/// A workbook as officers keep it: text cells, the phone typed as a number, the joined date a
/// date cell, an empty row in the middle.
/// A register row: name, resident ID, phone, joined date (y, m, d), union.
type SheetRow<'a> = (&'a str, String, u64, (i16, u8, u8), &'a str);

fn workbook(rows: &[SheetRow<'_>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, title) in HEADER.split(',').enumerate() {
        sheet.write_string(0, c as u16, title).unwrap();
    }
    let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    let mut r = 1u32;
    for (name, id, phone, (y, m, d), union) in rows {
        if r == 2 {
            r += 1; // an empty row: skipped, and the line numbers stay the sheet's
        }
        sheet.write_string(r, 0, *name).unwrap();
        sheet.write_string(r, 1, id).unwrap();
        sheet.write_number(r, 2, *phone as f64).unwrap();
        sheet.write_string(r, 3, *union).unwrap();
        let joined = rust_xlsxwriter::ExcelDateTime::from_ymd(*y as u16, *m, *d).unwrap();
        sheet
            .write_datetime_with_format(r, 4, &joined, &date)
            .unwrap();
        sheet.write_string(r, 6, "外卖配送员").unwrap();
        r += 1;
    }
    book.save_to_buffer().unwrap()
}

#[tokio::test]
async fn an_excel_workbook_imports_like_a_csv() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let manager = app.admin_token("wushan-manager").await;
    let before = members_total(&app);
    let book = workbook(&[
        ("赵一", rid(701), 13_900_000_701, (2021, 3, 1), JINGTAN),
        ("钱二", rid(702), 13_900_000_702, (2022, 7, 15), JINGTAN),
        (
            "孙三",
            with_bad_check(&rid(703)),
            13_900_000_703,
            (2023, 1, 2),
            JINGTAN,
        ),
    ]);
    let started = upload_xlsx(&app, &manager, "kind=members", book.clone()).await;
    assert_eq!(started.status, 202, "{}", started.text);
    let id = started.body["id"].as_str().unwrap().to_owned();
    let done = settled(&app, &manager, &id).await;
    assert_eq!(done["status"], "validated", "{done}");
    let text = report(&app, &manager, &id).await;
    assert_eq!(done["rows_total"], 3, "{done}");
    assert_eq!(done["rows_valid"], 2, "{done}\n{text}");
    // The bad ID is reported on its sheet row: header 1, rows 2, (empty 3), 4, 5.
    let line = text
        .lines()
        .find(|l| l.contains("resident_id") || l.contains("身份证"))
        .unwrap_or_else(|| panic!("no resident ID problem in {text}"));
    assert!(line.starts_with("\"5\","), "{text}");
    // The same workbook again is the same import.
    let again = upload_xlsx(&app, &manager, "kind=members", book).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["id"], id.as_str());
    let committed = app
        .call(
            Method::POST,
            &format!("/v1/admin/imports/{id}/commit?mode=valid_only"),
            &manager,
            None,
        )
        .await;
    assert_eq!(committed.status, 200, "{}", committed.text);
    assert_eq!(committed.body["rows_committed"], 2);
    assert_eq!(members_total(&app), before + 2);
    // Member, application and account ids are version-7 UUIDs of the commit's time.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM members m JOIN applications a ON a.id = m.application_id \
             WHERE a.channel = 'import' AND substr(m.id::text, 15, 1) = '7' \
               AND substr(a.id::text, 15, 1) = '7' AND substr(a.account_id::text, 15, 1) = '7' \
               AND substr(m.id::text, 20, 1) IN ('8', '9', 'a', 'b') \
               AND abs(('x' || replace(substr(m.id::text, 1, 13), '-', ''))::bit(48)::bigint \
                       - (extract(epoch FROM now()) * 1000)::bigint) < 600000"
        ),
        2
    );
    // The date cell and the numeric phone were read as written.
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM members WHERE name = '钱二' AND joined_on = DATE '2022-07-15'"
        ),
        1
    );
}

#[tokio::test]
async fn a_zip_bomb_or_a_broken_workbook_is_refused_and_nothing_is_recorded() {
    use std::io::Write;
    // 64 MiB of zeros in a sheet entry: deflate makes it about 64 KB. Built before the server
    // starts (building it takes a while in a debug build).
    let bomb = {
        let mut buffer = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..64 {
            zip.write_all(&chunk).unwrap();
        }
        zip.finish().unwrap();
        buffer.into_inner()
    };
    let app = spawn_app().await;
    app.seed_demo().await;
    let manager = app.admin_token("wushan-manager").await;
    let imports_before = count(&app, "SELECT count(*) FROM imports");
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let got = upload_xlsx(&app, &manager, "kind=members", bomb.clone()).await;
    assert_eq!(got.status, 413, "{}", got.text);
    assert_eq!(got.body["code"], "import_spreadsheet_too_large");
    // Sent as text/csv, it is still recognised by its content.
    let got = upload(&app, &manager, "kind=unions", bomb).await;
    assert_eq!(got.status, 413, "{}", got.text);
    // A truncated workbook and a zip that holds no workbook.
    let mut truncated = workbook(&[("赵一", rid(711), 13_900_000_711, (2021, 3, 1), JINGTAN)]);
    truncated.truncate(truncated.len() / 2);
    let got = upload_xlsx(&app, &manager, "kind=members", truncated).await;
    assert_eq!(got.status, 400, "{}", got.text);
    assert_eq!(got.body["code"], "import_bad_spreadsheet");
    assert!(got.body["message"].as_str().unwrap().contains("Excel"));
    let got = upload_xlsx(&app, &manager, "kind=members", b"not a workbook".to_vec()).await;
    assert_eq!(got.status, 400, "{}", got.text);
    assert_eq!(got.body["code"], "import_bad_spreadsheet");
    assert_eq!(count(&app, "SELECT count(*) FROM imports"), imports_before);
}

#[tokio::test]
async fn a_union_sheet_over_its_row_limit_is_too_large_not_a_server_error() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let manager = app.admin_token("wushan-manager").await;
    let imports_before = count(&app, "SELECT count(*) FROM imports");
    let unions_before = count(&app, "SELECT count(*) FROM unions");
    let mut sheet = String::from("上级工会,名称,类型,地区,覆盖范围,服务职业,统一社会信用代码\n");
    for n in 0..20_001 {
        sheet.push_str(&format!(
            "高唐街道总工会,片区联合工会{n},联合工会,500237001,,,\n"
        ));
    }
    let got = upload(&app, &manager, "kind=unions", sheet.into_bytes()).await;
    assert_eq!(got.status, 413, "{}", got.text);
    assert_eq!(got.body["code"], "payload_too_large");
    assert!(
        got.body["message"].as_str().unwrap().contains("20000"),
        "{}",
        got.text
    );
    assert_eq!(count(&app, "SELECT count(*) FROM imports"), imports_before);
    assert_eq!(count(&app, "SELECT count(*) FROM unions"), unions_before);
}
