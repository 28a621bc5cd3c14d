//! The outbox dispatcher: delivers the events business transactions wrote (notifications to
//! workers and admins) from inside the server process.
//!
//! - **Woken by `NOTIFY outbox`.** A dedicated connection on its own thread `LISTEN`s (Diesel
//!   has no asynchronous notifications, and reading them never blocks, so the thread checks
//!   every few tens of milliseconds) and wakes the dispatcher; without it — PostgreSQL away, a
//!   notification lost — the dispatcher still looks every `outbox.poll_interval_ms`.
//! - **Claims with `FOR UPDATE SKIP LOCKED` and a lease** (`zhijian_infra::usecases::delivery::claim`),
//!   so several server processes never work on one row at once, and delivers outside any
//!   transaction; a batch is delivered concurrently.
//! - **Settles every row**: delivered; retried after `min(cap, base·2^(attempt−1))` plus
//!   jitter; failed for good on a permanent provider error; parked as `dead` after
//!   `outbox.max_attempts`. A delivery that outlives its lease is abandoned and retried.
//! - **Never blocks the business action**: the request that wrote the event answered long
//!   before; a provider that is down or slow only delays the notification.
//!
//! The jobs stop with the server ([`NotificationJobs`]), and with the runtime they run on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use actix_web::web;
use futures_util::future::join_all;
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use zhijian_domain::outbox_event::OutboxEvent;
use zhijian_infra::crypto::secret::Secret;
use zhijian_infra::db::StoreError;
use zhijian_infra::store::outbox::Listener;
use zhijian_infra::usecases::delivery::{self, ClaimedEvent, OutboxConfig, Settlement};
use zhijian_infra::usecases::notifications::{Notifier, Outcome};
use zhijian_infra::webhooks::dispatch::WebhookDispatcher;

use crate::startup::AppState;

/// How often the listening thread reads notifications that arrived.
const LISTEN_TICK: Duration = Duration::from_millis(25);
/// How long the listening thread waits before connecting again after a failure.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// The dispatcher and the deadline scan of one server. Stopping (or dropping) it ends them: an
/// in-flight delivery is abandoned mid-call, exactly as if the process had died, and is taken
/// over by any dispatcher once its lease expires.
#[derive(Debug)]
pub struct NotificationJobs {
    handle: JobsHandle,
}

/// A cloneable way to stop [`NotificationJobs`].
#[derive(Debug, Clone, Default)]
pub struct JobsHandle {
    tasks: Vec<AbortHandle>,
    stop: Arc<AtomicBool>,
}

impl JobsHandle {
    /// Ends the jobs now.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl NotificationJobs {
    /// A handle that stops the jobs.
    pub fn handle(&self) -> JobsHandle {
        self.handle.clone()
    }
}

impl Drop for NotificationJobs {
    fn drop(&mut self) {
        self.handle.stop();
    }
}

/// Starts the dispatcher, its listening thread and the deadline scan on the current Tokio
/// runtime, unless `outbox.enabled` is off.
pub fn start(state: web::Data<AppState>) -> NotificationJobs {
    let config = state.settings.outbox.clone();
    let mut handle = JobsHandle::default();
    if !config.enabled {
        log::info!("outbox dispatcher and deadline scan are off (outbox.enabled = false)");
        return NotificationJobs { handle };
    }
    let wake = Arc::new(Notify::new());
    spawn_listener(
        state.settings.database.url.clone(),
        Arc::downgrade(&wake),
        Arc::clone(&handle.stop),
    );
    let notifier = Arc::new(Notifier::new(
        state.services.pool.clone(),
        Arc::clone(&state.wechat),
        Arc::clone(&state.sms),
        state.settings.sms.provider,
        Arc::clone(&state.services.pii),
        state.settings.notifications.clone(),
    ));
    let handlers = Arc::new(Handlers {
        webhooks: WebhookDispatcher::new(
            state.services.pool.clone(),
            Arc::clone(&state.services.pii),
            state.settings.webhooks.policy(),
        ),
        notifier,
    });
    let dispatcher = tokio::spawn(dispatch_forever(state.clone(), handlers, wake));
    let escalation = super::escalation::spawn(state);
    handle.tasks = vec![dispatcher.abort_handle(), escalation.abort_handle()];
    NotificationJobs { handle }
}

/// What delivers each kind of event: notifications to workers and admins, and partner
/// webhooks (`partner.webhook`).
#[derive(Debug)]
pub struct Handlers {
    /// Notifications (WeChat, SMS).
    pub notifier: Arc<Notifier>,
    /// Partner webhooks.
    pub webhooks: WebhookDispatcher,
}

