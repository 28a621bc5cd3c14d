//! Building and running the server: state, middleware, routes, and actix's own error shapes.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpServer, web};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ports::{Clock, SmsSender, WeChat};
use zhijian_infra::crypto::pii::PiiCipher;
use zhijian_infra::db::{self, PgPool};
use zhijian_infra::providers::sms::build_sms_sender;
use zhijian_infra::providers::wechat::WeChatClient;
use zhijian_infra::redis::RedisStore;
use zhijian_infra::usecases::SystemClock;

use crate::error::{self, ApiError};
use crate::metrics::Metrics;
use crate::routes;
use crate::settings::Settings;
use crate::telemetry;

/// What every handler can reach.
pub struct AppState {
    /// What the use cases reach: the pool, the cipher for personal data, the reference data
    /// and the clock.
    pub services: zhijian_infra::usecases::Services,
    /// The WeChat mini-program server API.
    pub wechat: Arc<dyn WeChat>,
    /// The SMS provider.
    pub sms: Arc<dyn SmsSender>,
    /// Redis.
    pub redis: RedisStore,
    /// Request and pool metrics.
    pub metrics: Metrics,
    /// The loaded configuration.
    pub settings: Arc<Settings>,
    /// `/docs`, rendered once at start-up.
    pub docs_html: String,
}

/// How long the working-day calendar is served from memory at most. A year replaced through
/// the API takes a new revision, which every server checks before each deadline it computes
/// and reloads on at once (`zhijian_infra::store::reference_cache`); this bound only serves a
/// correction written into `calendar_days` by hand, which takes effect within this time.
const CALENDAR_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// The server could not start; the message says why.
#[derive(Debug, thiserror::Error)]
#[error("cannot start: {0}")]
pub struct StartupError(pub String);

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    notification_jobs: crate::jobs::outbox::NotificationJobs,
}

/// Stops a running [`Application`] from outside (tests simulate a crash or a restart).
#[derive(Clone)]
pub struct AppHandle {
    server: actix_web::dev::ServerHandle,
    jobs: crate::jobs::outbox::JobsHandle,
}

impl AppHandle {
    /// Ends the background jobs at once (an in-flight delivery is abandoned, as in a crash;
    /// its lease lets another server take it over), then the HTTP server (`graceful`: open
    /// requests may finish).
    pub async fn stop(&self, graceful: bool) {
        self.jobs.stop();
        self.server.stop(graceful).await;
    }
}

impl Application {
    /// Connects, migrates (waiting up to `wait` for PostgreSQL), binds, and builds the server.
    pub async fn build(settings: Settings, wait: Duration) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, wait, Arc::new(SystemClock)).await
    }

    /// [`Application::build`] with a clock of the caller's choosing (tests move time).
    pub async fn build_with_clock(
        settings: Settings,
        wait: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let pii = settings.pii_cipher().map_err(StartupError)?;
        let sms = build_sms_sender(&settings.sms).map_err(|e| StartupError(e.to_string()))?;
        let pool = db::build_pool(&settings.database);
        migrate_when_ready(&pool, wait).await?;
        refuse_missing_keys(&pool, &pii).await?;
        warn_if_calendar_missing(&pool, clock.now()).await;
        let redis =
            RedisStore::connect_lazy(&settings.redis).map_err(|e| StartupError(e.to_string()))?;
        let wechat = WeChatClient::new(settings.wechat.clone(), Arc::new(redis.clone()))
            .map_err(|e| StartupError(e.to_string()))?;
        let metrics = Metrics::new().map_err(|e| StartupError(format!("metrics: {e}")))?;
        let spec: serde_json::Value = serde_yaml::from_str(routes::docs::OPENAPI_YAML)
            .map_err(|e| StartupError(format!("openapi.yaml does not parse: {e}")))?;
        let docs_html = routes::docs::render_html(&spec);

        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .map_err(|e| {
                StartupError(format!(
                    "bind {}:{}: {e}",
                    settings.server.host, settings.server.port
                ))
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError(e.to_string()))?
            .port();
        let json_limit = settings.server.json_limit_bytes;
        let workers = settings.server.worker_count();
        // Each worker has its own runtime and blocking pool: share the budget among them.
        let blocking_per_worker = settings.blocking_threads().div_ceil(workers).max(1);
        let state = web::Data::new(AppState {
            services: zhijian_infra::usecases::Services {
                pool,
                pii: Arc::new(pii),
                reference: Arc::new(zhijian_infra::store::reference_cache::ReferenceCache::new(
                    CALENDAR_TTL,
                )),
                clock,
            },
            wechat: Arc::new(wechat),
            sms,
            redis,
            metrics,
            settings: Arc::new(settings),
            docs_html,
        });
        crate::jobs::transfers::spawn_transfer_auto_release(state.clone());
        crate::jobs::calendar::spawn_calendar_status(state.clone());
        crate::jobs::union_moves::spawn_union_move_resume(state.clone());
        crate::jobs::retention::spawn_retention(state.clone());
        crate::jobs::key_rotation::spawn_key_rotation(state.clone());
        crate::jobs::quarterly::spawn_quarterly_snapshots(state.clone());
        crate::jobs::imports::recover_imports(&state.services).await;
        let notification_jobs = crate::jobs::outbox::start(state.clone());

        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(json_limit)
                        .error_handler(json_error),
                )
                // Handlers that read raw bytes (idempotent writes) get the same limit.
                .app_data(web::PayloadConfig::new(json_limit))
                .app_data(web::PathConfig::default().error_handler(path_error))
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .wrap(actix_web::middleware::from_fn(crate::public_limits::limit))
                .wrap(telemetry::envelope_errors())
                .wrap_fn(crate::no_store::no_store)
                .wrap_fn(telemetry::observe)
                .configure(routes::configure)
                .configure(crate::console::configure)
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(ApiError::not_found())
                }))
        })
        .shutdown_timeout(10)
        .workers(workers)
        .worker_max_blocking_threads(blocking_per_worker);
        let server = server
            .listen(listener)
            .map_err(|e| StartupError(e.to_string()))?
            .run();
        Ok(Self {
            port,
            server,
            notification_jobs,
        })
    }

    /// The port actually bound (useful when configured as 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.notification_jobs.handle().stop();
        served
    }

    /// A handle that stops the server and its background jobs.
    pub fn handle(&self) -> AppHandle {
        AppHandle {
            server: self.server.handle(),
            jobs: self.notification_jobs.handle(),
        }
    }
}

