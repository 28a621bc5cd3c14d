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

/// The pool shared by the server: an r2d2 pool (everything of [`Pool`] is reachable through
/// `Deref`) that also knows how long one unit of work may take before the caller gives up.
#[derive(Clone)]
pub struct PgPool {
    pool: Pool<ConnectionManager<PgConnection>>,
    /// The longest a [`run`] waits for its work, checkout included.
    work_budget: Duration,
    /// The longest [`ping`] waits.
    ping_budget: Duration,
}

impl std::ops::Deref for PgPool {
    type Target = Pool<ConnectionManager<PgConnection>>;

    fn deref(&self) -> &Self::Target {
        &self.pool
    }
}

impl std::fmt::Debug for PgPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPool")
            .field("max_size", &self.pool.max_size())
            .field("work_budget", &self.work_budget)
            .field("ping_budget", &self.ping_budget)
            .finish_non_exhaustive()
    }
}

impl PgPool {
    /// The longest a [`run`] waits for its work (checkout, statements, network) before it
    /// answers [`StoreError::Unavailable`].
    pub fn work_budget(&self) -> Duration {
        self.work_budget
    }
}
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
    /// How long a request waits for a connection before answering 503 (the pool checkout
    /// timeout; also libpq's `connect_timeout`, rounded up to whole seconds, at least 2).
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// PostgreSQL's `statement_timeout` on every pooled connection.
    #[serde(default = "default_statement_timeout_ms")]
    pub statement_timeout_ms: u64,
    /// How long the network may swallow what we send, or stay silent, before the connection is
    /// declared dead: libpq's `tcp_user_timeout`, TCP keepalives that give up after about this
    /// long, and `idle_in_transaction_session_timeout` on the server (so a client that vanished
    /// mid-transaction never holds its locks longer).
    ///
    /// Whatever else hangs, the caller of [`run`] stops waiting after `connect_timeout_ms` +
    /// `statement_timeout_ms` + `network_timeout_ms` and answers 503: the longest the checkout,
    /// the server's and the kernel's own timeouts could take together.
    #[serde(default = "default_network_timeout_ms")]
    pub network_timeout_ms: u64,
    /// How long `/readyz` waits for PostgreSQL before answering 503.
    #[serde(default = "default_ping_timeout_ms")]
    pub ping_timeout_ms: u64,
}

fn default_pool_size() -> u32 {
    16
}

fn default_connect_timeout_ms() -> u64 {
    2_000
}

fn default_statement_timeout_ms() -> u64 {
    5_000
}

fn default_network_timeout_ms() -> u64 {
    10_000
}

fn default_ping_timeout_ms() -> u64 {
    1_000
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
        if !(100..=600_000).contains(&self.statement_timeout_ms) {
            return Err("database.statement_timeout_ms must be between 100 and 600000".into());
        }
        if !(1_000..=600_000).contains(&self.network_timeout_ms) {
            return Err("database.network_timeout_ms must be between 1000 and 600000".into());
        }
        if !(100..=60_000).contains(&self.ping_timeout_ms) {
            return Err("database.ping_timeout_ms must be between 100 and 60000".into());
        }
        Ok(())
    }
}

/// Builds the pool without connecting: the server starts even when PostgreSQL is down, answers
/// 503 meanwhile, and recovers by itself when it comes back.
///
/// Every wait is bounded: the checkout by `connect_timeout_ms`, opening a connection by libpq's
/// `connect_timeout`, a statement by the server's `statement_timeout`, a silent or partitioned
/// network by TCP keepalives and `tcp_user_timeout` (see [`pool_url`]), and the caller of
/// [`run`] stops waiting after the sum of the three whatever happens (a host that stalls yet
/// acknowledges every packet, CPU-bound work inside a use case).
pub fn build_pool(config: &DatabaseConfig) -> PgPool {
    let manager = ConnectionManager::<PgConnection>::new(pool_url(config));
    let checkout = Duration::from_millis(config.connect_timeout_ms);
    let pool = Pool::builder()
        .max_size(config.pool_size)
        .min_idle(Some(0))
        .connection_timeout(checkout)
        .test_on_check_out(false)
        .error_handler(Box::new(LogErrorHandler))
        .connection_customizer(Box::new(SessionSettings))
        .build_unchecked(manager);
    PgPool {
        pool,
        work_budget: checkout
            + Duration::from_millis(config.statement_timeout_ms)
            + Duration::from_millis(config.network_timeout_ms),
        ping_budget: Duration::from_millis(config.ping_timeout_ms),
    }
}

