//! The WeChat mini-program server API (`zhijian_domain::ports::WeChat`): login
//! (`jscode2session`), the verified phone number, and subscribe messages, with the access
//! token cached and refreshed single-flight. Wire formats: `shared/PROVIDERS.md`.
//!
//! Neither the app secret nor a `session_key` nor an access token is ever logged: errors are
//! described without the request URL (see [`crate::providers::http_client::describe_error`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use zhijian_domain::ports::{BoxFuture, SubscribeMessage, WeChat, WeChatError, WeChatSession};

use crate::crypto::secret::Secret;
use crate::providers::http_client::{build_client, describe_error};

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

/// Cut a subscribe-message value to the length WeChat accepts for its field type, read from
/// the key's prefix: `thing` ≤ 20 characters (an ellipsis marks the cut), `phrase` ≤ 5,
/// `name` ≤ 10, `character_string` and `number` ≤ 32. Characters, not bytes, are counted.
/// Other types (`time`, `date`, `amount` …) pass unchanged.
pub fn truncate_value(key: &str, value: &str) -> String {
    let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let (limit, ellipsis) = match kind {
        "thing" => (20, true),
        "phrase" => (5, false),
        "name" => (10, false),
        "character_string" | "number" => (32, false),
        _ => return value.to_owned(),
    };
    if value.chars().count() <= limit {
        return value.to_owned();
    }
    if ellipsis {
        let mut cut: String = value.chars().take(limit - 1).collect();
        cut.push('…');
        cut
    } else {
        value.chars().take(limit).collect()
    }
}

/// `errcode` and `errmsg` of a reply; a reply without `errcode` is a success.
fn errcode(reply: &Value) -> (i64, &str) {
    let code = reply.get("errcode").and_then(Value::as_i64).unwrap_or(0);
    let message = reply.get("errmsg").and_then(Value::as_str).unwrap_or("");
    (code, message)
}

/// Translate a WeChat `errcode` into what callers act on.
fn map_errcode(call: &str, code: i64, message: &str) -> WeChatError {
    match code {
        40029 | 40163 => WeChatError::InvalidCode,
        45011 | -1 => {
            log::warn!("wechat {call}: errcode {code} ({message})");
            WeChatError::RateLimited
        }
        40226 => WeChatError::UserBlocked,
        43101 => WeChatError::NotSubscribed,
        // Our configuration is wrong (appid, secret, IP whitelist) or the token was refused
        // again right after a refresh: nothing the user can fix.
        40001 | 42001 | 40013 | 40125 | 40164 | 41002 | 41004 => {
            log::error!(
                "wechat {call}: errcode {code} ({message}); check the wechat configuration"
            );
            WeChatError::Unavailable(format!("errcode {code}"))
        }
        _ => {
            log::warn!("wechat {call}: errcode {code} ({message})");
            WeChatError::Other {
                code,
                message: message.to_owned(),
            }
        }
    }
}

