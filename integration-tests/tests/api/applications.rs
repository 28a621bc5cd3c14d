//! The join flow over HTTP: submit, route, review, approve into a member.

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};
use zhijian_integration_tests::fixtures::{application_form, count, person, resident_id};
use zhijian_integration_tests::{MockClock, TestApp, spawn_app, spawn_app_with_clock};

async fn submit(
    app: &TestApp,
    token: &str,
    form: &Value,
) -> zhijian_integration_tests::TestResponse {
    app.call(Method::POST, "/v1/applications", token, Some(form))
        .await
}

#[tokio::test]
async fn a_courier_is_routed_to_the_courier_federation_with_a_deadline() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let token = app.worker_token("courier1").await;
    let response = submit(&app, &token, &application_form(&person(1), "13812341234")).await;
    assert_eq!(response.status, 201, "{}", response.text);
    let body = &response.body;
    assert_eq!(body["status"], "pending_review");
    assert_eq!(body["union"]["name"], "巫山县快递行业工会联合会");
    assert_eq!(body["routing"]["rule"], "industry_federation");
    assert!(
        body["routing"]["explanation"]
            .as_str()
            .unwrap()
            .contains("快递行业工会联合会")
    );
    assert!(body["due_at"].is_string());
    assert_eq!(body["applicant"]["phone"], "138****1234");
    assert_eq!(
        body["applicant"]["resident_id"]
            .as_str()
            .unwrap()
            .matches('*')
            .count(),
        8
    );
    assert_eq!(
        body["applicant"]["gender"], "male",
        "an odd sequence number is a man"
    );
    assert_eq!(body["timeline"][0]["event"], "submitted");

    // Nothing clear at rest.
    let clear = count(
        &app,
        &format!(
            "SELECT count(*) FROM applications WHERE resident_id_cipher LIKE '%{}%' OR phone_cipher LIKE '%13812341234%'",
            person(1)
        ),
    );
    assert_eq!(clear, 0);

    let mine = app
        .call(Method::GET, "/v1/applications/mine", &token, None)
        .await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    let id = body["id"].as_str().unwrap();
    let detail = app
        .call(Method::GET, &format!("/v1/applications/{id}"), &token, None)
        .await;
    assert_eq!(detail.status, 200);
    assert_eq!(
        detail.body, *body,
        "the answer to the submission is what was stored"
    );
    // Written with it, in the same statement: one timeline step, the audit row carrying the
    // request's id, the outbox event.
    for (what, sql) in [
        (
            "timeline",
            format!(
                "SELECT count(*) FROM application_events WHERE application_id = '{id}' AND event = 'submitted' AND actor_kind = 'applicant'"
            ),
        ),
        (
            "audit",
            format!(
                "SELECT count(*) FROM audit_log WHERE object_id = '{id}' AND action = 'submit' AND actor_kind = 'applicant' AND request_id IS NOT NULL"
            ),
        ),
        (
            "outbox",
            format!(
                "SELECT count(*) FROM outbox WHERE aggregate_id = '{id}' AND event_type = 'application.submitted' AND payload->>'union_id' = '{}'",
                body["union"]["id"]
            ),
        ),
    ] {
        assert_eq!(count(&app, &sql), 1, "{what}");
    }

    // Another worker cannot see it.
    let other = app.worker_token("someone-else").await;
    let hidden = app
        .call(Method::GET, &format!("/v1/applications/{id}"), &other, None)
        .await;
    assert_eq!(hidden.status, 404);
}

