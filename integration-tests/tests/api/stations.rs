//! Service stations near me, welcome benefits on approval, redemption by card (issue 17), over
//! HTTP: the managers' stations (subtree, role, hours, versions), the public "near me" search
//! (bad coordinates and radii, the sea, pagination, the rate limit, the spatial index), the
//! grant on approval (stock, ancestors, once, the pool), and redemption at a station (once, two
//! concurrent scans, forged, expired and withdrawn cards, station staff confined to their
//! station).

use std::sync::Arc;

use chrono::TimeDelta;
use diesel::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};
use zhijian_domain::admin::AdminRole;
use zhijian_domain::ids::UnionId;
use zhijian_infra::redis::rate_limit::RateLimit;
use zhijian_infra::store::admins::{NewAdmin, create_admin};
use zhijian_integration_tests::clock::MockClock;
use zhijian_integration_tests::fixtures::{
    DEMO_PASSWORD, application_form, approved_member, count, person,
};
use zhijian_integration_tests::{
    TestApp, TestResponse, spawn_app, spawn_app_with, spawn_app_with_clock,
};

/// 巫山县 高唐街道, near 净坛社区 (GCJ-02).
const HERE: (f64, f64) = (31.0747, 109.8786);

fn all_week() -> Value {
    json!(
        (1..=7)
            .map(|d| json!({"weekday": d, "open": "00:00", "close": "24:00"}))
            .collect::<Vec<_>>()
    )
}

fn station_body(union_id: i64, name: &str, lat: f64, lng: f64) -> Value {
    json!({
        "union_id": union_id,
        "name": name,
        "kind": "service_post",
        "lat": lat,
        "lng": lng,
        "address": "重庆市巫山县高唐街道广东中路1号",
        "hours": all_week(),
        "amenities": ["drinking_water", "charging"],
        "contact_phone": "023-57681234"
    })
}

async fn create_station(app: &TestApp, token: &str, body: &Value) -> TestResponse {
    app.call(Method::POST, "/v1/admin/stations", token, Some(body))
        .await
}

async fn county(app: &TestApp) -> i64 {
    app.seed_demo()
        .await
        .union_named("巫山县总工会")
        .unwrap()
        .get()
}

async fn nearby(app: &TestApp, query: &str) -> TestResponse {
    app.get(&format!("/v1/stations/nearby?{query}")).await
}

fn at(lat: f64, lng: f64) -> String {
    format!("lat={lat}&lng={lng}")
}

/// An admin of `role` at `union` with the demo password.
async fn admin_at(app: &TestApp, username: &str, role: AdminRole, union: i64) {
    let mut conn = app.db.connect();
    let username = username.to_owned();
    tokio::task::spawn_blocking(move || {
        create_admin(
            &mut conn,
            NewAdmin {
                username: &username,
                display_name: "测试管理员",
                password: DEMO_PASSWORD,
                role,
                union_id: UnionId::new(union),
            },
        )
        .unwrap();
    })
    .await
    .unwrap();
}

/// Station staff of `station` with the demo password (as the demo makes them), signed in.
async fn station_staff(app: &TestApp, username: &str, station: i64) -> String {
    use zhijian_domain::admin_management::{DisplayName, Username};
    use zhijian_infra::crypto::secret::Secret;
    use zhijian_infra::usecases::admins::{
        Creator, InitialPassword, NewStationStaff, create_station_staff_in,
    };
    let mut conn = app.db.connect();
    let new = NewStationStaff {
        username: Username::parse(username).unwrap(),
        display_name: DisplayName::parse("驿站管理员").unwrap(),
        station: zhijian_domain::station::StationId::new(station),
    };
    tokio::task::spawn_blocking(move || {
        let given = InitialPassword::Given(Secret::new(DEMO_PASSWORD.to_owned()));
        create_station_staff_in(&mut conn, &Creator::Demo, &new, given, chrono::Utc::now())
            .unwrap();
    })
    .await
    .unwrap();
    app.admin_token(username).await
}

#[tokio::test]
async fn a_manager_adds_stations_and_anyone_finds_the_nearest_first() {
    let app = spawn_app().await;
    let county = county(&app).await;
    let manager = app.admin_token("wushan-manager").await;
    let near = create_station(
        &app,
        &manager,
        &station_body(county, "净坛社区驿站", 31.0752, 109.8781),
    )
    .await;
    assert_eq!(near.status, 201, "{}", near.text);
    assert_eq!(near.body["version"], 1);
    assert_eq!(near.body["open_now"], true);
    let mut far_body = station_body(county, "高唐司机之家", 31.0900, 109.8900);
    far_body["kind"] = json!("drivers_home");
    far_body["amenities"] = json!(["parking"]);
    let far = create_station(&app, &manager, &far_body).await;
    assert_eq!(far.status, 201, "{}", far.text);

    // Default radius 1 km: only the near one, with its distance.
    let found = nearby(&app, &at(HERE.0, HERE.1)).await;
    assert_eq!(found.status, 200, "{}", found.text);
    let items = found.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", found.text);
    assert_eq!(items[0]["id"], near.body["id"]);
    let d = items[0]["distance_m"].as_u64().unwrap();
    assert!((60..=80).contains(&d), "about 72 m, got {d}");
    assert_eq!(items[0]["open_now"], true);
    assert_eq!(
        found.header("cache-control"),
        None,
        "public data stays cacheable"
    );

    // 5 km: both, nearest first; one per page with a cursor.
    let first = nearby(
        &app,
        &format!("{}&radius_m=5000&limit=1", at(HERE.0, HERE.1)),
    )
    .await;
    assert_eq!(first.body["items"][0]["id"], near.body["id"]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = nearby(
        &app,
        &format!(
            "{}&radius_m=5000&limit=1&cursor={cursor}",
            at(HERE.0, HERE.1)
        ),
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.body["items"][0]["id"], far.body["id"]);
    assert!(second.body["next_cursor"].is_null());
    // An amenity filter.
    let parking = nearby(
        &app,
        &format!("{}&radius_m=5000&amenity=parking", at(HERE.0, HERE.1)),
    )
    .await;
    let ids: Vec<&Value> = parking.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(ids, [&far.body["id"]]);

    let card = app.get(&format!("/v1/stations/{}", near.body["id"])).await;
    assert_eq!(card.status, 200, "{}", card.text);
    assert_eq!(card.body["name"], "净坛社区驿站");
    assert_eq!(card.body["contact_phone"], "023-57681234");
    assert_eq!(app.get("/v1/stations/999999").await.status, 404);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE object_kind = 'station' AND action = 'create_station'"
        ),
        2
    );
}

