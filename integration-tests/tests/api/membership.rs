//! Membership, the member card, and its verification.

use reqwest::Method;
use serde_json::json;
use zhijian_integration_tests::fixtures::{approved_member, person};
use zhijian_integration_tests::spawn_app;

#[tokio::test]
async fn a_member_sees_the_membership_and_a_card_that_verifies() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let worker = app.worker_token("not-yet").await;
    let none = app.call(Method::GET, "/v1/membership", &worker, None).await;
    assert_eq!(none.status, 404);
    assert_eq!(none.body["code"], "not_a_member");
    assert_eq!(
        app.call(Method::GET, "/v1/membership/card", &worker, None)
            .await
            .status,
        404
    );

    let worker = approved_member(&app, "card-holder", 20).await.0;
    let membership = app.call(Method::GET, "/v1/membership", &worker, None).await;
    assert_eq!(membership.status, 200, "{}", membership.text);
    assert_eq!(membership.body["status"], "active");
    assert_eq!(membership.body["union"]["name"], "巫山县快递行业工会联合会");
    let number = membership.body["membership_number"]
        .as_str()
        .unwrap()
        .to_owned();

    let card = app
        .call(Method::GET, "/v1/membership/card", &worker, None)
        .await;
    assert_eq!(card.status, 200, "{}", card.text);
    assert_eq!(card.body["membership_number"], number.as_str());
    let payload = card.body["payload"].as_str().unwrap().to_owned();
    assert!(
        !payload.contains(&person(20)),
        "no ID number in the payload"
    );

    let verdict = app
        .post_json("/v1/cards/verify", &json!({"payload": payload}))
        .await;
    assert_eq!(verdict.status, 200, "{}", verdict.text);
    assert_eq!(verdict.body["valid"], true);
    assert_eq!(verdict.body["name"], "张*");
    assert_eq!(verdict.body["union"]["name"], "巫山县快递行业工会联合会");
    assert_eq!(verdict.body["status"], "active");
    let keys: Vec<&String> = verdict.body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["name", "status", "union", "valid"],
        "nothing more than name, union and status"
    );

    // A tampered or foreign payload is not valid.
    let mut tampered = payload.clone();
    tampered.pop();
    tampered.push(if payload.ends_with('A') { 'B' } else { 'A' });
    let verdict = app
        .post_json("/v1/cards/verify", &json!({"payload": tampered}))
        .await;
    assert_eq!(verdict.body["valid"], false);
    assert_eq!(verdict.body["reason"], "invalid");
    let verdict = app
        .post_json("/v1/cards/verify", &json!({"payload": worker}))
        .await;
    assert_eq!(
        verdict.body["valid"], false,
        "an access token is not a card"
    );
}

#[tokio::test]
async fn an_expired_card_is_refused() {
    let app = zhijian_integration_tests::spawn_app_with(|s| s.card.ttl_secs = 30).await;
    app.seed_demo().await;
    let worker = approved_member(&app, "short-card", 21).await.0;
    let card = app
        .call(Method::GET, "/v1/membership/card", &worker, None)
        .await;
    let payload = card.body["payload"].as_str().unwrap().to_owned();
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(card.body["expires_at"].as_str().unwrap()).unwrap();
    assert!(
        expires_at.with_timezone(&chrono::Utc) - chrono::Utc::now()
            <= chrono::TimeDelta::seconds(30)
    );
    // Forge the same card already expired, signed with the server's own key.
    let config = zhijian_api::settings::CardConfig {
        signing_key: app.settings.card.signing_key.clone(),
        ttl_secs: 30,
    };
    let member_id = app
        .call(Method::GET, "/v1/membership", &worker, None)
        .await
        .body["member_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (old, _) = zhijian_api::card::issue(
        &config,
        member_id,
        chrono::Utc::now() - chrono::TimeDelta::seconds(60),
    )
    .unwrap();
    let verdict = app
        .post_json("/v1/cards/verify", &json!({"payload": old}))
        .await;
    assert_eq!(verdict.body["valid"], false);
    assert_eq!(verdict.body["reason"], "expired");
    let fresh = app
        .post_json("/v1/cards/verify", &json!({"payload": payload}))
        .await;
    assert_eq!(fresh.body["valid"], true);
}

#[tokio::test]
async fn an_empty_or_oversized_payload_is_a_bad_request() {
    let app = spawn_app().await;
    for payload in [String::new(), "0".repeat(2049)] {
        let response = app
            .post_json("/v1/cards/verify", &json!({ "payload": payload }))
            .await;
        assert_eq!(response.status, 400);
        assert_eq!(response.body["field"], "payload");
    }
}

#[tokio::test]
async fn a_member_who_has_left_gets_no_card_and_an_old_card_no_longer_verifies() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let worker = approved_member(&app, "leaver", 22).await.0;
    let card = app
        .call(Method::GET, "/v1/membership/card", &worker, None)
        .await;
    assert_eq!(card.status, 200, "{}", card.text);
    let payload = card.body["payload"].as_str().unwrap().to_owned();

    let left = app
        .call(
            Method::POST,
            "/v1/membership/withdraw",
            &worker,
            Some(&json!({"confirm": true})),
        )
        .await;
    assert_eq!(left.status, 200, "{}", left.text);

    let refused = app
        .call(Method::GET, "/v1/membership/card", &worker, None)
        .await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.body["code"], "membership_ended");
    assert_eq!(refused.body["message"], "会籍已终止，无法出示会员卡");
    let verified = app
        .post_json("/v1/cards/verify", &json!({"payload": payload}))
        .await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(verified.body["valid"], false);
    assert_eq!(verified.body["reason"], "not_a_member");
    assert_eq!(verified.body["status"], "withdrawn");
}
