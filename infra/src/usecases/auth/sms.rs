//! Verification codes by SMS: sending one, and signing in (or up) with one.

use zhijian_domain::phone::PhoneNumber;
use zhijian_domain::ports::SmsSender;

use crate::db::{self, StoreError};
use crate::redis::RedisUnavailable;
use crate::redis::sessions::SessionKind;
use crate::redis::sms_codes::{IssueError, IssuedCode, Requester, SmsPurpose, VerifyError};
use crate::store::accounts;
use crate::usecases::auth::{AuthContext, SignedIn, start_session};

/// Why no code was sent.
#[derive(Debug, thiserror::Error)]
pub enum SendCodeError {
    /// A `bind_phone` or `cancel` code asked for without a signed-in worker.
    #[error("a bind_phone or cancel code needs a signed-in worker")]
    SignInRequired,
    /// A sending cap, the provider, or Redis refused.
    #[error(transparent)]
    Issue(#[from] IssueError),
}

/// Sends a fresh `purpose` code to `phone`, unless a cap is reached (then nothing is sent).
pub async fn send_sms_code(
    ctx: &AuthContext<'_>,
    sms: &dyn SmsSender,
    phone: &PhoneNumber,
    purpose: SmsPurpose,
    requester: Requester,
) -> Result<IssuedCode, SendCodeError> {
    if matches!(purpose, SmsPurpose::BindPhone | SmsPurpose::Cancel) && requester.account.is_none()
    {
        return Err(SendCodeError::SignInRequired);
    }
    let now = ctx.services.now();
    Ok(ctx
        .codes()
        .issue(phone, purpose, requester, now, sms)
        .await?)
}

/// Why an SMS sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum PhoneLoginError {
    /// The code is wrong, expired, used or void.
    #[error(transparent)]
    Code(#[from] VerifyError),
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Redis (sessions) is down.
    #[error(transparent)]
    Redis(#[from] RedisUnavailable),
}

/// Spends the `login` code sent to `phone`, finds or creates the phone's account and starts a
/// session.
pub async fn phone_login(
    ctx: &AuthContext<'_>,
    phone: PhoneNumber,
    code: &str,
) -> Result<SignedIn, PhoneLoginError> {
    ctx.codes().verify(&phone, SmsPurpose::Login, code).await?;
    let (pii, now) = (ctx.services.pii.clone(), ctx.services.now());
    let account = db::run(&ctx.services.pool, move |conn| {
        accounts::find_or_create_by_phone(conn, &pii, &phone, now)
    })
    .await?;
    log::info!(
        "worker signed in (method: phone, account_id: {})",
        account.id
    );
    Ok(start_session(ctx, SessionKind::Worker, account.id.to_string(), None).await?)
}