#[tokio::test]
async fn bad_coordinates_radii_and_filters_are_refused_and_the_sea_is_empty() {
    let app = spawn_app().await;
    for (query, code, field) in [
        ("lat=abc&lng=109.88", "invalid_latitude", "lat"),
        ("lat=91&lng=109.88", "invalid_latitude", "lat"),
        ("lng=109.88", "invalid_latitude", "lat"),
        ("lat=NaN&lng=109.88", "invalid_latitude", "lat"),
        ("lat=31.07&lng=181", "invalid_longitude", "lng"),
        ("lat=31.07&lng=east", "invalid_longitude", "lng"),
        (
            "lat=31.07&lng=109.88&radius_m=0",
            "invalid_radius",
            "radius_m",
        ),
        (
            "lat=31.07&lng=109.88&radius_m=10001",
            "invalid_radius",
            "radius_m",
        ),
        (
            "lat=31.07&lng=109.88&radius_m=-5",
            "invalid_radius",
            "radius_m",
        ),
        (
            "lat=31.07&lng=109.88&amenity=pool",
            "invalid_amenity",
            "amenity",
        ),
        (
            "lat=31.07&lng=109.88&open_now=maybe",
            "invalid_query_parameter",
            "open_now",
        ),
        ("lat=31.07&lng=109.88&cursor=@@", "invalid_cursor", "cursor"),
    ] {
        let answer = nearby(&app, query).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.text);
        assert_eq!(answer.body["code"], code, "{query}");
        assert_eq!(answer.body["field"], field, "{query}");
    }
    // The South China Sea, at the largest radius: nothing, not an error.
    let sea = nearby(&app, "lat=15.5&lng=114.5&radius_m=10000").await;
    assert_eq!(sea.status, 200, "{}", sea.text);
    assert_eq!(sea.body["items"], json!([]));
    assert!(sea.body["next_cursor"].is_null());
}

#[tokio::test]
async fn the_nearby_search_is_capped_per_address() {
    let app = spawn_app_with(|s| {
        s.stations.nearby_per_ip = RateLimit {
            limit: 2,
            window_secs: 60,
        };
    })
    .await;
    for _ in 0..2 {
        assert_eq!(nearby(&app, &at(HERE.0, HERE.1)).await.status, 200);
    }
    let limited = nearby(&app, &at(HERE.0, HERE.1)).await;
    assert_eq!(limited.status, 429, "{}", limited.text);
    assert_eq!(limited.body["code"], "too_many_requests");
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
}

#[tokio::test]
async fn managers_edit_with_versions_and_close_only_inside_their_subtree() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let county = demo.union_named("巫山县总工会").unwrap().get();
    let gaotang = demo.union_named("高唐街道总工会").unwrap().get();
    let city = demo.union_named("重庆市总工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;

    // Roles other than manager: 403; a union outside the subtree: 404; bad hours: 400.
    let reviewer = app.admin_token("gaotang-reviewer").await;
    let body = station_body(county, "净坛社区驿站", 31.0752, 109.8781);
    let refused = create_station(&app, &reviewer, &body).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.body["code"], "forbidden");
    let outside = create_station(
        &app,
        &manager,
        &station_body(city, "市级驿站", 29.56, 106.55),
    )
    .await;
    assert_eq!(outside.status, 404, "{}", outside.text);
    let mut backwards = body.clone();
    backwards["hours"] = json!([{"weekday": 1, "open": "18:00", "close": "08:00"}]);
    let bad = create_station(&app, &manager, &backwards).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.body["code"], "station_hours_end_before_start");
    assert_eq!(bad.body["field"], "hours");
    let mut malformed = body.clone();
    malformed["hours"] = json!([{"weekday": 8, "open": "08:00", "close": "18:00"}]);
    assert_eq!(
        create_station(&app, &manager, &malformed).await.body["code"],
        "invalid_station_hours"
    );
    let mut wrong_kind = body.clone();
    wrong_kind["kind"] = json!("spa");
    assert_eq!(
        create_station(&app, &manager, &wrong_kind).await.body["code"],
        "invalid_station_kind"
    );
    let mut lat = body.clone();
    lat["lat"] = json!(95.0);
    assert_eq!(
        create_station(&app, &manager, &lat).await.body["code"],
        "invalid_latitude"
    );
    let mut phone = body.clone();
    phone["contact_phone"] = json!("call me");
    assert_eq!(
        create_station(&app, &manager, &phone).await.body["code"],
        "invalid_station_phone"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM stations"),
        0,
        "nothing written on refusal"
    );

    let created = create_station(&app, &manager, &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();

    // A manager of 高唐街道 does not reach a station of the county: 404.
    admin_at(&app, "gaotang-manager", AdminRole::Manager, gaotang).await;
    let township = app.admin_token("gaotang-manager").await;
    let mut edit = body.clone();
    edit.as_object_mut().unwrap().remove("union_id");
    edit["version"] = json!(1);
    edit["name"] = json!("净坛社区户外劳动者驿站");
    let path = format!("/v1/admin/stations/{id}");
    let not_theirs = app.call(Method::PUT, &path, &township, Some(&edit)).await;
    assert_eq!(not_theirs.status, 404, "{}", not_theirs.text);

    let edited = app.call(Method::PUT, &path, &manager, Some(&edit)).await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.body["version"], 2);
    assert_eq!(edited.body["name"], "净坛社区户外劳动者驿站");
    let stale = app.call(Method::PUT, &path, &manager, Some(&edit)).await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    assert_eq!(stale.body["code"], "stale_version");
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM station_versions WHERE station_id = {id} AND version = 1 AND snapshot->>'name' = '净坛社区驿站'"
            )
        ),
        1
    );

    let close = format!("/v1/admin/stations/{id}/close");
    let closed = app
        .call(Method::POST, &close, &manager, Some(&json!({"version": 2})))
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    assert_eq!(closed.body["closed"], true);
    let again = app
        .call(Method::POST, &close, &manager, Some(&json!({"version": 3})))
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.body["code"], "station_closed");
    assert_eq!(
        nearby(&app, &at(HERE.0, HERE.1)).await.body["items"],
        json!([])
    );
    assert_eq!(app.get(&format!("/v1/stations/{id}")).await.status, 404);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE object_kind = 'station' AND object_id = '{id}'"
            )
        ),
        3
    );
}

#[tokio::test]
async fn open_now_follows_beijing_time_and_filters() {
    // Monday 2026-12-07 at 19:30 Beijing time.
    let clock = MockClock::at_beijing(2026, 12, 7, 19, 30);
    let app = spawn_app_with_clock(Arc::new(clock.clone()), |_| {}).await;
    let county = county(&app).await;
    let manager = app.admin_token("wushan-manager").await;
    let mut day = station_body(county, "白天驿站", 31.0752, 109.8781);
    day["hours"] = json!([{"weekday": 1, "open": "08:00", "close": "18:00"}]);
    let day = create_station(&app, &manager, &day).await;
    let evening = create_station(
        &app,
        &manager,
        &station_body(county, "全天驿站", 31.0750, 109.8790),
    )
    .await;
    assert_eq!(day.body["open_now"], false);
    let open = nearby(&app, &format!("{}&open_now=true", at(HERE.0, HERE.1))).await;
    let ids: Vec<&Value> = open.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(ids, [&evening.body["id"]]);
    clock.set(zhijian_integration_tests::clock::beijing(2026, 12, 7, 9, 0));
    // at 09:00 both stations are listed, and both open
    let all = nearby(&app, &at(HERE.0, HERE.1)).await;
    let open_now: Vec<&Value> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["open_now"])
        .collect();
    assert_eq!(open_now, [&json!(true), &json!(true)], "{}", all.text);
}