#[tokio::test]
async fn each_invalid_field_is_refused_with_its_name_and_nothing_is_stored() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let token = app.worker_token("invalid1").await;
    let valid = application_form(&person(2), "13812341234");
    let mut bad_check = person(2);
    let last = bad_check.pop().unwrap();
    bad_check.push(if last == '0' { '1' } else { '0' });
    let too_young = resident_id("500237", "20150101", 3);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "resident_id",
            json!(bad_check),
            "resident_id_bad_check_character",
        ),
        (
            "resident_id",
            json!("50023719900101"),
            "resident_id_wrong_length",
        ),
        ("resident_id", json!(too_young), "applicant_too_young"),
        (
            "resident_id",
            json!(resident_id("500237", "19900230", 5)),
            "resident_id_invalid_birth_date",
        ),
        ("phone", json!("023-12345678"), "phone_not_mobile"),
        ("phone", json!("138abcd1234"), "phone_invalid_character"),
        ("phone", json!("1381234123"), "phone_wrong_length"),
        ("phone", json!("+1 4155550100"), "phone_not_mainland"),
        ("name", json!("x"), "invalid_name"),
        ("occupation", json!("astronaut"), "invalid_occupation_group"),
        ("ethnicity", json!("martian"), "invalid_ethnicity"),
        ("work_region", json!("500237"), "work_region_too_coarse"),
        ("work_region", json!("500237999999"), "unknown_region"),
        ("household_region", json!("509999"), "unknown_region"),
        (
            "employer_credit_code",
            json!("91500237000000000X"),
            "credit_code_bad_check_character",
        ),
        ("work_address", json!("  "), "required"),
    ];
    for (field, value, code) in cases {
        let mut form = valid.clone();
        form[field] = value.clone();
        let response = submit(&app, &token, &form).await;
        assert_eq!(response.status, 400, "{field}={value}: {}", response.text);
        assert_eq!(response.body["code"], code, "{field}={value}");
        assert_eq!(response.body["field"], field, "{field}={value}");
        let message = response.body["message"].as_str().unwrap();
        assert!(
            message
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "a Chinese message: {message}"
        );
    }

    let mut no_consent = valid.clone();
    no_consent["consent"]["sensitive_data"] = json!(false);
    let response = submit(&app, &token, &no_consent).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.body["code"], "sensitive_data_consent_required");
    assert_eq!(response.body["field"], "consent.sensitive_data");

    let mut missing = valid.clone();
    missing.as_object_mut().unwrap().remove("phone");
    let response = submit(&app, &token, &missing).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.body["field"], "phone");

    let mut unknown = valid.clone();
    unknown["favourite_colour"] = json!("red");
    let response = submit(&app, &token, &unknown).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.body["field"], "favourite_colour");

    let not_json = app
        .send(
            app.request(Method::POST, "/v1/applications")
                .bearer_auth(&token)
                .header("content-type", "text/plain")
                .body("hello"),
        )
        .await;
    assert_eq!(not_json.status, 415);
    let broken = app
        .send(
            app.request(Method::POST, "/v1/applications")
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body("{\"name\":"),
        )
        .await;
    assert_eq!(broken.status, 400);
    assert_eq!(broken.body["code"], "malformed_json");

    assert_eq!(
        count(&app, "SELECT count(*) FROM applications"),
        0,
        "nothing stored"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM outbox"),
        0,
        "nothing queued"
    );

    // Lower-case x is accepted and normalised.
    let with_x = (1..999)
        .map(|n| resident_id("500237", "19880808", n))
        .find(|id| id.ends_with('X'))
        .unwrap();
    let response = submit(
        &app,
        &token,
        &application_form(&with_x.to_lowercase(), "13812341234"),
    )
    .await;
    assert_eq!(response.status, 201, "{}", response.text);
    assert!(
        response.body["applicant"]["resident_id"]
            .as_str()
            .unwrap()
            .ends_with('X')
    );
}

#[tokio::test]
async fn submitting_without_a_token_is_401() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/v1/applications",
            &application_form(&person(3), "13812341234"),
        )
        .await;
    assert_eq!(response.status, 401);
}

#[tokio::test]
async fn one_open_application_per_person_nationwide() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let first = app.worker_token("dup-a").await;
    let second = app.worker_token("dup-b").await;
    assert_eq!(
        submit(&app, &first, &application_form(&person(4), "13812341234"))
            .await
            .status,
        201
    );
    let again = submit(&app, &second, &application_form(&person(4), "13912341234")).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.body["code"], "application_exists");
    assert_eq!(count(&app, "SELECT count(*) FROM applications"), 1);
}

#[tokio::test]
async fn an_idempotent_retry_answers_the_first_response_and_a_changed_body_is_refused() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let token = app.worker_token("idem").await;
    let form = application_form(&person(5), "13812341234");
    let send = |form: Value, key: &'static str| {
        let request = app
            .request(Method::POST, "/v1/applications")
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&form);
        app.send(request)
    };
    let first = send(form.clone(), "key-1").await;
    assert_eq!(first.status, 201);
    let retry = send(form.clone(), "key-1").await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body);
    let mut changed = form.clone();
    changed["work_address"] = json!("另一个地址");
    let reused = send(changed, "key-1").await;
    assert_eq!(reused.status, 422);
    assert_eq!(reused.body["code"], "idempotency_key_reused");
    assert_eq!(count(&app, "SELECT count(*) FROM applications"), 1);

    // Concurrent retries with one key also happen once.
    let token2 = app.worker_token("idem-2").await;
    let form2 = application_form(&person(6), "13912341234");
    let attempts = (0..8).map(|_| {
        let request = app
            .request(Method::POST, "/v1/applications")
            .bearer_auth(&token2)
            .header("Idempotency-Key", "race")
            .json(&form2);
        app.send(request)
    });
    let answers = futures_util::future::join_all(attempts).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 201, "{}", a.text);
            a.body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(count(&app, "SELECT count(*) FROM applications"), 2);
}

