use diesel::prelude::*;
use zhijian_integration_tests::database::database_url;

#[test]
fn every_migration_runs_up_down_and_up_again() {
    let admin_url = zhijian_integration_tests::database::admin_url();
    let name = format!("m_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    diesel::sql_query(format!(r#"CREATE DATABASE "{name}""#))
        .execute(&mut admin)
        .unwrap();
    let outcome = std::panic::catch_unwind(|| {
        let mut conn = PgConnection::establish(&database_url(&name)).unwrap();
        let up = zhijian_infra::db::migrations::run_pending(&mut conn).unwrap();
        assert!(!up.is_empty());
        let down = zhijian_infra::db::migrations::revert_all(&mut conn).unwrap();
        assert_eq!(down.len(), up.len());
        let tables: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_name <> '__diesel_schema_migrations')",
        ))
        .get_result(&mut conn)
        .unwrap();
        assert_eq!(tables, 0, "down migrations leave no table behind");
        let again = zhijian_infra::db::migrations::run_pending(&mut conn).unwrap();
        assert_eq!(again, up);
        assert!(
            zhijian_infra::db::migrations::run_pending(&mut conn)
                .unwrap()
                .is_empty()
        );
    });
    diesel::sql_query(format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#))
        .execute(&mut admin)
        .unwrap();
    outcome.unwrap();
}

fn text(conn: &mut PgConnection, sql: &str) -> String {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(&format!(
        "({sql})"
    )))
    .get_result(conn)
    .unwrap()
}

/// A database with data at the schema of `queue_anchor` (released before `member_anchors` and
/// `audit_reach`) upgrades in place: the backfills give every application and member its
/// anchor and every audit row its reach, exactly what the triggers gave them.
#[tokio::test]
async fn a_database_with_data_upgrades_from_the_released_queue_anchors() {
    let app = zhijian_integration_tests::spawn_app().await;
    app.seed_demo().await;
    zhijian_integration_tests::fixtures::approved_member(&app, "upgrade", 1).await;
    let mut conn = app.db.connect();
    let derived = |conn: &mut PgConnection| {
        [
            "SELECT string_agg(id || ':' || anchor_id, ',' ORDER BY id) FROM applications",
            "SELECT string_agg(id || ':' || anchor_id, ',' ORDER BY id) FROM members",
            "SELECT string_agg(audit_id || via || union_id || ':' || anchor_id || object_kind, ',' \
             ORDER BY audit_id, via, union_id) FROM audit_reach",
        ]
        .map(|sql| text(conn, sql))
    };
    let before = derived(&mut conn);
    let reverted = tokio::task::spawn_blocking(move || {
        let reverted = zhijian_infra::db::migrations::revert_newest(&mut conn, 2).unwrap();
        (reverted, conn)
    })
    .await
    .unwrap();
    let (reverted, mut conn) = reverted;
    assert_eq!(reverted, ["20261123000007", "20261123000006"]);
    assert_eq!(
        text(
            &mut conn,
            "SELECT string_agg(table_name || '.' || column_name, ',' ORDER BY table_name) \
             FROM information_schema.columns \
             WHERE column_name IN ('queue_anchor', 'anchor_id') AND table_schema = 'public'"
        ),
        "applications.queue_anchor,unions.anchor_id"
    );
    let applied = zhijian_infra::db::migrations::run_pending(&mut conn).unwrap();
    assert_eq!(applied, ["20261123000006", "20261123000007"]);
    assert_eq!(derived(&mut conn), before);
}
