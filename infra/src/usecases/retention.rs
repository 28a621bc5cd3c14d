//! Retention: what is kept only for a while is deleted when its period ends, in batches (each
//! its own short transaction, so no lock is held for long), by index, and resumable by nature
//! — a sweep that stops halfway leaves only rows the next sweep deletes.
//!
//! - stored idempotent answers (`idempotency_keys`: whole response bodies, which may name a
//!   person) after `retention.idempotency_hours` (24): a client retries within minutes;
//! - delivered notifications (`outbox` rows and their `deliveries`) after
//!   `retention.delivered_days` (30): long enough to answer "did the member get the notice?";
//! - dead letters after `retention.dead_days` (90): long enough to find and redeliver them;
//! - the personal data of applications that never led to membership (rejected, withdrawn,
//!   expired) after `retention.closed_application_days` (180) from their closing: long enough
//!   to answer a complaint about the decision; the rows stay for the statistics, erased
//!   (`crate::store::privacy`).
//!
//! SMS codes and their counters live in Redis with expiries of their own. The audit trail is
//! never deleted here, and holds no personal data.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

use crate::db::{self, StoreError};
use crate::store::retention::{self as store, OutboxEnd};
use crate::usecases::Services;

/// `[retention]` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RetentionConfig {
    /// How often the sweep runs, milliseconds.
    pub interval_ms: u64,
    /// Rows deleted per transaction.
    pub batch_size: i64,
    /// Stored idempotent answers are kept this many hours.
    pub idempotency_hours: u32,
    /// Delivered notifications are kept this many days.
    pub delivered_days: u32,
    /// Dead letters are kept this many days.
    pub dead_days: u32,
    /// The personal data of rejected, withdrawn and expired applications is kept this many
    /// days after their closing.
    pub closed_application_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            interval_ms: 3_600_000,
            batch_size: 1000,
            idempotency_hours: 24,
            delivered_days: 30,
            dead_days: 90,
            closed_application_days: 180,
        }
    }
}

impl RetentionConfig {
    /// Checks the values and says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.interval_ms == 0 {
            return Err("retention.interval_ms must be positive".into());
        }
        if !(1..=100_000).contains(&self.batch_size) {
            return Err("retention.batch_size must be between 1 and 100000".into());
        }
        // Bounded above too: a period past chrono's range would panic the sweep's cutoff.
        if !(1..=876_000).contains(&self.idempotency_hours) {
            return Err("retention.idempotency_hours must be between 1 and 876000".into());
        }
        for (key, days) in [
            ("delivered_days", self.delivered_days),
            ("dead_days", self.dead_days),
            ("closed_application_days", self.closed_application_days),
        ] {
            if !(1..=36_500).contains(&days) {
                return Err(format!("retention.{key} must be between 1 and 36500"));
            }
        }
        Ok(())
    }

    /// The pause between sweeps.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }
}

/// What a sweep deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Stored idempotent answers.
    IdempotencyAnswers,
    /// Delivered notifications with their delivery attempts.
    DeliveredNotifications,
    /// Dead letters with their delivery attempts.
    DeadLetters,
    /// The personal data of closed applications that never led to membership (erased, the
    /// rows kept).
    ErasedApplications,
}

impl Kept {
    /// Every kind, in the order a sweep takes them.
    pub const ALL: [Kept; 4] = [
        Kept::IdempotencyAnswers,
        Kept::DeliveredNotifications,
        Kept::DeadLetters,
        Kept::ErasedApplications,
    ];

    /// The label of the kind in `/metrics` and the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Kept::IdempotencyAnswers => "idempotency_answers",
            Kept::DeliveredNotifications => "delivered_notifications",
            Kept::DeadLetters => "dead_letters",
            Kept::ErasedApplications => "erased_applications",
        }
    }

    fn cutoff(self, config: &RetentionConfig, now: DateTime<Utc>) -> DateTime<Utc> {
        now - match self {
            Kept::IdempotencyAnswers => TimeDelta::hours(i64::from(config.idempotency_hours)),
            Kept::DeliveredNotifications => TimeDelta::days(i64::from(config.delivered_days)),
            Kept::DeadLetters => TimeDelta::days(i64::from(config.dead_days)),
            Kept::ErasedApplications => TimeDelta::days(i64::from(config.closed_application_days)),
        }
    }
}

/// Deletes one kind's rows whose period has ended, batch after batch, calling `removed` after
/// each batch with the rows it deleted (for the metrics); answers the total.
pub async fn sweep(
    services: &Services,
    config: &RetentionConfig,
    kind: Kept,
    removed: impl Fn(Kept, usize),
) -> Result<usize, StoreError> {
    let now = services.now();
    let cutoff = kind.cutoff(config, now);
    let batch = config.batch_size;
    let mut total = 0;
    loop {
        let deleted = db::run(&services.pool, move |conn| match kind {
            Kept::IdempotencyAnswers => store::delete_idempotency_answers(conn, cutoff, batch),
            Kept::DeliveredNotifications => {
                store::delete_outbox_rows(conn, OutboxEnd::Delivered, cutoff, batch)
            }
            Kept::DeadLetters => store::delete_outbox_rows(conn, OutboxEnd::Dead, cutoff, batch),
            Kept::ErasedApplications => {
                crate::store::privacy::erase_closed_before(conn, cutoff, batch, now)
            }
        })
        .await?;
        total += deleted;
        if deleted > 0 {
            removed(kind, deleted);
        }
        if i64::try_from(deleted).unwrap_or(i64::MAX) < batch {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RetentionConfig;

    #[test]
    fn periods_are_positive_and_bounded_so_the_cutoff_never_overflows() {
        assert!(RetentionConfig::default().validate().is_ok());
        let mut config = RetentionConfig {
            closed_application_days: 100_000_000,
            ..RetentionConfig::default()
        };
        assert!(
            config
                .validate()
                .unwrap_err()
                .contains("closed_application_days")
        );
        config.closed_application_days = 0;
        assert!(config.validate().is_err());
        let config = RetentionConfig {
            idempotency_hours: u32::MAX,
            ..RetentionConfig::default()
        };
        assert!(config.validate().unwrap_err().contains("idempotency_hours"));
    }
}