#[tokio::test]
async fn the_nearby_search_uses_the_spatial_index() {
    let app = spawn_app().await;
    let county = county(&app).await;
    let mut conn = app.db.connect();
    diesel::sql_query(format!(
        "INSERT INTO stations (union_id, name, kind, lat, lng, address, hours) \
         SELECT {county}, 'S' || g, 'service_post', 18 + random() * 30, 80 + random() * 45, '地址', \
                '{{\"weekly\": [], \"closed_days\": []}}' \
         FROM generate_series(1, 20000) g"
    ))
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("ANALYZE stations")
        .execute(&mut conn)
        .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let sql = zhijian_infra::db::sql::stations::NEARBY
        .replace("$1", "31.07::float8")
        .replace("$2", "109.88::float8")
        .replace("$3", "1000::float8")
        .replace("$4", "'{}'::text[]")
        .replace("$5", "(-1)::float8")
        .replace("$6", "0::int8")
        .replace("$7", "21::int8");
    let plan: Vec<Line> = diesel::sql_query(format!("EXPLAIN {sql}"))
        .load(&mut conn)
        .unwrap();
    let plan: Vec<String> = plan.into_iter().map(|l| l.line).collect();
    assert!(
        plan.iter().any(|l| l.contains("stations_location_idx")),
        "{plan:#?}"
    );
    assert!(
        !plan.iter().any(|l| l.contains("Seq Scan on stations")),
        "{plan:#?}"
    );
}

/// The county's welcome benefits: a gift package (stock 1), insurance (stock 5), one out of
/// stock, and one of 高唐街道 (not above the courier federation).
async fn configure_benefits(app: &TestApp, manager: &str, county: i64, gaotang: i64) -> [i64; 4] {
    let mut ids = [0; 4];
    for (i, body) in [
        json!({"union_id": county, "kind": "gift_package", "name": "新会员入会礼包", "valid_days": 90, "stock": 1}),
        json!({"union_id": county, "kind": "accident_insurance", "name": "新就业形态劳动者意外险", "insurer": "中国人寿巫山支公司", "cover_months": 12, "valid_days": 365, "stock": 5}),
        json!({"union_id": county, "kind": "health_check", "name": "免费体检", "valid_days": 180, "stock": 0}),
        json!({"union_id": gaotang, "kind": "other", "name": "高唐街道观影券", "valid_days": 30, "stock": 10}),
    ]
    .iter()
    .enumerate()
    {
        let created = app.call(Method::POST, "/v1/admin/benefits", manager, Some(body)).await;
        assert_eq!(created.status, 201, "{}", created.text);
        ids[i] = created.body["id"].as_i64().unwrap();
    }
    ids
}

#[tokio::test]
async fn an_approval_grants_each_in_stock_benefit_of_the_union_and_its_ancestors_once() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let county = demo.union_named("巫山县总工会").unwrap().get();
    let gaotang = demo.union_named("高唐街道总工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;

    // Bad configurations, nothing written.
    for (body, code, status) in [
        (
            json!({"union_id": county, "kind": "accident_insurance", "name": "意外险", "valid_days": 365, "stock": 5}),
            "benefit_insurer_required",
            400,
        ),
        (
            json!({"union_id": county, "kind": "gift_package", "name": "礼包", "valid_days": 90, "stock": -1}),
            "invalid_stock",
            400,
        ),
        (
            json!({"union_id": county, "kind": "gift_package", "name": "礼包", "valid_days": 0, "stock": 1}),
            "invalid_validity",
            400,
        ),
        (
            json!({"union_id": county, "kind": "voucher", "name": "礼包", "valid_days": 9, "stock": 1}),
            "invalid_benefit_kind",
            400,
        ),
        (
            json!({"union_id": county, "kind": "gift_package", "name": "礼包", "valid_days": 9, "stock": 1, "station_id": 424242}),
            "invalid_field",
            400,
        ),
        (
            json!({"union_id": demo.union_named("重庆市总工会").unwrap().get(), "kind": "gift_package", "name": "礼包", "valid_days": 9, "stock": 1}),
            "not_found",
            404,
        ),
    ] {
        let refused = app
            .call(Method::POST, "/v1/admin/benefits", &manager, Some(&body))
            .await;
        assert_eq!(refused.status, status, "{}", refused.text);
        assert_eq!(refused.body["code"], code);
    }
    let reviewer = app.admin_token("courier-reviewer").await;
    let body = json!({"union_id": county, "kind": "gift_package", "name": "礼包", "valid_days": 9, "stock": 1});
    assert_eq!(
        app.call(Method::POST, "/v1/admin/benefits", &reviewer, Some(&body))
            .await
            .status,
        403
    );
    assert_eq!(count(&app, "SELECT count(*) FROM benefits"), 0);

    let [gift, insurance, _, _] = configure_benefits(&app, &manager, county, gaotang).await;
    let (worker, _) = approved_member(&app, "benefits-a", 31).await;
    let mine = app
        .call(Method::GET, "/v1/membership/benefits", &worker, None)
        .await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    let items = mine.body["items"].as_array().unwrap();
    let got: Vec<i64> = items
        .iter()
        .map(|b| b["benefit_id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        got,
        [gift, insurance],
        "in stock, of the union's ancestors only"
    );
    assert!(items.iter().all(|b| b["state"] == "available"));
    assert_eq!(items[1]["insurer"], "中国人寿巫山支公司");
    assert_eq!(
        count(
            &app,
            &format!("SELECT stock::bigint FROM benefits WHERE id = {gift}")
        ),
        0
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT stock::bigint FROM benefits WHERE id = {insurance}")
        ),
        4
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE event_type = 'member.benefits_granted'"
        ),
        1
    );

    // The gift is out of stock now: the next member gets the insurance only; stock never < 0.
    let (second, _) = approved_member(&app, "benefits-b", 32).await;
    let theirs = app
        .call(Method::GET, "/v1/membership/benefits", &second, None)
        .await;
    let got: Vec<i64> = theirs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["benefit_id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, [insurance]);
    assert_eq!(
        count(
            &app,
            &format!("SELECT stock::bigint FROM benefits WHERE id = {gift}")
        ),
        0
    );

    let listed = app
        .call(Method::GET, "/v1/admin/benefits", &manager, None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 4);

    // Not a member: 404.
    let stranger = app.worker_token("benefits-stranger").await;
    let none = app
        .call(Method::GET, "/v1/membership/benefits", &stranger, None)
        .await;
    assert_eq!(none.status, 404, "{}", none.text);
    assert_eq!(none.body["code"], "not_a_member");
}

