//! The calls: `jscode2session`, the verified phone number, subscribe messages, and the access
//! token they need, fetched single-flight and cached.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use zhijian_domain::ports::{BoxFuture, SubscribeMessage, WeChat, WeChatError, WeChatSession};

use crate::providers::http_client::{build_client, describe_error};
use crate::providers::wechat::wire::{
    PhoneReply, SessionReply, TokenReply, errcode, map_errcode, parse, truncate_value,
};
use crate::providers::wechat::{AccessTokenCache, WeChatConfig, WeChatConfigError};

/// How long before WeChat's own expiry a cached access token is dropped.
const TOKEN_EXPIRY_MARGIN_SECS: u64 = 300;
/// Pause before retrying a call WeChat answered with `-1` (system busy).
const BUSY_RETRY_DELAY: Duration = Duration::from_millis(200);

/// The WeChat mini-program server API over HTTP.
pub struct WeChatClient {
    http: reqwest::Client,
    base_url: String,
    config: WeChatConfig,
    tokens: Arc<dyn AccessTokenCache>,
    /// Held while fetching a new access token, so one process fetches it once.
    refresh_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for WeChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeChatClient")
            .field("base_url", &self.base_url)
            .field("appid", &self.config.appid)
            .finish_non_exhaustive()
    }
}

