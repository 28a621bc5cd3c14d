//! The outbox: events written in the business transaction, delivered after commit.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::Value;

use crate::db::StoreError;
use crate::schema::outbox;

/// Appends an event to the outbox and wakes the dispatcher (`NOTIFY outbox` fires at commit).
pub fn enqueue(
    conn: &mut PgConnection,
    event_type: &str,
    aggregate_id: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let id = diesel::insert_into(outbox::table)
        .values((
            outbox::event_type.eq(event_type),
            outbox::aggregate_id.eq(aggregate_id),
            outbox::payload.eq(payload),
            outbox::created_at.eq(now),
            outbox::next_attempt_at.eq(now),
        ))
        .returning(outbox::id)
        .get_result(conn)?;
    diesel::sql_query("NOTIFY outbox").execute(conn)?;
    Ok(id)
}
