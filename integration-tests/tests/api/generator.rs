//! The benchmark data generator at small scale: the shape of the data set (every state, an
//! uneven spread, unions everywhere, one open application per person, valid membership
//! numbers) and that the API still routes and reviews on generated unions.

use diesel::prelude::*;
use reqwest::Method;
use serde_json::json;
use zhijian_devtools::generator::{self, GenerateReport};
use zhijian_domain::admin::{AdminRole, UnionPath};
use zhijian_domain::membership_number::MembershipNumber;
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::region::RegionCode;
use zhijian_domain::routing::RoutingFacts;
use zhijian_infra::crypto::pii::PiiCipher;
use zhijian_infra::store::admins::{NewAdmin, create_admin};
use zhijian_integration_tests::fixtures::{DEMO_PASSWORD, application_form, count, resident_id};
use zhijian_integration_tests::{TestApp, spawn_app};

fn text(app: &TestApp, sql: &str) -> String {
    let mut conn = app.db.connect();
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(&format!(
        "({sql})"
    )))
    .get_result(&mut conn)
    .unwrap()
}

async fn generate(app: &TestApp, target: i64) -> GenerateReport {
    let mut conn = app.db.connect();
    let pii = PiiCipher::from_config(
        &app.settings.pii.encryption_keys,
        &app.settings.pii.blind_index_key,
    )
    .unwrap();
    tokio::task::spawn_blocking(move || {
        generator::generate_applications(&mut conn, &pii, target).unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn generated_data_has_the_shape_the_benchmarks_need_and_the_api_works_on_it() {
    let app = spawn_app().await;
    app.seed_demo().await;
    let report = generate(&app, 3000).await;
    assert_eq!((report.before, report.added), (0, 3000));
    assert_eq!(count(&app, "SELECT count(*) FROM applications"), 3000);

    // Every county has a federation and a pool, every township a federation and a joint union.
    for (level, kinds) in [(3, ["federation", "pool"]), (4, ["federation", "joint"])] {
        for kind in kinds {
            let missing = count(
                &app,
                &format!(
                    "SELECT count(*) FROM regions r WHERE r.level = {level} AND NOT EXISTS \
                     (SELECT 1 FROM unions u WHERE u.region_code = r.code AND u.kind = '{kind}')"
                ),
            );
            assert_eq!(missing, 0, "level-{level} regions without a {kind}");
        }
    }
    let industry = count(
        &app,
        "SELECT count(DISTINCT region_code) FROM unions WHERE kind = 'industry_federation'",
    );
    let counties = count(&app, "SELECT count(*) FROM regions WHERE level = 3");
    assert!(
        industry > counties / 4 && industry < counties,
        "industry federations in {industry} of {counties} counties: some, not all"
    );

    // Every state is there, with a backlog in the queue and most applications approved.
    for status in [
        "pending_review",
        "pooled",
        "returned",
        "approved",
        "rejected",
        "withdrawn",
        "expired",
    ] {
        let n = count(
            &app,
            &format!("SELECT count(*) FROM applications WHERE status = '{status}'"),
        );
        assert!(n > 0, "no {status} application");
    }
    let approved = count(
        &app,
        "SELECT count(*) FROM applications WHERE status = 'approved'",
    );
    assert!(approved > 1500, "{approved} approved of 3000");

    // Uneven: the busiest county has far more than its share, the busy county 巫山县 holds
    // about its fixed share on top, and delivery riders outnumber truck drivers.
    let busiest = count(
        &app,
        "SELECT max(n) FROM (SELECT count(*) AS n FROM applications GROUP BY left(work_region, 6)) c",
    );
    assert!(
        busiest * counties > 20 * 3000,
        "the busiest county has {busiest} of 3000 applications"
    );
    let hot = count(
        &app,
        "SELECT count(*) FROM applications WHERE work_region LIKE '500237%'",
    );
    assert!(hot >= 30, "巫山县 has {hot} of 3000 applications");
    let riders = count(
        &app,
        "SELECT count(*) FROM applications WHERE occupation = 'delivery_rider'",
    );
    let truckers = count(
        &app,
        "SELECT count(*) FROM applications WHERE occupation = 'truck_driver'",
    );
    assert!(
        riders > 2 * truckers,
        "{riders} riders, {truckers} truck drivers"
    );

    // One open application per person; one member per approved application, with a valid
    // number; every application's account, union and member exist.
    let doubled = count(
        &app,
        "SELECT count(*) FROM (SELECT person_index FROM applications \
         WHERE status IN ('pending_review', 'pooled', 'returned') \
         GROUP BY person_index HAVING count(*) > 1) d",
    );
    assert_eq!(doubled, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM members"), approved);
    let orphans = count(
        &app,
        "SELECT count(*) FROM applications a \
         WHERE NOT EXISTS (SELECT 1 FROM accounts c WHERE c.id = a.account_id) \
            OR NOT EXISTS (SELECT 1 FROM unions u WHERE u.id = a.union_id) \
            OR (a.status = 'approved') <> EXISTS (SELECT 1 FROM members m \
                WHERE m.id = a.member_id AND m.application_id = a.id \
                  AND m.person_index = a.person_index)",
    );
    assert_eq!(orphans, 0);
    let number = text(
        &app,
        "SELECT membership_number FROM members ORDER BY membership_number LIMIT 1",
    );
    MembershipNumber::parse(&number).unwrap();
    let open_affiliations = count(
        &app,
        "SELECT count(*) FROM affiliations WHERE ended_at IS NULL",
    );
    let current = count(
        &app,
        "SELECT count(*) FROM members WHERE status IN ('active', 'retained')",
    );
    assert_eq!(open_affiliations, current);

    // Generated routing agrees with the domain's routing over the stored tree.
    let mut conn = app.db.connect();
    let sample: Vec<(i64, String, String, String)> = diesel::sql_query(
        "SELECT union_id, work_region, occupation, routing_rule FROM applications \
         WHERE status <> 'pooled' ORDER BY id LIMIT 40",
    )
    .load::<Routed>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|r| (r.union_id, r.work_region, r.occupation, r.routing_rule))
    .collect();
    for (union_id, work_region, occupation, rule) in sample {
        let region = RegionCode::parse(&work_region).unwrap();
        let (decision, _) = zhijian_infra::store::unions::route(
            &mut conn,
            &RoutingFacts {
                work_region: region,
                occupation: OccupationGroup::parse(&occupation).unwrap(),
                employer_credit_code: None,
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (decision.union.get(), decision.rule.as_str()),
            (union_id, rule.as_str()),
            "{occupation} in {work_region}"
        );
    }

    // Growing is incremental and idempotent.
    assert_eq!(generate(&app, 3000).await.added, 0);
    let grown = generate(&app, 3500).await;
    assert_eq!((grown.before, grown.added), (3000, 500));
    assert_eq!(count(&app, "SELECT count(*) FROM applications"), 3500);

    // The API routes a new application onto a generated union (a township outside the demo
    // county), and an admin approves a generated application with the next number.
    let township = text(
        &app,
        "SELECT r.code FROM regions r WHERE r.level = 4 AND r.code LIKE '110101%' ORDER BY r.code LIMIT 1",
    );
    let expected = text(
        &app,
        &format!(
            "SELECT name FROM unions WHERE region_code = '{township}' AND kind = 'joint' LIMIT 1"
        ),
    );
    let token = app.worker_token("generated").await;
    let mut form = application_form(&resident_id("110101", "19920304", 17), "13912345678");
    form["work_region"] = township.clone().into();
    form["occupation"] = "cleaner".into();
    let response = app
        .call(Method::POST, "/v1/applications", &token, Some(&form))
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    assert_eq!(response.body["union"]["name"], expected.as_str());
    assert_eq!(response.body["routing"]["rule"], "joint_union");

    let admin = app.admin_token("wushan-manager").await;
    let pending = text(
        &app,
        "SELECT a.id::text FROM applications a WHERE a.status = 'pending_review' \
         AND a.work_region LIKE '500237%' ORDER BY a.id LIMIT 1",
    );
    let approved = app.approve(&pending, &admin, 1).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    let issued = approved.body["membership_number"]
        .as_str()
        .or_else(|| approved.body["member"]["membership_number"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(issued.starts_with("500237"), "{}", approved.text);
    let taken = count(
        &app,
        &format!("SELECT count(*) FROM members WHERE membership_number = '{issued}'"),
    );
    assert_eq!(taken, 1, "the new number continues the county's counter");
}

#[derive(QueryableByName)]
struct Routed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    union_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    work_region: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    occupation: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    routing_rule: String,
}

#[test]
fn synthetic_resident_ids_are_valid() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    for k in [0, 1, 511, 1023] {
        let (id, birth) = generator::synthetic_resident_id(k);
        let parsed = zhijian_domain::resident_id::ResidentId::parse_for_applicant(&id, today)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(parsed.birth_date(), birth);
    }
}

/// Pages through the admin list at `list` as `token` (`limit` a page, with `filter`) and checks
/// it returns exactly the ids of the SQL `expected` (an `id` text column), in its order, each
/// once, over at least three pages. Returns how many there were.
async fn assert_pages_are(
    app: &TestApp,
    token: &str,
    (list, limit, filter): (&str, usize, &str),
    expected: &str,
) -> usize {
    let expected: Vec<String> = {
        let mut conn = app.db.connect();
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
        }
        diesel::sql_query(expected)
            .load::<Id>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|row| row.id)
            .collect()
    };
    assert!(
        expected.len() > 2 * limit,
        "{} rows for {list}?{filter}: fewer than three pages",
        expected.len()
    );
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .call(
                Method::GET,
                &format!("{list}?limit={limit}{filter}{cursor}"),
                token,
                None,
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        seen.extend(items.iter().map(|i| match &i["id"] {
            serde_json::Value::String(id) => id.clone(),
            id => id.to_string(),
        }));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, expected, "pages of {list}?{filter}");
    seen.len()
}

/// An admin list the level tests page: its path, and the SQL of the ids it must return for a
/// subtree (`scope`, with a `condition`), in its order.
struct Listing {
    path: &'static str,
    expected: fn(&str, &str) -> String,
}

/// The review queue: the subtree's pending applications in deadline order, ties by id.
const QUEUE: Listing = Listing {
    path: "/v1/admin/applications",
    expected: |scope, condition| {
        format!(
            "SELECT a.id::text AS id {}{condition} ORDER BY a.due_at, a.id",
            pending_under(scope)
        )
    },
};

/// The member list: the subtree's members by id.
const MEMBERS: Listing = Listing {
    path: "/v1/admin/members",
    expected: members_under,
};

/// The audit trail: the rows the subtree reaches, newest first.
const AUDIT: Listing = Listing {
    path: "/v1/admin/audit",
    expected: audit_reached_from,
};

/// `listing` as `token` pages exactly its expected rows for `scope`.
async fn assert_listing_is(
    listing: &Listing,
    app: &TestApp,
    token: &str,
    scope: &str,
    limit: usize,
    (filter, condition): (&str, &str),
) -> usize {
    assert_pages_are(
        app,
        token,
        (listing.path, limit, filter),
        &(listing.expected)(scope, condition),
    )
    .await
}

/// The pending applications of the subtree at `scope`, as SQL (`FROM … WHERE …`).
fn pending_under(scope: &str) -> String {
    format!(
        "FROM applications a JOIN unions u ON u.id = a.union_id \
         WHERE u.path LIKE '{scope}%' AND a.status = 'pending_review' AND a.due_at IS NOT NULL"
    )
}

/// Signs in a new manager of the union at `path` (a generated union has no admin).
async fn manager_of(app: &TestApp, username: &'static str, path: &str) -> String {
    let union = *UnionPath::parse(path).unwrap().ids().last().unwrap();
    let mut conn = app.db.connect();
    tokio::task::spawn_blocking(move || {
        create_admin(
            &mut conn,
            NewAdmin {
                username,
                display_name: "测试管理员",
                password: DEMO_PASSWORD,
                role: AdminRole::Manager,
                union_id: union,
            },
        )
        .unwrap()
    })
    .await
    .unwrap();
    app.admin_token(username).await
}

/// Paths of the generated tree the level tests read.
struct Places {
    /// 巫山县's federation (demo admins: wushan-*).
    county: String,
    /// Another county federation of 重庆市.
    other_county: String,
    /// 重庆市's federation (the province level).
    province: String,
    /// The city federation 5001.
    city: String,
    /// The township above 净坛社区, which has two joint unions (its own and the community's).
    township: String,
}

fn places(app: &TestApp) -> Places {
    let path_of = |sql: &str| {
        text(
            app,
            &format!("SELECT path FROM unions WHERE {sql} ORDER BY id LIMIT 1"),
        )
    };
    Places {
        county: path_of("region_code = '500237' AND kind = 'federation'"),
        other_county: path_of(
            "region_code LIKE '50____' AND region_code <> '500237' AND kind = 'federation'",
        ),
        province: path_of("region_code = '50' AND kind = 'federation'"),
        city: path_of("region_code = '5001' AND kind = 'federation'"),
        township: path_of(
            "id = (SELECT parent_id FROM unions WHERE name = '净坛社区联合工会' ORDER BY id LIMIT 1)",
        ),
    }
}

/// Forwards the application `id` (version 1) as `token` to the first accepting joint union
/// under `scope`.
async fn forward_into(app: &TestApp, token: &str, id: &str, scope: &str) {
    let target = text(
        app,
        &format!(
            "SELECT id::text FROM unions WHERE kind = 'joint' AND accepting \
             AND path LIKE '{scope}%' ORDER BY id LIMIT 1"
        ),
    );
    let forwarded = app
        .call(
            Method::POST,
            &format!("/v1/admin/applications/{id}/forward"),
            token,
            Some(&json!({"version": 1, "union_id": target.parse::<i64>().unwrap(), "reason": "实际在主城区工作"})),
        )
        .await;
    assert_eq!(forwarded.status, 200, "{}", forwarded.text);
}

/// The queue at every level reads exactly its subtree in deadline order: a county admin's from
/// one anchor, a province's and a city's from their anchors (the city and county federations
/// below them), a township's from each of its unions — paging with and without a filter, ties
/// across unions included. Moving an application to another county moves it between the
/// county queues (the anchor follows the union).
#[tokio::test]
async fn the_queue_at_every_level_merges_its_parts_in_deadline_order() {
    let app = spawn_app().await;
    app.seed_demo().await;
    generate(&app, 20_000).await;
    let Places {
        county,
        province,
        city,
        township,
        ..
    } = places(&app);
    // Every union's anchor is the deepest root or province, city or county federation on its
    // path, and every application's is its union's.
    {
        #[derive(QueryableByName)]
        struct Union {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
            #[diesel(sql_type = diesel::sql_types::Text)]
            path: String,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            anchor_id: i64,
            #[diesel(sql_type = diesel::sql_types::Bool)]
            anchors: bool,
        }
        let mut conn = app.db.connect();
        let unions: Vec<Union> = diesel::sql_query(
            "SELECT id, path, anchor_id, \
                    (kind = 'federation' AND length(region_code) <= 6) AS anchors FROM unions",
        )
        .load(&mut conn)
        .unwrap();
        let anchors: std::collections::HashSet<i64> =
            unions.iter().filter(|u| u.anchors).map(|u| u.id).collect();
        for union in &unions {
            let path = UnionPath::parse(&union.path).unwrap();
            let ids = path.ids();
            let expected = ids
                .iter()
                .enumerate()
                .rev()
                .find(|(depth, id)| *depth == 0 || anchors.contains(&id.get()))
                .map(|(_, id)| id.get());
            assert_eq!(Some(union.anchor_id), expected, "anchor of {}", union.path);
        }
        assert!(anchors.len() > 3000, "{} anchors", anchors.len());
        // The anchors follow the tree, so a union's place in it is fixed; other updates pass.
        let moved = diesel::sql_query(format!(
            "UPDATE unions SET parent_id = NULL, path = '/' || id || '/' WHERE path = '{township}'"
        ))
        .execute(&mut conn);
        assert!(moved.is_err(), "a union moved: {moved:?}");
        let renamed = diesel::sql_query(format!(
            "UPDATE unions SET name = name || '（更名）' WHERE path = '{township}'"
        ))
        .execute(&mut conn);
        assert_eq!(renamed.unwrap(), 1);
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM applications a JOIN unions u ON u.id = a.union_id \
             WHERE a.anchor_id <> u.anchor_id"
        ),
        0
    );

    // Ties across unions: a few applications of different unions share the earliest deadline
    // and a few share a later one.
    {
        let pending = pending_under(&county);
        let mut conn = app.db.connect();
        for rank in [0, 10] {
            diesel::sql_query(format!(
                "UPDATE applications SET due_at = (SELECT a.due_at {pending} ORDER BY a.due_at OFFSET {rank} LIMIT 1) \
                 WHERE id IN (SELECT DISTINCT ON (a.union_id) a.id {pending} ORDER BY a.union_id, a.id DESC LIMIT 4)"
            ))
            .execute(&mut conn)
            .unwrap();
        }
    }
    let unions = count(
        &app,
        &format!(
            "SELECT count(DISTINCT a.union_id) {}",
            pending_under(&county)
        ),
    );
    assert!(
        unions > 7,
        "the queue spans more unions ({unions}) than a page"
    );
    let county_manager = app.admin_token("wushan-manager").await;
    let riders = (
        "&occupation=delivery_rider",
        " AND a.occupation = 'delivery_rider'",
    );
    for filter in [("", ""), riders] {
        assert_listing_is(&QUEUE, &app, &county_manager, &county, 7, filter).await;
    }
    // A township's queue is read union by union: give its two joint unions a dozen of the
    // county's applications (moved by SQL: the trigger keeps their anchor, the county).
    {
        let mut conn = app.db.connect();
        let moved = diesel::sql_query(format!(
            "WITH joint AS (SELECT array_agg(u.id ORDER BY u.id) AS ids FROM unions u \
                            WHERE u.kind = 'joint' AND u.path LIKE '{township}%'), \
                  picked AS (SELECT a.id, row_number() OVER (ORDER BY a.id) AS n {} \
                             AND u.path NOT LIKE '{township}%' LIMIT 12) \
             UPDATE applications SET union_id = joint.ids[1 + picked.n % 2] \
             FROM picked, joint WHERE applications.id = picked.id",
            pending_under(&county)
        ))
        .execute(&mut conn)
        .unwrap();
        assert_eq!(moved, 12);
    }
    let township_manager = manager_of(&app, "township-manager", &township).await;
    assert!(
        count(
            &app,
            &format!(
                "SELECT count(DISTINCT a.union_id) {}",
                pending_under(&township)
            )
        ) >= 2
    );
    assert_listing_is(&QUEUE, &app, &township_manager, &township, 3, ("", "")).await;
    // The plan `make bench` records is the server's statement: the county reads the anchor
    // index, the township its unions' (the other branch is never executed).
    for (scope, used, skipped) in [
        (
            &county,
            "applications_anchor_queue_idx",
            "applications_queue_idx",
        ),
        (
            &township,
            "applications_queue_idx",
            "applications_anchor_queue_idx",
        ),
    ] {
        let mut conn = app.db.connect();
        let filter = zhijian_infra::store::applications::QueueFilter {
            limit: 21,
            ..Default::default()
        };
        let plan = zhijian_infra::store::applications::explain_queue(
            &mut conn,
            &UnionPath::parse(scope).unwrap(),
            &filter,
            chrono::Utc::now(),
        )
        .unwrap();
        let scans = |index: &str| -> Vec<&String> {
            plan.iter()
                .filter(|line| line.contains(&format!("Index Only Scan using {index} ")))
                .collect()
        };
        assert!(
            scans(used).iter().any(|l| !l.contains("never executed")),
            "{scope}: {plan:#?}"
        );
        assert!(
            scans(skipped).iter().all(|l| l.contains("never executed")),
            "{scope}: {plan:#?}"
        );
    }
    let province_manager = manager_of(&app, "chongqing-manager", &province).await;
    let city_manager = manager_of(&app, "chongqing-city-manager", &city).await;
    let in_province =
        assert_listing_is(&QUEUE, &app, &province_manager, &province, 40, ("", "")).await;
    assert_listing_is(&QUEUE, &app, &province_manager, &province, 9, riders).await;
    let in_city = assert_listing_is(&QUEUE, &app, &city_manager, &city, 8, ("", "")).await;
    assert!(
        in_province > in_city,
        "{in_province} in the province, {in_city} in a city of it"
    );

    // The province forwards one of 巫山县's applications to a joint union of a county of the
    // city: it leaves 巫山县's queue and joins the city's.
    let moved = text(
        &app,
        &format!(
            "SELECT a.id::text {} ORDER BY a.due_at, a.id LIMIT 1",
            pending_under(&county)
        ),
    );
    forward_into(&app, &province_manager, &moved, &city).await;
    let county_first = app
        .call(
            Method::GET,
            "/v1/admin/applications?limit=1",
            &county_manager,
            None,
        )
        .await;
    assert_ne!(county_first.body["items"][0]["id"], moved.as_str());
    assert_eq!(
        assert_listing_is(&QUEUE, &app, &city_manager, &city, 8, ("", "")).await,
        in_city + 1
    );
}

/// The members of the subtree at `scope` (with `condition`), by id, as SQL.
fn members_under(scope: &str, condition: &str) -> String {
    format!(
        "SELECT m.id::text AS id FROM members m JOIN unions u ON u.id = m.union_id \
         WHERE u.path LIKE '{scope}%'{condition} ORDER BY m.id"
    )
}

/// The member list at every level is exactly its subtree's members by id — a county's from one
/// anchor (six statuses), a province's from its anchors, a township's union by union — with
/// and without a status filter; a member moved to another county (a transfer's update) leaves
/// the county's list for the other one's.
#[tokio::test]
async fn the_member_list_at_every_level_pages_its_subtree_by_id() {
    let app = spawn_app().await;
    app.seed_demo().await;
    generate(&app, 20_000).await;
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM members m JOIN unions u ON u.id = m.union_id \
             WHERE m.anchor_id <> u.anchor_id"
        ),
        0
    );
    let Places {
        county,
        province,
        other_county,
        ..
    } = places(&app);
    // The township of 巫山县 with the most members, and a county of the province besides 巫山县.
    let township = text(
        &app,
        "SELECT t.path FROM unions t JOIN unions u ON u.path LIKE t.path || '%' \
         JOIN members m ON m.union_id = u.id \
         WHERE t.kind = 'federation' AND t.region_code LIKE '500237___' \
         GROUP BY t.path ORDER BY count(*) DESC, t.path LIMIT 1",
    );
    let retained = ("&status=retained", " AND m.status = 'retained'");
    let county_manager = app.admin_token("wushan-manager").await;
    let in_county = assert_listing_is(&MEMBERS, &app, &county_manager, &county, 50, ("", "")).await;
    assert_listing_is(&MEMBERS, &app, &county_manager, &county, 5, retained).await;
    let province_manager = manager_of(&app, "chongqing-manager", &province).await;
    assert_listing_is(&MEMBERS, &app, &province_manager, &province, 100, ("", "")).await;
    let township_manager = manager_of(&app, "township-manager", &township).await;
    assert_listing_is(&MEMBERS, &app, &township_manager, &township, 2, ("", "")).await;

    // A member of 巫山县 moves to a union of another county of the province.
    {
        let mut conn = app.db.connect();
        let moved = diesel::sql_query(format!(
            "UPDATE members SET union_id = (SELECT id FROM unions WHERE path = '{other_county}') \
             WHERE id = (SELECT m.id FROM members m JOIN unions u ON u.id = m.union_id \
                         WHERE u.path LIKE '{county}%' ORDER BY m.id LIMIT 1)"
        ))
        .execute(&mut conn)
        .unwrap();
        assert_eq!(moved, 1);
    }
    assert_eq!(
        assert_listing_is(&MEMBERS, &app, &county_manager, &county, 50, ("", "")).await,
        in_county - 1
    );
    let other_manager = manager_of(&app, "other-county-manager", &other_county).await;
    let first = app
        .call(
            Method::GET,
            "/v1/admin/members?limit=100",
            &other_manager,
            None,
        )
        .await;
    let ids = members_under(&other_county, "");
    assert_eq!(first.status, 200);
    assert_eq!(
        first.body["items"].as_array().unwrap().len(),
        usize::try_from(count(&app, &format!("SELECT count(*) FROM ({ids}) l")))
            .unwrap()
            .min(100)
    );
}

