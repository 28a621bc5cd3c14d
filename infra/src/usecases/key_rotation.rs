//! Key rotation in service (`zhijian keys add | rotate | retire`, issue 18).
//!
//! New values are sealed with the current encryption key and indexed with the current
//! blind-index key ([`PiiCipher`], built from the configuration and the keyring file). This
//! job moves older rows to the current keys in batches — each its own short transaction,
//! walking each table once per pass, resumable by nature (a row on the current key is never
//! touched again) — and reports what is left (`zhijian_key_rotation_remaining{kind}`).
//!
//! During a blind-index rotation a row holds its index under the old key or the new one;
//! every lookup tries every configured key, so duplicate-person checks, sign-in by phone and
//! claims keep finding rows throughout.

use std::time::Duration;

use serde::Deserialize;

use crate::crypto::keyring::KeyKind;
use crate::crypto::pii::PiiCipher;
use crate::db::{self, StoreError};
use crate::store::key_rotation::{self as store, INDEX_COLUMNS, SEALED_COLUMNS};
use crate::usecases::Services;

/// `[key_rotation]` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct KeyRotationConfig {
    /// Whether this server runs the job (one server of several is enough; any may).
    pub enabled: bool,
    /// How often the job looks for rows under an older key, milliseconds.
    pub interval_ms: u64,
    /// Rows moved per transaction.
    pub batch_size: i64,
}

impl Default for KeyRotationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_ms: 60_000,
            batch_size: 500,
        }
    }
}

impl KeyRotationConfig {
    /// Checks the values and says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.interval_ms == 0 {
            return Err("key_rotation.interval_ms must be positive".into());
        }
        if !(1..=10_000).contains(&self.batch_size) {
            return Err("key_rotation.batch_size must be between 1 and 10000".into());
        }
        Ok(())
    }

    /// The pause between rounds.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }
}

/// Rows not yet on the current keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Remaining {
    /// Values sealed with an older encryption key.
    pub encryption: i64,
    /// Blind indexes computed with an older blind-index key.
    pub blind_index: i64,
}

/// Counts the rows not yet on the current keys.
pub async fn remaining(services: &Services) -> Result<Remaining, StoreError> {
    let pii = services.pii.clone();
    db::run(&services.pool, move |conn| {
        let (encryption, blind_index) = store::remaining(conn, &pii)?;
        Ok(Remaining {
            encryption,
            blind_index,
        })
    })
    .await
}

/// One round: every column, batch after batch, until a pass over each is complete. Calls
/// `moved(kind, rows)` after each batch that moved rows; answers the rows moved.
pub async fn run_round(
    services: &Services,
    config: &KeyRotationConfig,
    moved: impl Fn(KeyKind, usize),
) -> Result<usize, StoreError> {
    let limit = config.batch_size;
    let mut total = 0;
    for column in SEALED_COLUMNS {
        let mut after = "(0,0)".to_owned();
        loop {
            let pii = services.pii.clone();
            let from = after.clone();
            let batch = db::run(&services.pool, move |conn| {
                store::reseal_batch(conn, &pii, column, &from, limit)
            })
            .await?;
            if batch.moved > 0 {
                moved(KeyKind::Encryption, batch.moved);
                total += batch.moved;
            }
            match batch.next {
                Some(next) => after = next,
                None => break,
            }
        }
    }
    for column in INDEX_COLUMNS {
        let mut after = "(0,0)".to_owned();
        loop {
            let pii = services.pii.clone();
            let from = after.clone();
            let batch = db::run(&services.pool, move |conn| {
                store::reindex_batch(conn, &pii, column, &from, limit)
            })
            .await?;
            if batch.moved > 0 {
                moved(KeyKind::BlindIndex, batch.moved);
                total += batch.moved;
            }
            match batch.next {
                Some(next) => after = next,
                None => break,
            }
        }
    }
    Ok(total)
}

/// How many rows each key holds, `(kind, key id, rows)`.
pub fn rows_by_key(
    conn: &mut diesel::PgConnection,
) -> Result<Vec<(&'static str, String, i64)>, StoreError> {
    store::rows_by_key(conn)
}

/// The registered keys (`pii_keys`: every key made active and not yet retired) that `pii`
/// does not have, `(kind, key id)`: a server missing one of them might meet rows it cannot
/// open or find, so it refuses to start. Reads the small registry, not the rows.
pub fn missing_keys(
    conn: &mut diesel::PgConnection,
    pii: &PiiCipher,
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(store::registered(conn)?
        .into_iter()
        .filter(|(kind, id)| match kind.as_str() {
            "encryption" => !pii.has_encryption_key(id),
            _ => !pii.has_blind_index_key(id),
        })
        .collect())
}

/// Registers the active keys of `pii` (at start: the keys new rows will use).
pub fn register_active(conn: &mut diesel::PgConnection, pii: &PiiCipher) -> Result<(), StoreError> {
    store::register(conn, KeyKind::Encryption.as_str(), pii.current_key_id())?;
    store::register(
        conn,
        KeyKind::BlindIndex.as_str(),
        pii.current_blind_index_key_id(),
    )
}

/// Registers key `id` of `kind` (`zhijian keys rotate`).
pub fn register(
    conn: &mut diesel::PgConnection,
    kind: KeyKind,
    id: &str,
) -> Result<(), StoreError> {
    store::register(conn, kind.as_str(), id)
}

/// Forgets key `id` of `kind` once no row uses it (`zhijian keys retire`).
pub fn unregister(
    conn: &mut diesel::PgConnection,
    kind: KeyKind,
    id: &str,
) -> Result<(), StoreError> {
    store::unregister(conn, kind.as_str(), id)
}

/// Whether a registered key is not an active one of `pii`: a rotation may be under way, and
/// the job has rows to look for. (Steady state: `false`, and the job reads nothing else.)
pub async fn rotation_pending(services: &Services) -> Result<bool, StoreError> {
    let pii = services.pii.clone();
    db::run(&services.pool, move |conn| {
        Ok(store::registered(conn)?
            .iter()
            .any(|(kind, id)| match kind.as_str() {
                "encryption" => id != pii.current_key_id(),
                _ => id != pii.current_blind_index_key_id(),
            }))
    })
    .await
}

/// The message naming the missing keys, or `None` when every key in use is configured.
pub fn missing_keys_message(missing: &[(String, String)]) -> Option<String> {
    if missing.is_empty() {
        return None;
    }
    let list: Vec<String> = missing
        .iter()
        .map(|(kind, id)| format!("{kind} key `{id}`"))
        .collect();
    Some(format!(
        "personal data may be held under keys this configuration does not have: {}; add them back \
         to pii.encryption_keys / pii.blind_index_key or the keyring file (pii.keyring_file) \
         before starting (or, if no row uses them, `zhijian keys retire` them)",
        list.join(", ")
    ))
}
