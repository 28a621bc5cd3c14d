//! The keyring file (`pii.keyring_file`): the keys added in service by `zhijian keys add`,
//! and which key seals and which key indexes new values (`zhijian keys rotate`).
//!
//! The keys of the configuration (`pii.encryption_keys`, `pii.blind_index_key`, id
//! [`crate::crypto::pii::LEGACY_BLIND_KEY_ID`]) stay valid; the keyring adds to them. The file
//! is JSON, written whole to a temporary file and renamed (a crash never leaves half a
//! keyring), with mode 0600:
//!
//! ```json
//! {"encryption_keys": [{"id": "k2", "key": "<base64 of 32 bytes>"}],
//!  "blind_index_keys": [{"id": "b1", "key": "<base64 of 32 bytes>"}],
//!  "active_encryption_key": "k2", "active_blind_index_key": "b1"}
//! ```

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Which kind of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An AES-256-GCM key sealing resident IDs, phones and second-factor secrets.
    Encryption,
    /// An HMAC-SHA256 key computing the blind indexes.
    BlindIndex,
}

impl KeyKind {
    /// The label in `/metrics`, the log and the command's output.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Encryption => "encryption",
            KeyKind::BlindIndex => "blind_index",
        }
    }
}

/// One key of the keyring. `Debug` never prints the key.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyEntry {
    /// The key id carried by every value it seals or indexes.
    pub id: String,
    /// Base64 of the key bytes.
    pub key: String,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The keyring file's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Keyring {
    /// Encryption keys added in service.
    pub encryption_keys: Vec<KeyEntry>,
    /// Blind-index keys added in service.
    pub blind_index_keys: Vec<KeyEntry>,
    /// The key new values are sealed with (when absent: the first of `pii.encryption_keys`).
    pub active_encryption_key: Option<String>,
    /// The key new indexes are computed with (when absent: `pii.blind_index_key`).
    pub active_blind_index_key: Option<String>,
}

impl Keyring {
    /// Reads the keyring at `path`; a file that does not exist is an empty keyring.
    pub fn load(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| format!("pii.keyring_file {}: not a keyring: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("pii.keyring_file {}: {e}", path.display())),
        }
    }

    /// Writes the keyring to `path` (temporary file, then rename; mode 0600).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let temporary = path.with_extension("tmp");
        write_private(&temporary, text.as_bytes())
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(|e| format!("cannot write pii.keyring_file {}: {e}", path.display()))
    }

    /// Adds a new random key of `kind` named `id`.
    pub fn add(&mut self, kind: KeyKind, id: &str) {
        let mut bytes = [0_u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        self.keys_mut(kind).push(KeyEntry {
            id: id.to_owned(),
            key: STANDARD.encode(bytes),
        });
    }

    /// Makes `id` the active key of `kind`.
    pub fn activate(&mut self, kind: KeyKind, id: &str) {
        let active = match kind {
            KeyKind::Encryption => &mut self.active_encryption_key,
            KeyKind::BlindIndex => &mut self.active_blind_index_key,
        };
        *active = Some(id.to_owned());
    }

    /// Removes key `id` of `kind`; answers whether the keyring held it.
    pub fn remove(&mut self, kind: KeyKind, id: &str) -> bool {
        let keys = self.keys_mut(kind);
        let before = keys.len();
        keys.retain(|k| k.id != id);
        keys.len() != before
    }

    /// The active id of `kind`, when the keyring names one.
    pub fn active(&self, kind: KeyKind) -> Option<&str> {
        match kind {
            KeyKind::Encryption => self.active_encryption_key.as_deref(),
            KeyKind::BlindIndex => self.active_blind_index_key.as_deref(),
        }
    }

    fn keys_mut(&mut self, kind: KeyKind) -> &mut Vec<KeyEntry> {
        match kind {
            KeyKind::Encryption => &mut self.encryption_keys,
            KeyKind::BlindIndex => &mut self.blind_index_keys,
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::pii::PiiCipher;
    use crate::crypto::secret::Secret;

    fn base() -> PiiCipher {
        PiiCipher::from_config(
            &Secret::new(format!("k1:{}", STANDARD.encode([1_u8; 32]))),
            &Secret::new(STANDARD.encode([0xBB_u8; 32])),
        )
        .unwrap()
    }

    #[test]
    fn a_rotated_keyring_seals_and_indexes_with_its_keys_and_still_opens_the_old_ones() {
        let before = base();
        let old_sealed = before.encrypt("13800001234", "phone").unwrap().to_string();
        let old_index = before.blind_index("phone", "13800001234");

        let mut ring = Keyring::default();
        ring.add(KeyKind::Encryption, "k2");
        ring.add(KeyKind::BlindIndex, "b1");
        // Added but not active: nothing changes for new values.
        let added = base().with_keyring(&ring).unwrap();
        assert_eq!(added.current_key_id(), "k1");
        assert_eq!(added.blind_index("phone", "13800001234"), old_index);

        ring.activate(KeyKind::Encryption, "k2");
        ring.activate(KeyKind::BlindIndex, "b1");
        let after = base().with_keyring(&ring).unwrap();
        assert_eq!(after.current_key_id(), "k2");
        assert!(
            after
                .encrypt("x", "phone")
                .unwrap()
                .to_string()
                .starts_with("v1.k2.")
        );
        assert_eq!(after.decrypt(&old_sealed, "phone").unwrap(), "13800001234");
        let new_index = after.blind_index("phone", "13800001234");
        assert!(new_index.starts_with("b1:"), "{new_index}");
        assert_eq!(
            after.blind_indexes("phone", "13800001234"),
            vec![new_index.clone(), old_index.clone()]
        );
        assert_eq!(
            crate::crypto::pii::blind_index_key_id(&new_index),
            Some("b1")
        );
        assert_eq!(
            crate::crypto::pii::blind_index_key_id(&old_index),
            Some("b0")
        );
        assert_eq!(crate::crypto::pii::blind_index_key_id("erased:abc"), None);
        assert!(!format!("{ring:?}").contains(&ring.encryption_keys[0].key));
    }

    #[test]
    fn a_keyring_naming_an_unknown_active_key_or_a_duplicate_id_is_refused() {
        let mut ring = Keyring::default();
        ring.activate(KeyKind::Encryption, "k9");
        assert!(base().with_keyring(&ring).is_err());
        let mut ring = Keyring::default();
        ring.add(KeyKind::Encryption, "k1");
        assert!(base().with_keyring(&ring).is_err());
        let mut ring = Keyring::default();
        ring.add(KeyKind::BlindIndex, "erased");
        assert!(base().with_keyring(&ring).is_err());
    }

    #[test]
    fn the_keyring_survives_a_save_and_a_load() {
        let dir = std::env::temp_dir().join(format!("keyring-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keyring.json");
        assert!(Keyring::load(&path).unwrap().encryption_keys.is_empty());
        let mut ring = Keyring::default();
        ring.add(KeyKind::Encryption, "k2");
        ring.activate(KeyKind::Encryption, "k2");
        ring.save(&path).unwrap();
        let loaded = Keyring::load(&path).unwrap();
        assert_eq!(loaded.active(KeyKind::Encryption), Some("k2"));
        assert_eq!(loaded.encryption_keys[0].key, ring.encryption_keys[0].key);
        let mut loaded = loaded;
        assert!(loaded.remove(KeyKind::Encryption, "k2"));
        assert!(!loaded.remove(KeyKind::Encryption, "k2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