/// The database URL with the libpq parameters that bound every wait on a pooled connection,
/// unless the URL already sets them: `connect_timeout`, TCP keepalives and `tcp_user_timeout`
/// within `network_timeout_ms`, and `options` setting `statement_timeout` and
/// `idle_in_transaction_session_timeout` on the server.
pub fn pool_url(config: &DatabaseConfig) -> String {
    let url = config.url.expose();
    let network = config.network_timeout_ms;
    // Probes start after a third of the budget and give up after three unanswered ones, at
    // most a sixth of it apart: a dead peer is noticed within the budget.
    let idle = (network / 3_000).max(1);
    let interval = (network / 6_000).max(1);
    let options = format!(
        "-c statement_timeout={} -c idle_in_transaction_session_timeout={}",
        config.statement_timeout_ms, network
    );
    let parameters = [
        (
            "connect_timeout",
            config.connect_timeout_ms.div_ceil(1_000).max(2).to_string(),
        ),
        ("keepalives", "1".to_owned()),
        ("keepalives_idle", idle.to_string()),
        ("keepalives_interval", interval.to_string()),
        ("keepalives_count", "3".to_owned()),
        ("tcp_user_timeout", network.to_string()),
        ("options", options.replace(' ', "%20").replace('=', "%3D")),
    ];
    let query = url.split_once('?').map(|(_, query)| query).unwrap_or("");
    let present = |name: &str| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(name))
    };
    let mut out = url.to_owned();
    for (name, value) in parameters {
        if present(name) {
            continue;
        }
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(name);
        out.push('=');
        out.push_str(&value);
    }
    out
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

/// What went wrong talking to the store, in terms the caller can act on. The cause is kept with
/// its source (the Diesel or pool error) for the log; nothing here is matched by message text
/// except where [`lost_connection`] says why it must be.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database is unreachable, overloaded or too slow: retry later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// No row matched.
    #[error("not found")]
    NotFound,
    /// A uniqueness or exclusion constraint refused the write; names the constraint (matched by
    /// its name by the callers that expect it).
    #[error("conflict on {0}")]
    Conflict(String),
    /// Anything else: a bug or a broken invariant. Logged with its cause, answered as 500.
    #[error("database error: {0}")]
    Internal(#[source] Cause),
}

/// The cause of an [`StoreError::Unavailable`] or [`StoreError::Internal`], with its source.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    /// What Diesel (libpq) reported.
    #[error(transparent)]
    Database(#[from] DieselError),
    /// No connection could be checked out or opened.
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
    /// The blocking task running the work failed.
    #[error("blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A condition this crate detected itself (a broken invariant, a deadline passed).
    #[error("{0}")]
    Detected(String),
}

impl From<String> for Cause {
    fn from(what: String) -> Self {
        Cause::Detected(what)
    }
}

impl From<&str> for Cause {
    fn from(what: &str) -> Self {
        Cause::Detected(what.to_owned())
    }
}

impl StoreError {
    /// A broken invariant this crate detected (a row that cannot be, a value that does not
    /// decrypt): answered as 500, `what` goes to the log.
    pub fn broken(what: impl Into<String>) -> Self {
        StoreError::Internal(Cause::Detected(what.into()))
    }

    /// The database did not answer in time or at all, as this crate measured it.
    pub fn unavailable(what: impl Into<String>) -> Self {
        StoreError::Unavailable(Cause::Detected(what.into()))
    }
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(info.constraint_name().unwrap_or("unique").to_owned())
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection
                | DatabaseErrorKind::UnableToSendCommand
                | DatabaseErrorKind::SerializationFailure,
                _,
            ) => StoreError::Unavailable(error.into()),
            DieselError::DatabaseError(_, info) if lost_connection(info.message()) => {
                StoreError::Unavailable(error.into())
            }
            _ => StoreError::Internal(error.into()),
        }
    }
}

/// Whether a database error means the server is gone or too slow rather than a bug: the server
/// shut down (SQLSTATE 57P01–57P03), the statement hit `statement_timeout` (57014) or the
/// session `idle_in_transaction_session_timeout` (25P03), or libpq lost the network
/// (`tcp_user_timeout`, keepalives). Diesel reports these as `DatabaseErrorKind::Unknown` and
/// does not expose the SQLSTATE, so they are recognised by PostgreSQL's and libpq's messages —
/// the one place where a message is matched.
fn lost_connection(message: &str) -> bool {
    [
        "terminating connection",
        "server closed the connection",
        "canceling statement due to statement timeout",
        "idle-in-transaction timeout",
        "could not receive data from server",
        "could not send data to server",
        "no connection to the server",
        "Connection timed out",
        "connection to server was lost",
    ]
    .iter()
    .any(|known| message.contains(known))
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        StoreError::Unavailable(error.into())
    }
}