#[tokio::test]
async fn a_member_approved_out_of_the_pool_gets_the_same_benefits() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let county = demo.union_named("巫山县总工会").unwrap().get();
    let gaotang = demo.union_named("高唐街道总工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;
    let [gift, insurance, _, township] = configure_benefits(&app, &manager, county, gaotang).await;
    {
        let mut conn = app.db.connect();
        diesel::sql_query("UPDATE unions SET accepting = false WHERE kind = 'joint'")
            .execute(&mut conn)
            .unwrap();
    }
    let worker = app.worker_token("pooled-benefits").await;
    let mut form = application_form(&person(41), "13912340041");
    form["occupation"] = json!("security_guard");
    let pooled = app
        .call(Method::POST, "/v1/applications", &worker, Some(&form))
        .await;
    assert_eq!(pooled.body["status"], "pooled", "{}", pooled.text);
    let id = pooled.body["id"].as_str().unwrap();
    let assigner = app.admin_token("pool-reviewer").await;
    let assigned = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{id}/assign"),
            &assigner,
            Some(&json!({"version": 1, "union_id": gaotang})),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.text);
    let version = assigned.body["version"].as_i64().unwrap() as i32;
    let approved = app
        .approve(id, &app.admin_token("gaotang-reviewer").await, version)
        .await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    let mine = app
        .call(Method::GET, "/v1/membership/benefits", &worker, None)
        .await;
    let mut got: Vec<i64> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["benefit_id"].as_i64().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [gift, insurance, township],
        "the county's and 高唐街道's, like any member"
    );
}

/// A county with a station, its staff, a county gift package and an approved member with
/// their card: (app, staff token, station id, gift id, worker token, card payload).
async fn redemption_fixture(
    clock: Option<MockClock>,
) -> (TestApp, String, i64, i64, String, String) {
    let app = match clock {
        Some(clock) => spawn_app_with_clock(Arc::new(clock), |_| {}).await,
        None => spawn_app().await,
    };
    let demo = app.seed_demo().await;
    let county = demo.union_named("巫山县总工会").unwrap().get();
    let gaotang = demo.union_named("高唐街道总工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;
    let station = create_station(
        &app,
        &manager,
        &station_body(county, "净坛社区驿站", 31.0752, 109.8781),
    )
    .await;
    let station = station.body["id"].as_i64().unwrap();
    let [gift, ..] = configure_benefits(&app, &manager, county, gaotang).await;
    let staff = station_staff(&app, "jingtan-station", station).await;
    let (worker, _) = approved_member(&app, "redeemer", 51).await;
    let card = app
        .call(Method::GET, "/v1/membership/card", &worker, None)
        .await;
    let payload = card.body["payload"].as_str().unwrap().to_owned();
    (app, staff, station, gift, worker, payload)
}

async fn redeem(app: &TestApp, token: &str, payload: &str, benefit: i64) -> TestResponse {
    app.call(
        Method::POST,
        "/v1/admin/benefits/redeem",
        token,
        Some(&json!({"payload": payload, "benefit_id": benefit})),
    )
    .await
}

#[tokio::test]
async fn station_staff_redeem_a_benefit_by_card_once() {
    let (app, staff, station, gift, worker, payload) = redemption_fixture(None).await;
    let done = redeem(&app, &staff, &payload, gift).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["station"]["name"], "净坛社区驿站");
    let twice = redeem(&app, &staff, &payload, gift).await;
    assert_eq!(twice.status, 409, "{}", twice.text);
    assert_eq!(twice.body["code"], "benefit_already_used");
    let message = twice.body["message"].as_str().unwrap();
    assert!(
        message.contains("净坛社区驿站") && message.contains("已于"),
        "{message}"
    );

    let mine = app
        .call(Method::GET, "/v1/membership/benefits", &worker, None)
        .await;
    let used = &mine.body["items"][0];
    assert_eq!(used["state"], "used");
    assert_eq!(used["used_at_station"]["id"], station);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'redeem_benefit'"
        ),
        1
    );

    // The station's redemptions: its staff and the county's admins; nobody else.
    let path = format!("/v1/admin/stations/{station}/redemptions");
    let listed = app.call(Method::GET, &path, &staff, None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let viewer = app.admin_token("wushan-viewer").await;
    assert_eq!(
        app.call(Method::GET, &path, &viewer, None).await.status,
        200
    );
    let other = create_station(
        &app,
        &app.admin_token("wushan-manager").await,
        &station_body(
            count(&app, "SELECT union_id FROM stations LIMIT 1"),
            "另一驿站",
            31.08,
            109.88,
        ),
    )
    .await;
    let other_path = format!("/v1/admin/stations/{}/redemptions", other.body["id"]);
    assert_eq!(
        app.call(Method::GET, &other_path, &staff, None)
            .await
            .status,
        404
    );

    // Station staff may do nothing else of the admin API; other roles may not redeem.
    let queue = app
        .call(Method::GET, "/v1/admin/applications", &staff, None)
        .await;
    assert_eq!(queue.status, 403, "{}", queue.text);
    assert_eq!(queue.body["code"], "forbidden");
    let create = create_station(&app, &staff, &station_body(1, "x", 31.0, 109.0)).await;
    assert_eq!(create.status, 403, "{}", create.text);
    let benefits = app
        .call(Method::GET, "/v1/admin/benefits", &staff, None)
        .await;
    assert_eq!(benefits.status, 403, "{}", benefits.text);
    let manager = app.admin_token("wushan-manager").await;
    let not_staff = redeem(&app, &manager, &payload, gift).await;
    assert_eq!(not_staff.status, 403, "{}", not_staff.text);
    let logout = app
        .call(Method::POST, "/v1/admin/auth/logout", &staff, None)
        .await;
    assert_eq!(logout.status, 204, "{}", logout.text);
}

