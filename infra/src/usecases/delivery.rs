//! Delivery of outbox events: claiming due rows so that several server processes never work on
//! the same row at once, recording every provider call, and settling each row — delivered,
//! retried later with exponential backoff, failed for good, or dead after too many attempts.
//!
//! A claim is a lease, not a lock held across the provider call: `claim` marks rows in one
//! short transaction (`FOR UPDATE SKIP LOCKED`, so concurrent claimers skip each other's rows)
//! and commits; delivery happens outside any transaction; `settle` writes the outcome only if
//! the row is still the one claimed (same attempt number). A server that dies mid-delivery
//! leaves its lease to expire, and another one takes the row over: at-least-once delivery, and
//! the repeated provider request carries the same `out_id`.
//!
//! Scheduling uses the database's clock (`now()`), not the business clock, so a test that
//! moves the business clock does not stall deliveries; a row never attempted is due at once
//! whatever its `next_attempt_at`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Jsonb, Nullable, Text, Timestamptz};
use serde::Deserialize;
use serde_json::Value;
use zhijian_domain::outbox_event::OutboxEvent;

use crate::db::schema::deliveries;
use crate::db::{self, StoreError};
use crate::usecases::Services;

/// `[outbox]` settings: the dispatcher and the deadline scan running inside the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OutboxConfig {
    /// Run the dispatcher and the deadline scan in this process.
    pub enabled: bool,
    /// Look for due rows at least this often, even without a `NOTIFY outbox`.
    pub poll_interval_ms: u64,
    /// Rows claimed at once (and delivered concurrently).
    pub batch_size: u32,
    /// Attempts before a row is parked as `dead`.
    pub max_attempts: u32,
    /// First retry delay; each further attempt doubles it.
    pub backoff_base_ms: u64,
    /// Longest retry delay.
    pub backoff_cap_ms: u64,
    /// How long a claim lasts: after it, a row whose server died mid-delivery is taken over.
    /// Must exceed the longest delivery (provider timeouts, several recipients).
    pub lease_ms: u64,
    /// How often the deadline scan runs (due in one hour, overdue).
    pub escalation_interval_ms: u64,
    /// How long before the deadline the union's admins are reminded.
    pub due_soon_minutes: i64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_interval_ms: 2_000,
            batch_size: 20,
            max_attempts: 8,
            backoff_base_ms: 5_000,
            backoff_cap_ms: 900_000,
            lease_ms: 60_000,
            escalation_interval_ms: 60_000,
            due_soon_minutes: 60,
        }
    }
}

impl OutboxConfig {
    /// Checks the values and says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if !(20..=600_000).contains(&self.poll_interval_ms) {
            return Err("outbox.poll_interval_ms must be between 20 and 600000".into());
        }
        if !(1..=500).contains(&self.batch_size) {
            return Err("outbox.batch_size must be between 1 and 500".into());
        }
        if !(1..=100).contains(&self.max_attempts) {
            return Err("outbox.max_attempts must be between 1 and 100".into());
        }
        if self.backoff_base_ms == 0 || self.backoff_cap_ms < self.backoff_base_ms {
            return Err(
                "outbox.backoff_base_ms must be positive and outbox.backoff_cap_ms at least as large"
                    .into(),
            );
        }
        if self.lease_ms < 500 {
            return Err(
                "outbox.lease_ms must be at least 500 (longer than a delivery takes)".into(),
            );
        }
        if self.escalation_interval_ms < 20 {
            return Err("outbox.escalation_interval_ms must be at least 20".into());
        }
        if !(1..=24 * 60).contains(&self.due_soon_minutes) {
            return Err("outbox.due_soon_minutes must be between 1 and 1440".into());
        }
        Ok(())
    }

    /// The delay before the attempt after `attempt` failed; `jitter` in `[0, 1)`.
    pub fn retry_delay(&self, attempt: u32, jitter: f64) -> Duration {
        zhijian_domain::notification::retry_delay(
            attempt,
            Duration::from_millis(self.backoff_base_ms),
            Duration::from_millis(self.backoff_cap_ms),
            jitter,
        )
    }
}

/// An outbox row claimed for delivery.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedEvent {
    /// Row id: part of every `out_id` sent for it.
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// `application.approved`, `application.overdue`, `transfer.released`, …
    #[diesel(sql_type = Text)]
    pub event_type: String,
    /// The id of the object the event is about.
    #[diesel(sql_type = Text)]
    pub aggregate_id: String,
    /// What the business transaction recorded.
    #[diesel(sql_type = Jsonb)]
    pub payload: Value,
    /// When it happened (business clock).
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// This attempt's number, from 1.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

