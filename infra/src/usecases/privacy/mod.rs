//! Personal-information rights (PIPL art. 45, 47): a worker's copy of everything held about
//! them ([`my_data()`]), the cancellation of their account ([`cancel_account`]), and the cap on
//! admins' reveals of personal data ([`reveals`]). Erasure of closed applications by age is a
//! kind of the retention sweep (`crate::usecases::retention`).

pub mod cancel;
pub mod consent;
pub mod my_data;
pub mod reveals;

pub use cancel::{CancelError, CancelProof, Cancelled, cancel_account};
pub use consent::{GiveConsentError, give_consent, my_consent, standing};
pub use my_data::{MyData, MyDataError, my_data};
pub use reveals::{PrivacyConfig, RevealCheck, check_reveal};
