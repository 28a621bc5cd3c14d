//! A partner's webhook endpoints and delivery log (`webhooks:manage`), over the webhook
//! library ([`crate::webhooks`]): register (the URL passes the SSRF guard's syntax checks; the
//! `whsec_` secret is shown once), list, show, rotate the secret (both sign during the
//! overlap), disable; the delivery log and redelivery.

use chrono::{DateTime, Duration, Utc};
use diesel::Connection;
use uuid::Uuid;

use crate::db::{self, StoreError};
use crate::usecases::Services;
use crate::webhooks::guard::{self, GuardError, GuardPolicy};
use crate::webhooks::sign::WebhookSecret;
use crate::webhooks::store::{self, Delivery, Endpoint, EndpointError, RedeliverError};

/// Why an endpoint operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookEndpointError {
    /// The URL is refused by the SSRF guard.
    #[error(transparent)]
    Url(#[from] GuardError),
    /// The endpoint store refused (not found, stale, event types, secrets).
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
}

impl From<StoreError> for WebhookEndpointError {
    fn from(e: StoreError) -> Self {
        Self::Endpoint(EndpointError::Store(e))
    }
}

impl From<diesel::result::Error> for WebhookEndpointError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// Registers an endpoint of `client`; its secret is in the answer and nowhere else in clear.
pub async fn create_webhook_endpoint(
    ctx: &Services,
    client: Uuid,
    url: String,
    event_types: Vec<String>,
    policy: GuardPolicy,
) -> Result<(Endpoint, WebhookSecret), WebhookEndpointError> {
    let url = guard::validate_url_syntax(&url, &policy)?;
    let (pii, now) = (ctx.pii.clone(), ctx.now());
    db::run(&ctx.pool, move |conn| {
        Ok(store::create_endpoint(
            conn,
            &pii,
            client,
            &url,
            &event_types,
            now,
        )?)
    })
    .await
}

/// The endpoints of `client`.
pub async fn list_webhook_endpoints(
    ctx: &Services,
    client: Uuid,
) -> Result<Vec<Endpoint>, StoreError> {
    db::run(&ctx.pool, move |conn| store::list_endpoints(conn, client)).await
}

/// One endpoint of `client`.
pub async fn get_webhook_endpoint(
    ctx: &Services,
    client: Uuid,
    id: Uuid,
) -> Result<Endpoint, WebhookEndpointError> {
    db::run(&ctx.pool, move |conn| {
        Ok(store::get_endpoint(conn, client, id)?)
    })
    .await
}

/// A new secret for an endpoint at `version`; the old ones keep signing for `overlap`.
pub async fn rotate_webhook_secret(
    ctx: &Services,
    client: Uuid,
    id: Uuid,
    version: i32,
    overlap: Duration,
) -> Result<(Endpoint, WebhookSecret), WebhookEndpointError> {
    let (pii, now) = (ctx.pii.clone(), ctx.now());
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            Ok(store::rotate_secret(
                conn, &pii, client, id, version, overlap, now,
            )?)
        })
    })
    .await
}

/// Disables an endpoint (no more messages).
pub async fn disable_webhook_endpoint(
    ctx: &Services,
    client: Uuid,
    id: Uuid,
) -> Result<Endpoint, WebhookEndpointError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        Ok(store::disable_endpoint(conn, client, id, now)?)
    })
    .await
}

/// The delivery log of `client`, newest first.
pub async fn list_webhook_deliveries(
    ctx: &Services,
    client: Uuid,
    endpoint: Option<Uuid>,
    before: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<Delivery>, StoreError> {
    db::run(&ctx.pool, move |conn| {
        store::list_deliveries(conn, client, endpoint, before, limit)
    })
    .await
}

/// Sends a settled delivery of `client` again (same `webhook-id`).
pub async fn redeliver_webhook(
    ctx: &Services,
    client: Uuid,
    id: Uuid,
) -> Result<Delivery, RedeliverError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| store::redeliver(conn, client, id, now))
    })
    .await
}
