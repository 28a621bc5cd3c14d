//! Consent to the privacy notice by purpose and version (`GET`/`PUT /v1/me/privacy-consent`)
//! and the write gate: a worker whose consent names an older notice version than
//! `privacy.notice_version` writes nothing until they consent again.

use diesel::Connection as _;
use zhijian_domain::ids::AccountId;
use zhijian_domain::privacy_consent::{Consent, ConsentError, Purpose, Standing};

use crate::db::{self, StoreError};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::privacy_consents::{self as store, ConsentRow};
use crate::usecases::Services;

/// Why a consent was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum GiveConsentError {
    /// The domain refused it (outdated version, a required purpose missing).
    #[error(transparent)]
    Refused(#[from] ConsentError),
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

crate::usecases::store_errors!(GiveConsentError);

/// Where `account` stands against the `current` notice version.
pub async fn standing(
    services: &Services,
    account: AccountId,
    current: &str,
) -> Result<Standing, StoreError> {
    let recorded = db::run(&services.pool, move |conn| store::version_of(conn, account)).await?;
    Ok(Standing::of(current, recorded.as_deref()))
}

/// The consent of `account`, if any.
pub async fn my_consent(
    services: &Services,
    account: AccountId,
) -> Result<Option<ConsentRow>, StoreError> {
    db::run(&services.pool, move |conn| store::find(conn, account)).await
}

/// Records the consent of `account` to `version` (which must be `current`) for `purposes`:
/// purposes not listed are withdrawn. Each grant and each withdrawal is an audit row
/// (`grant_consent`, `withdraw_consent`: the version and the purposes, no personal data).
pub async fn give_consent(
    services: &Services,
    account: AccountId,
    current: String,
    version: String,
    purposes: Vec<Purpose>,
) -> Result<ConsentRow, GiveConsentError> {
    let consent = Consent::give(&current, &version, purposes)?;
    let now = services.now();
    db::run(&services.pool, move |conn| {
        conn.transaction(|conn| {
            let before = store::lock(conn, account)?;
            let (before_version, before_purposes): (Option<String>, Vec<Purpose>) = match &before {
                Some(row) => (
                    Some(row.notice_version.clone()),
                    row.purposes
                        .iter()
                        .filter_map(|p| Purpose::parse(p).ok())
                        .collect(),
                ),
                None => (None, Vec::new()),
            };
            let new_version = before_version.as_deref() != Some(consent.notice_version());
            let (granted, withdrawn) = if new_version {
                // A new version: every purpose is granted anew.
                (consent.purposes().to_vec(), Vec::new())
            } else {
                consent.changes_from(&before_purposes)
            };
            let names: Vec<&str> = consent.purposes().iter().map(|p| p.as_str()).collect();
            let row = store::save(conn, account, consent.notice_version(), &names, now)?;
            let actor = Actor {
                kind: "applicant",
                id: Some(account.to_string()),
                role: None,
                union_id: None,
            };
            for (action, list) in [
                ("grant_consent", &granted),
                ("withdraw_consent", &withdrawn),
            ] {
                if list.is_empty() {
                    continue;
                }
                let listed: Vec<&str> = list.iter().map(|p| p.as_str()).collect();
                audit::record(
                    conn,
                    &AuditEntry {
                        at: now,
                        actor: &actor,
                        object_kind: "account",
                        object_id: account.to_string(),
                        action,
                        reason: Some(format!(
                            "notice {}: {}",
                            consent.notice_version(),
                            listed.join(",")
                        )),
                    },
                )?;
            }
            Ok(row)
        })
    })
    .await
}

/// After a submission: [`record_with_application`] in its own statement.
pub async fn first_consent_with_application(
    services: &Services,
    account: AccountId,
    current: String,
    application_version: String,
) -> Result<(), StoreError> {
    let now = services.now();
    db::run(&services.pool, move |conn| {
        conn.transaction(|conn| {
            record_with_application(conn, account, &current, &application_version, now)
        })
    })
    .await
}

/// Inside a submission: the application's consent block is the account's first consent (its
/// notice version, the required purposes), when it has none yet and the version is current.
/// Audited as a grant.
pub fn record_with_application(
    conn: &mut diesel::PgConnection,
    account: AccountId,
    current: &str,
    application_version: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let Some(consent) = Consent::with_application(current, application_version) else {
        return Ok(());
    };
    let names: Vec<&str> = consent.purposes().iter().map(|p| p.as_str()).collect();
    if store::record_first(conn, account, consent.notice_version(), &names, now)? {
        audit::record(
            conn,
            &AuditEntry {
                at: now,
                actor: &Actor {
                    kind: "applicant",
                    id: Some(account.to_string()),
                    role: None,
                    union_id: None,
                },
                object_kind: "account",
                object_id: account.to_string(),
                action: "grant_consent",
                reason: Some(format!(
                    "notice {} (application): {}",
                    consent.notice_version(),
                    names.join(",")
                )),
            },
        )?;
    }
    Ok(())
}
