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

/// Why the server could not bring the schema up to date at start-up.
#[derive(Debug, thiserror::Error)]
pub enum StartupMigrationError {
    /// PostgreSQL did not answer within the wait.
    #[error("postgres is unreachable: {0}")]
    Unreachable(crate::db::StoreError),
    /// A migration failed.
    #[error(transparent)]
    Failed(MigrationError),
}

/// Applies the pending migrations through the pool, retrying while PostgreSQL is not reachable
/// yet, for at most `wait`; returns the versions applied. Unbounded by the pool's deadline and
/// without its `statement_timeout`: a migration may rightly take long, and must not be
/// abandoned half-way and started again by the next attempt.
pub async fn migrate_when_ready(
    pool: &crate::db::PgPool,
    wait: std::time::Duration,
) -> Result<Vec<String>, StartupMigrationError> {
    use crate::db::{self, StoreError};
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let outcome = db::run_unbounded(pool, |conn| {
            db::without_statement_timeout(conn, |conn| Ok::<_, StoreError>(run_pending(conn)))
        })
        .await;
        match outcome {
            Ok(applied) => return applied.map_err(StartupMigrationError::Failed),
            Err(e) if tokio::time::Instant::now() < deadline => {
                log::warn!(error:% = e; "waiting for postgres");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(e) => return Err(StartupMigrationError::Unreachable(e)),
        }
    }
}

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
