//! `cancel_account` (注销, PIPL art. 47): the worker, re-confirmed by a fresh SMS code to the
//! account's phone or a fresh WeChat code of the same WeChat user, cancels their account.
//!
//! In one transaction: an open application is withdrawn (the withdraw rule, with its timeline,
//! audit and outbox rows), every application that never led to membership loses its personal
//! data (`crate::store::privacy`), a member's registry entry stays as the union's record but
//! no longer linked to any account (the union's own membership register, kept under the Trade
//! Union Law and the union's membership rules), the account keeps only its id and
//! `cancelled_at` (its openid, unionid and phone are freed, so they can sign up again as a new
//! account), and one audit row says what happened, without personal data. Every session of the
//! account ends, before the transaction and again after it.

use diesel::Connection;
use zhijian_domain::ids::AccountId;
use zhijian_domain::ports::{WeChat, WeChatError};
use zhijian_domain::sign_in::WeChatCode;

use crate::db::{self, StoreError};
use crate::redis::RedisUnavailable;
use crate::redis::sms_codes::{SmsPurpose, VerifyError};
use crate::store::accounts;
use crate::store::audit::{self, Actor, AuditEntry};
use crate::store::privacy;
use crate::usecases::auth::AuthContext;

/// How the worker re-confirms the cancellation.
#[derive(Debug, Clone)]
pub enum CancelProof {
    /// The `cancel` SMS code sent to the account's phone.
    Sms(String),
    /// A fresh `wx.login` code: WeChat must name the account's own openid.
    WeChat(WeChatCode),
}

/// What the cancellation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled {
    /// Open applications withdrawn (0 or 1).
    pub withdrawn: usize,
    /// Applications whose personal data was erased.
    pub erased: usize,
    /// Member entries unlinked from the account (kept in the union's register).
    pub members_unlinked: usize,
}

/// Why the account was not cancelled (nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// The account is already cancelled or does not exist.
    #[error("account not found")]
    AccountGone,
    /// The proof does not apply: an SMS code for an account without a phone, a WeChat code for
    /// an account that never signed in with WeChat.
    #[error("this confirmation does not apply to the account")]
    ProofNotApplicable,
    /// The SMS code is wrong, expired, used or void.
    #[error(transparent)]
    Code(#[from] VerifyError),
    /// WeChat refused the code or is unreachable.
    #[error("wechat: {0}")]
    WeChat(WeChatError),
    /// The WeChat code belongs to another WeChat user.
    #[error("the wechat code belongs to another user")]
    WrongWeChatUser,
    /// An open application changed meanwhile; retry.
    #[error("an application changed meanwhile")]
    Stale,
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Redis (sessions) is down.
    #[error(transparent)]
    Redis(#[from] RedisUnavailable),
}

crate::usecases::store_errors!(CancelError);

/// Cancels `account` after checking `proof`.
pub async fn cancel_account(
    ctx: &AuthContext<'_>,
    wechat: &dyn WeChat,
    account: AccountId,
    proof: CancelProof,
) -> Result<Cancelled, CancelError> {
    let services = ctx.services;
    let row = db::run(&services.pool, move |conn| accounts::find(conn, account))
        .await?
        .ok_or(CancelError::AccountGone)?;
    match proof {
        CancelProof::Sms(code) => {
            let phone = row
                .phone(&services.pii)?
                .ok_or(CancelError::ProofNotApplicable)?;
            ctx.codes()
                .verify(&phone, SmsPurpose::Cancel, &code)
                .await?;
        }
        CancelProof::WeChat(code) => {
            let Some(openid) = row.wechat_openid.clone() else {
                return Err(CancelError::ProofNotApplicable);
            };
            let identity = wechat
                .code_to_session(code.as_str())
                .await
                .map_err(CancelError::WeChat)?;
            if identity.openid != openid {
                return Err(CancelError::WrongWeChatUser);
            }
        }
    }
    let subject = account.to_string();
    ctx.sessions().end_worker_sessions(&subject).await?;
    let now = services.now();
    let done = db::run(&services.pool, move |conn| {
        conn.transaction(|conn| {
            privacy::lock_live_account(conn, account)?.ok_or(CancelError::AccountGone)?;
            let mut withdrawn = 0;
            for row in privacy::open_applications(conn, account)? {
                // Open by the query: a refusal means it changed since.
                let transition = row.domain().withdraw().map_err(|_| CancelError::Stale)?;
                crate::usecases::applications::withdraw::withdraw_row(conn, &row, &transition, now)?
                    .ok_or(CancelError::Stale)?;
                withdrawn += 1;
            }
            let erased = privacy::erase_for_account(conn, account, now)?;
            let members_unlinked = privacy::unlink_members(conn, account, now)?;
            // Partners learn nothing more about the worker (PIPL art. 23 consents end).
            crate::store::partners::end_consents_of_cancelled_account(
                conn,
                account.as_uuid(),
                now,
            )?;
            privacy::tombstone_account(conn, account, now)?;
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
                    action: "cancel_account",
                    reason: Some(format!(
                        "撤回申请{withdrawn}份，删除{erased}份申请的个人信息，会员登记{members_unlinked}条保留并解除与账号的关联"
                    )),
                },
            )?;
            Ok::<_, CancelError>(Cancelled {
                withdrawn,
                erased,
                members_unlinked,
            })
        })
    })
    .await?;
    // A sign-in that raced the transaction: end it too (the identifiers are free now, so no
    // new session of this account can start).
    if let Err(e) = ctx.sessions().end_worker_sessions(&subject).await {
        log::warn!("cancellation: sessions of account {account} not ended again: {e}");
    }
    log::info!(
        "account cancelled (account_id: {account}, withdrawn: {}, erased: {}, members unlinked: {})",
        done.withdrawn,
        done.erased,
        done.members_unlinked
    );
    Ok(done)
}