#[tokio::test]
async fn forged_expired_and_withdrawn_cards_and_unknown_benefits_are_refused() {
    let clock = MockClock::at_beijing(2026, 12, 7, 10, 0);
    let (app, staff, _, gift, worker, payload) = redemption_fixture(Some(clock.clone())).await;
    let mut forged = payload.clone();
    forged.pop();
    forged.push(if payload.ends_with('A') { 'B' } else { 'A' });
    for (bad, code) in [
        (forged.as_str(), "invalid_card_payload"),
        ("", "invalid_card_payload"),
        ("not-a-card", "invalid_card_payload"),
    ] {
        let refused = redeem(&app, &staff, bad, gift).await;
        assert_eq!(refused.status, 400, "{}", refused.text);
        assert_eq!(refused.body["code"], code);
        assert_eq!(refused.body["field"], "payload");
    }
    let unknown = redeem(&app, &staff, &payload, 987_654).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert_eq!(unknown.body["code"], "benefit_not_held");

    clock.advance(TimeDelta::seconds(301));
    let expired = redeem(&app, &staff, &payload, gift).await;
    assert_eq!(expired.status, 400, "{}", expired.text);
    assert_eq!(expired.body["code"], "card_expired");

    let fresh = app
        .call(Method::GET, "/v1/membership/card", &worker, None)
        .await;
    let fresh = fresh.body["payload"].as_str().unwrap().to_owned();
    let withdrawn = app
        .call(
            Method::POST,
            "/v1/membership/withdraw",
            &worker,
            Some(&json!({"confirm": true})),
        )
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    let ended = redeem(&app, &staff, &fresh, gift).await;
    assert_eq!(ended.status, 409, "{}", ended.text);
    assert_eq!(ended.body["code"], "membership_ended");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM member_benefits WHERE used_at IS NOT NULL"
        ),
        0,
        "nothing used on refusal"
    );
}

#[tokio::test]
async fn two_stations_scanning_the_same_card_at_once_one_wins() {
    let (app, staff, _, gift, _, payload) = redemption_fixture(None).await;
    let county = count(&app, "SELECT union_id FROM stations LIMIT 1");
    let manager = app.admin_token("wushan-manager").await;
    let second = create_station(
        &app,
        &manager,
        &station_body(county, "高唐驿站", 31.0760, 109.8770),
    )
    .await;
    let other = station_staff(&app, "gaotang-station", second.body["id"].as_i64().unwrap()).await;
    let (a, b) = tokio::join!(
        redeem(&app, &staff, &payload, gift),
        redeem(&app, &other, &payload, gift)
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", a.text, b.text);
    let loser = if a.status == 409 { &a } else { &b };
    assert_eq!(loser.body["code"], "benefit_already_used");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM member_benefits WHERE used_at IS NOT NULL"
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'redeem_benefit'"
        ),
        1
    );
}

#[tokio::test]
async fn the_demo_walkthrough_ends_at_the_nearest_station_with_the_welcome_package() {
    let app = spawn_app().await;
    app.seed_demo().await;
    for run in 0..2 {
        let mut conn = app.db.connect();
        let seeded = tokio::task::spawn_blocking(move || {
            zhijian_devtools::demo::seed_demo_stations(
                &mut conn,
                Some(&zhijian_infra::crypto::secret::Secret::new(DEMO_PASSWORD)),
            )
            .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(seeded.staff_created, run == 0);
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM stations"),
        2,
        "idempotent"
    );
    let (worker, _) = approved_member(&app, "walkthrough", 61).await;
    let found = nearby(&app, "lat=31.07&lng=109.88").await;
    assert_eq!(found.status, 200, "{}", found.text);
    let nearest = &found.body["items"][0];
    assert_eq!(nearest["name"], "净坛社区户外劳动者驿站");
    let mine = app
        .call(Method::GET, "/v1/membership/benefits", &worker, None)
        .await;
    let gift = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["kind"] == "gift_package")
        .unwrap();
    assert_eq!(gift["collect_at_station_id"], nearest["id"]);
    let card = app
        .call(Method::GET, "/v1/membership/card", &worker, None)
        .await;
    let staff = app.admin_token("jingtan-station").await;
    let done = redeem(
        &app,
        &staff,
        card.body["payload"].as_str().unwrap(),
        gift["benefit_id"].as_i64().unwrap(),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["station"]["name"], "净坛社区户外劳动者驿站");
}

/// Every station of a "near me" answer, page by page of `limit`, by id.
async fn walk_pages(app: &TestApp, centre: (f64, f64), limit: u32) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut query = format!("{}&radius_m=2000&limit={limit}", at(centre.0, centre.1));
        if let Some(c) = &cursor {
            query.push_str(&format!("&cursor={c}"));
        }
        let page = nearby(app, &query).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize, "{}", page.text);
        ids.extend(items.iter().map(|s| s["id"].as_i64().unwrap()));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
    panic!("more than 50 pages: {ids:?}");
}

#[tokio::test]
async fn stations_at_the_same_point_are_each_listed_once_whatever_the_page_size() {
    let app = spawn_app().await;
    let county = county(&app).await;
    let manager = app.admin_token("wushan-manager").await;
    // One nearer station, five at exactly the same point (one building), one farther.
    let mut expected = Vec::new();
    let mut points = vec![(31.0750, 109.8785)];
    points.extend((0..5).map(|i| (31.0770 + f64::from(i) * 0.0001, 109.8790)));
    points.push((31.0800, 109.8800));
    for (i, (lat, lng)) in points.into_iter().enumerate() {
        let made = create_station(
            &app,
            &manager,
            &station_body(county, &format!("驿站{i}"), lat, lng),
        )
        .await;
        assert_eq!(made.status, 201, "{}", made.text);
        expected.push(made.body["id"].as_i64().unwrap());
    }
    // Moved into the same building one by one: the index then walks the group in an order
    // other than by id (here the first moved, then the others newest first).
    for (i, id) in expected[1..6].iter().enumerate() {
        let mut body = station_body(county, &format!("驿站{}", i + 1), 31.0760, 109.8790);
        body["version"] = json!(1);
        body.as_object_mut().unwrap().remove("union_id");
        let moved = app
            .call(
                Method::PUT,
                &format!("/v1/admin/stations/{id}"),
                &manager,
                Some(&body),
            )
            .await;
        assert_eq!(moved.status, 200, "{}", moved.text);
    }
    for limit in [1, 2, 3] {
        let got = walk_pages(&app, HERE, limit).await;
        assert_eq!(got.len(), 7, "page size {limit}: {got:?}");
        assert_eq!(got[0], expected[0], "nearest first");
        assert_eq!(got[6], expected[6], "farthest last");
        let mut same = got[1..6].to_vec();
        same.sort_unstable();
        assert_eq!(same, expected[1..6], "page size {limit}: each once");
        assert!(got[1..6].windows(2).all(|w| w[0] < w[1]), "ties by id");
    }
}

async fn add_staff(
    app: &TestApp,
    token: &str,
    station: i64,
    key: Option<&str>,
    body: &Value,
) -> TestResponse {
    let mut request = app
        .request(Method::POST, &format!("/v1/admin/stations/{station}/staff"))
        .bearer_auth(token)
        .json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    app.send(request).await
}

