//! TOTP (RFC 6238) for the admins' second factor, with `totp-rs`: HMAC-SHA-1, six digits,
//! 30-second steps, one step of skew (the rules of `zhijian_domain::second_factor`); the
//! `otpauth://` URI authenticator apps read, and its QR code as SVG; recovery codes.
//!
//! Secrets are 20 random bytes (160 bits, RFC 4226's recommendation), shown once as base32 and
//! stored sealed with the PII cipher. Nothing here logs a secret or a code.

use qrcode::QrCode;
use qrcode::render::svg;
use rand::Rng;
use rand::RngCore;
use totp_rs::{Algorithm, Builder, Secret, Totp};
use zhijian_domain::second_factor::{
    DIGITS, ISSUER, RECOVERY_ALPHABET, RECOVERY_CODE_LEN, RecoveryCode, SKEW_STEPS, STEP_SECS,
    TotpCode,
};

/// Bytes of a new secret.
pub const SECRET_BYTES: usize = 20;

/// A stored secret that does not decode (not base32, or too short).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the TOTP secret is not valid base32 of at least 128 bits")]
pub struct BadSecret;

/// A TOTP secret, held as its base32 text; `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(String);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    /// A new random secret (the thread-local CSPRNG, seeded from the OS).
    pub fn generate() -> Self {
        let mut bytes = [0_u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self::from_bytes(&bytes)
    }

    /// The secret of these bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Secret::from(bytes).to_base32())
    }

    /// Reads a base32 secret (upper case, no padding, as stored and shown); refuses one
    /// shorter than 128 bits.
    pub fn from_base32(text: &str) -> Result<Self, BadSecret> {
        let bytes = Secret::try_from_base32(text.trim()).map_err(|_| BadSecret)?;
        if bytes.as_bytes().len() < 16 {
            return Err(BadSecret);
        }
        Ok(Self::from_bytes(bytes.as_bytes()))
    }

    /// The base32 text (secret: show it once, store it sealed).
    pub fn expose_base32(&self) -> &str {
        &self.0
    }

    fn totp(&self) -> Result<Totp, BadSecret> {
        totp_with(&self.0, DIGITS)
    }

    /// The code of Unix time `unix_secs`.
    pub fn code_at(&self, unix_secs: u64) -> Result<String, BadSecret> {
        Ok(self.totp()?.generate(unix_secs).to_string())
    }

    /// The time step `code` matches at `unix_secs` (the current step, or one either side), if
    /// any. Whether that step is still unused is the caller's rule
    /// (`zhijian_domain::second_factor::fresh_step`).
    pub fn matching_step(&self, code: &TotpCode, unix_secs: u64) -> Result<Option<u64>, BadSecret> {
        Ok(self.totp()?.check(code.as_str(), unix_secs))
    }

    /// `otpauth://totp/zhijian:<username>?secret=…&issuer=zhijian` (usernames are
    /// `a-z 0-9 _ . -`, which need no escaping).
    pub fn otpauth_uri(&self, username: &str) -> String {
        format!(
            "otpauth://totp/{ISSUER}:{username}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            self.0
        )
    }
}

fn totp_with(base32: &str, digits: usize) -> Result<Totp, BadSecret> {
    let secret = Secret::try_from_base32(base32).map_err(|_| BadSecret)?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(u8::try_from(digits).map_err(|_| BadSecret)?)
        .with_skew(u16::try_from(SKEW_STEPS).map_err(|_| BadSecret)?)
        .with_step_duration(STEP_SECS)
        .with_secret(secret)
        .build()
        .map_err(|_| BadSecret)
}

/// The QR code of `text` as a standalone SVG document (black on white, quiet zone included).
pub fn qr_svg(text: &str) -> Result<String, String> {
    let code = QrCode::new(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build())
}

/// A new random recovery code.
pub fn generate_recovery_code() -> RecoveryCode {
    let mut rng = rand::rng();
    let text: String = (0..RECOVERY_CODE_LEN)
        .map(|_| char::from(RECOVERY_ALPHABET[rng.random_range(0..RECOVERY_ALPHABET.len())]))
        .collect();
    // Made of the alphabet and of the right length, so it parses.
    RecoveryCode::parse(&text).unwrap_or_else(|_| generate_recovery_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1: the seed is the ASCII of "12345678901234567890".
    const RFC_SEED: &[u8] = b"12345678901234567890";
    const RFC_VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    #[test]
    fn the_rfc_6238_sha1_test_vectors_hold() {
        let secret = TotpSecret::from_bytes(RFC_SEED);
        let eight = totp_with(secret.expose_base32(), 8).unwrap();
        for (time, expected) in RFC_VECTORS {
            assert_eq!(eight.generate(time).to_string(), expected, "T = {time}");
            // Six digits are the last six of the eight (the same truncation, mod 10^6).
            assert_eq!(secret.code_at(time).unwrap(), expected[2..], "T = {time}");
        }
    }

    #[test]
    fn a_code_matches_its_step_and_one_step_either_side_only() {
        let secret = TotpSecret::from_bytes(RFC_SEED);
        let code = TotpCode::parse(&secret.code_at(1_111_111_109).unwrap()).unwrap();
        let step = 1_111_111_109 / 30;
        assert_eq!(
            secret.matching_step(&code, 1_111_111_109).unwrap(),
            Some(step)
        );
        assert_eq!(
            secret.matching_step(&code, 1_111_111_109 + 30).unwrap(),
            Some(step)
        );
        assert_eq!(
            secret.matching_step(&code, 1_111_111_109 - 30).unwrap(),
            Some(step)
        );
        assert_eq!(
            secret.matching_step(&code, 1_111_111_109 + 90).unwrap(),
            None
        );
        let other = TotpSecret::generate();
        assert_eq!(other.matching_step(&code, 1_111_111_109).unwrap(), None);
    }

    #[test]
    fn a_secret_round_trips_through_base32_and_does_not_print() {
        let secret = TotpSecret::generate();
        assert_eq!(secret.expose_base32().len(), 32);
        assert_eq!(
            TotpSecret::from_base32(secret.expose_base32()).unwrap(),
            secret
        );
        assert!(!format!("{secret:?}").contains(secret.expose_base32()));
        assert_eq!(TotpSecret::from_base32("not base32!"), Err(BadSecret));
        assert_eq!(TotpSecret::from_base32("GEZDGNBV"), Err(BadSecret));
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_account_and_the_qr_is_svg() {
        let secret = TotpSecret::from_bytes(RFC_SEED);
        let uri = secret.otpauth_uri("wushan-manager");
        assert!(
            uri.starts_with(
                "otpauth://totp/zhijian:wushan-manager?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=zhijian"
            ),
            "{uri}"
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg"), "{svg}");
    }

    #[test]
    fn recovery_codes_are_ten_characters_of_the_alphabet_and_differ() {
        let a = generate_recovery_code();
        let b = generate_recovery_code();
        assert_eq!(a.normalised().len(), RECOVERY_CODE_LEN);
        assert_ne!(a, b);
    }
}
