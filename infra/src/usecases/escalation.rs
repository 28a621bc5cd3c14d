//! The deadline scan (督办): open applications due within the warning period get a reminder
//! for their union's admins (`application.due_soon`), overdue ones an alert for the union's
//! and the parent union's admins (`application.overdue`).
//!
//! Each alert fires once per application, deadline and union: the scan inserts a
//! `deadline_alerts` row and writes the outbox event in the same transaction, and only when
//! the row is new, so concurrent scans on several servers, or a scan repeated after a crash,
//! never alert twice. The dispatcher delivers the events like any other.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use serde_json::json;
use uuid::Uuid;
use zhijian_domain::notification::DeadlineAlert;

use crate::db::schema::deadline_alerts;
use crate::db::{self, StoreError};
use crate::store::outbox;
use crate::usecases::Services;

/// What one scan wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Reminders written (due within the warning period).
    pub due_soon: usize,
    /// Overdue alerts written.
    pub overdue: usize,
    /// Applications looked at (when it equals the limit, scan again).
    pub seen: usize,
}

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = BigInt)]
    union_id: i64,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    due_at: Option<DateTime<Utc>>,
}

/// One batch of the scan at the clock's `now` ([`scan`], in its own transaction).
pub async fn scan_deadlines(
    ctx: &Services,
    lead: TimeDelta,
    limit: i64,
) -> Result<ScanReport, StoreError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| scan(conn, now, lead, limit)).await
}

/// Writes the alerts due at `now` (business time) for up to `limit` applications, warning
/// `lead` before deadlines; one transaction.
pub fn scan(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lead: TimeDelta,
    limit: i64,
) -> Result<ScanReport, StoreError> {
    conn.transaction(|conn| {
        let candidates: Vec<Candidate> = diesel::sql_query(
            "SELECT a.id, a.account_id, a.union_id, a.status, a.due_at FROM applications a \
             WHERE a.status IN ('pending_review', 'pooled') AND a.due_at <= $2 \
               AND NOT EXISTS ( \
                   SELECT 1 FROM deadline_alerts d \
                   WHERE d.application_id = a.id AND d.due_at = a.due_at AND d.union_id = a.union_id \
                     AND d.kind = CASE WHEN a.due_at < $1 THEN 'overdue' ELSE 'due_soon' END) \
             ORDER BY a.due_at, a.id \
             LIMIT $3",
        )
        .bind::<Timestamptz, _>(now)
        .bind::<Timestamptz, _>(now + lead)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
        let mut report = ScanReport {
            seen: candidates.len(),
            ..ScanReport::default()
        };
        for candidate in candidates {
            let Some(due_at) = candidate.due_at else {
                continue;
            };
            let Some(alert) = DeadlineAlert::at(due_at, now, lead) else {
                continue;
            };
            let inserted = diesel::insert_into(deadline_alerts::table)
                .values((
                    deadline_alerts::application_id.eq(candidate.id),
                    deadline_alerts::kind.eq(alert.as_str()),
                    deadline_alerts::due_at.eq(due_at),
                    deadline_alerts::union_id.eq(candidate.union_id),
                    deadline_alerts::at.eq(now),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            if inserted == 0 {
                continue;
            }
            outbox::enqueue(
                conn,
                alert.into(),
                &candidate.id.to_string(),
                &json!({
                    "application_id": candidate.id,
                    "account_id": candidate.account_id,
                    "union_id": candidate.union_id,
                    "status": candidate.status,
                    "due_at": due_at,
                    "alert": alert.as_str(),
                }),
                now,
            )?;
            match alert {
                DeadlineAlert::DueSoon => report.due_soon += 1,
                DeadlineAlert::Overdue => report.overdue += 1,
            }
            log::info!(
                "deadline alert {} for application {} of union {}",
                alert.as_str(),
                candidate.id,
                candidate.union_id
            );
        }
        Ok(report)
    })
}