#[tokio::test]
async fn approval_creates_one_member_with_a_number_and_the_worker_sees_it() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let worker = app.worker_token("approve-me").await;
    let submitted = submit(&app, &worker, &application_form(&person(7), "13812341234")).await;
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    let reviewer = app.admin_token("courier-reviewer").await;

    let queue = app
        .call(Method::GET, "/v1/admin/applications", &reviewer, None)
        .await;
    assert_eq!(queue.status, 200, "{}", queue.text);
    assert_eq!(queue.body["items"][0]["id"], id.as_str());

    let detail = app
        .call(
            Method::GET,
            &format!("/v1/admin/applications/{id}"),
            &reviewer,
            None,
        )
        .await;
    assert_eq!(detail.status, 200);
    assert_eq!(
        detail.body["applicant"]["resident_id"],
        person(7),
        "a reviewer sees the ID in clear"
    );
    assert_eq!(detail.body["applicant"]["phone"], "13812341234");
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE action = 'view_personal_data' AND object_id = '{id}'"
            )
        ),
        1
    );

    let approved = app.approve(&id, &reviewer, 1).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(approved.body["status"], "approved");
    let number = approved.body["membership_number"].as_str().unwrap();
    assert!(number.starts_with("500237"), "{number}");
    assert!(zhijian_domain::membership_number::MembershipNumber::parse(number).is_ok());

    let mine = app
        .call(
            Method::GET,
            &format!("/v1/applications/{id}"),
            &worker,
            None,
        )
        .await;
    assert_eq!(mine.body["status"], "approved");
    assert_eq!(mine.body["membership_number"], number);
    let events: Vec<&str> = mine.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["submitted", "approved"]);

    assert_eq!(count(&app, "SELECT count(*) FROM members"), 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM affiliations WHERE ended_at IS NULL"
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE action = 'approve' AND object_id = '{id}'"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM outbox WHERE event_type = 'application.approved' AND aggregate_id = '{id}'"
            )
        ),
        1
    );

    // Approving again is a conflict, and the member is not applying again.
    let again = app.approve(&id, &reviewer, 2).await;
    assert_eq!(again.status, 409);
    let reapply = submit(&app, &worker, &application_form(&person(7), "13812341234")).await;
    assert_eq!(reapply.status, 409);
    assert_eq!(reapply.body["code"], "already_member");
    // Also with an Idempotency-Key: refused, and the key is not spent on the refusal.
    let keyed = app
        .send(
            app.request(Method::POST, "/v1/applications")
                .bearer_auth(&worker)
                .header("Idempotency-Key", "member-again")
                .json(&application_form(&person(7), "13812341234")),
        )
        .await;
    assert_eq!(keyed.status, 409, "{}", keyed.text);
    assert_eq!(keyed.body["code"], "already_member");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM idempotency_keys WHERE key = 'member-again'"
        ),
        0
    );
    assert_eq!(count(&app, "SELECT count(*) FROM applications"), 1);
}

#[tokio::test]
async fn many_concurrent_approvals_make_exactly_one_member() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let worker = app.worker_token("race").await;
    let submitted = submit(&app, &worker, &application_form(&person(8), "13812341234")).await;
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    let reviewers = [
        app.admin_token("courier-reviewer").await,
        app.admin_token("wushan-manager").await,
    ];
    let path = format!("/v1/admin/applications/{id}/approve");
    let body = json!({"version": 1});
    let attempts = (0..16).map(|i| app.call(Method::POST, &path, &reviewers[i % 2], Some(&body)));
    let answers = futures_util::future::join_all(attempts).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let conflicts = answers.iter().filter(|a| a.status == 409).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert_eq!(conflicts, 15);
    assert_eq!(count(&app, "SELECT count(*) FROM members"), 1);
    assert_eq!(
        count(&app, "SELECT last_value::bigint FROM membership_counters"),
        1
    );
}

