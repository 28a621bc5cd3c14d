//! The demo county 巫山县: built from the real regions, idempotent, its admins can sign in, and
//! every routing rule fires on it.

use chrono::Utc;
use diesel::prelude::*;
use zhijian_devtools::demo::{self, DemoError, DemoReport, seed_demo};
use zhijian_domain::credit_code::CreditCode;
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::region::RegionCode;
use zhijian_domain::routing::{RoutingFacts, RoutingRule, UnionKind};
use zhijian_infra::crypto::secret::Secret;
use zhijian_infra::db::schema::{admins, regions, unions};
use zhijian_infra::store::admins::{LoginOutcome, attempt_login};
use zhijian_integration_tests::{TestDatabase, spawn_app};

/// Where a worker of `occupation` (optionally employed by `employer`) working in `region` goes.
fn routed(
    conn: &mut PgConnection,
    region: &str,
    occupation: OccupationGroup,
    employer: Option<&str>,
) -> (String, RoutingRule) {
    let work_region = RegionCode::parse(region).unwrap();
    let employer = employer.map(|c| CreditCode::parse(c).unwrap());
    let facts = RoutingFacts {
        work_region,
        occupation,
        employer_credit_code: employer,
    };
    let (decision, union) = zhijian_infra::store::unions::route(conn, &facts)
        .unwrap()
        .unwrap();
    (union.name, decision.rule)
}

fn name_of(report: &DemoReport, username: &str) -> String {
    report
        .admins
        .iter()
        .find(|a| a.username == username)
        .unwrap()
        .union_name
        .clone()
}

