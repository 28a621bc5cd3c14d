//! Administrator passwords: argon2id hashes in PHC string form, constant-time verification,
//! a dummy verification that makes a login for an unknown account cost as much as one for a
//! known account, and the policy a new password must meet.
//!
//! Hashing and verifying take tens of milliseconds of CPU by design: call them from a
//! blocking context (`web::block`, `spawn_blocking`), not on an async worker.

use argon2::password_hash::SaltString;
use argon2::{Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier};
use rand::RngCore;

/// Minimum length of a new password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Maximum length of a new password, in characters.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// A hash made with the same algorithm and parameters as [`hash_password`], of a password
/// nobody knows, verified against when the account does not exist.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$mwiJW7KcR3KcFSufuFdMdw$0BXlRBHGKMRLj9neSx2yFZJ7p0fwpLRQrR8VCHg9fvo";

/// Hashing a password failed (not expected with the default parameters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(String);

/// Why a new password is refused. The messages are shown to the administrator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("密码至少需要 {MIN_PASSWORD_CHARS} 个字符")]
    TooShort,
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    #[error("密码不能超过 {MAX_PASSWORD_CHARS} 个字符")]
    TooLong,
    /// Only one class of characters (only digits, only lower-case letters …).
    #[error("密码需要包含至少两类字符（小写字母、大写字母、数字、符号）")]
    SingleCharacterClass,
}

/// Hash `password` with argon2id (version 19, the crate's default parameters) and a random
/// salt; returns the PHC string to store.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0_u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError(e.to_string()))
}

/// Whether `password` matches the stored PHC string `phc` (compared in constant time by the
/// argon2 crate). A malformed `phc` is a mismatch.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// Do the work of [`verify_password`] against [`DUMMY_HASH`] and return `false`: call it
/// when the account does not exist, so that the answer takes as long as for a wrong password
/// and does not tell which accounts exist.
pub fn verify_against_dummy(password: &str) -> bool {
    let _ = verify_password(password, DUMMY_HASH);
    false
}

/// Whether `phc` was made with other parameters than [`hash_password`] uses now (or is not
/// an argon2id hash): rehash the password at the next successful login.
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return true;
    };
    let Ok(params) = Params::try_from(&hash) else {
        return true;
    };
    let current = Params::default();
    hash.algorithm != argon2::Algorithm::Argon2id.ident()
        || hash.version != Some(argon2::Version::V0x13.into())
        || params.m_cost() != current.m_cost()
        || params.t_cost() != current.t_cost()
        || params.p_cost() != current.p_cost()
}

/// Check a new password against the policy: [`MIN_PASSWORD_CHARS`] to
/// [`MAX_PASSWORD_CHARS`] characters, and at least two classes among lower-case letters,
/// upper-case letters, digits, and anything else.
pub fn validate_new_password(password: &str) -> Result<(), PasswordPolicyError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        return Err(PasswordPolicyError::TooShort);
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(PasswordPolicyError::TooLong);
    }
    let class = |c: char| {
        if c.is_ascii_lowercase() {
            0
        } else if c.is_ascii_uppercase() {
            1
        } else if c.is_ascii_digit() {
            2
        } else {
            3
        }
    };
    let mut chars = password.chars().map(class);
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err(PasswordPolicyError::SingleCharacterClass);
    }
    Ok(())
}

/// The guessability estimate of the admin password policy
/// (`zhijian_domain::admin_management::NewPassword`): zxcvbn, which knows common passwords,
/// names, keyboard patterns, dates and the account's own words.
#[derive(Debug, Default, Clone, Copy)]
pub struct Zxcvbn;

impl zhijian_domain::admin_management::Guessability for Zxcvbn {
    fn score(&self, password: &str, user_inputs: &[&str]) -> u8 {
        u8::from(zxcvbn::zxcvbn(password, user_inputs).score())
    }
}

/// A fresh one-time password: four groups of five characters (`k7qmz-3xdpa-…`) of letters
/// without look-alikes and digits, about 98 bits; drawn again in the (theoretical) case the
/// policy would refuse it.
pub fn generate_one_time_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    loop {
        let mut bytes = [0_u8; 20];
        rand::rng().fill_bytes(&mut bytes);
        let chars: Vec<char> = bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
            .collect();
        let candidate = chars
            .chunks(5)
            .map(|group| group.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-");
        if zhijian_domain::admin_management::NewPassword::parse(&candidate, &[], &Zxcvbn).is_ok() {
            return candidate;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_no_other() {
        let phc = hash_password("correct horse 9").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse 9", &phc));
        assert!(!verify_password("correct horse 8", &phc));
        assert!(!needs_rehash(&phc));
    }

    #[test]
    fn two_hashes_of_one_password_differ() {
        // A fresh random salt each time.
        let a = hash_password("same password 1").unwrap();
        let b = hash_password("same password 1").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn a_malformed_hash_never_verifies() {
        assert!(!verify_password("x", ""));
        assert!(!verify_password("x", "not a phc string"));
        assert!(needs_rehash("not a phc string"));
        assert!(needs_rehash(
            "$argon2i$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
        ));
    }

    #[test]
    fn the_dummy_hash_costs_the_same_as_a_real_one_and_never_matches() {
        // Same algorithm and parameters as a fresh hash, so the same work.
        let hash = PasswordHash::new(DUMMY_HASH).unwrap();
        assert!(
            !needs_rehash(DUMMY_HASH),
            "DUMMY_HASH must use the current parameters"
        );
        assert_eq!(hash.hash.map(|h| h.len()), Some(32));
        assert!(!verify_against_dummy("anything"));
    }

    #[test]
    fn the_policy_wants_ten_characters_of_two_classes() {
        assert_eq!(
            validate_new_password("Ab1"),
            Err(PasswordPolicyError::TooShort)
        );
        assert_eq!(
            validate_new_password("abcdefghij"),
            Err(PasswordPolicyError::SingleCharacterClass)
        );
        assert_eq!(
            validate_new_password("1234567890"),
            Err(PasswordPolicyError::SingleCharacterClass)
        );
        assert_eq!(
            validate_new_password("工会工会工会工会工会"),
            Err(PasswordPolicyError::SingleCharacterClass)
        );
        assert_eq!(
            validate_new_password(&"aB".repeat(65)),
            Err(PasswordPolicyError::TooLong)
        );
        assert_eq!(validate_new_password("abcdefghi1"), Ok(()));
        assert_eq!(validate_new_password("工会工会工会工会工会1"), Ok(()));
        assert_eq!(
            PasswordPolicyError::TooShort.to_string(),
            "密码至少需要 10 个字符"
        );
    }

    #[test]
    fn zxcvbn_scores_common_passwords_low_and_random_ones_high() {
        use zhijian_domain::admin_management::Guessability as _;
        assert!(Zxcvbn.score("password12345", &[]) < 3);
        assert!(Zxcvbn.score("wushan-manager1", &["wushan-manager"]) < 3);
        assert!(Zxcvbn.score("Test-demo-password-2026", &[]) >= 3);
        let otp = generate_one_time_password();
        assert_eq!(otp.len(), 23, "{otp}");
        assert!(Zxcvbn.score(&otp, &[]) >= 3);
        assert_ne!(otp, generate_one_time_password());
    }
}
