use zhijian_integration_tests::spawn_app;

#[tokio::test]
async fn children_of_a_county() {
    let app = spawn_app().await;
    let response = app.get("/v1/regions/500237/children").await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["region"]["name"], "巫山县");
    assert_eq!(response.body["region"]["level"], "county");
    let items = response.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 26, "巫山县 has 26 townships and streets");
    assert_eq!(items[0]["code"], "500237001");
    assert_eq!(items[0]["name"], "高唐街道");
    assert!(
        items
            .iter()
            .all(|i| i["level"] == "township" && i["parent_code"] == "500237")
    );
    let codes: Vec<&str> = items.iter().map(|i| i["code"].as_str().unwrap()).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted);
}

#[tokio::test]
async fn one_region_at_each_level() {
    let app = spawn_app().await;
    let cases = [
        ("50", "重庆市", "province", None),
        ("5002", "县", "city", Some("50")),
        ("500237", "巫山县", "county", Some("5002")),
        ("500237001", "高唐街道", "township", Some("500237")),
        (
            "500237001009",
            "净坛社区居民委员会",
            "village",
            Some("500237001"),
        ),
    ];
    for (code, name, level, parent) in cases {
        let response = app.get(&format!("/v1/regions/{code}")).await;
        assert_eq!(response.status, 200, "{code}: {}", response.text);
        assert_eq!(response.body["name"], name);
        assert_eq!(response.body["level"], level);
        assert_eq!(response.body["parent_code"].as_str(), parent);
    }
}

#[tokio::test]
async fn a_village_has_no_children_and_an_unknown_code_is_404() {
    let app = spawn_app().await;
    let village = app.get("/v1/regions/500237001009/children").await;
    assert_eq!(village.status, 200);
    assert_eq!(village.body["items"].as_array().unwrap().len(), 0);
    let unknown = app.get("/v1/regions/990000/children").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["code"], "not_found");
}

#[tokio::test]
async fn the_import_loaded_every_region_and_is_idempotent() {
    use diesel::prelude::*;
    let app = spawn_app().await;
    let mut conn = app.db.connect();
    let dir = zhijian_integration_tests::database::repo_root().join("data/regions");
    let report = tokio::task::spawn_blocking(move || {
        zhijian_infra::store::regions::import_regions(&mut conn, &dir).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(report.read, 665_276);
    assert_eq!(report.written, 0, "a second import changes nothing");
    assert_eq!(report.total, 665_276);
    let mut conn = app.db.connect();
    let per_level: Vec<(i16, i64)> = zhijian_infra::db::schema::regions::table
        .group_by(zhijian_infra::db::schema::regions::level)
        .select((
            zhijian_infra::db::schema::regions::level,
            diesel::dsl::count_star(),
        ))
        .order(zhijian_infra::db::schema::regions::level)
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        per_level,
        vec![(1, 31), (2, 342), (3, 2_978), (4, 41_352), (5, 620_573)]
    );
}

/// The server's reference cache: a region found once is remembered (regions are never
/// removed), an unknown one is asked again (it may be imported later); the calendar is
/// reloaded once older than its time to live, and served from memory before that.
#[tokio::test]
async fn the_reference_cache_remembers_found_regions_and_reloads_the_calendar_after_its_ttl() {
    use diesel::RunQueryDsl;
    use std::time::Duration;
    use zhijian_domain::region::RegionCode;
    use zhijian_infra::store::reference_cache::ReferenceCache;

    let app = spawn_app().await;
    let mut conn = app.db.connect();
    let execute = |conn: &mut diesel::PgConnection, sql: &str| {
        diesel::sql_query(sql).execute(conn).unwrap();
    };
    let cached = ReferenceCache::new(Duration::from_secs(3600));
    let fresh = ReferenceCache::new(Duration::ZERO);

    let new_town = RegionCode::parse("500237999").unwrap();
    assert!(!cached.region_exists(&mut conn, &new_town).unwrap());
    execute(
        &mut conn,
        "INSERT INTO regions (code, name, level, parent_code) VALUES ('500237999', '新设镇', 4, '500237')",
    );
    assert!(
        cached.region_exists(&mut conn, &new_town).unwrap(),
        "an unknown code is not remembered"
    );
    execute(&mut conn, "DELETE FROM regions WHERE code = '500237999'");
    assert!(
        cached.region_exists(&mut conn, &new_town).unwrap(),
        "a found code is"
    );
    assert!(!fresh.region_exists(&mut conn, &new_town).unwrap());

    // 2026-12-05 is a Saturday; an operator makes it a working day.
    let saturday = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
    assert!(!cached.calendar(&mut conn).unwrap().is_working_day(saturday));
    assert!(!fresh.calendar(&mut conn).unwrap().is_working_day(saturday));
    execute(
        &mut conn,
        "INSERT INTO calendar_days (day, kind, holiday) VALUES ('2026-12-05', 'work', '调休')",
    );
    assert!(
        !cached.calendar(&mut conn).unwrap().is_working_day(saturday),
        "served from memory within its time to live"
    );
    assert!(
        fresh.calendar(&mut conn).unwrap().is_working_day(saturday),
        "reloaded once older than its time to live"
    );
}
