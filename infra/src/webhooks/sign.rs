//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): a request carries
//! `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`, a space-separated
//! list of `v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`, one per secret live
//! during a rotation overlap. A secret is written `whsec_<base64 of the key>`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The prefix of a written secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a timestamp may be from the verifier's clock (the spec's recommendation).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;
/// Key bytes of a generated secret.
const GENERATED_LEN: usize = 32;
/// Shortest key accepted when parsing (the spec's libraries accept 24-byte keys).
const MIN_LEN: usize = 24;
/// Longest key accepted.
const MAX_LEN: usize = 64;

/// A webhook signing key. Its `Debug` does not print the key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

/// Why a written secret is not a `whsec_` secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No `whsec_` prefix.
    #[error("a webhook secret starts with whsec_")]
    Prefix,
    /// Not base64 after the prefix.
    #[error("a webhook secret is whsec_ followed by base64")]
    Base64,
    /// Fewer than 24 or more than 64 bytes.
    #[error("a webhook secret holds 24 to 64 bytes")]
    Length,
}

impl WebhookSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut key = vec![0_u8; GENERATED_LEN];
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    /// Parses `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SecretError::Prefix)?;
        let key = STANDARD.decode(encoded).map_err(|_| SecretError::Base64)?;
        if !(MIN_LEN..=MAX_LEN).contains(&key.len()) {
            return Err(SecretError::Length);
        }
        Ok(Self(key))
    }

    /// The written form, `whsec_<base64>`: shown to the partner once, and sealed at rest.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts a key of any length.
        match <Hmac<Sha256> as Mac>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(whsec_…)")
    }
}

impl FromStr for WebhookSecret {
    type Err = SecretError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn signed_content(mac: &mut Hmac<Sha256>, msg_id: &str, ts: i64, body: &[u8]) {
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(ts.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
}

/// One signature, `v1,<base64>`.
pub fn signature(secret: &WebhookSecret, msg_id: &str, ts: i64, body: &[u8]) -> String {
    let mut mac = secret.mac();
    signed_content(&mut mac, msg_id, ts, body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per live secret, space-separated (two during
/// a rotation overlap, so a receiver holding either secret accepts).
pub fn header_value(secrets: &[WebhookSecret], msg_id: &str, ts: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| signature(secret, msg_id, ts, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a received webhook does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The timestamp is further than [`TOLERANCE_SECONDS`] from now.
    #[error("the timestamp is too old or in the future")]
    Timestamp,
    /// No `v1` signature in the header matches.
    #[error("no signature matches")]
    Signature,
}

/// Checks a received webhook the way a partner would: the timestamp within
/// [`TOLERANCE_SECONDS`] of `now` (Unix seconds), and one `v1,` signature of `header` made
/// with `secret` (compared in constant time).
pub fn verify(
    secret: &WebhookSecret,
    msg_id: &str,
    ts: i64,
    body: &[u8],
    header: &str,
    now: i64,
) -> Result<(), VerifyError> {
    if (now - ts).abs() > TOLERANCE_SECONDS {
        return Err(VerifyError::Timestamp);
    }
    let matched = header
        .split(' ')
        .filter_map(|part| part.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|candidate| {
            let mut mac = secret.mac();
            signed_content(&mut mac, msg_id, ts, body);
            mac.verify_slice(&candidate).is_ok()
        });
    if matched {
        Ok(())
    } else {
        Err(VerifyError::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries (and Svix's documentation).
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TS: i64 = 1_614_265_330;
    const VECTOR_BODY: &str = r#"{"test": 2432232314}"#;
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn the_reference_vector_signs_and_verifies() {
        let secret = WebhookSecret::parse(VECTOR_SECRET).unwrap();
        let signed = signature(&secret, VECTOR_ID, VECTOR_TS, VECTOR_BODY.as_bytes());
        assert_eq!(signed, VECTOR_SIGNATURE);
        assert_eq!(
            verify(
                &secret,
                VECTOR_ID,
                VECTOR_TS,
                VECTOR_BODY.as_bytes(),
                VECTOR_SIGNATURE,
                VECTOR_TS + 10
            ),
            Ok(())
        );
    }

    #[test]
    fn a_changed_body_id_timestamp_or_secret_does_not_verify() {
        let secret = WebhookSecret::parse(VECTOR_SECRET).unwrap();
        let body = VECTOR_BODY.as_bytes();
        let sig = VECTOR_SIGNATURE;
        let ts = VECTOR_TS;
        assert_eq!(
            verify(&secret, VECTOR_ID, ts, b"{\"test\": 1}", sig, ts),
            Err(VerifyError::Signature)
        );
        assert_eq!(
            verify(&secret, "msg_other", ts, body, sig, ts),
            Err(VerifyError::Signature)
        );
        assert_eq!(
            verify(&secret, VECTOR_ID, ts + 1, body, sig, ts),
            Err(VerifyError::Signature)
        );
        assert_eq!(
            verify(&WebhookSecret::generate(), VECTOR_ID, ts, body, sig, ts),
            Err(VerifyError::Signature)
        );
        assert_eq!(
            verify(
                &secret,
                VECTOR_ID,
                ts,
                body,
                sig,
                ts + TOLERANCE_SECONDS + 1
            ),
            Err(VerifyError::Timestamp)
        );
        assert_eq!(
            verify(&secret, VECTOR_ID, ts, body, "v2,abc v1,not-base64", ts),
            Err(VerifyError::Signature)
        );
    }

    #[test]
    fn during_rotation_either_secret_verifies_the_header() {
        let (old, new) = (WebhookSecret::generate(), WebhookSecret::generate());
        let header = header_value(&[new.clone(), old.clone()], "msg_1", 1_700_000_000, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        for secret in [&old, &new] {
            assert_eq!(
                verify(
                    secret,
                    "msg_1",
                    1_700_000_000,
                    b"{}",
                    &header,
                    1_700_000_000
                ),
                Ok(())
            );
        }
    }

    #[test]
    fn secrets_round_trip_and_bad_ones_are_refused() {
        let secret = WebhookSecret::generate();
        let written = secret.expose();
        assert!(written.starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&written).unwrap(), secret);
        assert!(!format!("{secret:?}").contains(&written[6..]));
        assert_eq!(
            WebhookSecret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::Prefix)
        );
        assert_eq!(WebhookSecret::parse("whsec_%%%"), Err(SecretError::Base64));
        assert_eq!(WebhookSecret::parse("whsec_AAAA"), Err(SecretError::Length));
    }
}
