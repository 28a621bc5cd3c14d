//! One HTTP attempt at one webhook message: `POST` the body to a [`CheckedTarget`], connecting
//! to the address the guard checked and nowhere else.
//!
//! - The client is built for the one target with `resolve(host, addr)`: reqwest does not look
//!   the name up again, so a DNS answer that changed since the check (rebinding) is never
//!   used; no proxy (a proxy would resolve the name itself).
//! - Redirects are not followed: a 3xx is a failed attempt like any other non-2xx (a redirect
//!   could point inside our network).
//! - The whole attempt is bounded by [`TIMEOUT`]; at most [`BODY_CAP`] bytes of the answer are
//!   read, the rest is dropped with the connection.

use std::time::{Duration, Instant};

use super::guard::CheckedTarget;
use crate::providers::http_client::{USER_AGENT, describe_error, install_crypto_provider};

/// The longest an attempt may take (connect, send, answer).
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The most of a receiver's answer that is read.
pub const BODY_CAP: usize = 64 * 1024;

/// How an attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// The result.
    pub result: AttemptResult,
    /// How long the attempt took.
    pub duration: Duration,
    /// Bytes of the answer read (at most [`BODY_CAP`]).
    pub body_read: usize,
}

/// The result of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// A 2xx answer: delivered.
    Delivered(u16),
    /// A redirect (3xx), not followed.
    Redirect(u16),
    /// Any other status.
    Status(u16),
    /// No answer within [`TIMEOUT`].
    Timeout,
    /// The connection (TCP or TLS) failed.
    Connect(String),
    /// Anything else (the request could not be built or sent).
    Other(String),
}

impl DeliveryOutcome {
    /// Whether the receiver took the message.
    pub const fn is_delivered(&self) -> bool {
        matches!(self.result, AttemptResult::Delivered(_))
    }

    /// The status the receiver answered, if it answered.
    pub const fn response_code(&self) -> Option<u16> {
        match self.result {
            AttemptResult::Delivered(code)
            | AttemptResult::Redirect(code)
            | AttemptResult::Status(code) => Some(code),
            _ => None,
        }
    }

    /// A stable class of the failure, `None` when delivered: `redirect`, `status`,
    /// `timeout`, `connect`, `request`.
    pub const fn error_class(&self) -> Option<&'static str> {
        match self.result {
            AttemptResult::Delivered(_) => None,
            AttemptResult::Redirect(_) => Some("redirect"),
            AttemptResult::Status(_) => Some("status"),
            AttemptResult::Timeout => Some("timeout"),
            AttemptResult::Connect(_) => Some("connect"),
            AttemptResult::Other(_) => Some("request"),
        }
    }

    /// A description of the failure for the delivery log, `None` when delivered.
    pub fn error(&self) -> Option<String> {
        match &self.result {
            AttemptResult::Delivered(_) => None,
            AttemptResult::Redirect(code) => Some(format!(
                "redirect: the receiver answered {code}; redirects are not followed"
            )),
            AttemptResult::Status(code) => Some(format!("status: the receiver answered {code}")),
            AttemptResult::Timeout => {
                Some(format!("timeout: no answer within {} s", TIMEOUT.as_secs()))
            }
            AttemptResult::Connect(e) | AttemptResult::Other(e) => Some(e.clone()),
        }
    }

    /// The duration in whole milliseconds.
    pub fn duration_ms(&self) -> i32 {
        i32::try_from(self.duration.as_millis()).unwrap_or(i32::MAX)
    }
}

/// Sends one message: `POST target.url` with the Standard Webhooks headers, to `target.addr`.
pub async fn deliver(
    target: &CheckedTarget,
    msg_id: &str,
    ts: i64,
    body: &[u8],
    signature_header: &str,
) -> DeliveryOutcome {
    deliver_within(target, msg_id, ts, body, signature_header, TIMEOUT).await
}

/// [`deliver`] with another time limit (tests).
pub(crate) async fn deliver_within(
    target: &CheckedTarget,
    msg_id: &str,
    ts: i64,
    body: &[u8],
    signature_header: &str,
    timeout: Duration,
) -> DeliveryOutcome {
    let started = Instant::now();
    let finish = |result: AttemptResult, body_read: usize| DeliveryOutcome {
        result,
        duration: started.elapsed(),
        body_read,
    };
    let client = match client_for(target, timeout) {
        Ok(client) => client,
        Err(e) => return finish(AttemptResult::Other(describe_error(e)), 0),
    };
    let sent = client
        .post(target.url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature_header)
        .body(body.to_vec())
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(e) if e.is_timeout() => return finish(AttemptResult::Timeout, 0),
        Err(e) if e.is_connect() => return finish(AttemptResult::Connect(describe_error(e)), 0),
        Err(e) => return finish(AttemptResult::Other(describe_error(e)), 0),
    };
    let status = response.status();
    let mut read = 0_usize;
    // Read (and drop) at most BODY_CAP bytes; a receiver that streams forever is cut off by
    // the cap or the timeout, and neither changes what its status said.
    while read < BODY_CAP {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len().min(BODY_CAP - read),
            Ok(None) | Err(_) => break,
        }
    }
    let code = status.as_u16();
    let result = if status.is_success() {
        AttemptResult::Delivered(code)
    } else if status.is_redirection() {
        AttemptResult::Redirect(code)
    } else {
        AttemptResult::Status(code)
    };
    finish(result, read)
}

