//! Schema migrations, embedded in the binary and applied at start-up.
//!
//! Several server processes may start at once; the migrations run under a PostgreSQL advisory
//! lock so exactly one applies them while the others wait and then find nothing to do.

use diesel::pg::PgConnection;
use diesel::{RunQueryDsl, sql_query};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// Every migration under `migrations/`.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// Advisory-lock key that serialises migration runs ("zhijian" in ASCII, as a number).
const MIGRATION_LOCK_KEY: i64 = 0x7a_68_69_6a_69_61_6e;

/// A migration could not be applied or reverted.
#[derive(Debug, thiserror::Error)]
#[error("migration failed: {0}")]
pub struct MigrationError(String);

/// Applies every pending migration under the advisory lock; returns the versions applied.
pub fn run_pending(conn: &mut PgConnection) -> Result<Vec<String>, MigrationError> {
    with_lock(conn, |conn| {
        conn.run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| MigrationError(e.to_string()))
    })
}

/// Reverts every applied migration, newest first (used by the round-trip test).
pub fn revert_all(conn: &mut PgConnection) -> Result<Vec<String>, MigrationError> {
    with_lock(conn, |conn| {
        conn.revert_all_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| MigrationError(e.to_string()))
    })
}

/// Reverts the `count` newest applied migrations, newest first (used by the upgrade test, which
/// takes a database with data back to an earlier released schema).
pub fn revert_newest(conn: &mut PgConnection, count: usize) -> Result<Vec<String>, MigrationError> {
    with_lock(conn, |conn| {
        (0..count)
            .map(|_| {
                conn.revert_last_migration(MIGRATIONS)
                    .map(|version| version.to_string())
                    .map_err(|e| MigrationError(e.to_string()))
            })
            .collect()
    })
}

fn with_lock<T>(
    conn: &mut PgConnection,
    work: impl FnOnce(&mut PgConnection) -> Result<T, MigrationError>,
) -> Result<T, MigrationError> {
    sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        .execute(conn)
        .map_err(|e| MigrationError(format!("could not take the migration lock: {e}")))?;
    let result = work(conn);
    let unlocked =
        sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(conn);
    match (result, unlocked) {
        (Ok(value), Ok(_)) => Ok(value),
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(MigrationError(format!(
            "could not release the migration lock: {e}"
        ))),
    }
}
