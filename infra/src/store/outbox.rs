//! The outbox: events written in the business transaction, delivered after commit.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::Value;
use zhijian_domain::outbox_event::OutboxEvent;

use crate::db::StoreError;
use crate::db::schema::outbox;

/// Appends an event to the outbox and wakes the dispatcher (`NOTIFY outbox` fires at commit).
pub fn enqueue(
    conn: &mut PgConnection,
    event: OutboxEvent,
    aggregate_id: &str,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let id = diesel::insert_into(outbox::table)
        .values((
            outbox::event_type.eq(event.as_str()),
            outbox::aggregate_id.eq(aggregate_id),
            outbox::payload.eq(payload),
            outbox::created_at.eq(now),
            outbox::next_attempt_at.eq(now),
        ))
        .returning(outbox::id)
        .get_result(conn)?;
    diesel::sql_query(crate::db::sql::NOTIFY_OUTBOX).execute(conn)?;
    Ok(id)
}

/// A connection of its own that `LISTEN`s for `NOTIFY outbox` (sent at the commit of every
/// transaction that enqueues), so a dispatcher wakes without polling.
pub struct Listener {
    conn: PgConnection,
}

impl Listener {
    /// Connects to `url` and starts listening.
    pub fn connect(url: &str) -> Result<Self, String> {
        let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
        diesel::sql_query(crate::db::sql::LISTEN_OUTBOX)
            .execute(&mut conn)
            .map_err(|e| e.to_string())?;
        Ok(Self { conn })
    }

    /// Whether any notification arrived since the last call (without waiting); an error means
    /// the connection is broken and a new listener is needed.
    pub fn notified(&mut self) -> Result<bool, String> {
        let mut woken = false;
        for notification in self.conn.notifications_iter() {
            notification.map_err(|e| e.to_string())?;
            woken = true;
        }
        Ok(woken)
    }
}
