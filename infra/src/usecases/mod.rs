//! One function per operation: it takes domain inputs, owns its transaction, the encryption
//! of personal data and the outbox, and answers a domain outcome or a typed error.
//!
//! The shape every use case follows (see `ARCHITECTURE.md`):
//!
//! - `pub async fn verb_noun(ctx: &Services, actor…, input: DomainInput) -> Result<Outcome, VerbError>`;
//! - the input is already parsed into domain types by the API; the outcome is domain data
//!   (rows of [`crate::store`] are fine to return for rendering, never a connection);
//! - `VerbError` is an enum of this module whose variants carry the domain's own error types
//!   (`Rejected(ApplicationRuleError)`), `NotFound`, `Stale`, … and `Store(StoreError)`;
//!   it never carries an HTTP status, a request field name or a code string — the API maps
//!   it once (`api/src/error/mapping.rs`).
//! - the transaction, the encryption of personal data, the audit row and the outbox event
//!   happen inside the use case, through [`crate::db::run`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use zhijian_domain::ports::Clock;

use crate::crypto::pii::PiiCipher;
use crate::db::PgPool;
use crate::store::reference_cache::ReferenceCache;

pub mod admins;
pub mod applications;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod delivery;
pub mod escalation;
pub mod imports;
pub mod key_rotation;
pub mod membership;
pub mod notifications;
pub mod partners;
pub mod privacy;
pub mod reference;
pub mod retention;
pub mod stations;
pub mod stats;
pub mod unions;
pub mod workforce;

/// `From<diesel::result::Error>` for use-case errors that take a [`crate::db::StoreError`]
/// (`From`), as a transaction's error type must: `store_errors!(SubmitError, ReviewError);`.
macro_rules! store_errors {
    ($($error:ty),+ $(,)?) => {$(
        impl From<diesel::result::Error> for $error {
            fn from(error: diesel::result::Error) -> Self {
                crate::db::StoreError::from(error).into()
            }
        }
    )+};
}
pub(crate) use store_errors;

/// What every use case may reach: the database pool, the cipher for personal data, the
/// in-memory reference data and the clock.
#[derive(Clone)]
pub struct Services {
    /// PostgreSQL.
    pub pool: PgPool,
    /// Encryption and blind indexes of personal data.
    pub pii: Arc<PiiCipher>,
    /// The calendar and the known regions, kept in memory for the hot paths.
    pub reference: Arc<ReferenceCache>,
    /// The clock every rule reads `now` from (a fixed or moved one in tests).
    pub clock: Arc<dyn Clock>,
}

impl Services {
    /// The current instant, from the clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// The wall clock: the one place that reads the system time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
