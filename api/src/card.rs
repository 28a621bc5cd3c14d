//! The electronic member card: a short-lived, signed payload for a QR code.
//!
//! Signed with HS256 under `card.signing_key` (separate from the access-token key), carrying
//! only the opaque member id and the card's lifetime — no personal data — so a service station
//! can verify it through the API without learning the member's ID number.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::settings::CardConfig;

/// The longest payload accepted for verification (a real one is about 200 characters).
pub const MAX_PAYLOAD_LEN: usize = 2048;

/// `typ` of a card payload; an access token is never accepted as a card, nor the reverse.
const CARD_TYPE: &str = "member_card";

#[derive(Debug, Serialize, Deserialize)]
struct CardClaims {
    typ: String,
    sub: uuid::Uuid,
    iat: i64,
    exp: i64,
}

/// Signs a card for member `member` valid from `now` for `card.ttl_secs`.
pub fn issue(
    config: &CardConfig,
    member: uuid::Uuid,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), ApiError> {
    let ttl = i64::try_from(config.ttl_secs).map_err(ApiError::internal)?;
    let expires_at = now + chrono::TimeDelta::seconds(ttl);
    let claims = CardClaims {
        typ: CARD_TYPE.to_owned(),
        sub: member,
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
    };
    let key = EncodingKey::from_secret(config.signing_key.expose().as_bytes());
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
        .map_err(ApiError::internal)?;
    Ok((token, expires_at))
}

/// Why a card payload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardRejected {
    /// Not a card of ours (bad signature, wrong algorithm or type, malformed).
    Invalid,
    /// Past its lifetime.
    Expired,
}

/// Checks a card payload; returns the member id.
pub fn verify(
    config: &CardConfig,
    payload: &str,
    now: DateTime<Utc>,
) -> Result<uuid::Uuid, CardRejected> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(CardRejected::Invalid);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let key = DecodingKey::from_secret(config.signing_key.expose().as_bytes());
    let claims = jsonwebtoken::decode::<CardClaims>(payload, &key, &validation)
        .map_err(|_| CardRejected::Invalid)?
        .claims;
    if claims.typ != CARD_TYPE {
        return Err(CardRejected::Invalid);
    }
    if claims.exp < now.timestamp() {
        return Err(CardRejected::Expired);
    }
    Ok(claims.sub)
}

/// A name as shown to a verifier: the first character, the rest masked but the last (`张*丰`).
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_owned(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zhijian_infra::crypto::secret::Secret;

    fn config(key: &str) -> CardConfig {
        CardConfig {
            signing_key: Secret::new(key),
            ttl_secs: 300,
        }
    }

    #[test]
    fn a_card_verifies_until_it_expires_and_only_under_its_key() {
        let now = Utc::now();
        let member = uuid::Uuid::new_v4();
        let (card, expires) = issue(&config("k".repeat(32).as_str()), member, now).unwrap();
        assert_eq!(expires - now, chrono::TimeDelta::seconds(300));
        assert_eq!(verify(&config(&"k".repeat(32)), &card, now), Ok(member));
        assert_eq!(
            verify(
                &config(&"k".repeat(32)),
                &card,
                now + chrono::TimeDelta::seconds(301)
            ),
            Err(CardRejected::Expired)
        );
        assert_eq!(
            verify(&config(&"x".repeat(32)), &card, now),
            Err(CardRejected::Invalid)
        );
        assert_eq!(
            verify(&config(&"k".repeat(32)), "not-a-card", now),
            Err(CardRejected::Invalid)
        );
    }

    #[test]
    fn names_are_masked_for_verifiers() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("张三丰"), "张*丰");
        assert_eq!(mask_name("欧阳修文"), "欧**文");
    }
}
