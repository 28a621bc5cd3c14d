//! What the stub remembers: the requests it received, the messages it "delivered", and the
//! provider-side state (issued tokens, used codes, unsubscribed users, blacklisted numbers) that
//! makes its answers realistic.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StubConfig;
use super::fault::Fault;

/// Which provider a recorded request or message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// WeChat mini-program server API (login, access token, phone number, subscribe message).
    Wechat,
    /// Tencent Cloud SMS `SendSms` (API 3.0).
    Tencent,
    /// Aliyun Dysmsapi `SendSms` (RPC style).
    Aliyun,
}

impl Provider {
    /// The lowercase name used on the wire (`?provider=`) and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wechat => "wechat",
            Self::Tencent => "tencent",
            Self::Aliyun => "aliyun",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP request received on a provider endpoint, recorded before any fault or check runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// The provider whose endpoint was called.
    pub provider: Provider,
    /// The request path, e.g. `/sns/jscode2session` or `/tencent/`.
    pub path: String,
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// Headers with lowercase names; repeated headers are joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// Decoded query parameters (the last one wins when a name repeats).
    pub query: BTreeMap<String, String>,
    /// The body: parsed JSON when it is JSON, otherwise the text (`null` when empty).
    pub body: serde_json::Value,
    /// When the stub received the request.
    pub received_at: DateTime<Utc>,
}

/// One SMS the stub accepted for delivery to one phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedSms {
    /// The provider that "sent" it.
    pub provider: Provider,
    /// The mainland mobile number, 11 digits without `+86`.
    pub phone: String,
    /// The signature name (`SignName`).
    pub sign_name: String,
    /// Tencent `TemplateId` or Aliyun `TemplateCode`.
    pub template_id: String,
    /// Template parameters in order: Tencent `TemplateParamSet`, or the values of Aliyun's
    /// `TemplateParam` object in the order they appear (non-string values as JSON text).
    pub params: Vec<String>,
    /// Tencent `SessionContext` or Aliyun `OutId`.
    pub out_id: Option<String>,
    /// When the stub accepted it.
    pub received_at: DateTime<Utc>,
}

/// One WeChat subscribe message the stub accepted for delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscribeMessage {
    /// `touser`.
    pub openid: String,
    /// `template_id`.
    pub template_id: String,
    /// `page`, when sent.
    pub page: Option<String>,
    /// `miniprogram_state`, when sent.
    pub miniprogram_state: Option<String>,
    /// `lang`, when sent.
    pub lang: Option<String>,
    /// `data` exactly as received, e.g. `{"thing1":{"value":"入会申请"}}`.
    pub data: serde_json::Value,
    /// The `msgid` the stub answered with.
    pub msgid: u64,
    /// When the stub accepted it.
    pub received_at: DateTime<Utc>,
}

/// Why an access token is no longer accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenRejection {
    /// Never issued, or replaced by a forced refresh: `40001`.
    Invalid,
    /// Past its lifetime or expired through the control API: `42001`.
    Expired,
}

#[derive(Debug, Clone)]
struct IssuedToken {
    expires_at: Instant,
    replaced: bool,
    expired: bool,
}

/// Lifetime of a WeChat access token, as the real API announces it.
pub(crate) const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(7200);

/// Mutable stub state. Always accessed through [`Shared::lock`], never across an `.await`.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub requests: Vec<RecordedRequest>,
    pub sms: Vec<RecordedSms>,
    pub messages: Vec<SubscribeMessage>,
    pub faults: Vec<Fault>,
    pub used_js_codes: HashSet<String>,
    pub used_phone_codes: HashSet<String>,
    pub unsubscribed: HashSet<String>,
    pub blacklist: HashSet<String>,
    pub aliyun_nonces: HashSet<String>,
    pub phone_calls: u64,
    pub next_msgid: u64,
    tokens: HashMap<String, IssuedToken>,
    current_token: Option<String>,
}

impl State {
    /// Forgets everything: recordings, faults, tokens, used codes and control registrations.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Clears recorded requests, SMS and subscribe messages; keeps provider state and faults.
    pub fn clear_recordings(&mut self) {
        self.requests.clear();
        self.sms.clear();
        self.messages.clear();
    }