#[tokio::test]
async fn admins_outside_the_subtree_get_404_and_viewers_cannot_decide() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let worker = app.worker_token("scope").await;
    let submitted = submit(&app, &worker, &application_form(&person(9), "13812341234")).await;
    let id = submitted.body["id"].as_str().unwrap().to_owned();

    let outsider = app.admin_token("jingtan-reviewer").await;
    let queue = app
        .call(Method::GET, "/v1/admin/applications", &outsider, None)
        .await;
    assert_eq!(queue.body["items"].as_array().unwrap().len(), 0);
    for (method, path, body) in [
        (Method::GET, format!("/v1/admin/applications/{id}"), None),
        (
            Method::POST,
            format!("/v1/admin/applications/{id}/approve"),
            Some(json!({"version": 1})),
        ),
        (
            Method::POST,
            format!("/v1/admin/applications/{id}/reject"),
            Some(json!({"version": 1, "reason_code": "not_eligible"})),
        ),
    ] {
        let response = app.call(method, &path, &outsider, body.as_ref()).await;
        assert_eq!(response.status, 404, "{path}: {}", response.text);
    }

    let viewer = app.admin_token("wushan-viewer").await;
    let seen = app
        .call(
            Method::GET,
            &format!("/v1/admin/applications/{id}"),
            &viewer,
            None,
        )
        .await;
    assert_eq!(seen.status, 200, "the county sees its subtree");
    assert_eq!(
        seen.body["applicant"]["phone"], "138****1234",
        "a viewer sees personal data masked"
    );
    let denied = app.approve(&id, &viewer, 1).await;
    assert_eq!(denied.status, 403);

    // A worker token is no admin token.
    let as_worker = app
        .call(Method::GET, "/v1/admin/applications", &worker, None)
        .await;
    assert_eq!(as_worker.status, 401);
    assert_eq!(count(&app, "SELECT count(*) FROM members"), 0);
}

#[tokio::test]
async fn reject_return_correct_and_withdraw() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let reviewer = app.admin_token("courier-reviewer").await;

    // Reject with a reason the worker can read.
    let w1 = app.worker_token("rej").await;
    let a1 = submit(&app, &w1, &application_form(&person(10), "13812341234")).await;
    let id1 = a1.body["id"].as_str().unwrap();
    let no_note = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{id1}/reject"),
            &reviewer,
            Some(&json!({"version": 1, "reason_code": "other"})),
        )
        .await;
    assert_eq!(no_note.status, 400);
    assert_eq!(no_note.body["code"], "reject_note_required");
    let rejected = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{id1}/reject"),
            &reviewer,
            Some(&json!({"version": 1, "reason_code": "not_eligible", "note": "非本行业从业人员"})),
        )
        .await;
    assert_eq!(rejected.status, 200, "{}", rejected.text);
    let seen = app
        .call(Method::GET, &format!("/v1/applications/{id1}"), &w1, None)
        .await;
    assert_eq!(seen.body["status"], "rejected");
    assert_eq!(seen.body["rejection"]["note"], "非本行业从业人员");
    assert_eq!(seen.body["timeline"][1]["event"], "rejected");

    // Return for correction; the worker corrects it and it is back in review.
    let w2 = app.worker_token("ret").await;
    let form = application_form(&person(11), "13812341234");
    let a2 = submit(&app, &w2, &form).await;
    let id2 = a2.body["id"].as_str().unwrap();
    let bad_field = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{id2}/return"),
            &reviewer,
            Some(&json!({"version": 1, "fields": ["shoe_size"]})),
        )
        .await;
    assert_eq!(bad_field.status, 400);
    let returned = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{id2}/return"),
            &reviewer,
            Some(&json!({"version": 1, "fields": ["work_address"], "note": "请填写具体门牌号"})),
        )
        .await;
    assert_eq!(returned.status, 200, "{}", returned.text);
    let seen = app
        .call(Method::GET, &format!("/v1/applications/{id2}"), &w2, None)
        .await;
    assert_eq!(seen.body["status"], "returned");
    assert_eq!(seen.body["return"]["fields"], json!(["work_address"]));
    let mut corrected = form.clone();
    corrected["work_address"] = json!("重庆市巫山县高唐街道净坛社区广东中路8号");
    let resubmitted = app
        .call(
            Method::PUT,
            &format!("/v1/applications/{id2}"),
            &w2,
            Some(&corrected),
        )
        .await;
    assert_eq!(resubmitted.status, 200, "{}", resubmitted.text);
    assert_eq!(resubmitted.body["status"], "pending_review");
    assert_eq!(
        resubmitted.body["work"]["work_address"],
        "重庆市巫山县高唐街道净坛社区广东中路8号"
    );
    let again = app
        .call(
            Method::PUT,
            &format!("/v1/applications/{id2}"),
            &w2,
            Some(&corrected),
        )
        .await;
    assert_eq!(
        again.status, 409,
        "only a returned application can be corrected"
    );

    // Withdraw, once.
    let withdrawn = app
        .call(
            Method::POST,
            &format!("/v1/applications/{id2}/withdraw"),
            &w2,
            None,
        )
        .await;
    assert_eq!(withdrawn.status, 200);
    assert_eq!(withdrawn.body["status"], "withdrawn");
    let twice = app
        .call(
            Method::POST,
            &format!("/v1/applications/{id2}/withdraw"),
            &w2,
            None,
        )
        .await;
    assert_eq!(twice.status, 409);
    let stale = app.approve(id2, &reviewer, 3).await;
    assert_eq!(stale.status, 409);
}

