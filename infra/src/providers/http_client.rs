//! The HTTP client every provider adapter uses: rustls with the ring crypto provider,
//! timeouts, no redirects, and a `User-Agent` that names us.
//!
//! reqwest is built with `rustls-no-provider`, so a process-wide rustls crypto provider must
//! be installed before the first client is built; [`build_client`] does that itself.

use std::sync::Once;
use std::time::Duration;

/// The `User-Agent` sent to providers: `zhijian/<crate version>`.
pub const USER_AGENT: &str = concat!("zhijian/", env!("CARGO_PKG_VERSION"));

/// Install rustls's ring provider as the process default, once. If another provider was
/// installed first (by the binary, say), that one stays: both are fine for a client.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Why `url` is not fit to reach a provider in production, or `None`: it must be `https://`
/// and name a public host — not `localhost`, nor a loopback, private, link-local, CGNAT,
/// unspecified or multicast address (a local stub, or a development setting left in place).
pub fn production_url_problem(url: &str) -> Option<&'static str> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Some("is not a URL");
    };
    if parsed.scheme() != "https" {
        return Some("must be an https:// URL in production");
    }
    let local = match parsed.host() {
        None => return Some("has no host"),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost") || !name.contains('.')
        }
        Some(url::Host::Ipv4(ip)) => !public_v4(ip),
        Some(url::Host::Ipv6(ip)) => ip
            .to_ipv4_mapped()
            .map_or_else(|| !public_v6(ip), |v4| !public_v4(v4)),
    };
    local.then_some(
        "names a local or private host (a stub?); production needs the provider's public address",
    )
}

fn public_v4(ip: std::net::Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let cgnat = a == 100 && (64..128).contains(&b);
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || cgnat)
}

fn public_v6(ip: std::net::Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
}