/// The audit rows the admin of the subtree at `scope` may read, newest first, as SQL: the
/// definition the listing had before `audit_reach` (a walk of the trail testing each row's
/// actor and object), kept here as the reference.
fn audit_reached_from(scope: &str, condition: &str) -> String {
    format!(
        "WITH l AS (SELECT l.*, CASE WHEN l.object_id ~ '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$' \
                                     THEN l.object_id::uuid END AS oid FROM audit_log l) \
         SELECT l.id::text AS id FROM l LEFT JOIN unions u ON u.id = l.union_id \
         WHERE (u.path LIKE '{scope}%' \
             OR (l.object_kind = 'application' AND EXISTS (SELECT 1 FROM applications a \
                 JOIN unions x ON x.id = a.union_id WHERE a.id = l.oid AND x.path LIKE '{scope}%')) \
             OR (l.object_kind = 'member' AND EXISTS (SELECT 1 FROM members m \
                 JOIN unions x ON x.id = m.union_id WHERE m.id = l.oid AND x.path LIKE '{scope}%')) \
             OR (l.object_kind = 'admin' AND EXISTS (SELECT 1 FROM admins d \
                 JOIN unions x ON x.id = d.union_id WHERE d.id = l.oid AND x.path LIKE '{scope}%')) \
             OR (l.object_kind = 'transfer' AND EXISTS (SELECT 1 FROM transfers t \
                 JOIN unions x ON x.id IN (t.from_union_id, t.to_union_id) \
                 WHERE t.id = l.oid AND x.path LIKE '{scope}%'))){condition} \
         ORDER BY l.id DESC"
    )
}

