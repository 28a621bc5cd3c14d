//! Personal data at rest: AES-256-GCM encryption with key ids (so keys can rotate) and an
//! HMAC-SHA256 blind index (so an encrypted column can still be unique and searched).
//!
//! A ciphertext is stored as one self-describing string, `v1.<key id>.<nonce>.<ciphertext>`
//! (base64url without padding), in a TEXT column. The column's name goes in as associated
//! data (the "context"), so a ciphertext copied into another column does not decrypt.

use std::fmt;
use std::str::FromStr;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::secret::Secret;

/// Id of the blind-index key of `pii.blind_index_key`: its indexes are bare hex (the form
/// written before blind-index keys had ids); the indexes of every other key are
/// `<key id>:<hex>`, so each row says which key computed it.
pub const LEGACY_BLIND_KEY_ID: &str = "b0";
/// Ids no key may take: erased rows hold `erased:<id>` placeholders in their index columns.
const RESERVED_KEY_IDS: [&str; 1] = ["erased"];

/// Format version written in front of every sealed value.
const VERSION: &str = "v1";
/// AES-256 key length.
const KEY_LEN: usize = 32;
/// Minimum blind-index key length.
const MIN_BLIND_KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

/// Why the PII keys in the configuration are unusable. Messages name the key to fix and how
/// to make a good one; they never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PiiConfigError {
    /// No encryption key configured.
    #[error(
        "pii.encryption_keys is empty: set it to `k1:<base64 of 32 bytes>` (generate a key with `openssl rand -base64 32`)"
    )]
    NoKeys,
    /// An entry is not `<key id>:<base64 key>`.
    #[error(
        "pii.encryption_keys: entry {0} is not `<key id>:<base64 key>`; the format is `k1:<base64>,k0:<base64>`, current key first"
    )]
    MalformedEntry(usize),
    /// A key id with characters the sealed format cannot carry.
    #[error("pii.encryption_keys: key id `{0}` is invalid: use letters, digits, `_` or `-`")]
    InvalidKeyId(String),
    /// The same key id twice.
    #[error("pii.encryption_keys: key id `{0}` appears twice: give every key its own id")]
    DuplicateKeyId(String),
    /// A key that is not 32 bytes of base64.
    #[error(
        "pii.encryption_keys: key `{0}` must be 32 bytes of base64 (generate with `openssl rand -base64 32`)"
    )]
    InvalidKey(String),
    /// The blind-index key is missing, not base64, or too short.
    #[error(
        "pii.blind_index_key must be at least 32 bytes of base64 (generate with `openssl rand -base64 32`)"
    )]
    InvalidBlindIndexKey,
    /// The blind-index key equals an encryption key.
    #[error("pii.blind_index_key must differ from every key of pii.encryption_keys")]
    BlindIndexKeyReused,
    /// The keyring names an active key that is not configured.
    #[error(
        "pii keyring: the active {kind} key `{id}` is neither in the keyring nor in the configuration"
    )]
    UnknownActiveKey {
        /// `encryption` or `blind index`.
        kind: &'static str,
        /// The missing id.
        id: String,
    },
}

/// Why a value could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PiiError {
    /// The stored text is not a `v1.<key id>.<nonce>.<ciphertext>` value.
    #[error("malformed sealed value")]
    Malformed,
    /// Sealed with a key this process does not have (removed from `pii.encryption_keys`?).
    #[error("sealed with unknown key `{0}`")]
    UnknownKey(String),
    /// Authentication failed: tampered, wrong key, or another column's value.
    #[error("sealed value failed authentication (tampered, or sealed for another context)")]
    Decrypt,
    /// The plaintext is not UTF-8.
    #[error("decrypted value is not UTF-8")]
    NotUtf8,
    /// Encryption failed (not expected with AES-GCM for short values).
    #[error("encryption failed")]
    Encrypt,
}

/// An encrypted value: which key sealed it, the nonce and the ciphertext (tag included).
/// `Display` writes the stored form, [`Sealed::parse`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    key_id: String,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl Sealed {
    /// Read the stored form `v1.<key id>.<nonce>.<ciphertext>`.
    pub fn parse(text: &str) -> Result<Self, PiiError> {
        let mut parts = text.split('.');
        let (Some(VERSION), Some(key_id), Some(nonce), Some(ciphertext), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(PiiError::Malformed);
        };
        if !valid_key_id(key_id) {
            return Err(PiiError::Malformed);
        }
        let nonce: [u8; NONCE_LEN] = URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or(PiiError::Malformed)?;
        let ciphertext = URL_SAFE_NO_PAD
            .decode(ciphertext)
            .map_err(|_| PiiError::Malformed)?;
        Ok(Self {
            key_id: key_id.to_owned(),
            nonce,
            ciphertext,
        })
    }

    /// Id of the key that sealed this value.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
}

