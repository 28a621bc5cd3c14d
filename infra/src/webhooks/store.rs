//! The rows of partner webhooks: endpoints (URL, event types, sealed secrets) and the delivery
//! log (one row per message to one endpoint, updated at every attempt). Every function takes
//! `&mut PgConnection` so it composes inside the caller's transaction; reads and writes are
//! scoped to one partner client.

use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;
use zhijian_domain::outbox_event::OutboxEvent;

use super::sign::WebhookSecret;
use crate::crypto::pii::PiiCipher;
use crate::db::StoreError;
use crate::db::schema::{webhook_deliveries, webhook_endpoints};
use crate::store::outbox;

/// The AES-GCM context (associated data) of a sealed webhook secret.
const SECRET_CONTEXT: &str = "webhook_endpoints.secrets";

/// An endpoint as the partner sees it (never its secrets).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = webhook_endpoints)]
pub struct Endpoint {
    /// Its id.
    pub id: Uuid,
    /// The partner client it belongs to.
    pub client_id: Uuid,
    /// Where messages go.
    pub url: String,
    /// The event types it receives.
    pub event_types: Vec<String>,
    /// When it was disabled (no more messages).
    pub disabled_at: Option<DateTime<Utc>>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i32,
}

/// One sealed secret in `webhook_endpoints.secrets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredSecret {
    /// `v1.<key id>.<nonce>.<ciphertext>` of the `whsec_` text.
    secret: String,
    created_at: DateTime<Utc>,
    /// When a rotated-out secret stops signing; `None` for the current one.
    expires_at: Option<DateTime<Utc>>,
}

/// Why an endpoint could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// No such endpoint for this client.
    #[error("webhook endpoint not found")]
    NotFound,
    /// The endpoint changed since the version the caller read.
    #[error("webhook endpoint changed meanwhile")]
    Stale,
    /// An event type that is not one of [`super::EVENT_TYPES`].
    #[error("unknown event type `{0}`")]
    UnknownEventType(String),
    /// No event type named.
    #[error("an endpoint needs at least one event type")]
    NoEventTypes,
    /// The secrets could not be sealed or opened (a PII key missing?).
    #[error("webhook secret: {0}")]
    Secret(String),
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for EndpointError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

fn check_event_types(event_types: &[String]) -> Result<Vec<String>, EndpointError> {
    if event_types.is_empty() {
        return Err(EndpointError::NoEventTypes);
    }
    let mut checked: Vec<String> = Vec::new();
    for name in event_types {
        if !super::EVENT_TYPES.contains(&name.as_str()) {
            return Err(EndpointError::UnknownEventType(name.clone()));
        }
        if !checked.contains(name) {
            checked.push(name.clone());
        }
    }
    Ok(checked)
}

fn seal(
    pii: &PiiCipher,
    secret: &WebhookSecret,
    now: DateTime<Utc>,
) -> Result<StoredSecret, EndpointError> {
    let sealed = pii
        .encrypt(&secret.expose(), SECRET_CONTEXT)
        .map_err(|e| EndpointError::Secret(e.to_string()))?;
    Ok(StoredSecret {
        secret: sealed.to_string(),
        created_at: now,
        expires_at: None,
    })
}

fn stored_secrets(value: &Value) -> Vec<StoredSecret> {
    serde_json::from_value(value.clone()).unwrap_or_default()
}

/// The secrets of a stored `secrets` value that still sign at `now`, current first.
pub fn live_secrets(
    pii: &PiiCipher,
    secrets: &Value,
    now: DateTime<Utc>,
) -> Result<Vec<WebhookSecret>, String> {
    stored_secrets(secrets)
        .into_iter()
        .filter(|s| s.expires_at.is_none_or(|at| at > now))
        .map(|s| {
            let text = pii
                .decrypt(&s.secret, SECRET_CONTEXT)
                .map_err(|e| e.to_string())?;
            WebhookSecret::parse(&text).map_err(|e| e.to_string())
        })
        .collect()
}