impl WeChatClient {
    /// A client for `config`, keeping access tokens in `token_cache`.
    pub fn new(
        config: WeChatConfig,
        token_cache: Arc<dyn AccessTokenCache>,
    ) -> Result<Self, WeChatConfigError> {
        if config.appid.trim().is_empty() {
            return Err(WeChatConfigError::Missing("appid"));
        }
        if config.secret.expose().trim().is_empty() {
            return Err(WeChatConfigError::Missing("secret"));
        }
        let base_url = config.base_url.trim().trim_end_matches('/').to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://"))
            || reqwest::Url::parse(&base_url).is_err()
        {
            return Err(WeChatConfigError::BadBaseUrl(config.base_url.clone()));
        }
        if !matches!(
            config.miniprogram_state.as_str(),
            "formal" | "trial" | "developer"
        ) {
            return Err(WeChatConfigError::BadMiniprogramState(
                config.miniprogram_state.clone(),
            ));
        }
        let timeout = Duration::from_millis(config.timeout_ms.max(1));
        let http = build_client(timeout, timeout)?;
        Ok(Self {
            http,
            base_url,
            config,
            tokens: token_cache,
            refresh_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// Send a request and read WeChat's JSON reply (sent with any content type, `text/plain`
    /// included). Transport errors, 5xx and unreadable bodies are `Unavailable`.
    async fn read_json(
        &self,
        request: reqwest::RequestBuilder,
        call: &str,
    ) -> Result<Value, WeChatError> {
        let response = request.send().await.map_err(|e| {
            let cause = describe_error(e);
            log::warn!("wechat {call}: {cause}");
            WeChatError::Unavailable(cause)
        })?;
        let status = response.status();
        if !status.is_success() {
            log::warn!("wechat {call}: HTTP {status}");
            return Err(WeChatError::Unavailable(format!("HTTP {status}")));
        }
        let text = response.text().await.map_err(|e| {
            let cause = describe_error(e);
            log::warn!("wechat {call}: {cause}");
            WeChatError::Unavailable(cause)
        })?;
        serde_json::from_str(&text).map_err(|e| {
            log::warn!("wechat {call}: reply is not JSON: {e}");
            WeChatError::Unavailable("reply is not JSON".to_owned())
        })
    }

    /// The current access token, from the cache or freshly fetched.
    async fn access_token(&self) -> Result<String, WeChatError> {
        if let Some(token) = self.tokens.get().await {
            return Ok(token);
        }
        self.refresh_token(None).await
    }

    /// Fetch a new access token, single-flight. `rejected` is a token WeChat just refused
    /// (40001/42001): then the new one is forced, unless another task already replaced it.
    async fn refresh_token(&self, rejected: Option<&str>) -> Result<String, WeChatError> {
        let _guard = self.refresh_lock.lock().await;
        if let Some(token) = self.tokens.get().await
            && Some(token.as_str()) != rejected
        {
            return Ok(token);
        }
        let body = json!({
            "grant_type": "client_credential",
            "appid": self.config.appid,
            "secret": self.config.secret.expose(),
            "force_refresh": rejected.is_some(),
        });
        let request = self
            .http
            .post(format!("{}/cgi-bin/stable_token", self.base_url))
            .json(&body);
        let reply = self.read_json(request, "stable_token").await?;
        let (code, message) = errcode(&reply);
        if code != 0 {
            log::error!(
                "wechat stable_token refused: errcode {code} ({message}); check wechat.appid/secret and the IP whitelist"
            );
            return Err(WeChatError::Unavailable(format!(
                "access token refused: errcode {code}"
            )));
        }
        let token: TokenReply = parse(reply, "stable_token")?;
        let ttl = if token.expires_in > 2 * TOKEN_EXPIRY_MARGIN_SECS {
            token.expires_in - TOKEN_EXPIRY_MARGIN_SECS
        } else {
            token.expires_in / 2
        };
        if ttl > 0 {
            self.tokens
                .put(&token.access_token, Duration::from_secs(ttl))
                .await;
        }
        log::info!(
            "wechat access token refreshed (forced: {}, ttl_s: {ttl})",
            rejected.is_some()
        );
        Ok(token.access_token)
    }

    /// POST `body` to `path?access_token=…`; on 40001/42001 refresh the token once and retry.
    /// Returns the reply once its `errcode` is 0 or absent.
    async fn call_with_token(
        &self,
        path: &str,
        body: &Value,
        call: &str,
    ) -> Result<Value, WeChatError> {
        let mut token = self.access_token().await?;
        let mut refreshed = false;
        loop {
            let request = self
                .http
                .post(format!("{}{path}", self.base_url))
                .query(&[("access_token", token.as_str())])
                .json(body);
            let reply = self.read_json(request, call).await?;
            match errcode(&reply) {
                (0, _) => return Ok(reply),
                (40001 | 42001, _) if !refreshed => {
                    refreshed = true;
                    token = self.refresh_token(Some(&token)).await?;
                }
                (code, message) => return Err(map_errcode(call, code, message)),
            }
        }
    }

    async fn login(&self, code: &str) -> Result<WeChatSession, WeChatError> {
        let mut retried = false;
        loop {
            let request = self
                .http
                .get(format!("{}/sns/jscode2session", self.base_url))
                .query(&[
                    ("appid", self.config.appid.as_str()),
                    ("secret", self.config.secret.expose()),
                    ("js_code", code),
                    ("grant_type", "authorization_code"),
                ]);
            let reply = self.read_json(request, "jscode2session").await?;
            match errcode(&reply) {
                (0, _) => {
                    let session: SessionReply = parse(reply, "jscode2session")?;
                    return Ok(WeChatSession {
                        openid: session.openid,
                        unionid: session.unionid.filter(|u| !u.is_empty()),
                        session_key: session.session_key,
                    });
                }
                (-1, _) if !retried => {
                    retried = true;
                    tokio::time::sleep(BUSY_RETRY_DELAY).await;
                }
                (code, message) => return Err(map_errcode("jscode2session", code, message)),
            }
        }
    }

    async fn fetch_phone_number(&self, code: &str) -> Result<String, WeChatError> {
        let reply = self
            .call_with_token(
                "/wxa/business/getuserphonenumber",
                &json!({ "code": code }),
                "getuserphonenumber",
            )
            .await?;
        let reply: PhoneReply = parse(reply, "getuserphonenumber")?;
        let info = reply.phone_info;
        if info.watermark.appid != self.config.appid {
            log::warn!("wechat getuserphonenumber: watermark appid does not match ours");
            return Err(WeChatError::InvalidCode);
        }
        let country = match &info.country_code {
            Value::String(s) => s.trim().trim_start_matches('+').to_owned(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        if country != "86" {
            log::info!("wechat getuserphonenumber: country code {country} is not mainland China");
            return Err(WeChatError::Other {
                code: 0,
                message: "仅支持中国大陆手机号".to_owned(),
            });
        }
        if info.pure_phone_number.is_empty() {
            return Err(WeChatError::Unavailable(
                "reply without purePhoneNumber".to_owned(),
            ));
        }
        Ok(info.pure_phone_number)
    }

    async fn send_message(&self, message: &SubscribeMessage) -> Result<i64, WeChatError> {
        let data: serde_json::Map<String, Value> = message
            .data
            .iter()
            .map(|(key, value)| (key.clone(), json!({ "value": truncate_value(key, value) })))
            .collect();
        let body = json!({
            "touser": message.openid,
            "template_id": message.template_id,
            "page": message.page,
            "miniprogram_state": self.config.miniprogram_state,
            "lang": "zh_CN",
            "data": data,
        });
        let reply = self
            .call_with_token("/cgi-bin/message/subscribe/send", &body, "subscribe_send")
            .await?;
        Ok(reply
            .get("msgid")
            .and_then(Value::as_i64)
            .unwrap_or_default())
    }
}

impl WeChat for WeChatClient {
    fn code_to_session<'a>(
        &'a self,
        code: &'a str,
    ) -> BoxFuture<'a, Result<WeChatSession, WeChatError>> {
        Box::pin(self.login(code))
    }

    fn phone_number<'a>(&'a self, code: &'a str) -> BoxFuture<'a, Result<String, WeChatError>> {
        Box::pin(self.fetch_phone_number(code))
    }

    fn send_subscribe_message<'a>(
        &'a self,
        message: &'a SubscribeMessage,
    ) -> BoxFuture<'a, Result<i64, WeChatError>> {
        Box::pin(self.send_message(message))
    }
}