impl fmt::Display for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{VERSION}.{}.{}.{}",
            self.key_id,
            URL_SAFE_NO_PAD.encode(self.nonce),
            URL_SAFE_NO_PAD.encode(&self.ciphertext)
        )
    }
}

impl FromStr for Sealed {
    type Err = PiiError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Encrypts and decrypts personal data and computes its blind index. Built once at start-up
/// from configuration; `Debug` shows key ids only.
#[derive(Clone)]
pub struct PiiCipher {
    /// `(key id, cipher)`, the current (encrypting) key first.
    keys: Vec<(String, Aes256Gcm)>,
    /// `(key id, HMAC)`, the current (indexing) key first; lookups try every one.
    blind_keys: Vec<(String, Hmac<Sha256>)>,
    /// Raw key bytes, kept only to refuse a keyring key equal to another key.
    raw: Vec<Vec<u8>>,
}

impl fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        let blind: Vec<&str> = self.blind_keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("PiiCipher")
            .field("key_ids", &ids)
            .field("blind_index_key_ids", &blind)
            .field("keys", &"<redacted>")
            .field("blind_index_key", &"<redacted>")
            .finish()
    }
}

impl PiiCipher {
    /// Build from `pii.encryption_keys` (`k1:<base64 32 bytes>,k0:<base64 32 bytes>`: the first
    /// encrypts, all decrypt) and `pii.blind_index_key` (base64, at least 32 bytes).
    pub fn from_config(keys: &Secret, blind_index_key: &Secret) -> Result<Self, PiiConfigError> {
        let mut parsed: Vec<(String, Aes256Gcm)> = Vec::new();
        let mut raw_keys: Vec<Vec<u8>> = Vec::new();
        for (index, entry) in keys.expose().split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let (id, key) = entry
                .split_once(':')
                .ok_or(PiiConfigError::MalformedEntry(index + 1))?;
            let id = id.trim();
            if !valid_key_id(id) || RESERVED_KEY_IDS.contains(&id) {
                return Err(PiiConfigError::InvalidKeyId(id.to_owned()));
            }
            if parsed.iter().any(|(known, _)| known == id) {
                return Err(PiiConfigError::DuplicateKeyId(id.to_owned()));
            }
            let bytes = STANDARD
                .decode(key.trim())
                .ok()
                .filter(|b| b.len() == KEY_LEN)
                .ok_or_else(|| PiiConfigError::InvalidKey(id.to_owned()))?;
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| PiiConfigError::InvalidKey(id.to_owned()))?;
            parsed.push((id.to_owned(), cipher));
            raw_keys.push(bytes);
        }
        if parsed.is_empty() {
            return Err(PiiConfigError::NoKeys);
        }
        let blind_key = STANDARD
            .decode(blind_index_key.expose().trim())
            .ok()
            .filter(|b| b.len() >= MIN_BLIND_KEY_LEN)
            .ok_or(PiiConfigError::InvalidBlindIndexKey)?;
        if raw_keys.contains(&blind_key) {
            return Err(PiiConfigError::BlindIndexKeyReused);
        }
        let blind_index = <Hmac<Sha256> as Mac>::new_from_slice(&blind_key)
            .map_err(|_| PiiConfigError::InvalidBlindIndexKey)?;
        raw_keys.push(blind_key);
        Ok(Self {
            keys: parsed,
            blind_keys: vec![(LEGACY_BLIND_KEY_ID.to_owned(), blind_index)],
            raw: raw_keys,
        })
    }

    /// Adds the keys of a keyring (`zhijian keys add`) to those of the configuration and makes
    /// its active keys (`zhijian keys rotate`) the ones new values are sealed and indexed with.
    pub fn with_keyring(
        mut self,
        keyring: &crate::crypto::keyring::Keyring,
    ) -> Result<Self, PiiConfigError> {
        for entry in &keyring.encryption_keys {
            let bytes = self.check_new(&entry.id, &entry.key, KEY_LEN)?;
            let cipher = Aes256Gcm::new_from_slice(&bytes)
                .map_err(|_| PiiConfigError::InvalidKey(entry.id.clone()))?;
            self.keys.push((entry.id.clone(), cipher));
            self.raw.push(bytes);
        }
        for entry in &keyring.blind_index_keys {
            let bytes = self.check_new(&entry.id, &entry.key, MIN_BLIND_KEY_LEN)?;
            let mac = <Hmac<Sha256> as Mac>::new_from_slice(&bytes)
                .map_err(|_| PiiConfigError::InvalidKey(entry.id.clone()))?;
            self.blind_keys.push((entry.id.clone(), mac));
            self.raw.push(bytes);
        }
        if let Some(active) = &keyring.active_encryption_key {
            let at = self
                .keys
                .iter()
                .position(|(id, _)| id == active)
                .ok_or_else(|| PiiConfigError::UnknownActiveKey {
                    kind: "encryption",
                    id: active.clone(),
                })?;
            let key = self.keys.remove(at);
            self.keys.insert(0, key);
        }
        if let Some(active) = &keyring.active_blind_index_key {
            let at = self
                .blind_keys
                .iter()
                .position(|(id, _)| id == active)
                .ok_or_else(|| PiiConfigError::UnknownActiveKey {
                    kind: "blind index",
                    id: active.clone(),
                })?;
            let key = self.blind_keys.remove(at);
            self.blind_keys.insert(0, key);
        }
        Ok(self)
    }

    fn check_new(&self, id: &str, key: &str, len: usize) -> Result<Vec<u8>, PiiConfigError> {
        if !valid_key_id(id) || RESERVED_KEY_IDS.contains(&id) {
            return Err(PiiConfigError::InvalidKeyId(id.to_owned()));
        }
        if self.has_encryption_key(id) || self.has_blind_index_key(id) {
            return Err(PiiConfigError::DuplicateKeyId(id.to_owned()));
        }
        let bytes = STANDARD
            .decode(key.trim())
            .ok()
            .filter(|b| b.len() == len)
            .ok_or_else(|| PiiConfigError::InvalidKey(id.to_owned()))?;
        if self.raw.contains(&bytes) {
            return Err(PiiConfigError::BlindIndexKeyReused);
        }
        Ok(bytes)
    }

    /// Ids of the encryption keys, the current one first.
    pub fn encryption_key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// Ids of the blind-index keys, the current one first.
    pub fn blind_index_key_ids(&self) -> Vec<&str> {
        self.blind_keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// Whether this process can open values sealed with key `id`.
    pub fn has_encryption_key(&self, id: &str) -> bool {
        self.keys.iter().any(|(known, _)| known == id)
    }

    /// Whether this process has the blind-index key `id`.
    pub fn has_blind_index_key(&self, id: &str) -> bool {
        self.blind_keys.iter().any(|(known, _)| known == id)
    }

    /// Id of the key new blind indexes are computed with.
    pub fn current_blind_index_key_id(&self) -> &str {
        self.blind_keys
            .first()
            .map(|(id, _)| id.as_str())
            .unwrap_or_default()
    }

    /// Id of the key new values are sealed with.
    pub fn current_key_id(&self) -> &str {
        self.keys
            .first()
            .map(|(id, _)| id.as_str())
            .unwrap_or_default()
    }

    /// Whether `sealed` was sealed with an older key and should be re-encrypted.
    pub fn needs_reencryption(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.current_key_id()
    }

    /// Seal `plaintext` with the current key, bound to `context` (the column, e.g.
    /// `resident_id`). Store `sealed.to_string()`.
    pub fn encrypt(&self, plaintext: &str, context: &str) -> Result<Sealed, PiiError> {
        let (key_id, cipher) = self.keys.first().ok_or(PiiError::Encrypt)?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| PiiError::Encrypt)?;
        Ok(Sealed {
            key_id: key_id.clone(),
            nonce: nonce.into(),
            ciphertext,
        })
    }

    /// Open a stored value sealed for `context`, with whichever configured key sealed it.
    pub fn decrypt(&self, sealed: &str, context: &str) -> Result<String, PiiError> {
        self.decrypt_sealed(&Sealed::parse(sealed)?, context)
    }

    /// Open a parsed value sealed for `context`.
    pub fn decrypt_sealed(&self, sealed: &Sealed, context: &str) -> Result<String, PiiError> {
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| *id == sealed.key_id)
            .ok_or_else(|| PiiError::UnknownKey(sealed.key_id.clone()))?;
        let nonce = Nonce::<U12>::from_slice(&sealed.nonce);
        let plaintext = cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| PiiError::Decrypt)?;
        String::from_utf8(plaintext).map_err(|_| PiiError::NotUtf8)
    }

    /// The blind index of an already normalised value: hex HMAC-SHA256 of `kind:value` under
    /// the blind-index key. Deterministic (equal values, equal index: a unique index works)
    /// and separated by `kind` (`resident_id`, `phone`), so equal strings of two kinds differ.
    ///
    /// Computed with the current blind-index key; the value names the key (`<id>:<hex>`, bare
    /// hex for [`LEGACY_BLIND_KEY_ID`]).
    pub fn blind_index(&self, kind: &str, normalised_value: &str) -> String {
        self.blind_keys
            .first()
            .map(|key| index_with(key, kind, normalised_value))
            .unwrap_or_default()
    }

    /// The blind index of a value under every blind-index key, the current one first: a
    /// lookup during a blind-index rotation finds rows under the old key and the new one.
    pub fn blind_indexes(&self, kind: &str, normalised_value: &str) -> Vec<String> {
        self.blind_keys
            .iter()
            .map(|key| index_with(key, kind, normalised_value))
            .collect()
    }
}