impl ClaimedEvent {
    /// The stored name as an [`OutboxEvent`]; `None` for a name this version does not know
    /// (written by a newer server, or by hand), which nothing here acts on.
    pub fn event(&self) -> Option<OutboxEvent> {
        OutboxEvent::parse(&self.event_type)
    }
}

/// Claims up to `limit` due events for `lease` ([`claim`], in its own transaction).
pub async fn claim_due(
    ctx: &Services,
    limit: u32,
    lease: Duration,
) -> Result<Vec<ClaimedEvent>, StoreError> {
    db::run(&ctx.pool, move |conn| claim(conn, limit, lease)).await
}

/// Records how attempt `attempt` at event `id` ended ([`settle`]); `false` when the row moved
/// on meanwhile (another dispatcher took it over after the lease).
pub async fn settle_attempt(
    ctx: &Services,
    id: i64,
    attempt: i32,
    settlement: Settlement,
) -> Result<bool, StoreError> {
    db::run(&ctx.pool, move |conn| {
        settle(conn, id, attempt, &settlement)
    })
    .await
}

/// Claims up to `limit` due rows for `lease`, oldest first: one short transaction, rows locked
/// by another claimer skipped.
pub fn claim(
    conn: &mut PgConnection,
    limit: u32,
    lease: Duration,
) -> Result<Vec<ClaimedEvent>, StoreError> {
    let mut rows: Vec<ClaimedEvent> = diesel::sql_query(
        "WITH due AS ( \
             SELECT id FROM outbox \
             WHERE status = 'pending' \
               AND (attempts = 0 OR next_attempt_at <= now()) \
               AND (claimed_until IS NULL OR claimed_until <= now()) \
             ORDER BY id \
             LIMIT $1 \
             FOR UPDATE SKIP LOCKED \
         ) \
         UPDATE outbox o \
         SET attempts = o.attempts + 1, \
             claimed_until = now() + make_interval(secs => $2), \
             next_attempt_at = now() \
         FROM due WHERE o.id = due.id \
         RETURNING o.id, o.event_type, o.aggregate_id, o.payload, o.created_at, o.attempts",
    )
    .bind::<BigInt, _>(i64::from(limit))
    .bind::<Double, _>(lease.as_secs_f64())
    .get_results(conn)?;
    rows.sort_by_key(|row| row.id);
    Ok(rows)
}

/// How a claimed row ends this attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    /// Every recipient was reached (or there was no one to notify).
    Delivered,
    /// Try again after the delay.
    Retry {
        /// What failed.
        error: String,
        /// How long to wait.
        after: Duration,
    },
    /// A permanent failure: recorded, not retried.
    Failed(String),
    /// Still failing after the last allowed attempt: parked for an operator.
    Dead(String),
}

impl Settlement {
    fn status(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry { .. } => "pending",
            Self::Failed(_) => "failed",
            Self::Dead(_) => "dead",
        }
    }
}

/// Writes the outcome of attempt `attempt` of row `id`, unless the row has moved on (its lease
/// expired and another server claimed it again): then nothing changes and `false` is returned.
pub fn settle(
    conn: &mut PgConnection,
    id: i64,
    attempt: i32,
    settlement: &Settlement,
) -> Result<bool, StoreError> {
    let (error, after) = match settlement {
        Settlement::Delivered => (None, 0.0),
        Settlement::Retry { error, after } => (Some(error.as_str()), after.as_secs_f64()),
        Settlement::Failed(error) | Settlement::Dead(error) => (Some(error.as_str()), 0.0),
    };
    let updated = diesel::sql_query(
        "UPDATE outbox SET \
             status = $3, \
             last_error = $4, \
             claimed_until = NULL, \
             delivered_at = CASE WHEN $3 = 'delivered' THEN now() ELSE delivered_at END, \
             next_attempt_at = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $5) \
                                    ELSE next_attempt_at END \
         WHERE id = $1 AND attempts = $2 AND status = 'pending'",
    )
    .bind::<BigInt, _>(id)
    .bind::<Integer, _>(attempt)
    .bind::<Text, _>(settlement.status())
    .bind::<Nullable<Text>, _>(error)
    .bind::<Double, _>(after)
    .execute(conn)?;
    Ok(updated == 1)
}

