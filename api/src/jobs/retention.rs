//! The retention sweep (`zhijian_infra::usecases::retention`): every `retention.interval_ms`
//! (and once at start-up) each kind of row kept only for a while is deleted past its period;
//! `/metrics` counts what was removed (`zhijian_retention_removed_total{kind}`).

use actix_web::web;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use zhijian_infra::usecases::retention::{Kept, sweep};

use crate::startup::AppState;

/// Starts the job on the current Tokio runtime; its first round runs at once.
pub fn spawn_retention(state: web::Data<AppState>) -> JoinHandle<()> {
    let every = state.settings.retention.interval();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            run_once(&state).await;
        }
    })
}

/// One round over every kind. A failure (PostgreSQL down) is logged, and the next round
/// continues where this one stopped.
pub async fn run_once(state: &AppState) {
    let config = &state.settings.retention;
    for kind in Kept::ALL {
        let counted = |kind: Kept, rows: usize| state.metrics.count_retention(kind.as_str(), rows);
        match sweep(&state.services, config, kind, counted).await {
            Ok(0) => {}
            Ok(rows) => log::info!("retention: {rows} {} deleted", kind.as_str()),
            Err(e) => log::warn!("retention: {} not swept: {e}", kind.as_str()),
        }
    }
}