    /// Recorded requests, all or one provider's.
    pub fn requests_of(&self, provider: Option<Provider>) -> Vec<RecordedRequest> {
        self.requests
            .iter()
            .filter(|r| provider.is_none_or(|p| r.provider == p))
            .cloned()
            .collect()
    }

    /// Accepted SMS, all or one phone's (`+86` optional).
    pub fn sms_to(&self, phone: Option<&str>) -> Vec<RecordedSms> {
        let phone = phone.map(super::national_number);
        self.sms
            .iter()
            .filter(|s| phone.as_ref().is_none_or(|p| &s.phone == p))
            .cloned()
            .collect()
    }

    /// Accepted subscribe messages, all or one openid's.
    pub fn messages_to(&self, openid: Option<&str>) -> Vec<SubscribeMessage> {
        self.messages
            .iter()
            .filter(|m| openid.is_none_or(|o| m.openid == o))
            .cloned()
            .collect()
    }

    /// Whether SMS to this national number fail as blacklisted.
    pub fn is_blacklisted(&self, national: &str) -> bool {
        self.blacklist.contains(national)
    }

    /// The `stable_token` behaviour: the current token while it is valid, a new one when there
    /// is none or when `force_refresh` asks for it (which invalidates the previous one).
    /// Returns the token and its remaining lifetime in seconds.
    pub fn stable_token(&mut self, force_refresh: bool, now: Instant) -> (String, u64) {
        if !force_refresh
            && let Some(current) = &self.current_token
            && let Some(issued) = self.tokens.get(current)
            && !issued.expired
            && issued.expires_at > now
        {
            let remaining = issued.expires_at.saturating_duration_since(now).as_secs();
            return (current.clone(), remaining.max(1));
        }
        if let Some(old) = self.current_token.take()
            && let Some(issued) = self.tokens.get_mut(&old)
        {
            issued.replaced = true;
        }
        let token = super::random_token(86);
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                expires_at: now + ACCESS_TOKEN_LIFETIME,
                replaced: false,
                expired: false,
            },
        );
        self.current_token = Some(token.clone());
        (token, ACCESS_TOKEN_LIFETIME.as_secs())
    }

    /// Checks an access token presented to a WeChat business API.
    pub fn check_token(&self, token: &str, now: Instant) -> Result<(), TokenRejection> {
        match self.tokens.get(token) {
            None => Err(TokenRejection::Invalid),
            Some(issued) if issued.replaced => Err(TokenRejection::Invalid),
            Some(issued) if issued.expired || issued.expires_at <= now => {
                Err(TokenRejection::Expired)
            }
            Some(_) => Ok(()),
        }
    }

    /// Expires every issued token (they answer `42001` from now on).
    pub fn expire_tokens(&mut self) {
        for issued in self.tokens.values_mut() {
            issued.expired = true;
        }
        self.current_token = None;
    }
}

/// Configuration plus state, shared by the server's workers and the [`super::ProviderStub`].
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: StubConfig,
    state: Mutex<State>,
}

impl Shared {
    pub fn new(config: StubConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::default()),
        }
    }

    /// Locks the state. A panic elsewhere never makes the stub unusable: the state is plain
    /// data, so a poisoned lock is simply taken over.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a request on a provider endpoint and logs it.
    pub fn record(&self, provider: Provider, req: &HttpRequest, body: &[u8]) {
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in req.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|existing| {
                    existing.push_str(", ");
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
        let query = super::parse_pairs(req.query_string()).into_iter().collect();
        let body = if body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(body).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(body).into_owned())
            })
        };
        log::info!(
            "{provider} request: {} {}",
            req.method(),
            req.uri().path_and_query().map_or("", |pq| pq.as_str())
        );
        self.lock().requests.push(RecordedRequest {
            provider,
            path: req.path().to_owned(),
            method: req.method().as_str().to_owned(),
            headers,
            query,
            body,
            received_at: Utc::now(),
        });
    }
}
