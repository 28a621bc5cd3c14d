//! Intake: a partner submits the real-name application of a worker who consented to it (for
//! the purpose `application`), named by the partner's own user id recorded at consent time.
//! The worker's submission use case runs unchanged (parsing, routing, same-day deadline, the
//! one-open-application rule, the idempotency key) inside one transaction with the consent
//! check, under the consent row's shared lock, so a withdrawal cannot slip between them. The
//! channel is `partner:<client id>`; `partner_applications` records the consent it relied on.
//! Without a live consent the answer is the same as for a worker who does not exist.

use chrono::SubsecRound;
use diesel::Connection;
use uuid::Uuid;
use zhijian_domain::ids::{AccountId, ApplicationId};
use zhijian_domain::partner::{PartnerUserId, Purpose};

use crate::db::{self, StoreError};
use crate::store::applications;
use crate::store::idempotency::IdempotencyKey;
use crate::store::partners::{self, ConsentRow};
use crate::store::unions::UnionRow;
use crate::usecases::Services;
use crate::usecases::applications::submit::{SubmitInput, submit_in};
use crate::usecases::applications::{
    ApplicationDetail, RenderError, Submission, SubmitError, Submitted,
};

/// Why a partner's submission was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// No live consent of such a user to this partner for applications.
    #[error("no consenting worker")]
    NoConsent,
    /// The submission itself was refused.
    #[error(transparent)]
    Submit(#[from] SubmitError),
}

impl From<StoreError> for IntakeError {
    fn from(error: StoreError) -> Self {
        IntakeError::Submit(SubmitError::Store(error))
    }
}

impl From<diesel::result::Error> for IntakeError {
    fn from(error: diesel::result::Error) -> Self {
        StoreError::from(error).into()
    }
}

fn live_for(consent: Option<ConsentRow>, purpose: Purpose) -> Option<ConsentRow> {
    consent.filter(|c| c.purposes.iter().any(|p| p == purpose.as_str()))
}

/// Submits `submission` for the worker the partner `client` knows as `user`.
pub async fn submit_for_partner<F>(
    ctx: &Services,
    client: Uuid,
    user: PartnerUserId,
    key: IdempotencyKey,
    submission: Submission,
    render: F,
) -> Result<Submitted, IntakeError>
where
    F: FnOnce(&ApplicationDetail) -> Result<serde_json::Value, RenderError> + Send + 'static,
{
    let now = ctx.now().trunc_subsecs(6);
    let ctx = ctx.clone();
    db::run(&ctx.pool.clone(), move |conn| {
        conn.transaction(|conn| {
            let consent = live_for(
                partners::live_consent_by_user(conn, client, user.as_str())?,
                Purpose::Application,
            )
            .ok_or(IntakeError::NoConsent)?;
            let input = SubmitInput {
                account: AccountId::from_uuid(consent.account_id),
                key: Some(key),
                submission,
                channel: format!("partner:{client}"),
                now,
            };
            let (submitted, fresh) = submit_in(conn, &ctx, input, render)?;
            if let Some(application) = fresh {
                partners::link_application(conn, application, client, consent.id, now)?;
            }
            Ok(submitted)
        })
    })
    .await
}

/// Why a partner could not read an application.
#[derive(Debug, thiserror::Error)]
pub enum PartnerReadError {
    /// Not the partner's, or the worker's consent is no longer live.
    #[error("not found")]
    NotFound,
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

crate::usecases::store_errors!(PartnerReadError);

/// Application `id` if partner `client` submitted it and the worker's consent for
/// applications is still live.
pub async fn partner_application(
    ctx: &Services,
    client: Uuid,
    id: ApplicationId,
) -> Result<(applications::ApplicationRow, UnionRow), PartnerReadError> {
    db::run(&ctx.pool, move |conn| {
        let account = partners::partner_application_account(conn, client, id.as_uuid())?
            .ok_or(PartnerReadError::NotFound)?;
        live_for(
            partners::live_consents_among(conn, client, &[account])?
                .into_iter()
                .next(),
            Purpose::Application,
        )
        .ok_or(PartnerReadError::NotFound)?;
        applications::find_with_union(conn, id)?.ok_or(PartnerReadError::NotFound)
    })
    .await
}