/// Registers an endpoint for `client_id` (its URL already through
/// [`super::guard::validate_url_syntax`]) with a new secret, returned once.
pub fn create_endpoint(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    client_id: Uuid,
    url: &url::Url,
    event_types: &[String],
    now: DateTime<Utc>,
) -> Result<(Endpoint, WebhookSecret), EndpointError> {
    let event_types = check_event_types(event_types)?;
    let secret = WebhookSecret::generate();
    let secrets = serde_json::to_value(vec![seal(pii, &secret, now)?])
        .map_err(|e| EndpointError::Secret(e.to_string()))?;
    let endpoint = diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::id.eq(Uuid::now_v7()),
            webhook_endpoints::client_id.eq(client_id),
            webhook_endpoints::url.eq(url.as_str()),
            webhook_endpoints::event_types.eq(&event_types),
            webhook_endpoints::secrets.eq(&secrets),
            webhook_endpoints::created_at.eq(now),
            webhook_endpoints::updated_at.eq(now),
        ))
        .returning(Endpoint::as_returning())
        .get_result(conn)?;
    Ok((endpoint, secret))
}

/// The endpoints of `client_id`, oldest first.
pub fn list_endpoints(
    conn: &mut PgConnection,
    client_id: Uuid,
) -> Result<Vec<Endpoint>, StoreError> {
    Ok(webhook_endpoints::table
        .filter(webhook_endpoints::client_id.eq(client_id))
        .order((webhook_endpoints::created_at, webhook_endpoints::id))
        .select(Endpoint::as_select())
        .load(conn)?)
}

/// One endpoint of `client_id`.
pub fn get_endpoint(
    conn: &mut PgConnection,
    client_id: Uuid,
    endpoint_id: Uuid,
) -> Result<Endpoint, EndpointError> {
    webhook_endpoints::table
        .filter(webhook_endpoints::client_id.eq(client_id))
        .filter(webhook_endpoints::id.eq(endpoint_id))
        .select(Endpoint::as_select())
        .first(conn)
        .optional()?
        .ok_or(EndpointError::NotFound)
}

/// Rotates the secret of an endpoint at `version`: a new secret signs from now on, and every
/// secret still live keeps signing too until `now + overlap` (two `v1,` signatures meanwhile).
pub fn rotate_secret(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    client_id: Uuid,
    endpoint_id: Uuid,
    version: i32,
    overlap: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<(Endpoint, WebhookSecret), EndpointError> {
    let current: Value = webhook_endpoints::table
        .filter(webhook_endpoints::client_id.eq(client_id))
        .filter(webhook_endpoints::id.eq(endpoint_id))
        .select(webhook_endpoints::secrets)
        .for_update()
        .first(conn)
        .optional()?
        .ok_or(EndpointError::NotFound)?;
    let secret = WebhookSecret::generate();
    let retiring = now + overlap;
    let mut secrets = vec![seal(pii, &secret, now)?];
    secrets.extend(
        stored_secrets(&current)
            .into_iter()
            .filter(|s| s.expires_at.is_none_or(|at| at > now))
            .map(|s| StoredSecret {
                expires_at: Some(s.expires_at.map_or(retiring, |at| at.min(retiring))),
                ..s
            }),
    );
    let secrets =
        serde_json::to_value(secrets).map_err(|e| EndpointError::Secret(e.to_string()))?;
    let endpoint = diesel::update(
        webhook_endpoints::table
            .filter(webhook_endpoints::id.eq(endpoint_id))
            .filter(webhook_endpoints::version.eq(version)),
    )
    .set((
        webhook_endpoints::secrets.eq(&secrets),
        webhook_endpoints::updated_at.eq(now),
        webhook_endpoints::version.eq(version + 1),
    ))
    .returning(Endpoint::as_returning())
    .get_result(conn)
    .optional()?
    .ok_or(EndpointError::Stale)?;
    Ok((endpoint, secret))
}

/// Disables an endpoint (idempotent): no message is queued for it any more, and queued ones
/// fail at their next attempt.
pub fn disable_endpoint(
    conn: &mut PgConnection,
    client_id: Uuid,
    endpoint_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Endpoint, EndpointError> {
    let endpoint = get_endpoint(conn, client_id, endpoint_id)?;
    if endpoint.disabled_at.is_some() {
        return Ok(endpoint);
    }
    Ok(
        diesel::update(webhook_endpoints::table.filter(webhook_endpoints::id.eq(endpoint_id)))
            .set((
                webhook_endpoints::disabled_at.eq(now),
                webhook_endpoints::updated_at.eq(now),
                webhook_endpoints::version.eq(webhook_endpoints::version + 1),
            ))
            .returning(Endpoint::as_returning())
            .get_result(conn)?,
    )
}

/// A message to one endpoint, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    /// Its id.
    pub id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// The partner client.
    pub client_id: Uuid,
    /// `webhook-id`.
    pub msg_id: String,
    /// `application.approved`, …
    pub event_type: String,
    /// The body sent.
    pub payload: Value,
    /// Attempts made so far (all outbox rows, redeliveries included).
    pub attempt: i32,
    /// `pending`, `delivered`, `failed` (for good) or `dead` (retries exhausted).
    pub status: String,
    /// The receiver's status at the last attempt.
    pub response_code: Option<i32>,
    /// What went wrong at the last attempt.
    pub error: Option<String>,
    /// How long the last attempt took.
    pub duration_ms: Option<i32>,
    /// The outbox row carrying it now.
    pub outbox_id: Option<i64>,
    /// When it was last attempted.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the receiver took it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// The body of a message: `{"type", "timestamp", "data"}` (Standard Webhooks' shape).
pub fn message_body(event_type: &str, data: Value, now: DateTime<Utc>) -> Value {
    json!({
        "type": event_type,
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
}

/// Queues one message to `endpoint_id` (inside the caller's transaction): a delivery row and
/// a `partner.webhook` outbox event naming it. Returns the delivery id.
pub fn enqueue(
    conn: &mut PgConnection,
    client_id: Uuid,
    endpoint_id: Uuid,
    event_type: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(id),
            webhook_deliveries::endpoint_id.eq(endpoint_id),
            webhook_deliveries::client_id.eq(client_id),
            webhook_deliveries::msg_id.eq(format!("msg_{}", id.simple())),
            webhook_deliveries::event_type.eq(event_type),
            webhook_deliveries::payload.eq(body),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
        ))
        .execute(conn)?;
    let outbox_id = outbox::enqueue(
        conn,
        OutboxEvent::PartnerWebhook,
        &id.to_string(),
        &json!({ "delivery_id": id }),
        now,
    )?;
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq(id)))
        .set(webhook_deliveries::outbox_id.eq(outbox_id))
        .execute(conn)?;
    Ok(id)
}

