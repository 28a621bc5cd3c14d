//! Encryption and blind indexes of personal data, password hashing, and secrets that never
//! print.

pub mod keyring;
pub mod password;
pub mod pii;
pub mod secret;
pub mod totp;
