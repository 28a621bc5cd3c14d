//! The PostgreSQL connection pool and the one way to use it from async code.
//!
//! Diesel is synchronous: every use case runs inside [`run`], which takes a connection from the
//! pool *inside* a blocking task, so a slow or unreachable database never stalls the async
//! workers. Storage errors are translated here into [`StoreError`], whose variants say what the
//! caller can do about them.

pub mod migrations;
pub mod schema;
pub mod sql;
pub mod types;

use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Deserialize;

use crate::crypto::secret::Secret;

/// The pool type shared by the server.
pub type PgPool = Pool<ConnectionManager<PgConnection>>;
/// The connections of a pool, open and idle (for `/metrics`).
pub use r2d2::State as PoolState;
/// A connection checked out of [`PgPool`].
pub type PgPooled = PooledConnection<ConnectionManager<PgConnection>>;

/// `[database]` settings.
#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseConfig {
    /// `postgres://user[:password]@host:port/dbname`; may hold a password, hence secret.
    pub url: Secret,
    /// Largest number of connections the pool opens.
    #[serde(default = "default_pool_size")]
    pub pool_size: u32,
    /// How long a request waits for a connection before answering 503.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
}

fn default_pool_size() -> u32 {
    16
}

fn default_connect_timeout_ms() -> u64 {
    2_000
}

impl DatabaseConfig {
    /// Checks the values and says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        let url = self.url.expose();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err("database.url must be a postgres:// URL (set APP__DATABASE__URL)".into());
        }
        if self.pool_size == 0 || self.pool_size > 1_000 {
            return Err("database.pool_size must be between 1 and 1000".into());
        }
        if self.connect_timeout_ms == 0 {
            return Err("database.connect_timeout_ms must be positive".into());
        }
        Ok(())
    }
}

/// Builds the pool without connecting: the server starts even when PostgreSQL is down, answers
/// 503 meanwhile, and recovers by itself when it comes back.
pub fn build_pool(config: &DatabaseConfig) -> PgPool {
    let manager = ConnectionManager::<PgConnection>::new(config.url.expose());
    Pool::builder()
        .max_size(config.pool_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_millis(config.connect_timeout_ms))
        .test_on_check_out(false)
        .error_handler(Box::new(LogErrorHandler))
        .connection_customizer(Box::new(SessionSettings))
        .build_unchecked(manager)
}

/// A single connection, for the command-line tools (migrations, imports).
pub type Connection = PgConnection;

/// Opens one connection outside the pool, for a command-line tool.
pub fn connect(config: &DatabaseConfig) -> Result<Connection, diesel::ConnectionError> {
    use diesel::Connection as _;
    PgConnection::establish(config.url.expose())
}

/// Settings of every connection, made once when it is opened.
///
/// `jit = off`: the statements here are short index reads, but a prepared statement's generic
/// plan can be estimated far above `jit_above_cost` — the subtree page's (`sql/subtree.rs`) at a
/// province spent 276 ms compiling for 1.5 ms of execution at 500 k audit rows.
#[derive(Debug)]
struct SessionSettings;

impl r2d2::CustomizeConnection<PgConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SET jit = off")
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

#[derive(Debug)]
struct LogErrorHandler;

impl r2d2::HandleError<diesel::r2d2::Error> for LogErrorHandler {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        log::warn!("postgres connection failed: {error}");
    }
}

/// What went wrong talking to the store, in terms the caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is unreachable or overloaded: retry later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// No row matched.
    #[error("not found")]
    NotFound,
    /// A uniqueness or exclusion constraint refused the write; names the constraint.
    #[error("conflict on {0}")]
    Conflict(String),
    /// Anything else: a bug or a broken invariant. Logged with its cause, answered as 500.
    #[error("database error: {0}")]
    Internal(String),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(info.constraint_name().unwrap_or("unique").to_owned())
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => StoreError::Unavailable(info.message().to_owned()),
            DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                StoreError::Unavailable(format!("serialization failure: {}", info.message()))
            }
            DieselError::DatabaseError(_, ref info)
                if info.message().contains("terminating connection")
                    || info.message().contains("server closed the connection") =>
            {
                StoreError::Unavailable(info.message().to_owned())
            }
            other => StoreError::Internal(other.to_string()),
        }
    }
}

