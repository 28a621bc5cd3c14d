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
    // every migration released after queue_anchor, newest first, ending with the two whose
    // backfills this test is about
    let newer: usize = text(
        &mut conn,
        "SELECT count(*)::text FROM __diesel_schema_migrations WHERE version > '20261123000005'",
    )
    .parse()
    .unwrap();
    let reverted = tokio::task::spawn_blocking(move || {
        let reverted = zhijian_infra::db::migrations::revert_newest(&mut conn, newer).unwrap();
        (reverted, conn)
    })
    .await
    .unwrap();
    let (reverted, mut conn) = reverted;
    assert_eq!(reverted.len(), newer);
    assert_eq!(reverted[newer - 2..], ["20261123000007", "20261123000006"]);
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
    let mut expected = reverted.clone();
    expected.reverse();
    assert_eq!(applied, expected);
    assert_eq!(applied[..2], ["20261123000006", "20261123000007"]);
    assert_eq!(derived(&mut conn), before);
}

/// A table as `infra/src/db/schema.rs` declares it, or as the migrated database has it:
/// the primary key, and each column's SQL type (Diesel's name) and nullability.
#[derive(Debug, PartialEq, Eq, Default)]
struct TableShape {
    primary_key: Vec<String>,
    columns: std::collections::BTreeMap<String, String>,
}

/// Diesel's name of a column type, as `diesel print-schema` writes it; an array's elements are
/// written without `Nullable` (PostgreSQL does not record whether they may be null).
fn diesel_type(udt_name: &str) -> String {
    if let Some(element) = udt_name.strip_prefix('_') {
        return format!("Array<{}>", diesel_type(element));
    }
    match udt_name {
        "int2" => "Int2",
        "int4" => "Int4",
        "int8" => "Int8",
        "float4" => "Float4",
        "float8" => "Float8",
        "numeric" => "Numeric",
        "bool" => "Bool",
        "text" => "Text",
        "varchar" => "Varchar",
        "bpchar" => "Bpchar",
        "bytea" => "Bytea",
        "date" => "Date",
        "time" => "Time",
        "timestamp" => "Timestamp",
        "timestamptz" => "Timestamptz",
        "interval" => "Interval",
        "uuid" => "Uuid",
        "json" => "Json",
        "jsonb" => "Jsonb",
        "inet" => "Inet",
        other => other,
    }
    .to_owned()
}

/// The same type under Diesel's other names (`BigInt` is `Int8`…), arrays without nullable
/// elements.
fn normalise(declared: &str) -> String {
    let declared: String = declared.split_whitespace().collect();
    if let Some(inner) = declared
        .strip_prefix("Nullable<")
        .and_then(|t| t.strip_suffix('>'))
    {
        return format!("Nullable<{}>", normalise(inner));
    }
    if let Some(inner) = declared
        .strip_prefix("Array<")
        .and_then(|t| t.strip_suffix('>'))
    {
        let inner = inner
            .strip_prefix("Nullable<")
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(inner);
        return format!("Array<{}>", normalise(inner));
    }
    match declared.as_str() {
        "SmallInt" => "Int2",
        "Integer" => "Int4",
        "BigInt" => "Int8",
        "Float" => "Float4",
        "Double" => "Float8",
        "VarChar" => "Varchar",
        "Binary" => "Bytea",
        other => other,
    }
    .to_owned()
}

/// The `diesel::table!` blocks of a schema file.
fn declared_tables(schema: &str) -> std::collections::BTreeMap<String, TableShape> {
    let mut tables = std::collections::BTreeMap::new();
    let mut current: Option<(String, TableShape)> = None;
    for line in schema.lines().map(str::trim) {
        if line.starts_with("//") || line.starts_with('#') || line.is_empty() {
            continue;
        }
        match &mut current {
            None => {
                // `name (key, …) {`, the line after `diesel::table! {`
                if let Some((name, rest)) = line.split_once(" (")
                    && line.ends_with(") {")
                    && !name.contains(' ')
                {
                    let keys = rest.trim_end_matches(") {");
                    let shape = TableShape {
                        primary_key: keys.split(',').map(|k| k.trim().to_owned()).collect(),
                        ..TableShape::default()
                    };
                    current = Some((name.to_owned(), shape));
                }
            }
            Some((name, shape)) => {
                if line == "}" {
                    let (name, shape) = (name.clone(), std::mem::take(shape));
                    tables.insert(name, shape);
                    current = None;
                } else if let Some((column, declared)) = line.split_once(" -> ") {
                    shape.columns.insert(
                        column.trim().trim_start_matches("r#").to_owned(),
                        normalise(declared.trim_end_matches(',')),
                    );
                }
            }
        }
    }
    tables
}

