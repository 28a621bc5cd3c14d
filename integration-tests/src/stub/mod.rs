//! A local HTTP server that speaks the WeChat and SMS (Tencent Cloud, Aliyun) wire formats of
//! `PROVIDERS.md`, records what it receives, and can be told to fail.
//!
//! Tests start it in-process on port 0 with [`ProviderStub::start`]; `make run` starts the
//! `zhijian-provider-stub` binary on a fixed port. Both serve the same routes:
//!
//! - WeChat at the root: `GET /sns/jscode2session`, `POST /cgi-bin/stable_token`,
//!   `POST /wxa/business/getuserphonenumber`, `POST /cgi-bin/message/subscribe/send`;
//! - Tencent Cloud `SendSms` at `POST /tencent/` (adapter base URL `{base_url}/tencent`);
//! - Aliyun `SendSms` at `GET|POST /aliyun/` (adapter base URL `{base_url}/aliyun`);
//! - recording and control at `/__stub/` (see the `control` module).
//!
//! Deterministic inputs let a test choose its user: a `js_code` of `<user>` or `<user>.<nonce>`
//! logs in as `openid = "o_stub_<user>"`, `unionid = "u_stub_<user>"` (no unionid when the user
//! starts with `nounion-`); a phone code `phone-<11 digits>` or `phone-<11 digits>.<nonce>`
//! yields that mainland number. Both kinds of code are single use.

mod aliyun;
mod control;
mod fault;
mod sign;
mod state;
mod tencent;
mod wechat;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::middleware::Logger;
use actix_web::{App, HttpResponse, HttpServer, web};
use rand::Rng;
use serde::{Deserialize, Serialize};

pub use fault::{Fault, FaultCode, FaultMode, FaultTarget};
pub use state::{Provider, RecordedRequest, RecordedSms, SubscribeMessage};

use state::Shared;

/// Credentials the stub accepts. The adapters under test must be configured with the same ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StubConfig {
    /// WeChat mini-program `appid` (default `wx-stub-appid`).
    pub wechat_appid: String,
    /// WeChat mini-program `secret` (default `stub-wechat-secret`).
    pub wechat_secret: String,
    /// Tencent Cloud `SecretId` (default `AKIDstub`).
    pub tencent_secret_id: String,
    /// Tencent Cloud `SecretKey` (default `stub-tencent-secret`).
    pub tencent_secret_key: String,
    /// Tencent SMS `SmsSdkAppId` (default `1400000000`).
    pub tencent_sdk_app_id: String,
    /// Aliyun `AccessKeyId` (default `LTAIstub`).
    pub aliyun_access_key_id: String,
    /// Aliyun `AccessKeySecret` (default `stub-aliyun-secret`).
    pub aliyun_access_key_secret: String,
}

impl Default for StubConfig {
    fn default() -> Self {
        Self {
            wechat_appid: "wx-stub-appid".to_owned(),
            wechat_secret: "stub-wechat-secret".to_owned(),
            tencent_secret_id: "AKIDstub".to_owned(),
            tencent_secret_key: "stub-tencent-secret".to_owned(),
            tencent_sdk_app_id: "1400000000".to_owned(),
            aliyun_access_key_id: "LTAIstub".to_owned(),
            aliyun_access_key_secret: "stub-aliyun-secret".to_owned(),
        }
    }
}

/// A running provider stub. Dropping it stops the server (without waiting for open requests);
/// [`ProviderStub::stop`] stops it gracefully.
#[derive(Debug)]
pub struct ProviderStub {
    /// `http://127.0.0.1:<port>`: the WeChat base URL; SMS bases are below it.
    pub base_url: String,
    /// The credentials the stub accepts.
    pub config: StubConfig,
    addr: SocketAddr,
    shared: Arc<Shared>,
    handle: ServerHandle,
    server: Option<tokio::task::JoinHandle<io::Result<()>>>,
}

impl ProviderStub {
    /// Starts the stub on `127.0.0.1` with a port chosen by the OS, on the current tokio runtime.
    pub async fn start(config: StubConfig) -> io::Result<Self> {
        Self::start_at(config, ("127.0.0.1", 0)).await
    }

