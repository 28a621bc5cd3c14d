//! Prometheus metrics: request counts and latency by route and status, pool usage, and the
//! number of years the working-day calendar misses.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// The server's metrics, registered in a registry of its own (no global state).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    calendar_missing_years: IntGauge,
    retention_removed: IntCounterVec,
    key_rotation_remaining: IntGaugeVec,
    key_rotation_moved: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("zhijian".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by method, route and status.",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route", "status"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "PostgreSQL pool connections by state.",
            ),
            &["state"],
        )?;
        let calendar_missing_years = IntGauge::new(
            "calendar_missing_years",
            "Years due (this year; next year from November) whose holidays are not loaded: \
             their deadlines follow the ordinary week. Set at start-up, after each replacement \
             of a year on this server, and every jobs.calendar_status_interval_ms.",
        )?;
        let retention_removed = IntCounterVec::new(
            Opts::new(
                "retention_removed_total",
                "Rows deleted by the retention sweep because their period ended, by kind \
                 (idempotency_answers, delivered_notifications, dead_letters; \
                 erased_applications: applications whose personal data was erased, the rows \
                 kept).",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(retention_removed.clone()))?;
        let key_rotation_remaining = IntGaugeVec::new(
            Opts::new(
                "key_rotation_remaining",
                "Rows still under an older key, by kind (encryption: sealed values; \
                 blind_index: blind indexes), counted after each round of the key-rotation job.",
            ),
            &["kind"],
        )?;
        let key_rotation_moved = IntCounterVec::new(
            Opts::new(
                "key_rotation_moved_total",
                "Rows the key-rotation job moved to the current key, by kind.",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(key_rotation_remaining.clone()))?;
        registry.register(Box::new(key_rotation_moved.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        registry.register(Box::new(calendar_missing_years.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool,
            calendar_missing_years,
            retention_removed,
            key_rotation_remaining,
            key_rotation_moved,
        })
    }

    /// Records one answered request. `route` is the matched pattern, never the raw path, so
    /// ids do not explode the label space.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// Sets the number of years the working-day calendar misses.
    pub fn set_calendar_missing_years(&self, years: usize) {
        self.calendar_missing_years
            .set(i64::try_from(years).unwrap_or(i64::MAX));
    }

    /// Sets the rows still under an older key of `kind`.
    pub fn set_key_rotation_remaining(&self, kind: &str, rows: i64) {
        self.key_rotation_remaining
            .with_label_values(&[kind])
            .set(rows);
    }

    /// Counts rows the key-rotation job moved to the current key.
    pub fn count_key_rotation(&self, kind: &str, rows: usize) {
        self.key_rotation_moved
            .with_label_values(&[kind])
            .inc_by(u64::try_from(rows).unwrap_or(u64::MAX));
    }

    /// Counts rows the retention sweep deleted.
    pub fn count_retention(&self, kind: &str, rows: usize) {
        self.retention_removed
            .with_label_values(&[kind])
            .inc_by(u64::try_from(rows).unwrap_or(u64::MAX));
    }

    /// Renders the Prometheus text format, with the pool state sampled now.
    pub fn render(
        &self,
        pool_state: zhijian_infra::db::PoolState,
        pool_max: u32,
    ) -> Result<String, prometheus::Error> {
        let idle = i64::from(pool_state.idle_connections);
        let open = i64::from(pool_state.connections);
        self.pool.with_label_values(&["idle"]).set(idle);
        self.pool.with_label_values(&["in_use"]).set(open - idle);
        self.pool
            .with_label_values(&["max"])
            .set(i64::from(pool_max));
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}
