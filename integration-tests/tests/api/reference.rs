//! Reference endpoints: the occupation list and the public card of a union.

use zhijian_devtools::demo::{self, seed_demo};
use zhijian_domain::occupation::OccupationGroup;
use zhijian_infra::crypto::secret::Secret;
use zhijian_integration_tests::{TestApp, spawn_app};

/// Seeds the demo county into the app's database; returns the report.
async fn seeded() -> (TestApp, demo::DemoReport) {
    let app = spawn_app().await;
    let mut conn = app.db.connect();
    let report = tokio::task::spawn_blocking(move || {
        seed_demo(&mut conn, Some(&Secret::new("demo-Password-2026"))).unwrap()
    })
    .await
    .unwrap();
    (app, report)
}

#[tokio::test]
async fn the_occupation_list_is_the_controlled_list_in_display_order() {
    let app = spawn_app().await;
    let response = app.get("/v1/occupations").await;
    assert_eq!(response.status, 200, "{}", response.text);
    let items = response.body["items"].as_array().unwrap();
    assert_eq!(items.len(), OccupationGroup::ALL.len());
    let codes: Vec<&str> = items.iter().map(|i| i["code"].as_str().unwrap()).collect();
    let expected: Vec<&str> = OccupationGroup::ALL.iter().map(|g| g.as_str()).collect();
    assert_eq!(codes, expected);
    assert_eq!(
        items[0],
        serde_json::json!({"code": "delivery_rider", "label": "外卖配送员", "key_group": true})
    );
    let key: Vec<&str> = items
        .iter()
        .filter(|i| i["key_group"] == true)
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert_eq!(key, ["外卖配送员", "快递员", "网约车司机", "货车司机"]);
    assert_eq!(items.last().unwrap()["code"], "other");
}

#[tokio::test]
async fn a_union_card_names_its_kind_region_and_parent() {
    let (app, report) = seeded().await;
    let jingtan = report.union_named("净坛社区联合工会").unwrap();
    let gaotang = report.union_named("高唐街道总工会").unwrap();
    let response = app.get(&format!("/v1/unions/{jingtan}")).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(
        response.body,
        serde_json::json!({
            "id": jingtan.get(),
            "name": "净坛社区联合工会",
            "kind": "joint",
            "kind_label": "联合工会",
            "region": {"code": "500237001009", "name": "净坛社区居民委员会"},
            "parent": {"id": gaotang.get(), "name": "高唐街道总工会"},
            "accepting": true,
        })
    );

    let courier = report.union_named("巫山县快递行业工会联合会").unwrap();
    let response = app.get(&format!("/v1/unions/{courier}")).await;
    assert_eq!(response.body["kind"], "industry_federation");
    assert_eq!(response.body["kind_label"], "行业工会联合会");
    assert_eq!(response.body["region"]["name"], "巫山县");
    assert_eq!(response.body["parent"]["name"], "巫山县总工会");

    let root = report.union_named("重庆市总工会").unwrap();
    let response = app.get(&format!("/v1/unions/{root}")).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body["kind"], "federation");
    assert_eq!(
        response.body["region"],
        serde_json::json!({"code": "50", "name": "重庆市"})
    );
    assert!(
        response.body.get("parent").is_none(),
        "a root has no parent: {}",
        response.body
    );
}

#[tokio::test]
async fn an_unknown_union_is_404_and_a_malformed_id_is_400() {
    let app = spawn_app().await;
    let unknown = app.get("/v1/unions/987654321").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["code"], "not_found");
    for bad in ["abc", "0", "-3", "1.5", "99999999999999999999"] {
        let response = app.get(&format!("/v1/unions/{bad}")).await;
        assert_eq!(response.status, 400, "{bad}: {}", response.text);
        assert_eq!(response.body["code"], "invalid_union_id");
        assert_eq!(response.body["field"], "id");
    }
}

/// The public routes are capped per client address: the reference routes share one cap, the
/// card check has its own, and another address (through a trusted proxy) counts apart.
#[tokio::test]
async fn public_routes_are_capped_per_client_address() {
    use zhijian_infra::redis::rate_limit::RateLimit;
    let app = zhijian_integration_tests::spawn_app_with(|settings| {
        settings.public_limits.reference_per_ip = RateLimit {
            limit: 3,
            window_secs: 60,
        };
        settings.public_limits.cards_verify_per_ip = RateLimit {
            limit: 2,
            window_secs: 60,
        };
        settings.server.trust_forwarded_for = true;
    })
    .await;
    let from = |ip: &str, path: &str| {
        app.request(reqwest::Method::GET, path)
            .header("x-forwarded-for", ip.to_owned())
    };
    for path in ["/v1/occupations", "/v1/regions/500237", "/v1/occupations"] {
        let served = app.send(from("203.0.113.7", path)).await;
        assert_ne!(served.status, 429, "{path}: {}", served.text);
    }
    let capped = app.send(from("203.0.113.7", "/v1/unions/1")).await;
    assert_eq!(capped.status, 429, "{}", capped.text);
    assert_eq!(capped.body["code"], "too_many_requests");
    let wait: u64 = capped.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Another address has its own count.
    let other = app.send(from("198.51.100.9", "/v1/occupations")).await;
    assert_eq!(other.status, 200, "{}", other.text);

    // The card check counts apart from the reference routes, even for the capped address.
    let verify = |ip: &str| {
        app.request(reqwest::Method::POST, "/v1/cards/verify")
            .header("x-forwarded-for", ip.to_owned())
            .json(&serde_json::json!({ "payload": "not-a-card" }))
    };
    for _ in 0..2 {
        let checked = app.send(verify("203.0.113.7")).await;
        assert_eq!(checked.status, 200, "{}", checked.text);
        assert_eq!(checked.body["valid"], false);
    }
    let capped = app.send(verify("203.0.113.7")).await;
    assert_eq!(capped.status, 429, "{}", capped.text);
    assert_eq!(capped.body["code"], "too_many_requests");
}
