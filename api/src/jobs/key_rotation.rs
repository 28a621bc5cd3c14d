//! The key-rotation job (`zhijian_infra::usecases::key_rotation`): every
//! `key_rotation.interval_ms` (and once at start-up) rows sealed or indexed with an older key
//! are moved to the current keys in batches; `/metrics` shows what is left
//! (`zhijian_key_rotation_remaining{kind}`) and what was moved, and the log says both.

use actix_web::web;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use zhijian_infra::usecases::key_rotation::{remaining, run_round};

use crate::startup::AppState;

/// Starts the job on the current Tokio runtime; its first round runs at once.
pub fn spawn_key_rotation(state: web::Data<AppState>) -> Option<JoinHandle<()>> {
    if !state.settings.key_rotation.enabled {
        return None;
    }
    let every = state.settings.key_rotation.interval();
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            run_once(&state).await;
        }
    }))
}

/// One round: count, move, count again. A failure (PostgreSQL down) is logged; the next round
/// continues with the rows still on an older key.
pub async fn run_once(state: &AppState) {
    let services = &state.services;
    match zhijian_infra::usecases::key_rotation::rotation_pending(services).await {
        Ok(true) => {}
        Ok(false) => {
            // Every registered key is an active one: nothing to move, nothing to scan.
            publish(state, 0, 0);
            return;
        }
        Err(e) => {
            log::warn!("key rotation: cannot read the registered keys: {e}");
            return;
        }
    }
    let before = match remaining(services).await {
        Ok(left) => left,
        Err(e) => {
            log::warn!("key rotation: cannot count the rows under older keys: {e}");
            return;
        }
    };
    publish(state, before.encryption, before.blind_index);
    if before.encryption == 0 && before.blind_index == 0 {
        return;
    }
    log::info!(
        encryption = before.encryption,
        blind_index = before.blind_index;
        "key rotation: moving rows to encryption key {} and blind-index key {}",
        services.pii.current_key_id(),
        services.pii.current_blind_index_key_id()
    );
    let moved = |kind: zhijian_infra::crypto::keyring::KeyKind, rows: usize| {
        state.metrics.count_key_rotation(kind.as_str(), rows);
    };
    match run_round(services, &state.settings.key_rotation, moved).await {
        Ok(rows) => log::info!("key rotation: {rows} rows moved"),
        Err(e) => log::warn!("key rotation: stopped: {e}"),
    }
    match remaining(services).await {
        Ok(left) => {
            publish(state, left.encryption, left.blind_index);
            log::info!(
                encryption = left.encryption,
                blind_index = left.blind_index;
                "key rotation: rows still under older keys"
            );
        }
        Err(e) => log::warn!("key rotation: cannot count the rows under older keys: {e}"),
    }
}

fn publish(state: &AppState, encryption: i64, blind_index: i64) {
    state
        .metrics
        .set_key_rotation_remaining("encryption", encryption);
    state
        .metrics
        .set_key_rotation_remaining("blind_index", blind_index);
}