#[test]
fn the_demo_county_is_built_once_from_the_real_regions_and_a_second_seed_changes_nothing() {
    let db = TestDatabase::new();
    let mut conn = db.connect();

    let first = seed_demo(&mut conn, None).unwrap();
    // 重庆市 + 巫山县 + pool + 3 industry federations + 26 × (federation + joint) + 4 communities
    // + 1 enterprise.
    assert_eq!(first.unions.len(), 63);
    assert_eq!(first.unions_created(), 63);
    assert_eq!(first.admins.len(), 8);
    assert_eq!(first.admins_created(), 8);
    let generated = first
        .password
        .clone()
        .expect("a generated password is reported once");
    assert!(first.admins.iter().all(|a| a.password_works));

    let root = &first.unions[0];
    assert_eq!(
        (root.name.as_str(), root.kind, root.region.as_str()),
        ("重庆市总工会", UnionKind::Federation, "50")
    );
    let names: Vec<&str> = first.unions.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(
        names[..8],
        [
            "重庆市总工会",
            "巫山县总工会",
            "巫山县临时库",
            "巫山县快递行业工会联合会",
            "巫山县外卖配送行业工会联合会",
            "巫山县网约车行业工会联合会",
            "高唐街道总工会",
            "高唐街道联合工会",
        ]
    );
    for name in [
        "净坛社区联合工会",
        "神女社区联合工会",
        "和平村联合工会",
        "骡坪场镇社区联合工会",
        "邓家乡联合工会",
    ] {
        assert!(first.union_named(name).is_some(), "{name}");
    }
    let townships: i64 = regions::table
        .filter(regions::parent_code.eq("500237"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(townships, 26);
    let per_kind = |kind: UnionKind| first.unions.iter().filter(|u| u.kind == kind).count();
    assert_eq!(per_kind(UnionKind::Federation), 2 + 26);
    assert_eq!(per_kind(UnionKind::Joint), 26 + 4);
    assert_eq!(per_kind(UnionKind::IndustryFederation), 3);
    assert_eq!(per_kind(UnionKind::Pool), 1);
    assert_eq!(per_kind(UnionKind::Enterprise), 1);

    // One tree under 重庆市总工会, with the county federation owning the pool and the townships.
    let stored: Vec<(i64, String, Option<i64>, String)> = unions::table
        .select((unions::id, unions::name, unions::parent_id, unions::path))
        .load(&mut conn)
        .unwrap();
    let id_of = |name: &str| first.union_named(name).unwrap().get();
    let parent_of = |name: &str| stored.iter().find(|u| u.1 == name).unwrap().2;
    assert!(
        stored
            .iter()
            .all(|u| u.3.starts_with(&format!("/{}/", root.id)))
    );
    assert_eq!(parent_of("巫山县总工会"), Some(root.id.get()));
    assert_eq!(parent_of("巫山县临时库"), Some(id_of("巫山县总工会")));
    assert_eq!(parent_of("高唐街道总工会"), Some(id_of("巫山县总工会")));
    assert_eq!(parent_of("净坛社区联合工会"), Some(id_of("高唐街道总工会")));
    assert_eq!(
        parent_of(demo::ENTERPRISE_NAME),
        Some(id_of("高唐街道总工会"))
    );

    assert_eq!(name_of(&first, "wushan-manager"), "巫山县总工会");
    assert_eq!(
        name_of(&first, "pool-reviewer"),
        "巫山县总工会",
        "the pool's owner, so it can assign"
    );
    assert_eq!(name_of(&first, "gaotang-reviewer"), "高唐街道总工会");
    assert_eq!(name_of(&first, "jingtan-reviewer"), "净坛社区联合工会");
    assert_eq!(
        name_of(&first, "courier-reviewer"),
        "巫山县快递行业工会联合会"
    );

    // Second run without a password: nothing new, same tree, and the password is not known.
    let second = seed_demo(&mut conn, None).unwrap();
    assert_eq!(second.unions_created(), 0);
    assert_eq!(second.admins_created(), 0);
    assert_eq!(
        second
            .unions
            .iter()
            .map(|u| (u.id, &u.name))
            .collect::<Vec<_>>(),
        first
            .unions
            .iter()
            .map(|u| (u.id, &u.name))
            .collect::<Vec<_>>()
    );
    let accounts = |r: &DemoReport| {
        r.admins
            .iter()
            .map(|a| (a.username.clone(), a.role, a.union_id))
            .collect::<Vec<_>>()
    };
    assert_eq!(accounts(&second), accounts(&first));
    assert!(second.password.is_none());
    assert!(second.admins.iter().all(|a| !a.password_works));
    let count: i64 = unions::table.count().get_result(&mut conn).unwrap();
    assert_eq!(count, 63);

    // With the password of the first run configured, it is reported as working; another is not.
    let third = seed_demo(&mut conn, Some(&generated)).unwrap();
    assert_eq!(third.password.as_ref(), Some(&generated));
    assert!(third.admins.iter().all(|a| a.password_works));
    let wrong = seed_demo(&mut conn, Some(&Secret::new("another-password-1"))).unwrap();
    assert!(wrong.password.is_none());

    // The clear password is stored nowhere; every account signs in with it.
    let hashes: Vec<String> = admins::table
        .select(admins::password_hash)
        .load(&mut conn)
        .unwrap();
    assert!(
        hashes
            .iter()
            .all(|h| h.starts_with("$argon2id$") && !h.contains(generated.expose()))
    );
    for admin in &first.admins {
        match attempt_login(&mut conn, &admin.username, generated.expose(), Utc::now()).unwrap() {
            LoginOutcome::Success(record) => {
                assert_eq!(
                    (record.role, record.union_id),
                    (admin.role, admin.union_id),
                    "{}",
                    admin.username
                )
            }
            other => panic!("{} cannot sign in: {other:?}", admin.username),
        }
    }
}

#[test]
fn a_configured_password_is_used_for_new_accounts() {
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let password = Secret::new("demo-Password-2026");
    let report = seed_demo(&mut conn, Some(&password)).unwrap();
    assert_eq!(report.password.as_ref(), Some(&password));
    let outcome = attempt_login(&mut conn, "wushan-viewer", password.expose(), Utc::now()).unwrap();
    assert!(matches!(outcome, LoginOutcome::Success(_)), "{outcome:?}");

    // A password that misses the policy is refused with the account named, and nothing stays.
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let error = seed_demo(&mut conn, Some(&Secret::new("short"))).unwrap_err();
    assert!(
        matches!(
            error,
            DemoError::Admin {
                username: "wushan-manager",
                ..
            }
        ),
        "{error}"
    );
    let count: i64 = unions::table.count().get_result(&mut conn).unwrap();
    assert_eq!(count, 0, "one transaction");
}

#[test]
fn without_the_regions_the_seed_says_what_to_run() {
    let db = TestDatabase::new();
    let mut conn = db.connect();
    diesel::delete(regions::table.filter(regions::code.like("500237%")))
        .execute(&mut conn)
        .unwrap();
    let error = seed_demo(&mut conn, None).unwrap_err();
    assert!(matches!(error, DemoError::RegionsMissing(_)), "{error}");
    assert!(
        error.to_string().contains("zhijian import-regions"),
        "{error}"
    );
}

#[test]
fn every_routing_rule_fires_on_the_demo_county() {
    use OccupationGroup::*;
    let db = TestDatabase::new();
    let mut conn = db.connect();
    seed_demo(&mut conn, Some(&Secret::new("demo-Password-2026"))).unwrap();
    let jingtan = "500237001009";
    let denglong = "500237001002"; // 高唐街道 without a community union of its own
    let heping = "500237107231";
    let employer = Some(demo::ENTERPRISE_CREDIT_CODE);

    // Rule 1: the employer's union, even for a courier.
    assert_eq!(
        routed(&mut conn, denglong, Courier, employer),
        (demo::ENTERPRISE_NAME.to_owned(), RoutingRule::EmployerUnion)
    );
    assert_eq!(
        routed(&mut conn, heping, Cleaner, employer),
        (demo::ENTERPRISE_NAME.to_owned(), RoutingRule::EmployerUnion)
    );
    // Rule 2: the industry federation of the group, anywhere in the county.
    let industry = |name: &str| (name.to_owned(), RoutingRule::IndustryFederation);
    assert_eq!(
        routed(&mut conn, jingtan, Courier, None),
        industry("巫山县快递行业工会联合会")
    );
    assert_eq!(
        routed(&mut conn, heping, DeliveryRider, None),
        industry("巫山县外卖配送行业工会联合会")
    );
    assert_eq!(
        routed(&mut conn, "500237", RideHailingDriver, None),
        industry("巫山县网约车行业工会联合会")
    );
    // Rule 3: the narrowest joint union — the community's before the township's.
    let joint = |name: &str| (name.to_owned(), RoutingRule::JointUnion);
    assert_eq!(
        routed(&mut conn, jingtan, Cleaner, None),
        joint("净坛社区联合工会")
    );
    assert_eq!(
        routed(&mut conn, denglong, Cleaner, None),
        joint("高唐街道联合工会")
    );
    assert_eq!(
        routed(&mut conn, denglong, TruckDriver, None),
        joint("高唐街道联合工会")
    );
    assert_eq!(
        routed(&mut conn, heping, FarmWorker, None),
        joint("和平村联合工会")
    );
    assert_eq!(
        routed(&mut conn, "500237231", Other, None),
        joint("邓家乡联合工会")
    );
    // Rule 4: the county pool, for the county itself and for a township whose union is closed.
    let pool = ("巫山县临时库".to_owned(), RoutingRule::Pool);
    assert_eq!(routed(&mut conn, "500237", Cleaner, None), pool);
    diesel::update(unions::table.filter(unions::name.eq("龙门街道联合工会")))
        .set(unions::accepting.eq(false))
        .execute(&mut conn)
        .unwrap();
    assert_eq!(routed(&mut conn, "500237002001", Cleaner, None), pool);
}

#[tokio::test]
async fn every_demo_admin_signs_in_over_http_into_their_union() {
    let app = spawn_app().await;
    let mut conn = app.db.connect();
    let password = Secret::new("demo-Password-2026");
    let seeded = password.clone();
    let report = tokio::task::spawn_blocking(move || seed_demo(&mut conn, Some(&seeded)).unwrap())
        .await
        .unwrap();
    for admin in &report.admins {
        let body = serde_json::json!({"username": admin.username, "password": password.expose()});
        let response = app.post_json("/v1/admin/auth/login", &body).await;
        assert_eq!(
            response.status, 200,
            "{}: {}",
            admin.username, response.text
        );
        assert_eq!(response.body["admin"]["role"], admin.role.as_str());
        assert_eq!(response.body["admin"]["union"]["id"], admin.union_id.get());
        assert_eq!(
            response.body["admin"]["union"]["name"],
            admin.union_name.as_str()
        );
    }
}