/// Build a client for calling a provider.
///
/// `timeout` bounds a whole request (connect, send, read the body); `connect_timeout` bounds
/// the TCP and TLS handshake. Redirects are not followed: no provider we call redirects, and
/// a redirect would carry query parameters that hold secrets (the WeChat `secret`,
/// `access_token`) to another host. Proxies from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` are
/// honoured as reqwest does by default, for deployments whose egress goes through one.
pub fn build_client(
    timeout: Duration,
    connect_timeout: Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Describe a transport error for logs and error values, without the request URL (whose
/// query may hold a secret or an access token) but with the underlying cause.
pub fn describe_error(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_decode() || error.is_body() {
        "bad response body"
    } else {
        "request failed"
    };
    let error = error.without_url();
    let mut text = format!("{kind}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A minimal HTTP/1.1 server on 127.0.0.1 for adapter tests: records every request and
/// answers with whatever the test's handler returns (status, body, optional delay).
#[cfg(test)]
pub(crate) mod stub {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// One request the stub received.
    #[derive(Debug, Clone)]
    pub(crate) struct Recorded {
        pub method: String,
        /// Path and query, as sent.
        pub target: String,
        /// Header names lower-cased.
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    impl Recorded {
        pub(crate) fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        pub(crate) fn path(&self) -> &str {
            self.target.split('?').next().unwrap_or("")
        }

        /// A decoded query parameter.
        pub(crate) fn query(&self, key: &str) -> Option<String> {
            let url = reqwest::Url::parse(&format!("http://stub{}", self.target)).ok()?;
            url.query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        }

        /// A decoded `application/x-www-form-urlencoded` body.
        pub(crate) fn form(&self) -> Vec<(String, String)> {
            let url = reqwest::Url::parse(&format!("http://stub/?{}", self.body)).unwrap();
            url.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        }

        pub(crate) fn json(&self) -> serde_json::Value {
            serde_json::from_str(&self.body).unwrap()
        }
    }

    /// What the stub answers.
    pub(crate) struct Reply {
        pub status: u16,
        pub body: String,
        pub delay: Duration,
    }

    impl Reply {
        pub(crate) fn json(body: serde_json::Value) -> Self {
            Self {
                status: 200,
                body: body.to_string(),
                delay: Duration::ZERO,
            }
        }

        pub(crate) fn status(status: u16, body: &str) -> Self {
            Self {
                status,
                body: body.to_owned(),
                delay: Duration::ZERO,
            }
        }

        pub(crate) fn delayed(mut self, delay: Duration) -> Self {
            self.delay = delay;
            self
        }
    }

    type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

    pub(crate) struct Stub {
        /// `http://127.0.0.1:<port>`, no trailing slash.
        pub base_url: String,
        requests: Arc<Mutex<Vec<Recorded>>>,
    }

    impl Stub {
        pub(crate) fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let base_url = format!("http://{}", listener.local_addr().unwrap());
            let requests = Arc::new(Mutex::new(Vec::new()));
            let handler: Arc<Handler> = Arc::new(handler);
            let recorded = Arc::clone(&requests);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { continue };
                    let handler = Arc::clone(&handler);
                    let recorded = Arc::clone(&recorded);
                    std::thread::spawn(move || serve(stream, &*handler, &recorded));
                }
            });
            Self { base_url, requests }
        }

        pub(crate) fn requests(&self) -> Vec<Recorded> {
            self.requests.lock().unwrap().clone()
        }

        /// The requests whose path is `path`.
        pub(crate) fn requests_to(&self, path: &str) -> Vec<Recorded> {
            self.requests()
                .into_iter()
                .filter(|r| r.path() == path)
                .collect()
        }
    }

    fn serve(mut stream: TcpStream, handler: &Handler, recorded: &Mutex<Vec<Recorded>>) {
        let Some(request) = read_request(&mut stream) else {
            return;
        };
        recorded.lock().unwrap().push(request.clone());
        let reply = handler(&request);
        std::thread::sleep(reply.delay);
        let response = format!(
            "HTTP/1.1 {} Stub\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
            reply.status,
            reply.body.len(),
            reply.body
        );
        let _ = stream.write_all(response.as_bytes());
        let _ = stream.flush();
    }

    fn read_request(stream: &mut TcpStream) -> Option<Recorded> {
        let mut buffer = Vec::new();
        let mut chunk = [0_u8; 4096];
        let header_end = loop {
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next()?.split(' ');
        let method = request_line.next()?.to_owned();
        let target = request_line.next()?.to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = buffer[header_end + 4..].to_vec();
        while body.len() < length {
            let n = stream.read(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Some(Recorded {
            method,
            target,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

#[cfg(test)]
mod production_url_tests {
    use super::production_url_problem;

    #[test]
    fn only_public_https_urls_are_fit_for_production() {
        for fit in [
            "https://api.weixin.qq.com",
            "https://sms.tencentcloudapi.com/",
            "https://dysmsapi.aliyuncs.com",
            "https://8.8.8.8/x",
        ] {
            assert_eq!(production_url_problem(fit), None, "{fit}");
        }
        for unfit in [
            "http://api.weixin.qq.com",
            "https://localhost:8443",
            "https://127.0.0.1/wechat",
            "https://[::1]/",
            "https://10.0.0.1",
            "https://192.168.1.20",
            "https://169.254.169.254",
            "https://100.64.0.1",
            "https://[::ffff:127.0.0.1]",
            "https://[fd00::1]",
            "https://0.0.0.0",
            "https://stub",
            "not a url",
        ] {
            assert!(production_url_problem(unfit).is_some(), "{unfit}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::stub::{Reply, Stub};
    use super::*;

    #[tokio::test]
    async fn a_client_builds_and_sends_our_user_agent() {
        let stub = Stub::start(|_| Reply::json(serde_json::json!({"ok": true})));
        let client = build_client(Duration::from_secs(2), Duration::from_secs(1)).unwrap();
        let response = client
            .get(format!("{}/ping", stub.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let seen = stub.requests();
        assert_eq!(seen[0].header("user-agent"), Some(USER_AGENT));
        assert!(USER_AGENT.starts_with("zhijian/"));
    }

    #[tokio::test]
    async fn building_twice_is_fine() {
        build_client(Duration::from_secs(1), Duration::from_secs(1)).unwrap();
        build_client(Duration::from_secs(1), Duration::from_secs(1)).unwrap();
    }

    #[tokio::test]
    async fn an_https_url_goes_through_rustls_without_panicking() {
        // The stub speaks plain HTTP, so the TLS handshake fails: what matters is that the
        // TLS stack (crypto provider, certificate verifier) is there and reports an error.
        let stub = Stub::start(|_| Reply::status(200, "{}"));
        let https = stub.base_url.replacen("http://", "https://", 1);
        let client = build_client(Duration::from_secs(2), Duration::from_secs(1)).unwrap();
        let error = client.get(format!("{https}/")).send().await.unwrap_err();
        assert!(error.is_connect() || error.is_request(), "{error:?}");
    }

    #[tokio::test]
    async fn an_error_description_omits_the_url_and_its_secrets() {
        let client = build_client(Duration::from_millis(100), Duration::from_millis(100)).unwrap();
        let stub = Stub::start(|_| Reply::status(200, "{}").delayed(Duration::from_millis(500)));
        let error = client
            .get(format!("{}/x?secret=s3cr3t", stub.base_url))
            .send()
            .await
            .unwrap_err();
        let text = describe_error(error);
        assert!(text.starts_with("timed out"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let stub = Stub::start(|_| Reply::status(302, ""));
        let client = build_client(Duration::from_secs(2), Duration::from_secs(1)).unwrap();
        let response = client
            .get(format!("{}/", stub.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302);
    }
}
