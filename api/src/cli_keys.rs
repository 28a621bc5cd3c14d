//! `zhijian keys status | add | rotate | retire`: the keys of personal data in service.
//!
//! Keys added here go to the keyring file (`pii.keyring_file`, JSON, mode 0600), next to the
//! keys of the configuration (`pii.encryption_keys`, `pii.blind_index_key` = blind-index key
//! `b0`). `rotate` makes a key the one new values are sealed (or indexed) with; servers read
//! the keyring when they start, so restart them after a rotation. Their key-rotation job then
//! moves older rows to it in batches (`zhijian_key_rotation_remaining{kind}` in `/metrics`).
//! `retire` removes a key only when no row uses it any more.

use zhijian_infra::crypto::keyring::{KeyKind, Keyring};
use zhijian_infra::usecases::key_rotation;

use crate::settings::Settings;

/// Usage of `zhijian keys`.
pub const USAGE: &str = "usage: zhijian keys status
       zhijian keys add [--blind-index] ID      add a new random key to pii.keyring_file
       zhijian keys rotate [--blind-index] ID   seal (or index) new values with key ID
       zhijian keys retire [--blind-index] ID   remove key ID once no row uses it";

/// Runs `zhijian keys ARGS…`; the message of an `Err` is for the operator.
pub fn run(settings: &Settings, args: &[String]) -> Result<(), String> {
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    let (kind, id) = match rest {
        [] => (KeyKind::Encryption, None),
        [id] => (KeyKind::Encryption, Some(id.as_str())),
        [flag, id] if flag == "--blind-index" => (KeyKind::BlindIndex, Some(id.as_str())),
        _ => return Err(USAGE.to_owned()),
    };
    match (command.as_str(), id) {
        ("status", None) => status(settings),
        ("add", Some(id)) => add(settings, kind, id),
        ("rotate", Some(id)) => rotate(settings, kind, id),
        ("retire", Some(id)) => retire(settings, kind, id),
        _ => Err(USAGE.to_owned()),
    }
}

fn keyring_path(settings: &Settings) -> Result<&std::path::Path, String> {
    settings.pii.keyring_file.as_deref().ok_or_else(|| {
        "pii.keyring_file is not set: set it (APP__PII__KEYRING_FILE) to the path of the keyring \
         file the servers read"
            .to_owned()
    })
}

fn rows_by_key(settings: &Settings) -> Result<Vec<(&'static str, String, i64)>, String> {
    let mut conn = zhijian_infra::db::connect(&settings.database)
        .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
    key_rotation::rows_by_key(&mut conn).map_err(|e| format!("cannot count the rows by key: {e}"))
}

fn status(settings: &Settings) -> Result<(), String> {
    let pii = settings.pii_cipher()?;
    let rows = rows_by_key(settings)?;
    let count = |kind: &str, id: &str| {
        rows.iter()
            .find(|(k, i, _)| *k == kind && i == id)
            .map_or(0, |(_, _, n)| *n)
    };
    for (kind, ids) in [
        ("encryption", pii.encryption_key_ids()),
        ("blind_index", pii.blind_index_key_ids()),
    ] {
        for (at, id) in ids.iter().enumerate() {
            let mark = if at == 0 { " (active)" } else { "" };
            println!("{kind} key {id}{mark}: {} rows", count(kind, id));
        }
    }
    for (kind, id, n) in &rows {
        let known = match *kind {
            "encryption" => pii.has_encryption_key(id),
            _ => pii.has_blind_index_key(id),
        };
        if !known {
            println!("{kind} key {id} (MISSING from this configuration): {n} rows");
        }
    }
    Ok(())
}

fn add(settings: &Settings, kind: KeyKind, id: &str) -> Result<(), String> {
    let path = keyring_path(settings)?;
    let mut keyring = Keyring::load(path)?;
    keyring.add(kind, id);
    check(settings, &keyring)?;
    keyring.save(path)?;
    println!(
        "{} key {id} added to {}; `zhijian keys rotate{} {id}` makes it the active one",
        kind.as_str(),
        path.display(),
        flag(kind)
    );
    Ok(())
}

fn rotate(settings: &Settings, kind: KeyKind, id: &str) -> Result<(), String> {
    let path = keyring_path(settings)?;
    let mut keyring = Keyring::load(path)?;
    keyring.activate(kind, id);
    check(settings, &keyring)?;
    // Registered first: from now on a server without this key refuses to start.
    let mut conn = zhijian_infra::db::connect(&settings.database)
        .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
    key_rotation::register(&mut conn, kind, id)
        .map_err(|e| format!("cannot register {id}: {e}"))?;
    keyring.save(path)?;
    println!(
        "{} key {id} is active for new writes: restart the servers; their key-rotation job \
         moves older rows to it (zhijian_key_rotation_remaining in /metrics)",
        kind.as_str()
    );
    Ok(())
}

fn retire(settings: &Settings, kind: KeyKind, id: &str) -> Result<(), String> {
    let pii = settings.pii_cipher()?;
    let active = match kind {
        KeyKind::Encryption => pii.current_key_id(),
        KeyKind::BlindIndex => pii.current_blind_index_key_id(),
    };
    if active == id {
        return Err(format!(
            "{} key {id} is the active key: rotate to another key first",
            kind.as_str()
        ));
    }
    let known = match kind {
        KeyKind::Encryption => pii.has_encryption_key(id),
        KeyKind::BlindIndex => pii.has_blind_index_key(id),
    };
    if !known {
        return Err(format!("there is no {} key {id}", kind.as_str()));
    }
    let used = rows_by_key(settings)?
        .into_iter()
        .find(|(k, i, _)| *k == kind.as_str() && i == id)
        .map_or(0, |(_, _, n)| n);
    if used > 0 {
        return Err(format!(
            "{} key {id} is still used by {used} rows: wait for the key-rotation job (see \
             `zhijian keys status`)",
            kind.as_str()
        ));
    }
    let mut conn = zhijian_infra::db::connect(&settings.database)
        .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
    key_rotation::unregister(&mut conn, kind, id)
        .map_err(|e| format!("cannot unregister {id}: {e}"))?;
    let path = keyring_path(settings)?;
    let mut keyring = Keyring::load(path)?;
    if keyring.remove(kind, id) {
        keyring.save(path)?;
        println!("{} key {id} retired: no row uses it", kind.as_str());
    } else {
        println!(
            "no row uses {} key {id}: remove it from {}",
            kind.as_str(),
            match kind {
                KeyKind::Encryption => "pii.encryption_keys",
                KeyKind::BlindIndex => "pii.blind_index_key",
            }
        );
    }
    Ok(())
}

/// The configuration with `keyring` must still make a cipher (ids unique and valid, the
/// active keys known).
fn check(settings: &Settings, keyring: &Keyring) -> Result<(), String> {
    let base = zhijian_infra::crypto::pii::PiiCipher::from_config(
        &settings.pii.encryption_keys,
        &settings.pii.blind_index_key,
    )
    .map_err(|e| e.to_string())?;
    base.with_keyring(keyring)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn flag(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Encryption => "",
        KeyKind::BlindIndex => " --blind-index",
    }
}