/// Queues `event_type` with `data` to every live endpoint of `client_id` subscribed to it
/// (the caller has checked the worker's consent). Returns the delivery ids.
pub fn enqueue_for_client(
    conn: &mut PgConnection,
    client_id: Uuid,
    event_type: &str,
    data: Value,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, StoreError> {
    let endpoints: Vec<Uuid> = webhook_endpoints::table
        .filter(webhook_endpoints::client_id.eq(client_id))
        .filter(webhook_endpoints::disabled_at.is_null())
        .filter(webhook_endpoints::event_types.contains(vec![event_type.to_owned()]))
        .order(webhook_endpoints::id)
        .select(webhook_endpoints::id)
        .load(conn)?;
    let body = message_body(event_type, data, now);
    endpoints
        .into_iter()
        .map(|endpoint| enqueue(conn, client_id, endpoint, event_type, &body, now))
        .collect()
}

/// The delivery log of `client_id`, newest first: at most `limit` rows created before
/// `before` (the `created_at` of the last row of the previous page), optionally one endpoint's.
pub fn list_deliveries(
    conn: &mut PgConnection,
    client_id: Uuid,
    endpoint_id: Option<Uuid>,
    before: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<Delivery>, StoreError> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::client_id.eq(client_id))
        .into_boxed();
    if let Some(endpoint_id) = endpoint_id {
        query = query.filter(webhook_deliveries::endpoint_id.eq(endpoint_id));
    }
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::created_at.lt(before));
    }
    Ok(query
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(limit.clamp(1, 200))
        .select(Delivery::as_select())
        .load(conn)?)
}

/// One delivery of `client_id`.
pub fn get_delivery(
    conn: &mut PgConnection,
    client_id: Uuid,
    delivery_id: Uuid,
) -> Result<Option<Delivery>, StoreError> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::client_id.eq(client_id))
        .filter(webhook_deliveries::id.eq(delivery_id))
        .select(Delivery::as_select())
        .first(conn)
        .optional()?)
}

