//! Auto-release ("流动不流失": the old union cannot block): each transfer whose source union
//! has been silent for three working days is released on its behalf, each in its own
//! transaction with its audit row (actor `system`) and outbox event. Due rows are taken with
//! `FOR UPDATE SKIP LOCKED`, so several servers never release the same transfer twice.

use chrono::{DateTime, Utc};
use diesel::Connection;
use diesel::pg::PgConnection;
use zhijian_domain::calendar::WorkingCalendar;
use zhijian_domain::ids::TransferId;
use zhijian_domain::transfer::SOURCE_SILENCE_WORKING_DAYS;

use crate::db::{self, StoreError};
use crate::store::member_lifecycle::MemberActor;
use crate::store::transfers::{self, Step, TransferRow};
use crate::usecases::Services;

/// One run of the job at the clock's `now`: every due transfer, `batch` at a time, each in its
/// own transaction. Returns how many were released.
pub async fn auto_release_due(ctx: &Services, batch: i64) -> Result<usize, StoreError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| release_due(conn, now, batch)).await
}

fn release_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<usize, StoreError> {
    let calendar = crate::store::calendar::load(conn)?;
    let mut released = 0;
    loop {
        let due = transfers::due_for_auto_release(conn, &calendar, now, batch)?;
        let mut this_round = 0;
        for id in &due {
            if let Some(row) = release_one(conn, *id, &calendar, now)? {
                log::info!(
                    transfer_id:% = row.id,
                    from_union_id = row.from_union_id;
                    "transfer auto-released"
                );
                this_round += 1;
            }
        }
        released += this_round;
        // A full page that released nothing means the rest is locked by another server or
        // not yet due: stop until the next tick.
        if i64::try_from(due.len()).unwrap_or(i64::MAX) < batch || this_round == 0 {
            return Ok(released);
        }
    }
}

/// Releases transfer `id` on behalf of its silent source union, in its own transaction;
/// `None` when another server has it, or it is no longer due (answered, cancelled, calendar
/// changed), or it changed meanwhile.
fn release_one(
    conn: &mut PgConnection,
    id: TransferId,
    calendar: &WorkingCalendar,
    now: DateTime<Utc>,
) -> Result<Option<TransferRow>, StoreError> {
    conn.transaction(|conn| {
        let Some(row) = transfers::lock_requested(conn, id)? else {
            return Ok(None);
        };
        let Ok(transition) = row.domain()?.auto_release(now, calendar) else {
            return Ok(None);
        };
        let step = Step::Released { by: None };
        let Some(updated) = transfers::apply(conn, &row, transition, step, now)? else {
            return Ok(None);
        };
        let reason = Some(format!(
            "原工会{SOURCE_SILENCE_WORKING_DAYS}个工作日内未办理，自动转出"
        ));
        transfers::write_audit_and_outbox(
            conn,
            &updated,
            transition.event,
            &MemberActor::System,
            reason,
            now,
        )?;
        Ok(Some(updated))
    })
}