#[tokio::test]
async fn forward_and_pool_assignment() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let jingtan = demo.union_named("净坛社区联合工会").unwrap();
    // A cleaner in 净坛社区 goes to the community joint union (rule 3).
    let worker = app.worker_token("cleaner").await;
    let mut form = application_form(&person(12), "13812341234");
    form["occupation"] = json!("cleaner");
    let submitted = submit(&app, &worker, &form).await;
    assert_eq!(submitted.body["union"]["id"], jingtan.get());
    assert_eq!(submitted.body["routing"]["rule"], "joint_union");
    let id = submitted.body["id"].as_str().unwrap();
    // The reviewer forwards it to the courier federation.
    let reviewer = app.admin_token("jingtan-reviewer").await;
    let courier = demo.union_named("巫山县快递行业工会联合会").unwrap();
    let pool = demo.union_named("巫山县临时库").unwrap();
    let to_pool = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{id}/forward"),
            &reviewer,
            Some(&json!({"version": 1, "union_id": pool.get(), "reason": "x"})),
        )
        .await;
    assert_eq!(
        to_pool.status, 400,
        "a pool is never a forward target: {}",
        to_pool.text
    );
    assert_eq!(to_pool.body["code"], "invalid_target_union");
    let same = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{id}/forward"),
            &reviewer,
            Some(&json!({"version": 1, "union_id": jingtan.get(), "reason": "x"})),
        )
        .await;
    assert_eq!(same.status, 400);
    let forwarded = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{id}/forward"),
            &reviewer,
            Some(&json!({"version": 1, "union_id": courier.get(), "reason": "实为快递员"})),
        )
        .await;
    assert_eq!(forwarded.status, 200, "{}", forwarded.text);
    assert_eq!(forwarded.body["union"]["id"], courier.get());
    let courier_queue = app
        .call(
            Method::GET,
            "/v1/admin/applications",
            &app.admin_token("courier-reviewer").await,
            None,
        )
        .await;
    assert_eq!(courier_queue.body["items"][0]["id"], id);

    // No accepting joint union: the application waits in the county pool.
    {
        let mut conn = app.db.connect();
        diesel::sql_query("UPDATE unions SET accepting = false WHERE kind = 'joint'")
            .execute(&mut conn)
            .unwrap();
    }
    let pooled_worker = app.worker_token("pooled").await;
    let mut form = application_form(&person(13), "13912341234");
    form["occupation"] = json!("security_guard");
    let pooled = submit(&app, &pooled_worker, &form).await;
    assert_eq!(pooled.status, 201, "{}", pooled.text);
    assert_eq!(pooled.body["status"], "pooled");
    assert_eq!(pooled.body["routing"]["rule"], "pool");
    let pool_id = pooled.body["id"].as_str().unwrap();
    let steps: Vec<&str> = pooled.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["status"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["pending_review", "pooled"]);
    let stored = app
        .call(
            Method::GET,
            &format!("/v1/applications/{pool_id}"),
            &pooled_worker,
            None,
        )
        .await;
    assert_eq!(stored.body, pooled.body, "both steps stored, in order");
    let manager = app.admin_token("pool-reviewer").await;
    let pool = app
        .call(Method::GET, "/v1/admin/pool", &manager, None)
        .await;
    assert_eq!(pool.status, 200);
    assert_eq!(pool.body["items"][0]["id"], pool_id);
    // Assignment stays inside the assigner's subtree: 重庆市总工会 is above 巫山县总工会.
    let city = demo.union_named("重庆市总工会").unwrap();
    let outside = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{pool_id}/assign"),
            &manager,
            Some(&json!({"version": 1, "union_id": city.get()})),
        )
        .await;
    assert_eq!(outside.status, 400, "{}", outside.text);
    assert_eq!(outside.body["code"], "invalid_target_union");
    assert_eq!(outside.body["field"], "union_id");
    let gaotang = demo.union_named("高唐街道总工会").unwrap();
    let assigned = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{pool_id}/assign"),
            &manager,
            Some(&json!({"version": 1, "union_id": gaotang.get()})),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    assert_eq!(assigned.body["status"], "pending_review");
    assert_eq!(assigned.body["union"]["id"], gaotang.get());
}

