//! The worker's consent to one partner (PIPL art. 23): a partner's consent request (a short
//! code its app opens in the mini-program), the worker's grant (from a request, one tap, or
//! directly to a named partner), the list, and the withdrawal — immediate and audited
//! (object kind `partner_consent`).

use chrono::{DateTime, Duration, Utc};
use diesel::Connection;
use rand::RngCore;
use uuid::Uuid;
use zhijian_domain::ids::AccountId;
use zhijian_domain::partner::{ConsentRequestCode, PartnerUserId, Purposes};
use zhijian_domain::text::PrivacyNoticeVersion;

use crate::db::{self, StoreError};
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::partners::{self, ConsentRequestRow, ConsentRow};
use crate::usecases::Services;

/// Makes a consent request for the partner's user `partner_user_id`, usable for `ttl`.
pub async fn create_consent_request(
    ctx: &Services,
    client: Uuid,
    partner_user_id: PartnerUserId,
    purposes: Purposes,
    ttl: Duration,
) -> Result<ConsentRequestRow, StoreError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        loop {
            let mut random = [0u8; ConsentRequestCode::LEN];
            rand::rng().fill_bytes(&mut random);
            let row = ConsentRequestRow {
                code: ConsentRequestCode::from_random(random).as_str().to_owned(),
                client_id: client,
                partner_user_id: partner_user_id.as_str().to_owned(),
                purposes: purposes.names(),
                created_at: now,
                expires_at: now + ttl,
                used_at: None,
            };
            if partners::insert_consent_request(conn, &row)? {
                return Ok(row);
            }
        }
    })
    .await
}

/// What the worker grants.
#[derive(Debug, Clone)]
pub enum GrantTarget {
    /// The partner's request (its purposes and its user id come from the request).
    Request(ConsentRequestCode),
    /// A named partner, for the listed purposes.
    Client {
        /// The partner client.
        client_id: Uuid,
        /// What for.
        purposes: Purposes,
    },
}

/// Why a grant was refused.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// No such request or partner (or a disabled partner).
    #[error("consent request or partner not found")]
    NotFound,
    /// The request was used or has expired.
    #[error("consent request used or expired")]
    RequestExpired,
    /// The partner's user id is bound to another worker's live consent.
    #[error("partner user id bound to another worker")]
    UserIdTaken,
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

crate::usecases::store_errors!(GrantError);

/// A consent with its partner's name.
#[derive(Debug, Clone)]
pub struct ConsentView {
    /// The consent.
    pub consent: ConsentRow,
    /// The partner's name.
    pub partner_name: String,
}

fn applicant(account: AccountId) -> Actor {
    Actor {
        kind: "applicant",
        id: Some(account.to_string()),
        role: None,
        union_id: None,
    }
}

fn audit_consent(
    conn: &mut diesel::PgConnection,
    account: AccountId,
    id: Uuid,
    action: &'static str,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit::record(
        conn,
        &AuditEntry {
            at: now,
            actor: &applicant(account),
            object_kind: "partner_consent",
            object_id: id.to_string(),
            action,
            reason,
        },
    )
}

/// The worker's grant: a live consent to the same partner is superseded (withdrawn, audited)
/// by the new one.
pub async fn grant_consent(
    ctx: &Services,
    account: AccountId,
    target: GrantTarget,
    notice_version: PrivacyNoticeVersion,
) -> Result<ConsentView, GrantError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let (client_id, purposes, partner_user_id, request_code) = match &target {
                GrantTarget::Request(code) => {
                    let request = partners::lock_consent_request(conn, code.as_str())?
                        .ok_or(GrantError::NotFound)?;
                    if request.used_at.is_some() || request.expires_at <= now {
                        return Err(GrantError::RequestExpired);
                    }
                    partners::use_consent_request(conn, code.as_str(), now)?;
                    (
                        request.client_id,
                        request.purposes,
                        Some(request.partner_user_id),
                        Some(request.code),
                    )
                }
                GrantTarget::Client {
                    client_id,
                    purposes,
                } => (*client_id, purposes.names(), None, None),
            };
            let client = partners::find_client(conn, client_id)?
                .filter(|c| c.disabled_at.is_none())
                .ok_or(GrantError::NotFound)?;
            if let Some(old) = partners::live_consent_of(conn, account.as_uuid(), client_id)? {
                partners::withdraw_consent(conn, old.id, now)?;
                audit_consent(
                    conn,
                    account,
                    old.id,
                    "partner_consent_withdraw",
                    Some("superseded".to_owned()),
                    now,
                )?;
            }
            if let Some(user) = &partner_user_id
                && partners::live_consent_by_user(conn, client_id, user)?.is_some()
            {
                return Err(GrantError::UserIdTaken);
            }
            let row = ConsentRow {
                id: Uuid::now_v7(),
                account_id: account.as_uuid(),
                client_id,
                purposes,
                notice_version: notice_version.as_str().to_owned(),
                partner_user_id,
                request_code,
                granted_at: now,
                withdrawn_at: None,
            };
            partners::insert_consent(conn, &row)?;
            audit_consent(conn, account, row.id, "partner_consent_grant", None, now)?;
            Ok(ConsentView {
                consent: row,
                partner_name: client.name,
            })
        })
    })
    .await
}

/// Every consent of the worker, live and withdrawn, newest first.
pub async fn list_consents(
    ctx: &Services,
    account: AccountId,
) -> Result<Vec<ConsentView>, StoreError> {
    db::run(&ctx.pool, move |conn| {
        Ok(partners::consents_of_account(conn, account.as_uuid())?
            .into_iter()
            .map(|(consent, partner_name)| ConsentView {
                consent,
                partner_name,
            })
            .collect())
    })
    .await
}

/// Why a withdrawal was refused.
#[derive(Debug, thiserror::Error)]
pub enum WithdrawConsentError {
    /// Not one of the worker's consents.
    #[error("consent not found")]
    NotFound,
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

crate::usecases::store_errors!(WithdrawConsentError);

/// Withdraws the worker's consent `id` at once (a withdrawn one answers as it is). From this
/// instant the partner reads nothing about the worker and gets no event about them.
pub async fn withdraw_consent(
    ctx: &Services,
    account: AccountId,
    id: Uuid,
) -> Result<ConsentView, WithdrawConsentError> {
    let now = ctx.now();
    db::run(&ctx.pool, move |conn| {
        conn.transaction(|conn| {
            let mut row = partners::lock_consent_of_account(conn, account.as_uuid(), id)?
                .ok_or(WithdrawConsentError::NotFound)?;
            if row.withdrawn_at.is_none() {
                partners::withdraw_consent(conn, id, now)?;
                audit_consent(conn, account, id, "partner_consent_withdraw", None, now)?;
                row.withdrawn_at = Some(now);
            }
            let partner_name = partners::find_client(conn, row.client_id)?
                .map(|c| c.name)
                .unwrap_or_default();
            Ok(ConsentView {
                consent: row,
                partner_name,
            })
        })
    })
    .await
}