/// The audit listing at every level is exactly the rows its subtree reaches (by the actor's
/// union, or by the union the object is in now), newest first, each once — a county's from
/// one anchor, a province's and a city's from their anchors, a township's union by union —
/// with and without a kind or object filter. Rows follow their object: an application
/// forwarded, a member moved, a transfer between two counties.
#[tokio::test]
async fn the_audit_trail_at_every_level_pages_the_rows_its_subtree_reaches() {
    let app = spawn_app().await;
    app.seed_demo().await;
    generate(&app, 20_000).await;
    let Places {
        county,
        other_county,
        province,
        city,
        township,
    } = places(&app);
    // The kinds the listing reads are the kinds the trail accepts.
    {
        let definition = text(
            &app,
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conname = 'audit_log_object_kind'",
        );
        let mut accepted: Vec<&str> = definition.split('\'').skip(1).step_by(2).collect();
        accepted.sort_unstable();
        let mut listed = zhijian_infra::store::audit_trail::OBJECT_KINDS.to_vec();
        listed.sort_unstable();
        assert_eq!(accepted, listed, "{definition}");
    }
    // History for the generated data (written by SQL: the triggers reach it as they reach the
    // server's rows; rows are sampled by a random byte of the object's id, a version 7 UUID). The township's joint unions get a dozen of the county's applications
    // first (moved by SQL: their rows written so far follow them).
    {
        let mut conn = app.db.connect();
        let statements = [
            // submissions by applicants, who act for no union: reached by the application
            "INSERT INTO audit_log (at, actor_kind, actor_id, object_kind, object_id, action) \
             SELECT a.created_at, 'applicant', a.account_id::text, 'application', a.id::text, 'submit' \
             FROM applications a WHERE get_byte(uuid_send(a.id), 11) < 64 ORDER BY a.id"
                .to_owned(),
            format!(
                "WITH joint AS (SELECT array_agg(u.id ORDER BY u.id) AS ids FROM unions u \
                                WHERE u.kind = 'joint' AND u.path LIKE '{township}%'), \
                      picked AS (SELECT a.id, row_number() OVER (ORDER BY a.id) AS n \
                                 FROM applications a JOIN unions u ON u.id = a.union_id \
                                 WHERE u.path LIKE '{county}%' AND u.path NOT LIKE '{township}%' \
                                   AND get_byte(uuid_send(a.id), 11) < 64 LIMIT 12) \
                 UPDATE applications SET union_id = joint.ids[1 + picked.n % 2] \
                 FROM picked, joint WHERE applications.id = picked.id"
            ),
            // the township acts on its applications: actor and object in the township, in two
            // of its unions
            format!(
                "INSERT INTO audit_log (at, actor_kind, role, union_id, object_kind, object_id, action) \
                 SELECT now(), 'admin', 'reviewer', (SELECT id FROM unions WHERE path = '{township}'), \
                        'application', a.id::text, action \
                 FROM applications a JOIN unions u ON u.id = a.union_id \
                 CROSS JOIN (VALUES ('view_personal_data'), ('approve')) v (action) \
                 WHERE u.path LIKE '{township}%' ORDER BY a.id, action"
            ),
            // the county federation views its members' data: actor and object in one anchor
            "INSERT INTO audit_log (at, actor_kind, role, union_id, object_kind, object_id, action) \
             SELECT now(), 'admin', 'reviewer', u.anchor_id, 'member', m.id::text, 'view_personal_data' \
             FROM members m JOIN unions u ON u.id = m.union_id \
             WHERE get_byte(uuid_send(m.id), 12) < 48 ORDER BY m.id"
                .to_owned(),
            // admins of unions anywhere act on applications anywhere
            "WITH span AS (SELECT min(id) AS low, max(id) - min(id) + 1 AS width FROM unions) \
             INSERT INTO audit_log (at, actor_kind, role, union_id, object_kind, object_id, action) \
             SELECT now(), 'admin', 'manager', x.id, 'application', a.id::text, 'forward' \
             FROM applications a CROSS JOIN span \
             JOIN unions x ON x.id = span.low + abs(hashtext(a.id::text)) % span.width \
             WHERE get_byte(uuid_send(a.id), 13) < 24 ORDER BY a.id"
                .to_owned(),
            // about no object the database knows: reached by the actor alone
            format!(
                "INSERT INTO audit_log (at, actor_kind, role, union_id, object_kind, object_id, action) \
                 SELECT now(), 'admin', 'manager', u.id, 'admin', 'retired-' || u.id, 'sign_in' \
                 FROM unions u WHERE u.path LIKE '{county}%' ORDER BY u.id"
            ),
            // transfers of a few of the county's members to the other county, and back
            format!(
                "WITH picked AS (SELECT m.id, m.union_id FROM members m JOIN unions u ON u.id = m.union_id \
                                 WHERE u.path LIKE '{county}%' AND m.status = 'active' ORDER BY m.id LIMIT 30) \
                 INSERT INTO transfers (id, member_id, from_union_id, to_union_id, status, requested_at, updated_at) \
                 SELECT gen_random_uuid(), picked.id, picked.union_id, \
                        (SELECT id FROM unions WHERE path = '{other_county}'), 'requested', now(), now() \
                 FROM picked"
            ),
            "INSERT INTO audit_log (at, actor_kind, object_kind, object_id, action) \
             SELECT now(), 'member', 'transfer', t.id::text, 'request' FROM transfers t ORDER BY t.id"
                .to_owned(),
        ];
        for statement in statements {
            diesel::sql_query(&statement)
                .execute(&mut conn)
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
    }
    let county_manager = app.admin_token("wushan-manager").await;
    let township_manager = manager_of(&app, "audit-township-manager", &township).await;
    let province_manager = manager_of(&app, "audit-province-manager", &province).await;
    let city_manager = manager_of(&app, "audit-city-manager", &city).await;
    let other_manager = manager_of(&app, "audit-other-county-manager", &other_county).await;
    let members = ("&object_kind=member", " AND l.object_kind = 'member'");
    let transfers = ("&object_kind=transfer", " AND l.object_kind = 'transfer'");
    // Some rows reach the county twice (actor and object under its anchor).
    assert!(
        count(
            &app,
            &format!(
                "SELECT count(*) FROM (SELECT r.audit_id FROM audit_reach r \
                 JOIN unions u ON u.id = r.union_id WHERE u.path LIKE '{county}%' \
                 GROUP BY r.audit_id HAVING count(*) > 1) twice"
            )
        ) > 50
    );
    let in_county = assert_listing_is(&AUDIT, &app, &county_manager, &county, 50, ("", "")).await;
    assert_listing_is(&AUDIT, &app, &county_manager, &county, 7, members).await;
    assert_listing_is(&AUDIT, &app, &county_manager, &county, 9, transfers).await;
    let in_other =
        assert_listing_is(&AUDIT, &app, &other_manager, &other_county, 9, ("", "")).await;
    // A township reads union by union; rows reach it through two of its unions at once.
    assert_listing_is(&AUDIT, &app, &township_manager, &township, 4, ("", "")).await;
    let in_province =
        assert_listing_is(&AUDIT, &app, &province_manager, &province, 100, ("", "")).await;
    assert_listing_is(&AUDIT, &app, &city_manager, &city, 30, ("", "")).await;
    assert!(in_province > in_county, "{in_province} vs {in_county}");

    // One object: its rows within reach. The province forwards one of 巫山县's applications to
    // a joint union of the city through the API: its rows (the submission among them) leave
    // the county's trail and join the city's; the forward itself is the province's act.
    let moved = text(
        &app,
        &format!(
            "SELECT a.id::text FROM applications a JOIN unions u ON u.id = a.union_id \
             WHERE u.path LIKE '{county}%' AND u.path NOT LIKE '{township}%' \
               AND a.status = 'pending_review' AND get_byte(uuid_send(a.id), 11) < 64 \
               AND get_byte(uuid_send(a.id), 13) >= 24 \
             ORDER BY a.id LIMIT 1"
        ),
    );
    {
        let mut conn = app.db.connect();
        diesel::sql_query(format!(
            "INSERT INTO audit_log (at, actor_kind, role, union_id, object_kind, object_id, action) \
             SELECT now(), 'admin', 'viewer', u.id, 'application', '{moved}', 'view_personal_data' \
             FROM unions u WHERE u.path IN ('{county}', '{province}', '{other_county}')"
        ))
        .execute(&mut conn)
        .unwrap();
    }
    let of_moved = (
        format!("&object_id={moved}"),
        format!(" AND l.object_id = '{moved}'"),
    );
    let of_moved = (of_moved.0.as_str(), of_moved.1.as_str());
    assert_eq!(
        assert_listing_is(&AUDIT, &app, &county_manager, &county, 1, of_moved).await,
        4,
        "the submission and three views"
    );
    forward_into(&app, &province_manager, &moved, &city).await;
    let county_view = app
        .call(
            Method::GET,
            &format!("/v1/admin/audit?object_id={moved}"),
            &county_manager,
            None,
        )
        .await;
    assert_eq!(county_view.status, 200, "{}", county_view.text);
    assert_eq!(
        county_view.body["items"].as_array().unwrap().len(),
        1,
        "only the county's own view is left: {}",
        county_view.text
    );
    assert_eq!(
        assert_listing_is(&AUDIT, &app, &city_manager, &city, 1, of_moved).await,
        5,
        "the submission, three views and the forward"
    );
    assert_listing_is(&AUDIT, &app, &county_manager, &county, 50, ("", "")).await;

    // A member moves to the other county (a transfer's completion): the member's rows and
    // their transfer's follow; the transfer stays within both counties' reach.
    {
        let mut conn = app.db.connect();
        let moved = diesel::sql_query(format!(
            "UPDATE members SET union_id = (SELECT id FROM unions WHERE path = '{other_county}') \
             WHERE id IN (SELECT t.member_id FROM transfers t ORDER BY t.id LIMIT 10)"
        ))
        .execute(&mut conn)
        .unwrap();
        assert_eq!(moved, 10);
        let redirected = diesel::sql_query(format!(
            "UPDATE transfers SET to_union_id = (SELECT id FROM unions WHERE path = '{city}') \
             WHERE id IN (SELECT t.id FROM transfers t ORDER BY t.id DESC LIMIT 5)"
        ))
        .execute(&mut conn)
        .unwrap();
        assert_eq!(redirected, 5);
    }
    assert_listing_is(&AUDIT, &app, &county_manager, &county, 50, ("", "")).await;
    assert_listing_is(&AUDIT, &app, &county_manager, &county, 3, transfers).await;
    assert!(
        assert_listing_is(&AUDIT, &app, &other_manager, &other_county, 9, ("", "")).await
            > in_other
    );
    assert_listing_is(&AUDIT, &app, &city_manager, &city, 30, ("", "")).await;
}