#[tokio::test]
async fn managers_create_station_staff_who_redeem_at_their_station_only() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let county = demo.union_named("巫山县总工会").unwrap().get();
    let gaotang = demo.union_named("高唐街道总工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;
    let station = create_station(
        &app,
        &manager,
        &station_body(county, "净坛社区驿站", 31.0752, 109.8781),
    )
    .await
    .body["id"]
        .as_i64()
        .unwrap();
    let admins_before = count(&app, "SELECT count(*) FROM admins");
    let body = json!({"username": "Jingtan.Staff", "display_name": "净坛驿站值班员"});

    // Refusals, nothing written: a reviewer (403), a manager of 高唐街道 for a county
    // station (404), an unknown station (404), a bad username (400), a station id that is
    // not a number (404, as for every station path).
    let reviewer = app.admin_token("gaotang-reviewer").await;
    let refused = add_staff(&app, &reviewer, station, None, &body).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    admin_at(&app, "gaotang-manager", AdminRole::Manager, gaotang).await;
    let township = app.admin_token("gaotang-manager").await;
    let admins_before = admins_before + 1;
    let outside = add_staff(&app, &township, station, None, &body).await;
    assert_eq!(outside.status, 404, "{}", outside.text);
    assert_eq!(
        add_staff(&app, &manager, 999_999, None, &body).await.status,
        404
    );
    let bad = add_staff(
        &app,
        &manager,
        station,
        None,
        &json!({"username": "x", "display_name": "值班员"}),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.body["field"], "username");
    let bad_id = app
        .call(
            Method::POST,
            "/v1/admin/stations/abc/staff",
            &manager,
            Some(&body),
        )
        .await;
    assert_eq!(bad_id.status, 404, "{}", bad_id.text);
    assert_eq!(count(&app, "SELECT count(*) FROM admins"), admins_before);

    // Created with a one-time password, bound to the station and its union; a retry with the
    // key answers the same; another body under the key is refused.
    let created = add_staff(&app, &manager, station, Some("staff-1"), &body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let admin = &created.body["admin"];
    assert_eq!(admin["username"], "jingtan.staff");
    assert_eq!(admin["role"], "station");
    assert_eq!(admin["union"]["id"], county);
    assert_eq!(admin["must_change_password"], true);
    let otp = created.body["one_time_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let again = add_staff(&app, &manager, station, Some("staff-1"), &body).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.body, created.body);
    let other = json!({"username": "jingtan.staff2", "display_name": "净坛驿站值班员"});
    let reused = add_staff(&app, &manager, station, Some("staff-1"), &other).await;
    assert_eq!(reused.status, 422, "{}", reused.text);
    assert_eq!(reused.body["code"], "idempotency_key_reused");
    let taken = add_staff(&app, &manager, station, None, &body).await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    assert_eq!(taken.body["code"], "username_taken");
    let id = admin["id"].as_str().unwrap();
    assert_eq!(
        count(
            &app,
            &format!("SELECT station_id FROM admins WHERE id = '{id}' AND role = 'station'")
        ),
        station
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM admins"),
        admins_before + 1
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM audit_log WHERE object_kind = 'admin' AND object_id = '{id}' \
                 AND action = 'create' AND (reason::jsonb -> 'after' ->> 'station_id')::bigint = {station} \
                 AND actor_kind = 'admin'"
            )
        ),
        1
    );

    // The new staff change the password, then redeem a member's gift at their station and
    // read its redemptions; every other admin route answers them 403.
    let [gift, ..] = configure_benefits(&app, &manager, county, gaotang).await;
    let signed_in = app
        .post_json(
            "/v1/admin/auth/login",
            &json!({"username": "jingtan.staff", "password": otp}),
        )
        .await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let first = signed_in.body["access_token"].as_str().unwrap().to_owned();
    let changed = app
        .call(
            Method::POST,
            "/v1/admin/me/password",
            &first,
            Some(&json!({"current_password": otp, "new_password": "净坛驿站-Sturdy-Passphrase-2026"})),
        )
        .await;
    assert!(
        changed.status == 200 || changed.status == 204,
        "{}",
        changed.text
    );
    let staff = app
        .post_json(
            "/v1/admin/auth/login",
            &json!({"username": "jingtan.staff", "password": "净坛驿站-Sturdy-Passphrase-2026"}),
        )
        .await;
    assert_eq!(staff.status, 200, "{}", staff.text);
    let staff = staff.body["access_token"].as_str().unwrap().to_owned();
    let (worker, _) = approved_member(&app, "staffed", 61).await;
    let card = app
        .call(Method::GET, "/v1/membership/card", &worker, None)
        .await;
    let payload = card.body["payload"].as_str().unwrap();
    let done = redeem(&app, &staff, payload, gift).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["station"]["id"], station);
    let mine = app
        .call(
            Method::GET,
            &format!("/v1/admin/stations/{station}/redemptions"),
            &staff,
            None,
        )
        .await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    let elsewhere = app
        .call(Method::GET, "/v1/admin/applications", &staff, None)
        .await;
    assert_eq!(elsewhere.status, 403, "{}", elsewhere.text);

    // A closed station gets no new staff.
    let closed = app
        .call(
            Method::POST,
            &format!("/v1/admin/stations/{station}/close"),
            &manager,
            Some(&json!({"version": 1})),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    let late = add_staff(&app, &manager, station, None, &other).await;
    assert_eq!(late.status, 409, "{}", late.text);
    assert_eq!(late.body["code"], "station_closed");
}

#[tokio::test]
async fn a_member_granted_benefits_is_notified() {
    use crate::notifications::{deliveries_of, eventually, settled};
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let county = demo.union_named("巫山县总工会").unwrap().get();
    let gaotang = demo.union_named("高唐街道总工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;
    configure_benefits(&app, &manager, county, gaotang).await;
    let (_, membership) = approved_member(&app, "benefit-notice", 71).await;
    let member_id = membership["member_id"].as_str().unwrap().to_owned();

    let message = eventually("the benefits notice", || {
        app.stub
            .subscribe_messages("o_stub_benefit-notice")
            .into_iter()
            .find(|m| m.template_id == "tpl-benefits_granted")
    })
    .await;
    assert_eq!(
        message.data["thing2"]["value"],
        "新会员入会礼包、新就业形态劳动者意外险"
    );
    assert_eq!(message.data["number3"]["value"], "2");
    assert_eq!(message.data["thing1"]["value"], "巫山县快递行业工会联合会");
    assert_eq!(message.page.as_deref(), Some("pages/membership/benefits"));
    let row = settled(&app, &member_id, "member.benefits_granted", "delivered").await;
    let mut conn = app.db.connect();
    let calls = deliveries_of(&mut conn, row.id);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        (calls[0].recipient_kind.as_str(), calls[0].status.as_str()),
        ("worker", "ok")
    );
}