/// Runs `work` with a pooled connection on the blocking thread pool.
///
/// The connection is taken inside the blocking task, so waiting for one never blocks an async
/// worker. `work` is one use case; it opens its own transaction when it writes.
///
/// The caller waits at most the pool's [`PgPool::work_budget`] (checkout, statement and
/// network timeouts together), then gets [`StoreError::Unavailable`] (503). Work that has not started by then
/// never starts; work that has started is left to finish or fail on its own — it is one
/// transaction, so it commits whole or not at all, and `statement_timeout`, the TCP timeouts
/// and `idle_in_transaction_session_timeout` end it if the database hangs.
pub async fn run<T, E, F>(pool: &PgPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    run_within(pool, Some(pool.work_budget), work).await
}

/// [`run`] without the caller's deadline, for work that may rightly take long and must not be
/// abandoned half-way by its caller: the migrations at start-up.
pub async fn run_unbounded<T, E, F>(pool: &PgPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    run_within(pool, None, work).await
}

async fn run_within<T, E, F>(pool: &PgPool, budget: Option<Duration>, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    let pool = pool.clone();
    let request_id = crate::log_context::current();
    let deadline = budget.map(|budget| std::time::Instant::now() + budget);
    let task = tokio::task::spawn_blocking(move || {
        let _context = crate::log_context::enter_blocking(request_id);
        let checkout = pool.connection_timeout();
        let wait = match deadline {
            None => checkout,
            Some(deadline) => {
                // Queued behind busy blocking threads until the caller gave up: do nothing.
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Err(StoreError::unavailable(
                        "the caller stopped waiting before the work started",
                    )
                    .into());
                }
                left.min(checkout)
            }
        };
        let mut conn = pool.get_timeout(wait).map_err(StoreError::from)?;
        work(&mut conn)
    });
    let joined = match budget {
        None => task.await,
        Some(budget) => match tokio::time::timeout(budget, task).await {
            Ok(joined) => joined,
            Err(_) => {
                return Err(StoreError::unavailable(format!(
                    "no answer from the database within {} ms",
                    budget.as_millis()
                ))
                .into());
            }
        },
    };
    match joined {
        Ok(result) => result,
        Err(join_error) => Err(StoreError::Internal(join_error.into()).into()),
    }
}

/// Runs `work` on `conn` without the pool's `statement_timeout` (restored afterwards): for the
/// migrations at start-up, which may rightly take long.
pub fn without_statement_timeout<T, E, F>(conn: &mut PgConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E>,
    E: From<StoreError>,
{
    use diesel::connection::SimpleConnection;
    conn.batch_execute("SET statement_timeout = 0")
        .map_err(StoreError::from)?;
    let outcome = work(conn);
    // RESET returns to the value the connection was opened with (`options` of the pool URL).
    conn.batch_execute("RESET statement_timeout")
        .map_err(StoreError::from)?;
    outcome
}

/// Whether PostgreSQL answers a trivial query within `database.ping_timeout_ms`.
pub async fn ping(pool: &PgPool) -> Result<(), StoreError> {
    run_within(pool, Some(pool.ping_budget), |conn| {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> DatabaseConfig {
        DatabaseConfig {
            url: Secret::new(url),
            pool_size: 4,
            connect_timeout_ms: 500,
            statement_timeout_ms: 5_000,
            network_timeout_ms: 10_000,
            ping_timeout_ms: 1_000,
        }
    }

    #[test]
    fn the_pool_url_bounds_every_wait() {
        assert_eq!(
            pool_url(&config("postgres://postgres@127.0.0.1:54329/zhijian")),
            "postgres://postgres@127.0.0.1:54329/zhijian?connect_timeout=2&keepalives=1\
             &keepalives_idle=3&keepalives_interval=1&keepalives_count=3&tcp_user_timeout=10000\
             &options=-c%20statement_timeout%3D5000%20-c%20idle_in_transaction_session_timeout%3D10000"
        );
    }

    #[test]
    fn parameters_already_in_the_url_are_kept() {
        let url = pool_url(&config(
            "postgres://u@db:5432/z?sslmode=require&connect_timeout=9&options=-c%20x%3Dy",
        ));
        assert!(url.starts_with("postgres://u@db:5432/z?sslmode=require&connect_timeout=9&options=-c%20x%3Dy&keepalives=1"), "{url}");
        assert_eq!(url.matches("connect_timeout=").count(), 1, "{url}");
        assert_eq!(url.matches("options=").count(), 1, "{url}");
    }
}