/// Delivers whatever is due, then waits for a `NOTIFY` or the poll interval.
async fn dispatch_forever(state: web::Data<AppState>, handlers: Arc<Handlers>, wake: Arc<Notify>) {
    let config = state.settings.outbox.clone();
    let poll = Duration::from_millis(config.poll_interval_ms);
    loop {
        loop {
            match dispatch_batch(&state, &handlers, &config).await {
                Ok(claimed) if claimed >= config.batch_size as usize => continue,
                Ok(_) => break,
                Err(StoreError::Unavailable(cause)) => {
                    log::warn!("outbox dispatcher: postgres unavailable: {cause}");
                    break;
                }
                Err(e) => {
                    log::error!("outbox dispatcher: {e}");
                    break;
                }
            }
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}

/// Claims one batch and delivers it; returns how many rows were claimed.
pub async fn dispatch_batch(
    state: &AppState,
    handlers: &Handlers,
    config: &OutboxConfig,
) -> Result<usize, StoreError> {
    let (limit, lease) = (config.batch_size, Duration::from_millis(config.lease_ms));
    let claimed = delivery::claim_due(&state.services, limit, lease).await?;
    let count = claimed.len();
    join_all(
        claimed
            .iter()
            .map(|event| deliver(state, handlers, config, event)),
    )
    .await;
    Ok(count)
}

/// One attempt at one claimed row, and its settlement.
async fn deliver(
    state: &AppState,
    handlers: &Handlers,
    config: &OutboxConfig,
    event: &ClaimedEvent,
) {
    // Settle before the lease runs out, so no other dispatcher starts on the row meanwhile.
    let budget = Duration::from_millis(config.lease_ms.saturating_mul(9) / 10);
    let webhook = event.event() == Some(OutboxEvent::PartnerWebhook);
    let attempt = async {
        if webhook {
            handlers.webhooks.deliver(event).await
        } else {
            handlers.notifier.deliver(event).await
        }
    };
    let outcome = match tokio::time::timeout(budget, attempt).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Retry(format!(
            "the delivery took longer than {} ms; check the provider timeouts against outbox.lease_ms",
            budget.as_millis()
        )),
    };
    let attempt = event.attempts;
    let settlement = match outcome {
        Outcome::Delivered => Settlement::Delivered,
        Outcome::Failed(error) => Settlement::Failed(error),
        Outcome::Retry(error)
            if attempt >= i32::try_from(config.max_attempts).unwrap_or(i32::MAX) =>
        {
            Settlement::Dead(error)
        }
        Outcome::Retry(error) => Settlement::Retry {
            error,
            after: config.retry_delay(u32::try_from(attempt).unwrap_or(1), rand::random::<f64>()),
        },
    };
    let id = event.id;
    let settled = delivery::settle_attempt(&state.services, id, attempt, settlement.clone()).await;
    if webhook
        && matches!(settled, Ok(true))
        && let Err(e) = handlers.webhooks.settled(event, &settlement).await
    {
        log::warn!(
            "outbox {id} (partner.webhook): cannot record the settlement in the delivery log: {e}"
        );
    }

    let event_type = &event.event_type;
    match (&settled, &settlement) {
        (Err(e), _) => log::warn!(
            "outbox {id} ({event_type}) attempt {attempt}: cannot record the outcome, it will be retried after the lease: {e}"
        ),
        (Ok(false), _) => log::warn!(
            "outbox {id} ({event_type}) attempt {attempt}: the row moved on meanwhile; outcome not recorded"
        ),
        (Ok(true), Settlement::Delivered) => {
            log::info!("outbox {id} ({event_type}) delivered at attempt {attempt}");
        }
        (Ok(true), Settlement::Retry { error, after }) => log::warn!(
            "outbox {id} ({event_type}) attempt {attempt} failed, retrying in {} ms: {error}",
            after.as_millis()
        ),
        (Ok(true), Settlement::Failed(error)) => {
            log::warn!("outbox {id} ({event_type}) failed for good at attempt {attempt}: {error}");
        }
        (Ok(true), Settlement::Dead(error)) => log::error!(
            "ALERT outbox {id} ({event_type}) parked as dead after {attempt} attempts: {error}"
        ),
    }
}

/// Starts the thread that `LISTEN`s for `NOTIFY outbox`. It ends when the dispatcher is gone
/// (`wake` no longer upgrades) or `stop` is set.
fn spawn_listener(url: Secret, wake: Weak<Notify>, stop: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("outbox-listen".into())
        .spawn(move || listen(&url, &wake, &stop));
    if let Err(e) = spawned {
        log::warn!("outbox: cannot start the listening thread, polling only: {e}");
    }
}

fn listen(url: &Secret, wake: &Weak<Notify>, stop: &AtomicBool) {
    let mut connection: Option<Listener> = None;
    let mut failing = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let Some(waker) = wake.upgrade() else {
            return;
        };
        match connection.as_mut() {
            None => match Listener::connect(url.expose()) {
                Ok(conn) => {
                    if failing {
                        log::info!("outbox: listening for NOTIFY outbox again");
                    }
                    failing = false;
                    connection = Some(conn);
                    // Anything written while not listening is found now.
                    waker.notify_one();
                }
                Err(e) => {
                    if !failing {
                        log::warn!("outbox: cannot LISTEN, polling until it can: {e}");
                    }
                    failing = true;
                    drop(waker);
                    pause(RECONNECT_DELAY, wake, stop);
                    continue;
                }
            },
            Some(listener) => match listener.notified() {
                Ok(true) => waker.notify_one(),
                Ok(false) => {}
                Err(e) => {
                    // Reconnecting wakes the dispatcher anyway (see above).
                    log::warn!("outbox: the listening connection failed, reconnecting: {e}");
                    failing = true;
                    connection = None;
                }
            },
        }
        drop(waker);
        std::thread::sleep(LISTEN_TICK);
    }
}

/// Sleeps `total`, returning early once the jobs stop.
fn pause(total: Duration, wake: &Weak<Notify>, stop: &AtomicBool) {
    let mut slept = Duration::ZERO;
    while slept < total && !stop.load(Ordering::Relaxed) && wake.strong_count() > 0 {
        std::thread::sleep(LISTEN_TICK);
        slept += LISTEN_TICK;
    }
}