/// Why a message could not be sent again.
#[derive(Debug, thiserror::Error)]
pub enum RedeliverError {
    /// No such delivery for this client.
    #[error("webhook delivery not found")]
    NotFound,
    /// It is still queued: it will be attempted anyway.
    #[error("webhook delivery still pending")]
    Pending,
    /// Its endpoint is disabled.
    #[error("webhook endpoint disabled")]
    EndpointDisabled,
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for RedeliverError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Sends a settled message (dead, failed, or even delivered) again, with the same
/// `webhook-id`: the row goes back to `pending` and a new `partner.webhook` outbox event
/// carries it (fresh retries and backoff).
pub fn redeliver(
    conn: &mut PgConnection,
    client_id: Uuid,
    delivery_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Delivery, RedeliverError> {
    let (status, disabled_at): (String, Option<DateTime<Utc>>) = webhook_deliveries::table
        .inner_join(webhook_endpoints::table)
        .filter(webhook_deliveries::client_id.eq(client_id))
        .filter(webhook_deliveries::id.eq(delivery_id))
        .select((webhook_deliveries::status, webhook_endpoints::disabled_at))
        .for_update()
        .first(conn)
        .optional()?
        .ok_or(RedeliverError::NotFound)?;
    if status == "pending" {
        return Err(RedeliverError::Pending);
    }
    if disabled_at.is_some() {
        return Err(RedeliverError::EndpointDisabled);
    }
    let outbox_id = outbox::enqueue(
        conn,
        OutboxEvent::PartnerWebhook,
        &delivery_id.to_string(),
        &json!({ "delivery_id": delivery_id }),
        now,
    )?;
    Ok(
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq(delivery_id)))
            .set((
                webhook_deliveries::status.eq("pending"),
                webhook_deliveries::outbox_id.eq(outbox_id),
                webhook_deliveries::next_attempt_at.eq(now),
            ))
            .returning(Delivery::as_returning())
            .get_result(conn)?,
    )
}

/// What the dispatcher needs to send a message: the delivery and its endpoint.
#[derive(Debug, Clone)]
pub struct Sendable {
    /// The delivery row.
    pub delivery: Delivery,
    /// The endpoint's URL.
    pub url: String,
    /// The endpoint's stored secrets (sealed).
    pub secrets: Value,
    /// Whether the endpoint is disabled.
    pub disabled: bool,
}

/// The delivery `delivery_id` and its endpoint, `None` if gone.
pub fn sendable(
    conn: &mut PgConnection,
    delivery_id: Uuid,
) -> Result<Option<Sendable>, StoreError> {
    let row: Option<(Delivery, String, Value, Option<DateTime<Utc>>)> = webhook_deliveries::table
        .inner_join(webhook_endpoints::table)
        .filter(webhook_deliveries::id.eq(delivery_id))
        .select((
            Delivery::as_select(),
            webhook_endpoints::url,
            webhook_endpoints::secrets,
            webhook_endpoints::disabled_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(delivery, url, secrets, disabled_at)| Sendable {
        delivery,
        url,
        secrets,
        disabled: disabled_at.is_some(),
    }))
}

/// One attempt's outcome, as the delivery log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// Whether the receiver took the message.
    pub delivered: bool,
    /// The receiver's status.
    pub response_code: Option<i32>,
    /// What went wrong.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: Option<i32>,
}

/// Records an attempt at `delivery_id`: one more attempt, its result, and `delivered` when the
/// receiver took it (otherwise the row stays `pending` until the outbox settles it).
pub fn record_attempt(
    conn: &mut PgConnection,
    delivery_id: Uuid,
    record: &AttemptRecord,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(delivery_id))
            .filter(webhook_deliveries::status.eq("pending")),
    )
    .set((
        webhook_deliveries::attempt.eq(webhook_deliveries::attempt + 1),
        webhook_deliveries::response_code.eq(record.response_code),
        webhook_deliveries::error.eq(record.error.as_deref()),
        webhook_deliveries::duration_ms.eq(record.duration_ms),
        webhook_deliveries::last_attempt_at.eq(now),
        webhook_deliveries::status.eq(if record.delivered {
            "delivered"
        } else {
            "pending"
        }),
        webhook_deliveries::delivered_at.eq(record.delivered.then_some(now)),
        webhook_deliveries::next_attempt_at.eq(None::<DateTime<Utc>>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Records how the outbox settled a message that was not delivered: `pending` with the next
/// attempt's time, `failed` or `dead`.
pub fn record_settlement(
    conn: &mut PgConnection,
    delivery_id: Uuid,
    status: &str,
    next_attempt_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(delivery_id))
            .filter(webhook_deliveries::status.eq("pending")),
    )
    .set((
        webhook_deliveries::status.eq(status),
        webhook_deliveries::next_attempt_at.eq(next_attempt_at),
    ))
    .execute(conn)?;
    Ok(())
}