/// One provider call made for an outbox row, as recorded in `deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = deliveries)]
pub struct DeliveryRecord {
    /// The outbox row.
    pub outbox_id: i64,
    /// The row's attempt number.
    pub attempt: i32,
    /// `wechat` or `sms`.
    pub channel: &'static str,
    /// `worker` or `admin`.
    pub recipient_kind: &'static str,
    /// The account or admin id (never a phone number or openid).
    pub recipient_id: String,
    /// `wechat`, `tencent`, `aliyun` or `log`.
    pub provider: &'static str,
    /// Our id sent with the message: the same on every attempt at this recipient.
    pub out_id: String,
    /// `ok`, `failed` or `fallback` (WeChat could not reach the worker; SMS was tried).
    pub status: &'static str,
    /// Whether a failure will be retried.
    pub retryable: bool,
    /// Provider error code (`43101`, `unavailable`, `invalid_number`, …).
    pub error_code: Option<String>,
    /// Provider error, as our error type describes it.
    pub error_message: Option<String>,
    /// WeChat `msgid`, Tencent `SerialNo` or Aliyun `BizId`.
    pub provider_ref: Option<String>,
    /// How long the call took.
    pub duration_ms: i32,
}

/// Appends a delivery record.
pub fn record(conn: &mut PgConnection, record: &DeliveryRecord) -> Result<(), StoreError> {
    diesel::insert_into(deliveries::table)
        .values(record)
        .execute(conn)?;
    Ok(())
}

/// What earlier attempts at a row already settled for each recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    done: Vec<(String, String)>,
    wechat_refused: Vec<String>,
    reached: bool,
}

impl Settled {
    /// Whether this recipient was reached, or failed for good, in an earlier attempt.
    pub fn is_done(&self, kind: &str, id: &str) -> bool {
        self.done.iter().any(|(k, i)| k == kind && i == id)
    }

    /// Whether an earlier attempt reached at least one recipient.
    pub fn reached_anyone(&self) -> bool {
        self.reached
    }

    /// Whether WeChat already said it cannot reach this worker (43101 …): go to SMS directly.
    pub fn wechat_refused(&self, id: &str) -> bool {
        self.wechat_refused.iter().any(|i| i == id)
    }
}

/// The recipients earlier attempts at row `outbox_id` settled.
pub fn settled(conn: &mut PgConnection, outbox_id: i64) -> Result<Settled, StoreError> {
    let rows: Vec<(String, String, String, String, bool)> = deliveries::table
        .filter(deliveries::outbox_id.eq(outbox_id))
        .select((
            deliveries::recipient_kind,
            deliveries::recipient_id,
            deliveries::channel,
            deliveries::status,
            deliveries::retryable,
        ))
        .load(conn)?;
    let mut settled = Settled::default();
    for (kind, id, channel, status, retryable) in rows {
        match status.as_str() {
            "ok" => {
                settled.reached = true;
                settled.done.push((kind, id));
            }
            "failed" if !retryable => settled.done.push((kind, id)),
            "fallback" if channel == "wechat" => settled.wechat_refused.push(id),
            _ => {}
        }
    }
    Ok(settled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_every_bound_is_checked() {
        assert_eq!(OutboxConfig::default().validate(), Ok(()));
        let config: OutboxConfig = serde_json::from_str("{}").unwrap();
        assert!(config.enabled);
        assert_eq!(config.max_attempts, 8);
        for broken in [
            OutboxConfig {
                poll_interval_ms: 0,
                ..OutboxConfig::default()
            },
            OutboxConfig {
                batch_size: 0,
                ..OutboxConfig::default()
            },
            OutboxConfig {
                max_attempts: 0,
                ..OutboxConfig::default()
            },
            OutboxConfig {
                backoff_cap_ms: 1,
                ..OutboxConfig::default()
            },
            OutboxConfig {
                lease_ms: 10,
                ..OutboxConfig::default()
            },
            OutboxConfig {
                escalation_interval_ms: 1,
                ..OutboxConfig::default()
            },
            OutboxConfig {
                due_soon_minutes: 0,
                ..OutboxConfig::default()
            },
        ] {
            assert!(broken.validate().is_err(), "{broken:?}");
        }
    }

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let config = OutboxConfig {
            backoff_base_ms: 100,
            backoff_cap_ms: 1_000,
            ..OutboxConfig::default()
        };
        assert_eq!(config.retry_delay(1, 0.0), Duration::from_millis(100));
        assert_eq!(config.retry_delay(4, 0.0), Duration::from_millis(800));
        assert_eq!(config.retry_delay(5, 0.0), Duration::from_millis(1_000));
    }

    #[test]
    fn earlier_outcomes_tell_who_is_done_and_who_refused_wechat() {
        let settled = Settled {
            done: vec![("admin".into(), "a1".into())],
            wechat_refused: vec!["w1".into()],
            reached: true,
        };
        assert!(settled.reached_anyone());
        assert!(settled.is_done("admin", "a1"));
        assert!(!settled.is_done("worker", "a1"));
        assert!(settled.wechat_refused("w1"));
        assert!(!settled.wechat_refused("a1"));
    }
}
