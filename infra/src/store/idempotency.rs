//! `Idempotency-Key`: a write retried with the same key happens once and answers the first
//! response; the same key with a different body is refused.
//!
//! The key row is inserted first in the business transaction. A concurrent retry blocks on it
//! until the first attempt commits (then it replays the stored answer) or rolls back (then it
//! runs itself) — so the write happens exactly once.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::db::StoreError;
use crate::db::schema::idempotency_keys;

/// A client's key, scoped to the caller, with a fingerprint of the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Whose key (e.g. `account:<id>`), so two callers never share a key.
    pub scope: String,
    /// The client's key.
    pub key: String,
    /// SHA-256 of the canonical request.
    pub request_hash: String,
}

impl IdempotencyKey {
    /// Builds a key from the caller's scope, the header value and the request body.
    pub fn new(scope: String, key: String, body: &[u8]) -> Self {
        Self {
            scope,
            key,
            request_hash: hex::encode(Sha256::digest(body)),
        }
    }
}

/// The outcome of an idempotent write.
#[derive(Debug)]
pub enum Idempotent<T> {
    /// The write ran now.
    Fresh(T),
    /// The write ran before: the first answer.
    Replay {
        /// First response's status.
        status: u16,
        /// First response's body.
        body: Value,
    },
}

/// The key was used before with a different request.
#[derive(Debug, thiserror::Error)]
#[error("idempotency key reused with a different request")]
pub struct KeyReused;

/// A worker's idempotent writes, each with its own key scope per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerWrite {
    /// Submitting an application.
    Application,
    /// Requesting a transfer.
    Transfer,
}

impl WorkerWrite {
    /// Every kind: a cancelled account's stored answers are deleted under all of them.
    pub const ALL: [WorkerWrite; 2] = [WorkerWrite::Application, WorkerWrite::Transfer];

    /// The key scope of this write for `account`.
    pub fn scope(self, account: zhijian_domain::ids::AccountId) -> String {
        match self {
            WorkerWrite::Application => format!("account:{account}"),
            WorkerWrite::Transfer => format!("transfer:{account}"),
        }
    }
}

/// Inside an open transaction: claims `key`, or returns the stored answer of its first use.
/// `Ok(None)` means the caller should run the write and then [`store_response`].
pub fn claim(
    conn: &mut PgConnection,
    key: &IdempotencyKey,
) -> Result<Result<Option<Answer>, KeyReused>, StoreError> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::scope.eq(&key.scope),
            idempotency_keys::key.eq(&key.key),
            idempotency_keys::request_hash.eq(&key.request_hash),
            idempotency_keys::response_status.eq(0_i16),
            idempotency_keys::response_body.eq(Value::Null),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if inserted == 1 {
        return Ok(Ok(None));
    }
    first_answer(conn, key)?
        .map(|first| first.map(Some))
        .ok_or_else(|| StoreError::broken("an idempotency key vanished"))
}

/// The answer a write renders — HTTP status and JSON body — stored with its key so a retry
/// gets the same one back.
pub type Answer = (u16, Value);

/// The answer of a key's first use, or `KeyReused` when it had another request.
pub type FirstAnswer = Result<Answer, KeyReused>;

/// The answer of the key's first use, or `KeyReused` if that use had another body; `None` if
/// the key was never used.
pub fn first_answer(
    conn: &mut PgConnection,
    key: &IdempotencyKey,
) -> Result<Option<FirstAnswer>, StoreError> {
    let Some((hash, status, body)) = idempotency_keys::table
        .find((&key.scope, &key.key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::response_status,
            idempotency_keys::response_body,
        ))
        .first::<(String, i16, Value)>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    if hash != key.request_hash {
        return Ok(Some(Err(KeyReused)));
    }
    Ok(Some(Ok((u16::try_from(status).unwrap_or(200), body))))
}

/// Inside the same transaction as [`claim`]: records the answer of the first use.
pub fn store_response(
    conn: &mut PgConnection,
    key: &IdempotencyKey,
    status: u16,
    body: &Value,
) -> Result<(), StoreError> {
    diesel::update(idempotency_keys::table.find((&key.scope, &key.key)))
        .set((
            idempotency_keys::response_status.eq(i16::try_from(status).unwrap_or(200)),
            idempotency_keys::response_body.eq(body),
        ))
        .execute(conn)?;
    Ok(())
}