/// The tables of the migrated database `conn` is connected to.
fn migrated_tables(conn: &mut PgConnection) -> std::collections::BTreeMap<String, TableShape> {
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        udt_name: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        nullable: bool,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        key_position: Option<i32>,
    }
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT c.table_name::text, c.column_name::text, c.udt_name::text, \
                c.is_nullable = 'YES' AS nullable, k.ordinal_position::int4 AS key_position \
         FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
          AND t.table_type = 'BASE TABLE' \
         LEFT JOIN information_schema.table_constraints p \
           ON p.table_schema = c.table_schema AND p.table_name = c.table_name \
          AND p.constraint_type = 'PRIMARY KEY' \
         LEFT JOIN information_schema.key_column_usage k \
           ON k.constraint_schema = p.constraint_schema AND k.constraint_name = p.constraint_name \
          AND k.table_name = c.table_name AND k.column_name = c.column_name \
         WHERE c.table_schema = 'public' AND c.table_name <> '__diesel_schema_migrations' \
         ORDER BY c.table_name, k.ordinal_position, c.ordinal_position",
    )
    .load(conn)
    .unwrap();
    let mut tables: std::collections::BTreeMap<String, TableShape> = Default::default();
    for column in columns {
        let table = tables.entry(column.table_name).or_default();
        if column.key_position.is_some() {
            table.primary_key.push(column.column_name.clone());
        }
        let sql_type = diesel_type(&column.udt_name);
        table.columns.insert(
            column.column_name,
            if column.nullable {
                format!("Nullable<{sql_type}>")
            } else {
                sql_type
            },
        );
    }
    tables
}

/// What differs between the declared tables and the migrated ones, one line per difference.
fn drift(
    declared: &std::collections::BTreeMap<String, TableShape>,
    migrated: &std::collections::BTreeMap<String, TableShape>,
) -> Vec<String> {
    let mut differences = Vec::new();
    for (name, table) in migrated {
        let Some(declared) = declared.get(name) else {
            differences.push(format!("table {name} is not in schema.rs"));
            continue;
        };
        if declared.primary_key != table.primary_key {
            differences.push(format!(
                "{name}: primary key ({}) in schema.rs, ({}) in the database",
                declared.primary_key.join(", "),
                table.primary_key.join(", ")
            ));
        }
        for (column, sql_type) in &table.columns {
            match declared.columns.get(column) {
                None => {
                    differences.push(format!("{name}.{column} ({sql_type}) is not in schema.rs"))
                }
                Some(declared) if declared != sql_type => differences.push(format!(
                    "{name}.{column}: {declared} in schema.rs, {sql_type} in the database"
                )),
                Some(_) => {}
            }
        }
        for column in declared.columns.keys() {
            if !table.columns.contains_key(column) {
                differences.push(format!(
                    "{name}.{column} is in schema.rs, not in the database"
                ));
            }
        }
    }
    for name in declared.keys() {
        if !migrated.contains_key(name) {
            differences.push(format!("table {name} is in schema.rs, not in the database"));
        }
    }
    differences
}

/// `infra/src/db/schema.rs` says what the migrations make: every table, primary key, column,
/// type and nullability — what `diesel print-schema` of the migrated database would write
/// (without the tool: column order and Diesel's other names for a type do not count). On a
/// difference, update schema.rs (`diesel print-schema`, or by hand) with the migration.
#[test]
fn schema_rs_matches_the_migrated_database() {
    let db = zhijian_integration_tests::TestDatabase::new();
    let mut conn = db.connect();
    let schema = std::fs::read_to_string(
        zhijian_integration_tests::database::repo_root().join("infra/src/db/schema.rs"),
    )
    .unwrap();
    let declared = declared_tables(&schema);
    let migrated = migrated_tables(&mut conn);
    assert!(migrated.contains_key("applications") && declared.contains_key("applications"));
    let differences = drift(&declared, &migrated);
    assert!(
        differences.is_empty(),
        "infra/src/db/schema.rs drifted from the migrations:\n  {}",
        differences.join("\n  ")
    );
}

#[test]
fn the_drift_check_sees_a_column_added_retyped_or_dropped() {
    let declared = declared_tables(
        "diesel::table! {\n    t (id) {\n        id -> Int8,\n        \
         note -> Nullable<Text>,\n        gone -> Bool,\n        tags -> Array<Nullable<Text>>,\n    }\n}\n",
    );
    let db = zhijian_integration_tests::TestDatabase::new();
    let mut conn = db.connect();
    diesel::connection::SimpleConnection::batch_execute(
        &mut conn,
        "DROP SCHEMA public CASCADE; CREATE SCHEMA public; \
         CREATE TABLE t (id bigint PRIMARY KEY, note varchar(10) NOT NULL, added int, tags text[] NOT NULL)",
    )
    .unwrap();
    let differences = drift(&declared, &migrated_tables(&mut conn));
    assert_eq!(
        differences,
        [
            "t.added (Nullable<Int4>) is not in schema.rs",
            "t.note: Nullable<Text> in schema.rs, Varchar in the database",
            "t.gone is in schema.rs, not in the database",
        ]
    );
}
