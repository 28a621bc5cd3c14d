//! Injected failures: make a provider endpoint answer with an HTTP error, a provider error code,
//! a delay, or a dropped connection, for a number of calls or until cleared.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use serde::{Deserialize, Serialize};

use super::state::Shared;

/// Which endpoint a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultTarget {
    /// `GET /sns/jscode2session`.
    #[serde(rename = "jscode2session")]
    Jscode2session,
    /// `POST /cgi-bin/stable_token`.
    #[serde(rename = "stable_token")]
    StableToken,
    /// `POST /wxa/business/getuserphonenumber`.
    #[serde(rename = "phone")]
    Phone,
    /// `POST /cgi-bin/message/subscribe/send`.
    #[serde(rename = "subscribe")]
    Subscribe,
    /// Tencent `SendSms`.
    #[serde(rename = "tencent")]
    Tencent,
    /// Aliyun `SendSms`.
    #[serde(rename = "aliyun")]
    Aliyun,
    /// Every provider endpoint (never the `/__stub/` control API).
    #[serde(rename = "*")]
    All,
}

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultMode {
    /// Answer with HTTP `status` (default 503) and a plain-text body.
    Status,
    /// Answer with a provider error in the provider's wire format, carrying `errcode`.
    Errcode,
    /// Sleep `delay_ms`, then answer normally.
    Delay,
    /// Close the connection without an answer (after `delay_ms` when given).
    Drop,
}

/// A provider error code: a number for WeChat (`45011`), a string for SMS
/// (`"LimitExceeded.PhoneNumberDailyLimit"`, `"isv.BUSINESS_LIMIT_CONTROL"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FaultCode {
    /// A WeChat `errcode`.
    Number(i64),
    /// A Tencent or Aliyun `Code`.
    Text(String),
}

impl FaultCode {
    /// The code as a WeChat `errcode`; a non-numeric string becomes `-1` (system error).
    pub fn as_wechat(&self) -> i64 {
        match self {
            Self::Number(n) => *n,
            Self::Text(s) => s.trim().parse().unwrap_or(-1),
        }
    }

    /// The code as an SMS provider `Code`.
    pub fn as_text(&self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::Text(s) => s.clone(),
        }
    }
}

impl From<i64> for FaultCode {
    fn from(code: i64) -> Self {
        Self::Number(code)
    }
}

impl From<&str> for FaultCode {
    fn from(code: &str) -> Self {
        Self::Text(code.to_owned())
    }
}

impl From<String> for FaultCode {
    fn from(code: String) -> Self {
        Self::Text(code)
    }
}

/// An injected fault, as posted to `POST /__stub/faults` or passed to
/// [`super::ProviderStub::inject_fault`]. Faults are matched in the order they were injected;
/// the first one whose target matches the endpoint applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Endpoint the fault applies to.
    pub target: FaultTarget,
    /// What it does.
    pub mode: FaultMode,
    /// HTTP status for [`FaultMode::Status`] (default 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Provider error code for [`FaultMode::Errcode`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errcode: Option<FaultCode>,
    /// Milliseconds to wait before acting: required for [`FaultMode::Delay`], optional for the
    /// other modes (e.g. a slow 503, or a drop after a while).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// How many calls the fault applies to; `None` means until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
}

impl Fault {
    /// Answer with this HTTP status.
    pub fn status(target: FaultTarget, status: u16) -> Self {
        Self::new(target, FaultMode::Status).with(|f| f.status = Some(status))
    }

    /// Answer with this provider error code in the provider's wire format.
    pub fn errcode(target: FaultTarget, code: impl Into<FaultCode>) -> Self {
        let code = code.into();
        Self::new(target, FaultMode::Errcode).with(|f| f.errcode = Some(code))
    }

    /// Wait this long, then answer normally.
    pub fn delay(target: FaultTarget, delay: Duration) -> Self {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        Self::new(target, FaultMode::Delay).with(|f| f.delay_ms = Some(ms))
    }

    /// Close the connection without answering.
    pub fn drop_connection(target: FaultTarget) -> Self {
        Self::new(target, FaultMode::Drop)
    }

    /// Limit the fault to the next `n` matching calls.
    #[must_use]
    pub fn times(self, n: u32) -> Self {
        self.with(|f| f.times = Some(n))
    }

    fn new(target: FaultTarget, mode: FaultMode) -> Self {
        Self {
            target,
            mode,
            status: None,
            errcode: None,
            delay_ms: None,
            times: None,
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Self)) -> Self {
        change(&mut self);
        self
    }

    /// Checks a fault received over HTTP; the message says what is missing.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.times == Some(0) {
            return Err("\"times\" must be at least 1".to_owned());
        }
        match self.mode {
            FaultMode::Status => match self.status {
                Some(status) if StatusCode::from_u16(status).is_err() => {
                    Err(format!("status {status} is not a valid HTTP status"))
                }
                _ => Ok(()),
            },
            FaultMode::Errcode if self.errcode.is_none() => {
                Err("mode \"errcode\" needs an \"errcode\"".to_owned())
            }
            FaultMode::Delay if self.delay_ms.is_none() => {
                Err("mode \"delay\" needs \"delay_ms\"".to_owned())
            }
            _ => Ok(()),
        }
    }

    fn applies_to(&self, target: FaultTarget) -> bool {
        self.target == FaultTarget::All || self.target == target
    }
}

/// What a provider handler must do because of a fault.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Answer this response now (status fault, drop).
    Respond(HttpResponse),
    /// Answer with a provider error carrying this code.
    Errcode(FaultCode),
    /// Proceed normally.
    Proceed,
}

/// Takes the first matching fault (counting down its `times`) and carries out its delay.
pub(crate) async fn apply(shared: &Shared, target: FaultTarget) -> Outcome {
    let fault = {
        let mut state = shared.lock();
        let Some(index) = state.faults.iter().position(|f| f.applies_to(target)) else {
            return Outcome::Proceed;
        };
        let fault = state.faults[index].clone();
        if let Some(times) = fault.times {
            if times <= 1 {
                state.faults.remove(index);
            } else {
                state.faults[index].times = Some(times - 1);
            }
        }
        fault
    };
    log::info!("injecting fault {fault:?}");
    if let Some(ms) = fault.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match fault.mode {
        FaultMode::Status => {
            let status = fault
                .status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            Outcome::Respond(
                HttpResponse::build(status)
                    .content_type("text/plain; charset=utf-8")
                    .body(format!("stub fault: HTTP {}", status.as_u16())),
            )
        }
        FaultMode::Errcode => Outcome::Errcode(
            fault
                .errcode
                .unwrap_or_else(|| FaultCode::Text("InternalError".to_owned())),
        ),
        FaultMode::Delay => Outcome::Proceed,
        FaultMode::Drop => Outcome::Respond(HttpResponse::Ok().body(DropConnection)),
    }
}

/// A body that fails before its first chunk. actix-web then closes the connection without
/// flushing the response head, so the client sees the connection end with no answer.
struct DropConnection;

impl MessageBody for DropConnection {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "stub fault: drop connection",
        ))))
    }
}