impl From<diesel::r2d2::Error> for StoreError {
    fn from(error: diesel::r2d2::Error) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

/// Runs `work` with a pooled connection on the blocking thread pool.
///
/// The connection is taken inside the blocking task, so waiting for one never blocks an async
/// worker. `work` is one use case; it opens its own transaction when it writes.
pub async fn run<T, E, F>(pool: &PgPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let pool = pool.clone();
    let request_id = crate::log_context::current();
    let joined = tokio::task::spawn_blocking(move || {
        let _context = crate::log_context::enter_blocking(request_id);
        let mut conn = pool.get().map_err(StoreError::from)?;
        work(&mut conn)
    })
    .await;
    match joined {
        Ok(result) => result,
        Err(join_error) => {
            Err(StoreError::Internal(format!("blocking task failed: {join_error}")).into())
        }
    }
}

/// Whether PostgreSQL answers a trivial query within the pool's timeout.
pub async fn ping(pool: &PgPool) -> Result<(), StoreError> {
    run(pool, |conn| {
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map_err(StoreError::from)?;
        Ok::<(), StoreError>(())
    })
    .await
}

/// A statement written in SQL with numbered parameters (`$1`, `$2`…), for what diesel's DSL
/// cannot express (data-modifying CTEs, lateral merges) — run as [`Numbered`], which diesel
/// prepares once per connection and reuses, unlike `diesel::sql_query`, which PostgreSQL
/// parses and plans at every call.
pub trait NumberedStatement {
    /// The key of diesel's statement cache when the text never changes (a marker type);
    /// ignored otherwise, when the cache is keyed by the text.
    type Id: 'static;
    /// Whether every value of this type has the same text.
    const FIXED_TEXT: bool;
    /// The SQL.
    fn sql(&self) -> &str;
    /// Pushes the value of parameter `$n` (once per occurrence in the text).
    fn bind<'b>(
        &'b self,
        n: usize,
        out: &mut diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()>;
}

/// A [`NumberedStatement`] as a diesel query: `Numbered(statement).load(conn)`.
pub struct Numbered<S>(pub S);

impl<S: NumberedStatement> diesel::query_builder::QueryId for Numbered<S> {
    type QueryId = S::Id;
    const HAS_STATIC_QUERY_ID: bool = S::FIXED_TEXT;
}

impl<S> diesel::query_builder::Query for Numbered<S> {
    type SqlType = diesel::sql_types::Untyped;
}

impl<S> diesel::RunQueryDsl<PgConnection> for Numbered<S> {}

impl<S: NumberedStatement> diesel::query_builder::QueryFragment<diesel::pg::Pg> for Numbered<S> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        push_numbered(self.0.sql(), &mut out, |n, out| self.0.bind(n, out))
    }
}

/// Writes `sql` into `out` with each numbered parameter `$n` replaced by the bind that
/// `bind(n, out)` pushes — one bind per occurrence, so a parameter used twice is bound twice.
fn push_numbered<'b>(
    sql: &'b str,
    out: &mut diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    mut bind: impl FnMut(
        usize,
        &mut diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()>,
) -> diesel::QueryResult<()> {
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_sql(&rest[..at]);
        let digits = rest[at + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let number = rest[at + 1..at + 1 + digits].parse().map_err(|_| {
            diesel::result::Error::QueryBuilderError(
                format!("a `$` without a parameter number in {sql:?}").into(),
            )
        })?;
        bind(number, out)?;
        rest = &rest[at + 1 + digits..];
    }
    out.push_sql(rest);
    Ok(())
}