fn parse<T: DeserializeOwned>(reply: Value, call: &str) -> Result<T, WeChatError> {
    serde_json::from_value(reply).map_err(|e| {
        log::warn!("wechat {call}: unexpected reply shape: {e}");
        WeChatError::Unavailable("unexpected reply".to_owned())
    })
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct SessionReply {
    openid: String,
    session_key: String,
    #[serde(default)]
    unionid: Option<String>,
}

#[derive(Deserialize)]
struct PhoneReply {
    phone_info: PhoneInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneInfo {
    #[serde(default)]
    pure_phone_number: String,
    /// A number in some replies, a string in others.
    #[serde(default)]
    country_code: Value,
    watermark: Watermark,
}

#[derive(Deserialize)]
struct Watermark {
    appid: String,
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::providers::http_client::stub::{Recorded, Reply, Stub};

    const APPID: &str = "wx-test-app";
    const SECRET: &str = "app-secret-value";

    fn make_client(stub: &Stub, timeout_ms: u64) -> WeChatClient {
        let config = WeChatConfig {
            base_url: format!("{}/", stub.base_url),
            appid: APPID.to_owned(),
            secret: Secret::new(SECRET),
            timeout_ms,
            miniprogram_state: "formal".to_owned(),
        };
        WeChatClient::new(config, Arc::new(MemoryTokenCache::new())).unwrap()
    }

    fn token_reply(token: &str) -> Reply {
        Reply::json(json!({"access_token": token, "expires_in": 7200}))
    }

    fn phone_ok(appid: &str, country: Value) -> Reply {
        Reply::json(json!({
            "errcode": 0, "errmsg": "ok",
            "phone_info": {
                "phoneNumber": "+8613800001234", "purePhoneNumber": "13800001234",
                "countryCode": country,
                "watermark": {"timestamp": 1637744274, "appid": appid}
            }
        }))
    }

    fn login_with(
        reply: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> (Stub, WeChatClient) {
        let stub = Stub::start(reply);
        let client = make_client(&stub, 1000);
        (stub, client)
    }

    #[test]
    fn an_empty_section_deserialises_to_the_defaults() {
        let config: WeChatConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config.base_url, "https://api.weixin.qq.com");
        assert_eq!(config.timeout_ms, 3000);
        assert_eq!(config.miniprogram_state, "formal");
        assert!(format!("{config:?}").contains("<redacted>"));
    }

    #[test]
    fn a_client_needs_an_appid_and_a_secret() {
        let cache: Arc<dyn AccessTokenCache> = Arc::new(MemoryTokenCache::new());
        let error = WeChatClient::new(WeChatConfig::default(), Arc::clone(&cache)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "wechat.appid is empty: set it in the configuration or with APP__WECHAT__APPID"
        );
        let config = WeChatConfig {
            appid: APPID.to_owned(),
            ..WeChatConfig::default()
        };
        assert!(matches!(
            WeChatClient::new(config, Arc::clone(&cache)),
            Err(WeChatConfigError::Missing("secret"))
        ));
        let config = WeChatConfig {
            appid: APPID.to_owned(),
            secret: Secret::new("s"),
            miniprogram_state: "prod".to_owned(),
            ..WeChatConfig::default()
        };
        assert!(matches!(
            WeChatClient::new(config, cache),
            Err(WeChatConfigError::BadMiniprogramState(_))
        ));
    }

    #[tokio::test]
    async fn login_sends_the_documented_query_and_returns_the_session() {
        let (stub, client) = login_with(|_| {
            Reply::json(json!({"openid": "o-1", "session_key": "sk", "unionid": "u-1"}))
        });
        let session = client.code_to_session("the-code").await.unwrap();
        assert_eq!(session.openid, "o-1");
        assert_eq!(session.unionid.as_deref(), Some("u-1"));
        assert_eq!(session.session_key, "sk");
        let seen = &stub.requests()[0];
        assert_eq!(seen.method, "GET");
        assert_eq!(seen.path(), "/sns/jscode2session");
        assert_eq!(seen.query("appid").as_deref(), Some(APPID));
        assert_eq!(seen.query("secret").as_deref(), Some(SECRET));
        assert_eq!(seen.query("js_code").as_deref(), Some("the-code"));
        assert_eq!(
            seen.query("grant_type").as_deref(),
            Some("authorization_code")
        );
    }

    #[tokio::test]
    async fn login_accepts_errcode_zero_and_no_unionid() {
        let (_stub, client) = login_with(|_| {
            Reply::json(json!({"errcode": 0, "errmsg": "ok", "openid": "o-2", "session_key": "sk"}))
        });
        let session = client.code_to_session("c").await.unwrap();
        assert_eq!(session.openid, "o-2");
        assert_eq!(session.unionid, None);
    }

    #[tokio::test]
    async fn login_maps_every_documented_errcode() {
        let cases = [
            (40029, WeChatError::InvalidCode),
            (40163, WeChatError::InvalidCode),
            (45011, WeChatError::RateLimited),
            (40226, WeChatError::UserBlocked),
            (40013, WeChatError::Unavailable("errcode 40013".to_owned())),
            (40125, WeChatError::Unavailable("errcode 40125".to_owned())),
            (
                61234,
                WeChatError::Other {
                    code: 61234,
                    message: "boom".to_owned(),
                },
            ),
        ];
        for (code, expected) in cases {
            let (_stub, client) =
                login_with(move |_| Reply::json(json!({"errcode": code, "errmsg": "boom"})));
            assert_eq!(
                client.code_to_session("c").await.unwrap_err(),
                expected,
                "errcode {code}"
            );
        }
    }

    #[tokio::test]
    async fn a_busy_login_is_retried_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let (stub, client) = login_with(move |_| {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::json(json!({"errcode": -1, "errmsg": "system error"}))
            } else {
                Reply::json(json!({"openid": "o-3", "session_key": "sk"}))
            }
        });
        assert_eq!(client.code_to_session("c").await.unwrap().openid, "o-3");
        assert_eq!(stub.requests().len(), 2);
    }

    #[tokio::test]
    async fn a_login_still_busy_after_the_retry_is_rate_limited() {
        let (stub, client) =
            login_with(|_| Reply::json(json!({"errcode": -1, "errmsg": "system error"})));
        assert_eq!(
            client.code_to_session("c").await.unwrap_err(),
            WeChatError::RateLimited
        );
        assert_eq!(stub.requests().len(), 2);
    }

    #[tokio::test]
    async fn a_5xx_a_bad_body_or_a_timeout_is_unavailable_and_never_shows_the_secret() {
        let (_stub, client) = login_with(|_| Reply::status(502, "bad gateway"));
        let error = client.code_to_session("c").await.unwrap_err();
        assert!(
            matches!(&error, WeChatError::Unavailable(m) if m.contains("502")),
            "{error:?}"
        );

        let (_stub, client) = login_with(|_| Reply::status(200, "<html>"));
        assert!(matches!(
            client.code_to_session("c").await,
            Err(WeChatError::Unavailable(_))
        ));

        let stub = Stub::start(|_| Reply::json(json!({})).delayed(Duration::from_millis(600)));
        let client = make_client(&stub, 100);
        let error = client.code_to_session("c").await.unwrap_err();
        let WeChatError::Unavailable(message) = &error else {
            panic!("{error:?}")
        };
        assert!(message.contains("timed out"), "{message}");
        assert!(!format!("{error} {error:?}").contains(SECRET));
    }

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let config = WeChatConfig {
            base_url: format!("http://{address}"),
            appid: APPID.to_owned(),
            secret: Secret::new(SECRET),
            ..WeChatConfig::default()
        };
        let client = WeChatClient::new(config, Arc::new(MemoryTokenCache::new())).unwrap();
        assert!(matches!(
            client.code_to_session("c").await,
            Err(WeChatError::Unavailable(_))
        ));
    }

    fn phone_stub(country: Value, appid: &'static str) -> Stub {
        Stub::start(move |r| match r.path() {
            "/cgi-bin/stable_token" => token_reply("tok-1"),
            _ => phone_ok(appid, country.clone()),
        })
    }

    #[tokio::test]
    async fn the_phone_number_is_fetched_with_a_cached_access_token() {
        let stub = phone_stub(json!("86"), APPID);
        let client = make_client(&stub, 1000);
        assert_eq!(client.phone_number("p-code").await.unwrap(), "13800001234");
        assert_eq!(
            client.phone_number("p-code-2").await.unwrap(),
            "13800001234"
        );

        let tokens = stub.requests_to("/cgi-bin/stable_token");
        assert_eq!(tokens.len(), 1, "the token is cached");
        assert_eq!(
            tokens[0].json(),
            json!({"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": false})
        );
        let calls = stub.requests_to("/wxa/business/getuserphonenumber");
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].method, "POST");
        assert_eq!(calls[0].query("access_token").as_deref(), Some("tok-1"));
        assert_eq!(calls[0].json(), json!({"code": "p-code"}));
    }

    #[tokio::test]
    async fn a_numeric_country_code_is_accepted() {
        let stub = phone_stub(json!(86), APPID);
        assert_eq!(
            make_client(&stub, 1000).phone_number("c").await.unwrap(),
            "13800001234"
        );
    }

    #[tokio::test]
    async fn a_foreign_number_is_refused() {
        let stub = phone_stub(json!("852"), APPID);
        let error = make_client(&stub, 1000)
            .phone_number("c")
            .await
            .unwrap_err();
        assert!(
            matches!(error, WeChatError::Other { code: 0, .. }),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn a_phone_number_watermarked_for_another_app_is_an_invalid_code() {
        let stub = phone_stub(json!("86"), "wx-someone-else");
        assert_eq!(
            make_client(&stub, 1000)
                .phone_number("c")
                .await
                .unwrap_err(),
            WeChatError::InvalidCode
        );
    }

    #[tokio::test]
    async fn an_invalid_phone_code_is_reported() {
        let stub = Stub::start(|r| match r.path() {
            "/cgi-bin/stable_token" => token_reply("tok"),
            _ => Reply::json(json!({"errcode": 40029, "errmsg": "invalid code"})),
        });
        assert_eq!(
            make_client(&stub, 1000)
                .phone_number("c")
                .await
                .unwrap_err(),
            WeChatError::InvalidCode
        );
    }

    #[tokio::test]
    async fn an_expired_token_is_force_refreshed_once_and_the_call_retried() {
        let stub = Stub::start(|r| match r.path() {
            "/cgi-bin/stable_token" if r.json()["force_refresh"] == json!(true) => {
                token_reply("fresh")
            }
            "/cgi-bin/stable_token" => token_reply("stale"),
            _ if r.query("access_token").as_deref() == Some("stale") => {
                Reply::json(json!({"errcode": 42001, "errmsg": "access_token expired"}))
            }
            _ => phone_ok(APPID, json!("86")),
        });
        let client = make_client(&stub, 1000);
        assert_eq!(client.phone_number("c").await.unwrap(), "13800001234");
        assert_eq!(stub.requests_to("/cgi-bin/stable_token").len(), 2);
        // The fresh token is cached for the next call.
        assert_eq!(client.phone_number("c").await.unwrap(), "13800001234");
        assert_eq!(stub.requests_to("/cgi-bin/stable_token").len(), 2);
    }

    #[tokio::test]
    async fn a_token_refused_again_after_the_refresh_is_unavailable() {
        let stub = Stub::start(|r| match r.path() {
            "/cgi-bin/stable_token" => token_reply("tok"),
            _ => Reply::json(json!({"errcode": 40001, "errmsg": "invalid credential"})),
        });
        let error = make_client(&stub, 1000)
            .phone_number("c")
            .await
            .unwrap_err();
        assert!(matches!(error, WeChatError::Unavailable(_)), "{error:?}");
        assert_eq!(
            stub.requests_to("/wxa/business/getuserphonenumber").len(),
            2
        );
    }

    #[tokio::test]
    async fn a_refused_stable_token_is_unavailable() {
        let stub = Stub::start(|_| Reply::json(json!({"errcode": 40164, "errmsg": "invalid ip"})));
        let error = make_client(&stub, 1000)
            .phone_number("c")
            .await
            .unwrap_err();
        assert!(
            matches!(&error, WeChatError::Unavailable(m) if m.contains("40164")),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn concurrent_calls_fetch_the_token_once() {
        let stub = Stub::start(|r| match r.path() {
            "/cgi-bin/stable_token" => token_reply("tok").delayed(Duration::from_millis(150)),
            _ => phone_ok(APPID, json!("86")),
        });
        let client = make_client(&stub, 2000);
        let (a, b, c) = tokio::join!(
            client.phone_number("1"),
            client.phone_number("2"),
            client.phone_number("3")
        );
        assert!(a.is_ok() && b.is_ok() && c.is_ok());
        assert_eq!(stub.requests_to("/cgi-bin/stable_token").len(), 1);
    }

    fn message() -> SubscribeMessage {
        SubscribeMessage {
            openid: "o-9".to_owned(),
            template_id: "tpl-1".to_owned(),
            page: "pages/application/detail?id=1".to_owned(),
            data: vec![
                (
                    "thing1".to_owned(),
                    "入会申请已由所在地基层工会审核通过，请查看详情".to_owned(),
                ),
                ("phrase2".to_owned(), "已通过".to_owned()),
                ("time3".to_owned(), "2026-11-23 10:00".to_owned()),
            ],
        }
    }

    #[tokio::test]
    async fn a_subscribe_message_has_the_documented_body_and_returns_the_msgid() {
        let stub = Stub::start(|r| match r.path() {
            "/cgi-bin/stable_token" => token_reply("tok"),
            _ => {
                Reply::json(json!({"errcode": 0, "errmsg": "ok", "msgid": 294402298110051942_i64}))
            }
        });
        let msgid = make_client(&stub, 1000)
            .send_subscribe_message(&message())
            .await
            .unwrap();
        assert_eq!(msgid, 294402298110051942);
        let sent = &stub.requests_to("/cgi-bin/message/subscribe/send")[0];
        assert_eq!(sent.query("access_token").as_deref(), Some("tok"));
        assert_eq!(
            sent.json(),
            json!({
                "touser": "o-9",
                "template_id": "tpl-1",
                "page": "pages/application/detail?id=1",
                "miniprogram_state": "formal",
                "lang": "zh_CN",
                "data": {
                    "thing1": {"value": "入会申请已由所在地基层工会审核通过，请…"},
                    "phrase2": {"value": "已通过"},
                    "time3": {"value": "2026-11-23 10:00"}
                }
            })
        );
    }

    #[tokio::test]
    async fn an_unsubscribed_user_is_reported() {
        let stub = Stub::start(|r| match r.path() {
            "/cgi-bin/stable_token" => token_reply("tok"),
            _ => Reply::json(json!({"errcode": 43101, "errmsg": "user refuse to accept the msg"})),
        });
        let error = make_client(&stub, 1000)
            .send_subscribe_message(&message())
            .await
            .unwrap_err();
        assert_eq!(error, WeChatError::NotSubscribed);
    }

    #[test]
    fn values_are_cut_by_characters_to_the_limit_of_their_type() {
        let long = "一二三四五六七八九十一二三四五六七八九十一二三四五";
        let thing = truncate_value("thing1", long);
        assert_eq!(thing.chars().count(), 20);
        assert!(thing.ends_with('…'));
        assert_eq!(truncate_value("thing12", "短"), "短");
        assert_eq!(
            truncate_value("thing1", &long[..60]),
            &long[..60],
            "exactly 20 characters pass"
        );
        assert_eq!(truncate_value("phrase2", "审核已经通过了"), "审核已经通");
        assert_eq!(
            truncate_value("name3", "欧阳一二三四五六七八九"),
            "欧阳一二三四五六七八"
        );
        assert_eq!(
            truncate_value("character_string4", &"A".repeat(40)),
            "A".repeat(32)
        );
        assert_eq!(truncate_value("number5", &"9".repeat(33)), "9".repeat(32));
        assert_eq!(truncate_value("time6", &"x".repeat(50)), "x".repeat(50));
    }

    #[tokio::test]
    async fn the_memory_cache_forgets_expired_tokens() {
        let cache = MemoryTokenCache::new();
        assert_eq!(cache.get().await, None);
        cache.put("t", Duration::from_secs(60)).await;
        assert_eq!(cache.get().await.as_deref(), Some("t"));
        cache.put("t2", Duration::ZERO).await;
        assert_eq!(cache.get().await, None);
    }
}