fn client_for(
    target: &CheckedTarget,
    timeout: Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(0);
    if let Some(url::Host::Domain(name)) = target.url.host() {
        builder = builder.resolve(name, target.addr);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::http_client::stub::{Reply, Stub};

    /// A target whose name resolves nowhere: only the pinned address can be reached.
    fn pinned(stub: &Stub, path: &str) -> CheckedTarget {
        let addr: std::net::SocketAddr =
            stub.base_url.trim_start_matches("http://").parse().unwrap();
        CheckedTarget {
            url: url::Url::parse(&format!("http://receiver.invalid:{}{path}", addr.port()))
                .unwrap(),
            addr,
        }
    }

    #[tokio::test]
    async fn the_request_goes_to_the_checked_address_with_the_standard_headers() {
        let stub = Stub::start(|_| Reply::status(204, ""));
        let target = pinned(&stub, "/hook");
        let outcome = deliver(&target, "msg_1", 1_700_000_000, b"{\"a\":1}", "v1,abc").await;
        assert_eq!(outcome.result, AttemptResult::Delivered(204));
        assert!(outcome.is_delivered());
        assert_eq!(outcome.error(), None);
        let seen = stub.requests_to("/hook");
        assert_eq!(seen.len(), 1);
        let request = &seen[0];
        assert_eq!(request.method, "POST");
        assert_eq!(request.header("webhook-id"), Some("msg_1"));
        assert_eq!(request.header("webhook-timestamp"), Some("1700000000"));
        assert_eq!(request.header("webhook-signature"), Some("v1,abc"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(
            request.header("host"),
            Some(format!("receiver.invalid:{}", target.addr.port()).as_str())
        );
        assert_eq!(request.body, "{\"a\":1}");
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_and_is_a_failure() {
        let stub = Stub::start(|r| {
            if r.path() == "/hook" {
                Reply::status(307, "")
            } else {
                Reply::status(200, "")
            }
        });
        let outcome = deliver(&pinned(&stub, "/hook"), "msg_2", 1, b"{}", "v1,x").await;
        assert_eq!(outcome.result, AttemptResult::Redirect(307));
        assert!(!outcome.is_delivered());
        assert_eq!(outcome.response_code(), Some(307));
        assert_eq!(outcome.error_class(), Some("redirect"));
        // Only the one request: nothing went to wherever the redirect pointed.
        assert_eq!(stub.requests().len(), 1);
    }

    #[tokio::test]
    async fn an_error_status_a_refused_connection_and_a_slow_receiver_fail() {
        let stub = Stub::start(|_| Reply::status(500, "{}"));
        let outcome = deliver(&pinned(&stub, "/hook"), "m", 1, b"{}", "v1,x").await;
        assert_eq!(outcome.result, AttemptResult::Status(500));

        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = closed.local_addr().unwrap();
        drop(closed);
        let down = CheckedTarget {
            url: url::Url::parse(&format!("http://receiver.invalid:{}/", addr.port())).unwrap(),
            addr,
        };
        let outcome = deliver(&down, "m", 1, b"{}", "v1,x").await;
        assert_eq!(outcome.error_class(), Some("connect"), "{outcome:?}");

        let slow = Stub::start(|_| Reply::status(200, "").delayed(Duration::from_millis(800)));
        let outcome = deliver_within(
            &pinned(&slow, "/"),
            "m",
            1,
            b"{}",
            "v1,x",
            Duration::from_millis(200),
        )
        .await;
        assert_eq!(outcome.result, AttemptResult::Timeout);
        assert!(outcome.duration < Duration::from_millis(700), "{outcome:?}");
    }

    #[tokio::test]
    async fn the_default_time_limit_is_five_seconds() {
        assert_eq!(TIMEOUT, Duration::from_secs(5));
        let slow = Stub::start(|_| Reply::status(200, "").delayed(Duration::from_secs(7)));
        let outcome = deliver(&pinned(&slow, "/"), "m", 1, b"{}", "v1,x").await;
        assert_eq!(outcome.result, AttemptResult::Timeout);
        assert!(
            outcome.duration < Duration::from_millis(6_500),
            "{outcome:?}"
        );
        assert!(
            outcome.duration >= Duration::from_millis(4_900),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn at_most_the_cap_of_a_large_answer_is_read() {
        let stub = Stub::start(|_| Reply::status(200, &"x".repeat(1024 * 1024)));
        let outcome = deliver(&pinned(&stub, "/"), "m", 1, b"{}", "v1,x").await;
        assert_eq!(outcome.result, AttemptResult::Delivered(200));
        assert_eq!(outcome.body_read, BODY_CAP);
    }
}
