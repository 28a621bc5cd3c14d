//! The working-day calendar's status for monitoring: every `jobs.calendar_status_interval_ms`
//! (and once at start-up) the years due that are not loaded are counted into the
//! `zhijian_calendar_missing_years` gauge, so a scrape of `/metrics` never queries the
//! database. A replacement of a year on this server sets the gauge at once
//! (`routes::admin_calendar`); another server's shows within the interval.

use std::time::Duration;

use actix_web::web;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::startup::AppState;

/// Starts the job on the current Tokio runtime; its first round runs at once.
pub fn spawn_calendar_status(state: web::Data<AppState>) -> JoinHandle<()> {
    let every = Duration::from_millis(state.settings.jobs.calendar_status_interval_ms);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            run_once(&state).await;
        }
    })
}

/// One round: counts the missing years on the server's today. A failure keeps the last value
/// and is retried at the next round.
pub async fn run_once(state: &AppState) {
    let today = zhijian_infra::usecases::calendar::today(state.services.now());
    match zhijian_infra::usecases::calendar::missing_years(&state.services.pool, today).await {
        Ok(missing) => state.metrics.set_calendar_missing_years(missing.len()),
        Err(e) => log::warn!("cannot count the calendar's missing years: {e}"),
    }
}
