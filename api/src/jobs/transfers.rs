//! Auto-release ("流动不流失": the old union cannot block): every tick, each transfer whose
//! source union has been silent for three working days — counted on the working-day calendar
//! from the server's clock — is released on its behalf, each in its own transaction with its
//! audit row (actor `system`) and outbox event. Due rows are taken with `FOR UPDATE SKIP
//! LOCKED`, so several server processes never release the same transfer twice.

use std::time::Duration;

use actix_web::web;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use zhijian_infra::db::StoreError;
use zhijian_infra::usecases::membership::transfers;

use crate::startup::AppState;

/// Due transfers read per round; a full round that released something is followed at once by
/// another.
const BATCH: i64 = 200;

/// Starts the job on the current Tokio runtime; it runs until the runtime stops.
pub fn spawn_transfer_auto_release(state: web::Data<AppState>) -> JoinHandle<()> {
    let every = Duration::from_millis(state.settings.jobs.transfer_auto_release_interval_ms);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            run_once(&state).await;
        }
    })
}

/// One tick: releases whatever is due now. Failures are logged and retried on the next tick.
pub async fn run_once(state: &AppState) {
    match transfers::auto_release_due(&state.services, BATCH).await {
        Ok(0) => {}
        Ok(released) => log::info!(released = released; "transfer auto-release"),
        Err(StoreError::Unavailable(cause)) => {
            log::warn!("transfer auto-release skipped, postgres unavailable: {cause}");
        }
        Err(e) => log::error!("transfer auto-release failed: {e}"),
    }
}