    /// Starts the stub on the given address, on the current tokio runtime.
    pub async fn start_at(config: StubConfig, addr: impl ToSocketAddrs) -> io::Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config.clone()));
        let data = web::Data::from(Arc::clone(&shared));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(Logger::new("%r %s %Dms"))
                .configure(wechat::configure)
                .configure(tencent::configure)
                .configure(aliyun::configure)
                .configure(control::configure)
                .default_service(web::to(not_found))
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(2)
        .listen(listener)?
        .run();
        let handle = server.handle();
        let server = tokio::spawn(server);
        Ok(Self {
            base_url: format!("http://{addr}"),
            config,
            addr,
            shared,
            handle,
            server: Some(server),
        })
    }

    /// The address the stub listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL for the WeChat adapter (the same as [`Self::base_url`]).
    pub fn wechat_base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Base URL for the Tencent SMS adapter: `{base_url}/tencent`.
    pub fn tencent_base_url(&self) -> String {
        format!("{}/tencent", self.base_url)
    }

    /// Base URL for the Aliyun SMS adapter: `{base_url}/aliyun`.
    pub fn aliyun_base_url(&self) -> String {
        format!("{}/aliyun", self.base_url)
    }

    /// Requests received on one provider's endpoints, oldest first.
    pub fn requests(&self, provider: Provider) -> Vec<RecordedRequest> {
        self.shared.lock().requests_of(Some(provider))
    }

    /// Requests received on every provider endpoint, oldest first.
    pub fn all_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests_of(None)
    }

    /// Forgets recorded requests, SMS and subscribe messages (faults and provider state stay).
    pub fn clear_requests(&self) {
        self.shared.lock().clear_recordings();
    }

    /// SMS accepted for this phone (11 digits, `+86` optional), oldest first.
    pub fn sms_to(&self, phone: &str) -> Vec<RecordedSms> {
        self.shared.lock().sms_to(Some(phone))
    }

    /// Every SMS accepted, oldest first.
    pub fn all_sms(&self) -> Vec<RecordedSms> {
        self.shared.lock().sms_to(None)
    }

    /// The first template parameter of the latest SMS to this phone: the verification code.
    pub fn last_sms_code(&self, phone: &str) -> Option<String> {
        self.sms_to(phone)
            .pop()
            .and_then(|sms| sms.params.into_iter().next())
    }

    /// Subscribe messages accepted for this openid, oldest first.
    pub fn subscribe_messages(&self, openid: &str) -> Vec<SubscribeMessage> {
        self.shared.lock().messages_to(Some(openid))
    }

    /// Adds a fault; it applies after the faults injected before it are used up.
    pub fn inject_fault(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Makes subscribe messages to this openid answer `43101` (not subscribed / grant used up).
    pub fn mark_unsubscribed(&self, openid: &str) {
        self.shared.lock().unsubscribed.insert(openid.to_owned());
    }

    /// Makes SMS to this phone fail as blacklisted (Tencent
    /// `FailedOperation.PhoneNumberInBlacklist`, Aliyun `isv.BLACK_KEY_CONTROL_LIMIT`).
    pub fn blacklist_phone(&self, phone: &str) {
        self.shared.lock().blacklist.insert(national_number(phone));
    }

    /// Expires every issued WeChat access token: their next use answers `42001`, and the next
    /// `stable_token` call issues a new one.
    pub fn expire_access_tokens(&self) {
        self.shared.lock().expire_tokens();
    }

    /// Forgets everything: recordings, faults, tokens, used codes, unsubscribed openids and the
    /// blacklist.
    pub fn reset(&self) {
        self.shared.lock().reset();
    }

    /// Stops the server, letting open requests finish (for up to 2 seconds).
    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        if let Some(server) = self.server.take()
            && let Ok(Err(err)) = server.await
        {
            log::warn!("provider stub stopped with an error: {err}");
        }
    }
}

impl Drop for ProviderStub {
    fn drop(&mut self) {
        // The stop command is sent synchronously; the returned future only waits for it to
        // complete, which a destructor cannot do.
        drop(self.handle.stop(false));
    }
}

async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    log::warn!("provider stub: no route for {} {}", req.method(), req.uri());
    HttpResponse::NotFound().json(serde_json::json!({
        "error": format!("the provider stub has no route for {} {}", req.method(), req.path())
    }))
}

/// Decodes `a=1&b=2` (query string or form body); undecodable input gives no pairs.
pub(crate) fn parse_pairs(encoded: &str) -> Vec<(String, String)> {
    web::Query::<Vec<(String, String)>>::from_query(encoded)
        .map(web::Query::into_inner)
        .unwrap_or_default()
}

/// Random alphanumeric string, for tokens and ids.
pub(crate) fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Random decimal digits, for provider serial numbers.
pub(crate) fn random_digits(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// A mainland mobile number without its country prefix (`+86`, `0086`, `86`), when the input is
/// one: 11 digits, `1[3-9]…`.
pub(crate) fn mainland_mobile(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let national = raw
        .strip_prefix("+86")
        .or_else(|| raw.strip_prefix("0086"))
        .or_else(|| raw.strip_prefix("86").filter(|rest| rest.len() == 11))
        .unwrap_or(raw);
    is_national_mobile(national).then(|| national.to_owned())
}

/// Exactly `1[3-9]` followed by 9 digits.
pub(crate) fn is_national_mobile(national: &str) -> bool {
    let bytes = national.as_bytes();
    bytes.len() == 11
        && bytes.iter().all(u8::is_ascii_digit)
        && bytes[0] == b'1'
        && (b'3'..=b'9').contains(&bytes[1])
}

/// The phone as the stub files it: the national number when it is a mainland mobile, otherwise
/// the trimmed input.
pub(crate) fn national_number(raw: &str) -> String {
    mainland_mobile(raw).unwrap_or_else(|| raw.trim().to_owned())
}