/// Id of the blind-index key that computed a stored index (`None` for an erased placeholder).
pub fn blind_index_key_id(stored: &str) -> Option<&str> {
    match stored.split_once(':') {
        None => Some(LEGACY_BLIND_KEY_ID),
        Some(("erased", _)) => None,
        Some((id, _)) => Some(id),
    }
}

fn index_with(key: &(String, Hmac<Sha256>), kind: &str, value: &str) -> String {
    let (id, mac) = key;
    let mut mac = mac.clone();
    mac.update(kind.as_bytes());
    mac.update(b":");
    mac.update(value.as_bytes());
    let hex = hex::encode(mac.finalize().into_bytes());
    if id == LEGACY_BLIND_KEY_ID {
        hex
    } else {
        format!("{id}:{hex}")
    }
}

fn valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; 32])
    }

    fn cipher(keys: &str) -> PiiCipher {
        PiiCipher::from_config(&Secret::new(keys), &Secret::new(key(0xBB))).unwrap()
    }

    fn both() -> PiiCipher {
        cipher(&format!("k1:{},k0:{}", key(1), key(0)))
    }

    #[test]
    fn a_value_round_trips_through_its_stored_form() {
        let cipher = both();
        let sealed = cipher.encrypt("110101199003074477", "resident_id").unwrap();
        let stored = sealed.to_string();
        assert!(stored.starts_with("v1.k1."), "{stored}");
        assert!(!stored.contains("110101199003074477"));
        assert_eq!(Sealed::parse(&stored).unwrap(), sealed);
        assert_eq!(
            cipher.decrypt(&stored, "resident_id").unwrap(),
            "110101199003074477"
        );
    }

    #[test]
    fn the_same_value_seals_differently_each_time() {
        let cipher = both();
        let a = cipher.encrypt("13800001234", "phone").unwrap().to_string();
        let b = cipher.encrypt("13800001234", "phone").unwrap().to_string();
        assert_ne!(a, b);
    }

    #[test]
    fn tampering_is_detected() {
        let cipher = both();
        let mut sealed = cipher.encrypt("13800001234", "phone").unwrap();
        sealed.ciphertext[0] ^= 1;
        assert_eq!(
            cipher.decrypt(&sealed.to_string(), "phone"),
            Err(PiiError::Decrypt)
        );
        let mut sealed = cipher.encrypt("13800001234", "phone").unwrap();
        sealed.nonce[0] ^= 1;
        assert_eq!(
            cipher.decrypt_sealed(&sealed, "phone"),
            Err(PiiError::Decrypt)
        );
    }

    #[test]
    fn a_value_sealed_for_one_column_does_not_open_in_another() {
        let cipher = both();
        let stored = cipher.encrypt("13800001234", "phone").unwrap().to_string();
        assert_eq!(
            cipher.decrypt(&stored, "resident_id"),
            Err(PiiError::Decrypt)
        );
    }

    #[test]
    fn an_old_key_still_opens_what_it_sealed_after_rotation() {
        let before = cipher(&format!("k0:{}", key(0)));
        let stored = before.encrypt("13800001234", "phone").unwrap().to_string();
        assert!(stored.starts_with("v1.k0."));

        let after = both();
        assert_eq!(after.current_key_id(), "k1");
        assert_eq!(after.decrypt(&stored, "phone").unwrap(), "13800001234");
        assert!(after.needs_reencryption(&Sealed::parse(&stored).unwrap()));
        let resealed = after.encrypt("13800001234", "phone").unwrap();
        assert!(!after.needs_reencryption(&resealed));

        let without_k0 = cipher(&format!("k1:{}", key(1)));
        assert_eq!(
            without_k0.decrypt(&stored, "phone"),
            Err(PiiError::UnknownKey("k0".to_owned()))
        );
    }

    #[test]
    fn a_key_with_the_same_id_but_other_bytes_fails_authentication() {
        let stored = cipher(&format!("k1:{}", key(1)))
            .encrypt("x", "phone")
            .unwrap()
            .to_string();
        assert_eq!(
            cipher(&format!("k1:{}", key(2))).decrypt(&stored, "phone"),
            Err(PiiError::Decrypt)
        );
    }

    #[test]
    fn malformed_stored_values_are_refused() {
        let cipher = both();
        for bad in [
            "",
            "v1",
            "v2.k1.AAAAAAAAAAAAAAAA.AAAA",
            "v1.k1.AAAA.AAAA",
            "v1.k1.!!!.AAAA",
            "v1.k.1.AAAAAAAAAAAAAAAA.AA",
            "13800001234",
        ] {
            assert_eq!(
                cipher.decrypt(bad, "phone"),
                Err(PiiError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_blind_index_is_deterministic_and_separated_by_kind() {
        let cipher = both();
        let a = cipher.blind_index("phone", "13800001234");
        assert_eq!(a, cipher.blind_index("phone", "13800001234"));
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, cipher.blind_index("resident_id", "13800001234"));
        assert_ne!(a, cipher.blind_index("phone", "13800001235"));
        // Another blind-index key gives another index.
        let other = PiiCipher::from_config(
            &Secret::new(format!("k1:{}", key(1))),
            &Secret::new(key(0xCC)),
        )
        .unwrap();
        assert_ne!(a, other.blind_index("phone", "13800001234"));
    }

    #[test]
    fn the_blind_index_matches_an_independent_hmac() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"\xbb"*32, b"phone:13800001234", hashlib.sha256).hexdigest())'
        assert_eq!(
            both().blind_index("phone", "13800001234"),
            "941fa64f78a82074a94471912120f9e1dea5e51689b8b0e4b3c1b14aeb082ce5"
        );
    }

    #[test]
    fn debug_shows_key_ids_but_no_key() {
        let printed = format!("{:?}", both());
        assert!(
            printed.contains("k1") && printed.contains("k0"),
            "{printed}"
        );
        assert!(!printed.contains(&key(1)), "{printed}");
    }

    #[test]
    fn configuration_errors_name_what_to_fix() {
        let blind = Secret::new(key(0xBB));
        let error = |keys: &str| PiiCipher::from_config(&Secret::new(keys), &blind).unwrap_err();
        assert_eq!(error(""), PiiConfigError::NoKeys);
        assert_eq!(error(" , "), PiiConfigError::NoKeys);
        assert_eq!(error(&key(1)), PiiConfigError::MalformedEntry(1));
        assert_eq!(
            error(&format!("k1:{},k.0:{}", key(1), key(0))),
            PiiConfigError::InvalidKeyId("k.0".to_owned())
        );
        assert_eq!(
            error(&format!("k1:{},k1:{}", key(1), key(0))),
            PiiConfigError::DuplicateKeyId("k1".to_owned())
        );
        let short = STANDARD.encode([1_u8; 16]);
        let message = error(&format!("k1:{short}")).to_string();
        assert_eq!(
            message,
            "pii.encryption_keys: key `k1` must be 32 bytes of base64 (generate with `openssl rand -base64 32`)"
        );
        assert!(!message.contains(&short));
        assert_eq!(
            error("k1:not base64!"),
            PiiConfigError::InvalidKey("k1".to_owned())
        );

        let keys = Secret::new(format!("k1:{}", key(1)));
        assert_eq!(
            PiiCipher::from_config(&keys, &Secret::new("")).unwrap_err(),
            PiiConfigError::InvalidBlindIndexKey
        );
        assert_eq!(
            PiiCipher::from_config(&keys, &Secret::new(STANDARD.encode([7_u8; 31]))).unwrap_err(),
            PiiConfigError::InvalidBlindIndexKey
        );
        assert_eq!(
            PiiCipher::from_config(&keys, &Secret::new(key(1))).unwrap_err(),
            PiiConfigError::BlindIndexKeyReused
        );
    }

    #[test]
    fn keys_as_openssl_prints_them_are_accepted() {
        // `openssl rand -base64 32` prints 44 characters with one `=`; spaces around entries
        // are tolerated.
        let keys = format!(" k2 : {} , k1:{} ", key(2), key(1));
        assert_eq!(key(2).len(), 44);
        assert_eq!(cipher(&keys).current_key_id(), "k2");
    }
}
