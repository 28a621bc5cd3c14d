//! The outbox's handler of `partner.webhook` events: one attempt at the message the event
//! names, recorded in `webhook_deliveries`; the outbox decides on retries (backoff) and the
//! dead letter, and [`WebhookDispatcher::settled`] copies its decision to the delivery log.

use std::sync::Arc;

use chrono::Utc;
use uuid::Uuid;

use super::guard::{GuardPolicy, resolve_checked};
use super::store::{self, AttemptRecord};
use super::{deliver, sign};
use crate::crypto::pii::PiiCipher;
use crate::db::{self, PgPool, StoreError};
use crate::usecases::delivery::{ClaimedEvent, Settlement};
use crate::usecases::notifications::Outcome;

/// Sends partner webhooks for the outbox dispatcher.
#[derive(Debug, Clone)]
pub struct WebhookDispatcher {
    pool: PgPool,
    pii: Arc<PiiCipher>,
    policy: GuardPolicy,
}

fn delivery_id(event: &ClaimedEvent) -> Option<Uuid> {
    event
        .payload
        .get("delivery_id")
        .and_then(|v| v.as_str())
        .and_then(|s| Uuid::parse_str(s).ok())
}

impl WebhookDispatcher {
    /// A dispatcher over `pool`, opening secrets with `pii`, checking targets with `policy`.
    pub fn new(pool: PgPool, pii: Arc<PiiCipher>, policy: GuardPolicy) -> Self {
        Self { pool, pii, policy }
    }

    /// One attempt at the message of a claimed `partner.webhook` event.
    pub async fn deliver(&self, event: &ClaimedEvent) -> Outcome {
        let Some(id) = delivery_id(event) else {
            return Outcome::Failed("partner.webhook event without a delivery_id".into());
        };
        let sendable = match db::run(&self.pool, move |conn| store::sendable(conn, id)).await {
            Ok(Some(sendable)) => sendable,
            Ok(None) => return Outcome::Failed(format!("webhook delivery {id} is gone")),
            Err(e) => return Outcome::Retry(format!("cannot read webhook delivery {id}: {e}")),
        };
        if sendable.delivery.status != "pending" {
            // Settled meanwhile (delivered by an earlier claim whose outcome was not recorded).
            return Outcome::Delivered;
        }
        if sendable.disabled {
            return self
                .failed(id, "endpoint_disabled: the endpoint was disabled".into())
                .await;
        }
        let now = Utc::now();
        let secrets = match store::live_secrets(&self.pii, &sendable.secrets, now) {
            Ok(secrets) if !secrets.is_empty() => secrets,
            Ok(_) => {
                return self
                    .failed(id, "no_secret: the endpoint has no live secret".into())
                    .await;
            }
            Err(e) => return Outcome::Retry(format!("cannot open the endpoint's secrets: {e}")),
        };
        let target = match resolve_checked(&sendable.url, &self.policy).await {
            Ok(target) => target,
            Err(e) => {
                let error = format!("{}: {e}", e.code());
                let record = AttemptRecord {
                    delivered: false,
                    response_code: None,
                    error: Some(error.clone()),
                    duration_ms: None,
                };
                if let Err(e) = self.record(id, record).await {
                    return Outcome::Retry(format!("cannot record the attempt: {e}"));
                }
                return if e.is_transient() {
                    Outcome::Retry(error)
                } else {
                    Outcome::Failed(error)
                };
            }
        };
        let body = sendable.delivery.payload.to_string();
        let ts = now.timestamp();
        let msg_id = &sendable.delivery.msg_id;
        let header = sign::header_value(&secrets, msg_id, ts, body.as_bytes());
        let outcome = deliver::deliver(&target, msg_id, ts, body.as_bytes(), &header).await;
        let record = AttemptRecord {
            delivered: outcome.is_delivered(),
            response_code: outcome.response_code().map(i32::from),
            error: outcome.error(),
            duration_ms: Some(outcome.duration_ms()),
        };
        if let Err(e) = self.record(id, record).await {
            log::warn!("webhook delivery {id}: cannot record the attempt: {e}");
        }
        match outcome.error() {
            None => Outcome::Delivered,
            Some(error) => Outcome::Retry(error),
        }
    }

    /// Copies the outbox's settlement of a `partner.webhook` event to its delivery row
    /// (`pending` with the next attempt's time, `failed`, `dead`).
    pub async fn settled(
        &self,
        event: &ClaimedEvent,
        settlement: &Settlement,
    ) -> Result<(), StoreError> {
        let Some(id) = delivery_id(event) else {
            return Ok(());
        };
        let (status, next) = match settlement {
            Settlement::Delivered => return Ok(()),
            Settlement::Retry { after, .. } => (
                "pending",
                chrono::Duration::from_std(*after)
                    .ok()
                    .map(|after| Utc::now() + after),
            ),
            Settlement::Failed(_) => ("failed", None),
            Settlement::Dead(_) => ("dead", None),
        };
        db::run(&self.pool, move |conn| {
            store::record_settlement(conn, id, status, next)
        })
        .await
    }

    async fn record(&self, id: Uuid, record: AttemptRecord) -> Result<(), StoreError> {
        db::run(&self.pool, move |conn| {
            store::record_attempt(conn, id, &record, Utc::now())
        })
        .await
    }

    async fn failed(&self, id: Uuid, error: String) -> Outcome {
        let record = AttemptRecord {
            delivered: false,
            response_code: None,
            error: Some(error.clone()),
            duration_ms: None,
        };
        match self.record(id, record).await {
            Ok(()) => Outcome::Failed(error),
            Err(e) => Outcome::Retry(format!("cannot record the attempt: {e}")),
        }
    }
}