#[tokio::test]
async fn a_transferred_member_keeps_the_benefits_received_and_gets_none_twice() {
    let (app, staff, station, gift, worker, payload) = redemption_fixture(None).await;
    let jingtan = count(
        &app,
        "SELECT id FROM unions WHERE name = '净坛社区联合工会'",
    );
    let before = app
        .call(Method::GET, "/v1/membership/benefits", &worker, None)
        .await;
    assert_eq!(before.status, 200, "{}", before.text);
    let held = before.body["items"].as_array().unwrap().clone();
    assert_eq!(
        held.len(),
        2,
        "the county's gift and insurance: {}",
        before.text
    );
    let stocks = "SELECT sum(stock)::bigint FROM benefits";
    let stock_before = count(&app, stocks);

    // From the courier federation to 净坛社区联合工会: both under the county, whose benefits
    // the member already holds; 高唐街道's benefit lies above the new union only.
    let requested = app
        .call(
            Method::POST,
            "/v1/transfers",
            &worker,
            Some(&json!({"to_union_id": jingtan, "reason": "搬到净坛社区"})),
        )
        .await;
    assert_eq!(requested.status, 201, "{}", requested.text);
    let id = requested.body["id"].as_str().unwrap().to_owned();
    let released = app
        .call(
            Method::POST,
            &format!("/v1/admin/transfers/{id}/release"),
            &app.admin_token("courier-reviewer").await,
            Some(&json!({"version": 1})),
        )
        .await;
    assert_eq!(released.status, 200, "{}", released.text);
    let accepted = app
        .call(
            Method::POST,
            &format!("/v1/admin/transfers/{id}/accept"),
            &app.admin_token("jingtan-reviewer").await,
            Some(&json!({"version": 2})),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.body["status"], "completed");

    // The same records, nothing new: no second county grant, no 高唐街道 grant, no stock
    // spent, no second notice.
    let after = app
        .call(Method::GET, "/v1/membership/benefits", &worker, None)
        .await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(after.body["items"].as_array().unwrap(), &held);
    assert_eq!(count(&app, stocks), stock_before);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE event_type = 'member.benefits_granted'"
        ),
        1
    );

    // Still redeemable at the county's station, once.
    let done = redeem(&app, &staff, &payload, gift).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["station"]["id"], station);
}

/// A POST with an `Idempotency-Key`.
async fn post_keyed(
    app: &TestApp,
    token: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> TestResponse {
    let request = app
        .request(Method::POST, path)
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body);
    app.send(request).await
}

#[tokio::test]
async fn creating_stations_and_benefits_is_idempotent_under_a_key() {
    let app = spawn_app().await;
    let county = county(&app).await;
    let manager = app.admin_token("wushan-manager").await;
    let body = station_body(county, "净坛社区驿站", 31.0752, 109.8781);
    let first = post_keyed(&app, &manager, "/v1/admin/stations", "station-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = post_keyed(&app, &manager, "/v1/admin/stations", "station-1", &body).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.body, first.body, "the stored answer");
    let mut other = body.clone();
    other["name"] = json!("另一个驿站");
    let reused = post_keyed(&app, &manager, "/v1/admin/stations", "station-1", &other).await;
    assert_eq!(reused.status, 422, "{}", reused.text);
    assert_eq!(reused.body["code"], "idempotency_key_reused");
    let bad_key = post_keyed(&app, &manager, "/v1/admin/stations", "no spaces", &body).await;
    assert_eq!(bad_key.status, 400, "{}", bad_key.text);
    assert_eq!(bad_key.body["code"], "invalid_idempotency_key");
    assert_eq!(count(&app, "SELECT count(*) FROM stations"), 1);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'create_station'"
        ),
        1
    );

    let gift = json!({"union_id": county, "kind": "gift_package", "name": "新会员入会礼包", "valid_days": 90, "stock": 10});
    let made = post_keyed(&app, &manager, "/v1/admin/benefits", "gift-1", &gift).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let replay = post_keyed(&app, &manager, "/v1/admin/benefits", "gift-1", &gift).await;
    assert_eq!(replay.status, 201, "{}", replay.text);
    assert_eq!(replay.body, made.body);
    let mut more = gift.clone();
    more["stock"] = json!(11);
    let reused = post_keyed(&app, &manager, "/v1/admin/benefits", "gift-1", &more).await;
    assert_eq!(reused.status, 422, "{}", reused.text);
    // A refused request under a key stores nothing: the key stays free.
    let refused = post_keyed(
        &app,
        &manager,
        "/v1/admin/benefits",
        "gift-2",
        &json!({"union_id": county, "kind": "gift_package", "name": "礼包", "valid_days": 0, "stock": 1}),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(count(&app, "SELECT count(*) FROM benefits"), 1);
    let after = post_keyed(&app, &manager, "/v1/admin/benefits", "gift-2", &more).await;
    assert_eq!(after.status, 201, "{}", after.text);
    assert_eq!(count(&app, "SELECT count(*) FROM benefits"), 2);
}

async fn patch_benefit(app: &TestApp, token: &str, id: i64, body: &Value) -> TestResponse {
    app.call(
        Method::PATCH,
        &format!("/v1/admin/benefits/{id}"),
        token,
        Some(body),
    )
    .await
}

