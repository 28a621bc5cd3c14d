//! The WeChat mini-program server API (`zhijian_domain::ports::WeChat`): login
//! (`jscode2session`), the verified phone number, and subscribe messages, with the access
//! token cached and refreshed single-flight. Wire formats: `shared/PROVIDERS.md`.
//!
//! Neither the app secret nor a `session_key` nor an access token is ever logged: errors are
//! described without the request URL (see [`crate::providers::http_client::describe_error`]).//!
//! Parts: this module (configuration and the access-token cache), [`client`] (the calls),
//! `wire` (reply shapes, `errcode` mapping, value limits).

mod client;
mod wire;

use std::time::{Duration, Instant};

use serde::Deserialize;
use zhijian_domain::ports::BoxFuture;

use crate::crypto::secret::Secret;

pub use client::WeChatClient;
pub use wire::truncate_value;

/// Configuration of the WeChat client (`[wechat]` in the configuration files).
#[derive(Deserialize, Clone, Debug)]
#[serde(default)]
pub struct WeChatConfig {
    /// API root, `https://api.weixin.qq.com`; a local stub in tests and development.
    pub base_url: String,
    /// The mini-program's AppID (`wx…`).
    pub appid: String,
    /// The mini-program's AppSecret.
    pub secret: Secret,
    /// Timeout of one call, in milliseconds.
    pub timeout_ms: u64,
    /// `miniprogram_state` of subscribe messages: `formal`, `trial` or `developer`.
    pub miniprogram_state: String,
}

impl Default for WeChatConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.weixin.qq.com".to_owned(),
            appid: String::new(),
            secret: Secret::default(),
            timeout_ms: 3000,
            miniprogram_state: "formal".to_owned(),
        }
    }
}

/// Why a [`WeChatClient`] could not be built: a configuration value to fix.
#[derive(Debug, thiserror::Error)]
pub enum WeChatConfigError {
    /// A required value is empty.
    #[error("wechat.{0} is empty: set it in the configuration or with APP__WECHAT__{upper}", upper = .0.to_ascii_uppercase())]
    Missing(&'static str),
    /// `wechat.base_url` is not an http(s) URL.
    #[error("wechat.base_url `{0}` is not an http:// or https:// URL")]
    BadBaseUrl(String),
    /// `wechat.miniprogram_state` is not one WeChat accepts.
    #[error("wechat.miniprogram_state must be `formal`, `trial` or `developer`, not `{0}`")]
    BadMiniprogramState(String),
    /// The HTTP client could not be built.
    #[error("wechat: cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Where the WeChat access token is kept between calls: shared by every instance of the
/// server in production (Redis), in memory in tests and development.
pub trait AccessTokenCache: Send + Sync {
    /// The cached token, if there is one that has not expired.
    fn get(&self) -> BoxFuture<'_, Option<String>>;
    /// Cache `token` for `ttl`.
    fn put(&self, token: &str, ttl: Duration) -> BoxFuture<'_, ()>;
}

/// An [`AccessTokenCache`] in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryTokenCache {
    slot: std::sync::Mutex<Option<(String, Instant)>>,
}

impl MemoryTokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }
}

impl AccessTokenCache for MemoryTokenCache {
    fn get(&self) -> BoxFuture<'_, Option<String>> {
        let token = match self.slot.lock() {
            Ok(slot) => slot
                .as_ref()
                .filter(|(_, expires)| Instant::now() < *expires)
                .map(|(token, _)| token.clone()),
            Err(_) => None,
        };
        Box::pin(std::future::ready(token))
    }

    fn put(&self, token: &str, ttl: Duration) -> BoxFuture<'_, ()> {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Instant::now()
                .checked_add(ttl)
                .map(|expires| (token.to_owned(), expires));
        }
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests;
