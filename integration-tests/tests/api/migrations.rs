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
        let up = zhijian_infra::migrations::run_pending(&mut conn).unwrap();
        assert!(!up.is_empty());
        let down = zhijian_infra::migrations::revert_all(&mut conn).unwrap();
        assert_eq!(down.len(), up.len());
        let tables: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' \
             AND table_name <> '__diesel_schema_migrations')",
        ))
        .get_result(&mut conn)
        .unwrap();
        assert_eq!(tables, 0, "down migrations leave no table behind");
        let again = zhijian_infra::migrations::run_pending(&mut conn).unwrap();
        assert_eq!(again, up);
        assert!(
            zhijian_infra::migrations::run_pending(&mut conn)
                .unwrap()
                .is_empty()
        );
    });
    diesel::sql_query(format!(r#"DROP DATABASE "{name}" WITH (FORCE)"#))
        .execute(&mut admin)
        .unwrap();
    outcome.unwrap();
}
