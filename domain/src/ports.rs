//! Ports: what the domain needs from the outside world. Adapters live in `zhijian-infra`.
//!
//! The traits are object-safe (boxed futures, no async runtime named) so the API can hold
//! `Arc<dyn Port>` and tests can swap adapters without generics spreading through handlers.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

/// A boxed, sendable future: the return type of every asynchronous port.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The current time. Rules never read a clock: they receive `now` from whoever holds one.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// What a WeChat `jscode2session` call yields. `session_key` never leaves the server.
#[derive(Clone, PartialEq, Eq)]
pub struct WeChatSession {
    /// The user's id inside this mini-program.
    pub openid: String,
    /// The user's id across the Open Platform account, when the app is bound to one.
    pub unionid: Option<String>,
    /// Key for decrypting data the client sends; secret.
    pub session_key: String,
}

impl std::fmt::Debug for WeChatSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeChatSession")
            .field("openid", &self.openid)
            .field("unionid", &self.unionid)
            .field("session_key", &"<redacted>")
            .finish()
    }
}

/// A subscribe message (`subscribeMessage.send`): template id, landing page, and
/// `field name → value` pairs (`thing1`, `phrase2`, `time3` …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeMessage {
    /// Recipient openid.
    pub openid: String,
    /// Template id configured in the WeChat console.
    pub template_id: String,
    /// Mini-program page opened from the message.
    pub page: String,
    /// Field values in template order.
    pub data: Vec<(String, String)>,
}

/// Why a WeChat call failed, in the terms the callers act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeChatError {
    /// The login or phone code is invalid, expired or already used (40029, 40163, …).
    #[error("微信登录凭证无效或已使用，请重新登录")]
    InvalidCode,
    /// WeChat blocked this user as high risk (40226).
    #[error("微信账号存在风险，暂时无法登录")]
    UserBlocked,
    /// The user has not granted (or has used up) the subscription (43101).
    #[error("用户未订阅该消息")]
    NotSubscribed,
    /// WeChat rate-limited us (45011) or reported itself busy (-1) after a retry.
    #[error("微信服务繁忙，请稍后再试")]
    RateLimited,
    /// The provider is unreachable, timed out, answered 5xx, or rejected our credentials.
    #[error("微信服务暂时不可用: {0}")]
    Unavailable(String),
    /// Any other error code, kept for the logs.
    #[error("微信接口错误 {code}: {message}")]
    Other {
        /// WeChat `errcode`.
        code: i64,
        /// WeChat `errmsg`.
        message: String,
    },
}

/// The WeChat mini-program server API.
pub trait WeChat: Send + Sync {
    /// Exchange a `wx.login` code for the user's identity (`/sns/jscode2session`).
    fn code_to_session<'a>(
        &'a self,
        code: &'a str,
    ) -> BoxFuture<'a, Result<WeChatSession, WeChatError>>;
    /// Exchange a `getPhoneNumber` code for the verified mainland phone number, as the
    /// 11-digit `purePhoneNumber` (`/wxa/business/getuserphonenumber`).
    fn phone_number<'a>(&'a self, code: &'a str) -> BoxFuture<'a, Result<String, WeChatError>>;
    /// Send a subscribe message; returns WeChat's `msgid`.
    fn send_subscribe_message<'a>(
        &'a self,
        message: &'a SubscribeMessage,
    ) -> BoxFuture<'a, Result<i64, WeChatError>>;
}

/// Which SMS template a message uses; the adapter maps it to the provider's template id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmsTemplate {
    /// A verification code: params `[code, minutes]`.
    VerificationCode,
    /// A notification about an application or membership: params depend on the event.
    Notification,
}

/// One SMS to one mainland number.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsMessage {
    /// The 11-digit mainland number (no `+86`).
    pub phone: String,
    /// Template to use.
    pub template: SmsTemplate,
    /// Template parameters in order.
    pub params: Vec<String>,
    /// Our id for this message (Tencent `SessionContext`, Aliyun `OutId`), so a retry is
    /// recognisable.
    pub out_id: String,
}

impl std::fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the phone number nor the parameters (which may hold a code) are printed.
        f.debug_struct("SmsMessage")
            .field("template", &self.template)
            .field("out_id", &self.out_id)
            .finish_non_exhaustive()
    }
}

/// What the provider said about an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    /// Provider's id for the message (Tencent `SerialNo`, Aliyun `BizId`).
    pub provider_id: String,
}

/// Why an SMS was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The provider's own frequency limit for this number was hit.
    #[error("短信发送过于频繁，请稍后再试")]
    RateLimited,
    /// The provider rejected the number.
    #[error("手机号码无效")]
    InvalidNumber,
    /// The number is on the provider's blacklist (the user unsubscribed).
    #[error("该号码无法接收短信")]
    Blacklisted,
    /// Provider down, timed out, 5xx, out of balance, or credentials refused.
    #[error("短信服务暂时不可用: {0}")]
    Unavailable(String),
}

/// Sends SMS through a provider.
pub trait SmsSender: Send + Sync {
    /// Send one message.
    fn send<'a>(&'a self, message: &'a SmsMessage) -> BoxFuture<'a, Result<SmsReceipt, SmsError>>;
}