#[tokio::test]
async fn the_queue_pages_by_keyset_earliest_deadline_first() {
    let app = spawn_app().await;
    app.seed_demo().await;
    for n in 0..5 {
        let token = app.worker_token(&format!("page{n}")).await;
        let response = submit(
            &app,
            &token,
            &application_form(&person(100 + n), "13812341234"),
        )
        .await;
        assert_eq!(response.status, 201);
    }
    let reviewer = app.admin_token("courier-reviewer").await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/admin/applications?limit=2&cursor={c}"),
            None => "/v1/admin/applications?limit=2".to_owned(),
        };
        let page = app.call(Method::GET, &path, &reviewer, None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        for item in page.body["items"].as_array().unwrap() {
            seen.push((
                item["due_at"].as_str().unwrap().to_owned(),
                item["id"].as_str().unwrap().to_owned(),
            ));
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    let bad = app
        .call(
            Method::GET,
            "/v1/admin/applications?cursor=nonsense",
            &reviewer,
            None,
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["field"], "cursor");
    let overdue = app
        .call(
            Method::GET,
            "/v1/admin/applications?overdue=true",
            &reviewer,
            None,
        )
        .await;
    assert_eq!(overdue.status, 200);
}

#[tokio::test]
async fn no_resident_id_or_phone_reaches_the_logs_in_a_full_flow() {
    use zhijian_integration_tests::logcapture;
    let app = spawn_app().await;
    app.seed_demo().await;
    let id_number = resident_id("500237", "19870707", 707);
    let phone = "13787077077";
    let worker = app.worker_token("log-flow").await;
    let mut bad = application_form(&id_number, phone);
    bad["work_region"] = json!("500237");
    assert_eq!(submit(&app, &worker, &bad).await.status, 400);
    let submitted = submit(&app, &worker, &application_form(&id_number, phone)).await;
    assert_eq!(submitted.status, 201);
    let id = submitted.body["id"].as_str().unwrap();
    let reviewer = app.admin_token("courier-reviewer").await;
    let detail = app
        .call(
            Method::GET,
            &format!("/v1/admin/applications/{id}"),
            &reviewer,
            None,
        )
        .await;
    assert_eq!(detail.body["applicant"]["resident_id"], id_number.as_str());
    let approved = app.approve(id, &reviewer, 1).await;
    assert_eq!(approved.status, 200);
    let card = app
        .call(Method::GET, "/v1/membership/card", &worker, None)
        .await;
    let verdict = app
        .post_json(
            "/v1/cards/verify",
            &json!({"payload": card.body["payload"]}),
        )
        .await;
    assert_eq!(verdict.body["valid"], true);

    assert!(
        !logcapture::lines_containing(id).is_empty(),
        "the capture sees this flow's log lines"
    );
    let leaks: Vec<String> = logcapture::lines()
        .into_iter()
        .filter(|line| !line.is_from_stub())
        .filter(|line| line.message.contains(&id_number) || line.message.contains(phone))
        .map(|line| line.to_string())
        .collect();
    assert!(
        leaks.is_empty(),
        "personal data in the log:\n{}",
        leaks.join("\n")
    );
}

/// A submission writes every column of `applications` by name: a column added later and
/// forgotten in the statement would otherwise be stored as NULL (or its default) in silence.
/// `anchor_id` is the exception: the `applications_anchor` trigger sets it from the
/// union (checked for every generated and forwarded application in the generator's tests).
#[tokio::test]
async fn the_submission_statement_names_every_column_of_applications() {
    let app = spawn_app().await;
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
    }
    let mut conn = app.db.connect();
    let mut table: Vec<String> = diesel::sql_query(
        "SELECT column_name::text AS column_name FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = 'applications'",
    )
    .load::<Column>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|c| c.column_name)
    .filter(|c| c != "anchor_id")
    // Written by erasure only (cancellation, retention), never by a submission.
    .filter(|c| c != "erased_at")
    .collect();
    let sql = zhijian_infra::store::applications::SUBMIT_SQL;
    let listed = sql
        .split_once("INSERT INTO applications (")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(columns, _)| columns)
        .unwrap();
    let mut written: Vec<String> = listed.split(',').map(|c| c.trim().to_owned()).collect();
    table.sort();
    written.sort();
    assert_eq!(written, table);
}