#[tokio::test]
async fn managers_edit_and_restock_benefits_never_below_what_was_granted() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let county = demo.union_named("巫山县总工会").unwrap().get();
    let gaotang = demo.union_named("高唐街道总工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;
    let [gift, insurance, empty, _] = configure_benefits(&app, &manager, county, gaotang).await;
    let station = create_station(
        &app,
        &manager,
        &station_body(county, "净坛社区驿站", 31.0752, 109.8781),
    )
    .await
    .body["id"]
        .as_i64()
        .unwrap();
    // The gift (stock 1) goes to the first member: stock 0, one granted.
    approved_member(&app, "restock-a", 81).await;
    let stock_of = |id: i64| format!("SELECT stock::bigint FROM benefits WHERE id = {id}");
    assert_eq!(count(&app, &stock_of(gift)), 0);

    // Refusals, nothing written: a reviewer (403), a manager of 高唐街道 (404), an unknown
    // benefit (404), a stale version (409), withdrawing more than remains (400), a bad
    // validity (400), a station outside the union's reach (400).
    let restock = json!({"version": 1, "add_stock": 20});
    let reviewer = app.admin_token("gaotang-reviewer").await;
    assert_eq!(
        patch_benefit(&app, &reviewer, gift, &restock).await.status,
        403
    );
    admin_at(&app, "gaotang-manager", AdminRole::Manager, gaotang).await;
    let township = app.admin_token("gaotang-manager").await;
    assert_eq!(
        patch_benefit(&app, &township, gift, &restock).await.status,
        404
    );
    assert_eq!(
        patch_benefit(&app, &manager, 999_999, &restock)
            .await
            .status,
        404
    );
    let stale = patch_benefit(&app, &manager, gift, &json!({"version": 7, "add_stock": 1})).await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    assert_eq!(stale.body["code"], "stale_version");
    let below = patch_benefit(
        &app,
        &manager,
        insurance,
        &json!({"version": 1, "add_stock": -5}),
    )
    .await;
    assert_eq!(below.status, 400, "{}", below.text);
    assert_eq!(below.body["code"], "invalid_stock");
    assert_eq!(below.body["field"], "add_stock");
    let validity = patch_benefit(
        &app,
        &manager,
        gift,
        &json!({"version": 1, "valid_days": 0}),
    )
    .await;
    assert_eq!(validity.status, 400, "{}", validity.text);
    assert_eq!(validity.body["field"], "valid_days");
    let nowhere = patch_benefit(
        &app,
        &manager,
        gift,
        &json!({"version": 1, "station_id": 424242}),
    )
    .await;
    assert_eq!(nowhere.status, 400, "{}", nowhere.text);
    assert_eq!(count(&app, &stock_of(insurance)), 4);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'edit_benefit'"
        ),
        0
    );

    // Restocked, renamed, collected at the station: version 2, audited before → after; the
    // next member gets the gift again.
    let edited = patch_benefit(
        &app,
        &manager,
        gift,
        &json!({"version": 1, "add_stock": 20, "name": "新会员入会大礼包", "station_id": station, "valid_days": 60}),
    )
    .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.body["version"], 2);
    assert_eq!(edited.body["stock"], 20);
    assert_eq!(edited.body["name"], "新会员入会大礼包");
    assert_eq!(edited.body["station_id"], station);
    assert_eq!(edited.body["valid_days"], 60);
    let reason: Value = {
        let mut conn = app.db.connect();
        #[derive(diesel::QueryableByName)]
        struct Reason {
            #[diesel(sql_type = diesel::sql_types::Text)]
            reason: String,
        }
        let row: Reason = diesel::sql_query(format!(
            "SELECT reason FROM audit_log WHERE action = 'edit_benefit' AND object_id = '{gift}'"
        ))
        .get_result(&mut conn)
        .unwrap();
        json!(row.reason)
    };
    let reason = reason.as_str().unwrap();
    assert!(
        reason.contains("v1 新会员入会礼包")
            && reason.contains("→ v2 新会员入会大礼包")
            && reason.contains("库存20"),
        "{reason}"
    );
    approved_member(&app, "restock-b", 82).await;
    assert_eq!(count(&app, &stock_of(gift)), 19);
    // Withdrawing all that remains is allowed; the granted records stay.
    let withdrawn = patch_benefit(
        &app,
        &manager,
        gift,
        &json!({"version": 2, "add_stock": -19}),
    )
    .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.text);
    assert_eq!(withdrawn.body["stock"], 0);
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM member_benefits WHERE benefit_id = {gift}")
        ),
        2
    );
    // The empty one restocked is granted again.
    let refilled = patch_benefit(
        &app,
        &manager,
        empty,
        &json!({"version": 1, "add_stock": 3}),
    )
    .await;
    assert_eq!(refilled.body["stock"], 3, "{}", refilled.text);
}

#[tokio::test]
async fn a_station_where_benefits_are_collected_closes_only_into_a_successor() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let county = demo.union_named("巫山县总工会").unwrap().get();
    let gaotang = demo.union_named("高唐街道总工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;
    let mut ids = Vec::new();
    for (name, union) in [
        ("净坛社区驿站", county),
        ("高唐司机之家", county),
        ("高唐街道驿站", gaotang),
    ] {
        let made = create_station(
            &app,
            &manager,
            &station_body(union, name, 31.0752, 109.8781),
        )
        .await;
        assert_eq!(made.status, 201, "{}", made.text);
        ids.push(made.body["id"].as_i64().unwrap());
    }
    let (jingtan, drivers, township) = (ids[0], ids[1], ids[2]);
    let gift = app
        .call(
            Method::POST,
            "/v1/admin/benefits",
            &manager,
            Some(&json!({"union_id": county, "kind": "gift_package", "name": "新会员入会礼包", "valid_days": 90, "stock": 5, "station_id": jingtan})),
        )
        .await;
    assert_eq!(gift.status, 201, "{}", gift.text);
    let gift = gift.body["id"].as_i64().unwrap();
    let close = |station: i64, body: Value| {
        let app = &app;
        let manager = &manager;
        async move {
            app.call(
                Method::POST,
                &format!("/v1/admin/stations/{station}/close"),
                manager,
                Some(&body),
            )
            .await
        }
    };

    // Without a successor: 409, nothing changes.
    let refused = close(jingtan, json!({"version": 1})).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.body["code"], "station_has_benefits");
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("successor_id")
    );
    // A successor that is itself, of another union, unknown: 400.
    for bad in [jingtan, township, 999_999] {
        let refused = close(jingtan, json!({"version": 1, "successor_id": bad})).await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
        assert_eq!(refused.body["field"], "successor_id");
    }
    assert_eq!(
        count(
            &app,
            &format!("SELECT count(*) FROM stations WHERE id = {jingtan} AND closed_at IS NULL")
        ),
        1
    );

    // Into 高唐司机之家: closed, the gift moves there (version 2, audited).
    let closed = close(jingtan, json!({"version": 1, "successor_id": drivers})).await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    assert_eq!(closed.body["closed"], true, "{}", closed.text);
    assert_eq!(
        count(
            &app,
            &format!("SELECT station_id FROM benefits WHERE id = {gift}")
        ),
        drivers
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT version::bigint FROM benefits WHERE id = {gift}")
        ),
        2
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM audit_log WHERE action = 'move_benefit_station'"
        ),
        1
    );
    // A station no benefit names closes without a successor.
    let plain = close(township, json!({"version": 1})).await;
    assert_eq!(plain.status, 200, "{}", plain.text);
}

#[tokio::test]
async fn the_benefits_list_is_paged_by_a_cursor() {
    let app = spawn_app().await;
    let demo = app.seed_demo().await;
    let county = demo.union_named("巫山县总工会").unwrap().get();
    let gaotang = demo.union_named("高唐街道总工会").unwrap().get();
    let manager = app.admin_token("wushan-manager").await;
    let ids = configure_benefits(&app, &manager, county, gaotang).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/admin/benefits?limit=3&cursor={c}"),
            None => "/v1/admin/benefits?limit=3".to_owned(),
        };
        let page = app.call(Method::GET, &path, &manager, None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|b| b["id"].as_i64().unwrap()));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    // 高唐街道's reviewer sees only 高唐街道's benefit.
    let township = app.admin_token("gaotang-reviewer").await;
    let theirs = app
        .call(Method::GET, "/v1/admin/benefits", &township, None)
        .await;
    let got: Vec<i64> = theirs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, [ids[3]]);
    for bad in ["limit=0", "limit=101", "cursor=%%%", "cursor=LTE"] {
        let refused = app
            .call(
                Method::GET,
                &format!("/v1/admin/benefits?{bad}"),
                &manager,
                None,
            )
            .await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.text);
    }
}
