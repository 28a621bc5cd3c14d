//! Signing in (or up) with a `wx.login` code.

use zhijian_domain::ports::{WeChat, WeChatError};
use zhijian_domain::sign_in::WeChatCode;

use crate::db::{self, StoreError};
use crate::redis::RedisUnavailable;
use crate::redis::sessions::SessionKind;
use crate::store::accounts;
use crate::usecases::auth::{AuthContext, SignedIn, start_session};

/// Why a WeChat sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum WeChatLoginError {
    /// WeChat refused the code or is unreachable.
    #[error("wechat: {0}")]
    WeChat(WeChatError),
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Redis (sessions) is down.
    #[error(transparent)]
    Redis(#[from] RedisUnavailable),
}

/// Exchanges `code` for the worker's openid, finds or creates their account and starts a
/// session. The WeChat session key is dropped here: never stored, never sent.
pub async fn wechat_login(
    ctx: &AuthContext<'_>,
    wechat: &dyn WeChat,
    code: &WeChatCode,
) -> Result<SignedIn, WeChatLoginError> {
    let identity = wechat
        .code_to_session(code.as_str())
        .await
        .map_err(WeChatLoginError::WeChat)?;
    let (openid, unionid, now) = (identity.openid, identity.unionid, ctx.services.now());
    let account = db::run(&ctx.services.pool, move |conn| {
        accounts::find_or_create_by_openid(conn, &openid, unionid.as_deref(), now)
    })
    .await?;
    log::info!(
        "worker signed in (method: wechat, account_id: {})",
        account.id
    );
    Ok(start_session(ctx, SessionKind::Worker, account.id.to_string(), None).await?)
}