/// A stored application still renders when the server's clock reads a date before the
/// applicant's birth (a badly set clock, or one moved in a test): masking a stored ID needs no
/// date.
#[tokio::test]
async fn a_view_masks_the_stored_id_whatever_the_clock_says() {
    let clock = MockClock::at_beijing(2026, 11, 23, 10, 0);
    let app = spawn_app_with_clock(clock.port(), |_| {}).await;
    app.seed_demo().await;
    let token = app.worker_token("early-clock").await;
    let submitted = submit(&app, &token, &application_form(&person(21), "13812341234")).await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    // person(21) was born on 1 January 1990.
    clock.set(
        chrono::DateTime::parse_from_rfc3339("1989-06-01T00:00:00Z")
            .unwrap()
            .to_utc(),
    );
    // Tokens are checked against the same clock: sign in again under it.
    let token = app.worker_token("early-clock").await;
    let view = app
        .call(Method::GET, &format!("/v1/applications/{id}"), &token, None)
        .await;
    assert_eq!(view.status, 200, "{}", view.text);
    assert_eq!(
        view.body["applicant"]["resident_id"],
        submitted.body["applicant"]["resident_id"]
    );
}

/// Submits a form for a new worker and returns it to them for correction of the resident ID.
async fn returned_application(app: &TestApp, user: &str, n: u16) -> (String, String, Value) {
    let worker = app.worker_token(user).await;
    let form = application_form(&person(n), "13812341234");
    let submitted = submit(app, &worker, &form).await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let id = submitted.body["id"].as_str().unwrap().to_owned();
    let reviewer = app.admin_token("courier-reviewer").await;
    let returned = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{id}/return"),
            &reviewer,
            Some(&json!({"version": 1, "fields": ["resident_id"]})),
        )
        .await;
    assert_eq!(returned.status, 200, "{}", returned.text);
    (worker, id, form)
}

/// Sends `form` corrected to `resident_id` as the worker's correction of application `id`.
async fn correct_to(
    app: &TestApp,
    worker: &str,
    id: &str,
    form: &Value,
    resident_id: &str,
) -> zhijian_integration_tests::TestResponse {
    let mut corrected = form.clone();
    corrected["resident_id"] = json!(resident_id);
    app.call(
        Method::PUT,
        &format!("/v1/applications/{id}"),
        worker,
        Some(&corrected),
    )
    .await
}

/// The worker's view of application `id`.
async fn seen_by(app: &TestApp, worker: &str, id: &str) -> Value {
    app.call(Method::GET, &format!("/v1/applications/{id}"), worker, None)
        .await
        .body
}

#[tokio::test]
async fn a_correction_to_the_id_of_a_current_member_is_refused_like_a_submission() {
    let app = spawn_app().await;
    app.seed_demo().await;
    zhijian_integration_tests::fixtures::approved_member(&app, "corr-member", 30).await;
    let (worker, id, form) = returned_application(&app, "corr-member-b", 31).await;

    let answer = correct_to(&app, &worker, &id, &form, &person(30)).await;
    assert_eq!(answer.status, 409, "{}", answer.text);
    assert_eq!(answer.body["code"], "already_member");
    assert_eq!(
        answer.body["message"],
        "您已是工会会员，无需重复入会；工作地变动请申请会籍转接"
    );
    let seen = seen_by(&app, &worker, &id).await;
    assert_eq!(seen["status"], "returned", "nothing reached the queue");
    assert_eq!(seen["version"], 2);
}