/// Deadlines of a year without holiday entries follow the ordinary week, which is wrong around
/// the Spring Festival: say so while there is time to load the State Council's notice. (Admins
/// see the same in `GET /v1/admin/calendar/status`, monitoring in the
/// `zhijian_calendar_missing_years` gauge.)
async fn warn_if_calendar_missing(pool: &PgPool, now: chrono::DateTime<chrono::Utc>) {
    let today = zhijian_domain::calendar::local_date(now);
    match zhijian_infra::usecases::calendar::missing_years(pool, today).await {
        Ok(years) => {
            for year in years {
                log::warn!(
                    "the working-day calendar has no holidays for {year}: deadlines that year follow the \
                     ordinary week until the State Council's arrangements are loaded \
                     (PUT /v1/admin/calendar/{year}, by a manager of a root union)"
                );
            }
        }
        Err(e) => log::warn!("cannot read the working-day calendar: {e}"),
    }
}

/// Applies migrations, retrying while PostgreSQL is not reachable yet.
/// Refuses to start when a registered key (one that may hold rows, `pii_keys`) is not in this
/// configuration: those rows would fail to open (or to be found) at every request touching
/// them. Otherwise registers this server's active keys.
async fn refuse_missing_keys(pool: &PgPool, pii: &PiiCipher) -> Result<(), StartupError> {
    let pii = pii.clone();
    let missing = db::run_unbounded(pool, move |conn| {
        let missing = zhijian_infra::usecases::key_rotation::missing_keys(conn, &pii)?;
        if missing.is_empty() {
            // The keys this server writes with may hold rows from now on.
            zhijian_infra::usecases::key_rotation::register_active(conn, &pii)?;
        }
        Ok::<_, zhijian_infra::db::StoreError>(missing)
    })
    .await
    .map_err(|e| StartupError(format!("cannot check the keys in use: {e}")))?;
    match zhijian_infra::usecases::key_rotation::missing_keys_message(&missing) {
        Some(message) => Err(StartupError(message)),
        None => Ok(()),
    }
}

async fn migrate_when_ready(pool: &PgPool, wait: Duration) -> Result<(), StartupError> {
    let applied = zhijian_infra::db::migrations::migrate_when_ready(pool, wait)
        .await
        .map_err(|e| StartupError(e.to_string()))?;
    if !applied.is_empty() {
        log::info!(migrations:% = applied.join(", "); "applied migrations");
    }
    Ok(())
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api_error = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            error::for_status(StatusCode::PAYLOAD_TOO_LARGE)
        }
        JsonPayloadError::ContentType => error::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        JsonPayloadError::Deserialize(e) => error::deserialize_error(e),
        _ => ApiError::new(ErrorCode::MalformedJson, "请求内容不是有效的 JSON"),
    };
    api_error.into()
}

fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::new(ErrorCode::InvalidPathParameter, "请求地址中的参数不正确").into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let text = err.to_string();
    let field = text
        .split_once("field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(f, _)| f.to_owned());
    let error = ApiError::new(ErrorCode::InvalidQueryParameter, "查询参数不正确");
    match field {
        Some(field) => error.with_field(field),
        None => error,
    }
    .into()
}
