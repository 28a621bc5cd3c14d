//! Finishes a union move an interrupted server left half-done (its rows re-anchored in batches,
//! `infra::usecases::unions::moving`): at start-up and then every
//! `jobs.union_move_resume_interval_ms`. A move runs in the request that started it; this job
//! only picks up what a crash or a lost connection left `running`.

use std::time::Duration;

use actix_web::web;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use zhijian_infra::db::StoreError;
use zhijian_infra::usecases::unions::moving;

use crate::startup::AppState;

/// Starts the job on the current Tokio runtime; it runs until the runtime stops.
pub fn spawn_union_move_resume(state: web::Data<AppState>) -> JoinHandle<()> {
    let every = Duration::from_millis(state.settings.jobs.union_move_resume_interval_ms);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match moving::resume_moves(&state.services).await {
                Ok(None) => {}
                Ok(Some(done)) => log::info!(
                    union = done.union_id, batches = done.batches; "union move resumed and done"
                ),
                Err(StoreError::Unavailable(cause)) => {
                    log::warn!("union move resume skipped, postgres unavailable: {cause}");
                }
                Err(e) => log::error!("union move resume failed: {e}"),
            }
        }
    })
}