#[tokio::test]
async fn a_correction_to_the_id_of_another_open_application_is_refused_like_a_submission() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let other = app.worker_token("corr-open-a").await;
    let pending = submit(&app, &other, &application_form(&person(32), "13912341234")).await;
    assert_eq!(pending.status, 201, "{}", pending.text);
    let (worker, id, form) = returned_application(&app, "corr-open-b", 33).await;

    let answer = correct_to(&app, &worker, &id, &form, &person(32)).await;
    assert_eq!(answer.status, 409, "{}", answer.text);
    assert_eq!(answer.body["code"], "application_exists");
    assert_eq!(
        answer.body["message"],
        "您已有一份正在办理的入会申请，请勿重复提交"
    );
    let seen = seen_by(&app, &worker, &id).await;
    assert_eq!(seen["status"], "returned", "nothing reached the queue");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM applications WHERE status = 'pending_review'"
        ),
        1
    );
}

#[tokio::test]
async fn a_vocabulary_round_trips_through_a_text_column_and_an_unknown_value_is_an_error() {
    use diesel::dsl::sql;
    use diesel::sql_types::Text;
    use zhijian_domain::application::ApplicationStatus;
    use zhijian_domain::registry::Ethnicity;
    use zhijian_infra::db::types::Stored;

    let app = spawn_app().await;
    let mut conn = app.db.connect();
    for status in ApplicationStatus::ALL {
        let back: Stored<ApplicationStatus> = diesel::select(Stored(*status).into_sql::<Text>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(back.0, *status);
    }
    let text: String = diesel::select(Stored(Ethnicity::ALL[0]).into_sql::<Text>())
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(text, Ethnicity::ALL[0].as_str());
    let unknown =
        diesel::select(sql::<Text>("'lost'")).get_result::<Stored<ApplicationStatus>>(&mut conn);
    let message = format!("{:?}", unknown.unwrap_err());
    assert!(
        message.contains("ApplicationStatus") && message.contains("lost"),
        "{message}"
    );
}

#[tokio::test]
async fn a_batch_approval_checks_each_version_and_lists_the_refused_with_why() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let mut ids = Vec::new();
    for n in 0..3_u16 {
        let worker = app.worker_token(&format!("batch-{n}")).await;
        let submitted = submit(
            &app,
            &worker,
            &application_form(&person(60 + n), &format!("1381234{:04}", 5600 + n)),
        )
        .await;
        assert_eq!(submitted.status, 201, "{}", submitted.text);
        ids.push(submitted.body["id"].as_str().unwrap().to_owned());
    }
    let reviewer = app.admin_token("courier-reviewer").await;
    let path = "/v1/admin/applications/batch-approve";
    // Someone else approved the second one meanwhile: its version 1 is stale.
    assert_eq!(app.approve(&ids[1], &reviewer, 1).await.status, 200);
    let unknown = "0190a000-0000-7000-8000-000000000000";
    let items: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "version": 1}))
        .chain([json!({"id": unknown, "version": 1})])
        .collect();

    let viewer = app.admin_token("wushan-viewer").await;
    let denied = app
        .call(Method::POST, path, &viewer, Some(&json!({"items": items})))
        .await;
    assert_eq!(denied.status, 403, "{}", denied.text);
    assert_eq!(count(&app, "SELECT count(*) FROM members"), 1);

    let batch = app
        .call(
            Method::POST,
            path,
            &reviewer,
            Some(&json!({"items": items})),
        )
        .await;
    assert_eq!(batch.status, 200, "{}", batch.text);
    let approved: Vec<&str> = batch.body["approved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(approved, [ids[0].as_str(), ids[2].as_str()]);
    assert!(batch.body["approved"][0]["membership_number"].is_string());
    let failed = batch.body["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{}", batch.text);
    assert_eq!(failed[0]["id"], ids[1].as_str());
    assert_eq!(failed[0]["status"], 409);
    assert_eq!(failed[1]["id"], unknown);
    assert_eq!(failed[1]["code"], "not_found");
    assert!(!failed[0]["message"].as_str().unwrap().is_empty());
    assert_eq!(count(&app, "SELECT count(*) FROM members"), 3);

    for body in [
        json!({"items": []}),
        json!({"items": [{"id": ids[0], "version": 2}, {"id": ids[0], "version": 2}]}),
    ] {
        let refused = app.call(Method::POST, path, &reviewer, Some(&body)).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_eq!(refused.body["code"], "invalid_field");
    }
    let bad_id = app
        .call(
            Method::POST,
            path,
            &reviewer,
            Some(&json!({"items": [{"id": "nope", "version": 1}]})),
        )
        .await;
    assert_eq!(bad_id.status, 400);
    assert_eq!(bad_id.body["code"], "invalid_application_id");
}
