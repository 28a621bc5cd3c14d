//! The deadline scan (督办): every `outbox.escalation_interval_ms`, at the server's clock, open
//! applications due within `outbox.due_soon_minutes` get a reminder for their union's admins
//! and overdue ones an alert for the union's and the parent union's admins — once each
//! (`zhijian_infra::usecases::escalation`). The dispatcher delivers them.

use std::time::Duration;

use actix_web::web;
use chrono::TimeDelta;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use zhijian_infra::db::StoreError;
use zhijian_infra::usecases::escalation::{self, ScanReport};

use crate::startup::AppState;

/// Applications looked at per transaction; a full batch is followed at once by another.
const BATCH: i64 = 200;

/// Starts the scan on the current Tokio runtime.
pub fn spawn(state: web::Data<AppState>) -> JoinHandle<()> {
    let every = Duration::from_millis(state.settings.outbox.escalation_interval_ms);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            run_once(&state).await;
        }
    })
}

/// One scan at the current time; failures are logged and the next tick tries again.
pub async fn run_once(state: &AppState) -> ScanReport {
    let lead = TimeDelta::minutes(state.settings.outbox.due_soon_minutes);
    let mut total = ScanReport::default();
    loop {
        let scanned = escalation::scan_deadlines(&state.services, lead, BATCH).await;
        match scanned {
            Ok(report) => {
                total.due_soon += report.due_soon;
                total.overdue += report.overdue;
                total.seen += report.seen;
                if i64::try_from(report.seen).unwrap_or(i64::MAX) < BATCH {
                    break;
                }
            }
            Err(StoreError::Unavailable(cause)) => {
                log::warn!("deadline scan skipped, postgres unavailable: {cause}");
                break;
            }
            Err(e) => {
                log::error!("deadline scan failed: {e}");
                break;
            }
        }
    }
    if total.due_soon + total.overdue > 0 {
        log::info!(
            due_soon = total.due_soon,
            overdue = total.overdue;
            "deadline scan"
        );
    }
    total
}
