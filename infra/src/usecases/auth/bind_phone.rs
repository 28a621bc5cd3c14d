//! Binding a verified phone to the signed-in worker's account, and reading that account.

use zhijian_domain::ids::AccountId;
use zhijian_domain::phone::PhoneNumber;
use zhijian_domain::ports::{WeChat, WeChatError};
use zhijian_domain::sign_in::WeChatCode;

use crate::db::{self, StoreError};
use crate::redis::sms_codes::{SmsPurpose, VerifyError};
use crate::store::accounts::{self, AccountRow};
use crate::usecases::Services;
use crate::usecases::auth::AuthContext;

/// A worker's account as the worker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountProfile {
    /// The account.
    pub account_id: AccountId,
    /// The bound phone (print it masked).
    pub phone: Option<PhoneNumber>,
    /// Whether the account signs in with WeChat.
    pub wechat_linked: bool,
}

/// Why a phone was not bound.
#[derive(Debug, thiserror::Error)]
pub enum BindPhoneError {
    /// WeChat refused the `getPhoneNumber` code or is unreachable.
    #[error("wechat: {0}")]
    WeChat(WeChatError),
    /// WeChat verified a phone that is not a mainland mobile number.
    #[error("the verified phone is not a mainland mobile number")]
    NotMainland,
    /// The SMS code is wrong, expired, used or void.
    #[error(transparent)]
    Code(#[from] VerifyError),
    /// The phone belongs to another account.
    #[error("the phone is bound to another account")]
    PhoneTaken,
    /// The signed-in account no longer exists.
    #[error("account not found")]
    AccountGone,
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<accounts::BindPhoneError> for BindPhoneError {
    fn from(error: accounts::BindPhoneError) -> Self {
        match error {
            accounts::BindPhoneError::PhoneTaken => Self::PhoneTaken,
            accounts::BindPhoneError::AccountNotFound => Self::AccountGone,
            accounts::BindPhoneError::Store(e) => Self::Store(e),
        }
    }
}

/// Binds the phone WeChat verified for the `getPhoneNumber` `code`.
pub async fn bind_wechat_phone(
    ctx: &AuthContext<'_>,
    wechat: &dyn WeChat,
    account: AccountId,
    code: &WeChatCode,
) -> Result<AccountProfile, BindPhoneError> {
    let number = wechat
        .phone_number(code.as_str())
        .await
        .map_err(BindPhoneError::WeChat)?;
    let phone = PhoneNumber::parse(&number).map_err(|_| BindPhoneError::NotMainland)?;
    bind(ctx.services, account, phone).await
}

/// Binds `phone` after spending its `bind_phone` SMS `code`.
pub async fn bind_sms_phone(
    ctx: &AuthContext<'_>,
    account: AccountId,
    phone: PhoneNumber,
    code: &str,
) -> Result<AccountProfile, BindPhoneError> {
    ctx.codes()
        .verify(&phone, SmsPurpose::BindPhone, code)
        .await?;
    bind(ctx.services, account, phone).await
}

async fn bind(
    ctx: &Services,
    account: AccountId,
    phone: PhoneNumber,
) -> Result<AccountProfile, BindPhoneError> {
    let (pii, now) = (ctx.pii.clone(), ctx.now());
    let row = db::run(&ctx.pool, move |conn| {
        accounts::bind_phone(conn, &pii, account, &phone, now)
    })
    .await?;
    log::info!("phone bound (account_id: {account})");
    Ok(profile(ctx, &row)?)
}

/// Why the account could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MeError {
    /// The signed-in account no longer exists.
    #[error("account not found")]
    AccountGone,
    /// PostgreSQL failed, or the stored phone does not open.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The signed-in worker's account.
pub async fn me(ctx: &Services, account: AccountId) -> Result<AccountProfile, MeError> {
    let row = db::run(&ctx.pool, move |conn| accounts::find(conn, account))
        .await?
        .ok_or(MeError::AccountGone)?;
    Ok(profile(ctx, &row)?)
}

fn profile(ctx: &Services, row: &AccountRow) -> Result<AccountProfile, StoreError> {
    Ok(AccountProfile {
        account_id: row.account_id(),
        phone: row.phone(&ctx.pii)?,
        wechat_linked: row.wechat_linked(),
    })
}
