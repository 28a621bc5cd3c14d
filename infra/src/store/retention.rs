//! Deleting what is kept no longer than its period (see `crate::usecases::retention`): one
//! batch per call, found by index, oldest first.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};

use crate::db::StoreError;

/// Deletes up to `batch` stored idempotent answers created before `cutoff`; answers how many.
pub fn delete_idempotency_answers(
    conn: &mut PgConnection,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<usize, StoreError> {
    Ok(diesel::sql_query(
        "DELETE FROM idempotency_keys WHERE (scope, key) IN ( \
             SELECT scope, key FROM idempotency_keys WHERE created_at < $1 \
             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
    )
    .bind::<Timestamptz, _>(cutoff)
    .bind::<BigInt, _>(batch)
    .execute(conn)?)
}

/// Deletes up to `batch` outbox rows in `status` (`delivered`, by `delivered_at`; `dead`, by
/// `created_at`) older than `cutoff`, with their delivery attempts; answers how many rows of
/// the outbox.
pub fn delete_outbox_rows(
    conn: &mut PgConnection,
    status: OutboxEnd,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> Result<usize, StoreError> {
    let select = match status {
        OutboxEnd::Delivered => {
            "SELECT id FROM outbox WHERE status = 'delivered' AND delivered_at < $1 \
             ORDER BY delivered_at LIMIT $2 FOR UPDATE SKIP LOCKED"
        }
        OutboxEnd::Dead => {
            "SELECT id FROM outbox WHERE status = 'dead' AND created_at < $1 \
             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED"
        }
    };
    let sql = format!(
        "WITH doomed AS ({select}), \
              attempts AS (DELETE FROM deliveries WHERE outbox_id IN (SELECT id FROM doomed)) \
         DELETE FROM outbox WHERE id IN (SELECT id FROM doomed)"
    );
    Ok(diesel::sql_query(sql)
        .bind::<Timestamptz, _>(cutoff)
        .bind::<BigInt, _>(batch)
        .execute(conn)?)
}

/// The end an outbox row came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxEnd {
    /// Delivered to every recipient.
    Delivered,
    /// Given up on (dead letter).
    Dead,
}
