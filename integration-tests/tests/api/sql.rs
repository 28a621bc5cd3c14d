//! Every hand-written statement (`zhijian_infra::db::sql`) against a freshly migrated
//! database: a migration that renames or drops what one of them reads fails here, not in
//! production.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use zhijian_infra::db::sql::{self, Statement};
use zhijian_integration_tests::TestDatabase;

/// `PREPARE`s `statement` with the parameter types the code binds (parse, analysis and a plan
/// against the schema, nothing executed), or — for what cannot be prepared — runs it in a
/// transaction that is rolled back.
fn check(conn: &mut PgConnection, statement: &Statement) -> Result<(), String> {
    let outcome = match &statement.parameters {
        Some(types) => {
            let types = if types.is_empty() {
                String::new()
            } else {
                format!(" ({})", types.join(", "))
            };
            conn.batch_execute(&format!(
                "PREPARE zhijian_check{types} AS {}; DEALLOCATE zhijian_check",
                statement.sql
            ))
        }
        None => conn.batch_execute(&format!("BEGIN; {}; ROLLBACK", statement.sql)),
    };
    outcome.map_err(|e| {
        let _ = conn.batch_execute("ROLLBACK");
        format!("{}: {e}", statement.name)
    })
}

#[test]
fn every_registered_statement_prepares_against_the_migrated_schema() {
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let statements = sql::statements();
    assert!(statements.iter().any(|s| s.name == "submit"));
    assert!(
        statements
            .iter()
            .any(|s| s.name.starts_with("subtree page"))
    );
    let failures: Vec<String> = statements
        .iter()
        .filter_map(|statement| check(&mut conn, statement).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_statement_the_schema_does_not_have_is_refused() {
    let db = TestDatabase::new();
    let mut conn = db.connect();
    let broken = Statement {
        name: "a renamed column".to_owned(),
        sql: "SELECT a.no_such_column FROM applications a WHERE a.id = $1".to_owned(),
        parameters: Some(vec!["uuid"]),
    };
    let error = check(&mut conn, &broken).unwrap_err();
    assert!(error.contains("no_such_column"), "{error}");
}

/// The outbox claim and its settlement are written inline in `usecases::delivery`: they are
/// run, on an empty outbox, inside a transaction that is rolled back.
#[test]
fn the_outbox_claim_and_settlement_run_against_the_migrated_schema() {
    use zhijian_infra::usecases::delivery::{Settlement, claim, settle};
    let db = TestDatabase::new();
    let mut conn = db.connect();
    conn.test_transaction::<_, zhijian_infra::db::StoreError, _>(|conn| {
        assert!(claim(conn, 10, Duration::from_secs(30))?.is_empty());
        assert!(!settle(conn, 1, 1, &Settlement::Delivered)?);
        Ok(())
    });
}

/// `NOTIFY outbox` (in `enqueue`) reaches a connection that ran `LISTEN outbox`.
#[test]
fn listen_and_notify_use_the_same_channel() {
    let db = TestDatabase::new();
    let mut listener = zhijian_infra::store::outbox::Listener::connect(&db.url).unwrap();
    let mut conn = db.connect();
    zhijian_infra::store::outbox::enqueue(
        &mut conn,
        zhijian_domain::outbox_event::OutboxEvent::ApplicationSubmitted,
        "1",
        &serde_json::json!({}),
        chrono::Utc::now(),
    )
    .unwrap();
    let mut woken = false;
    for _ in 0..50 {
        woken = listener.notified().unwrap();
        if woken {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(woken, "the listener heard the notification");
    conn.batch_execute(sql::NOTIFY_OUTBOX).unwrap();
}
