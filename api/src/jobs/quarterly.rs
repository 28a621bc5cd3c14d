//! The quarter-end snapshot of the new-members report (新会员季报): at start-up and every ten
//! minutes, the snapshot of the quarter that ended before today (Beijing) is taken if it was
//! not yet — once, by whichever server gets there first (the snapshot's marker row is the
//! lock). A past quarter's report then answers from it, whatever the counters say later.

use std::time::Duration;

use actix_web::web;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::startup::AppState;

/// How often the job looks.
const EVERY: Duration = Duration::from_secs(600);

/// Starts the job on the current Tokio runtime; its first round runs at once.
pub fn spawn_quarterly_snapshots(state: web::Data<AppState>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EVERY);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match zhijian_infra::usecases::stats::take_quarter_snapshot(&state.services).await {
                Ok(true) => log::info!("quarterly snapshot taken"),
                Ok(false) => {}
                Err(e) => log::warn!("cannot take the quarterly snapshot: {e}"),
            }
        }
    })
}
