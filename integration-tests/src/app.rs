//! `spawn_app()`: the real server on port 0 against a private database, a private Redis
//! namespace and a private provider stub; and an HTTP client that checks every JSON response
//! against `openapi.yaml`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;
use zhijian_api::settings::Settings;
use zhijian_api::startup::Application;
use zhijian_domain::ports::Clock;
use zhijian_infra::usecases::SystemClock;

use base64::Engine as _;
use zhijian_infra::crypto::secret::Secret;
use zhijian_infra::providers::sms::SmsProvider;

use crate::contract::spec;
use crate::database::{TestDatabase, repo_root};
use crate::stub::{ProviderStub, StubConfig};

/// Where the test Redis lives.
pub fn redis_url() -> String {
    std::env::var("ZHIJIAN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:63799".to_owned())
}

/// A running server and everything private to it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// A client with cookies off and a short timeout.
    pub client: reqwest::Client,
    /// The private database (dropped with the app).
    pub db: TestDatabase,
    /// The key prefix of this app in the shared Redis.
    pub redis_namespace: String,
    /// The settings the server runs with.
    pub settings: Settings,
    /// The WeChat and SMS providers of this app.
    pub stub: ProviderStub,
    /// The server's clock (TOTP codes are computed at its time).
    pub clock: Arc<dyn Clock>,
}

/// Settings for a test server: the checked-in defaults with test-specific connections, fresh
/// random secrets, and the providers pointed at `stub`.
pub fn test_settings(db: &TestDatabase, redis_namespace: &str, stub: &ProviderStub) -> Settings {
    let secret = |bytes: usize| {
        let random: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
        Secret::new(base64::engine::general_purpose::STANDARD.encode(random))
    };
    let mut settings =
        Settings::load_unchecked(&repo_root().join("config")).expect("config/default.toml loads");
    settings.auth.jwt_secret = secret(48);
    settings.card.signing_key = secret(32);
    settings.pii.encryption_keys = Secret::new(format!("k1:{}", secret(32).expose()));
    settings.pii.blind_index_key = secret(32);
    settings.wechat.base_url = stub.base_url.clone();
    settings.wechat.appid = stub.config.wechat_appid.clone();
    settings.wechat.secret = Secret::new(stub.config.wechat_secret.clone());
    settings.sms.provider = SmsProvider::Tencent;
    settings.sms.tencent_base_url = format!("{}/tencent", stub.base_url);
    settings.sms.tencent_secret_id = stub.config.tencent_secret_id.clone();
    settings.sms.tencent_secret_key = Secret::new(stub.config.tencent_secret_key.clone());
    settings.sms.tencent_sdk_app_id = stub.config.tencent_sdk_app_id.clone();
    settings.sms.tencent_template_verification = "1000001".into();
    settings.sms.tencent_template_notification = "1000002".into();
    settings.server.port = 0;
    settings.server.workers = 1;
    settings.database.url = zhijian_infra::crypto::secret::Secret::new(db.url.clone());
    settings.database.pool_size = 4;
    settings.redis.url = zhijian_infra::crypto::secret::Secret::new(redis_url());
    settings.redis.namespace = redis_namespace.to_owned();
    // Workers' notifications go out as subscribe messages (`tpl-<template key>`), and the
    // dispatcher retries quickly; escalation tests move a mock clock and shorten the scan.
    for (key, template) in &mut settings.notifications.templates {
        if !template.fields.is_empty() {
            template.template_id = format!("tpl-{key}");
        }
    }
    settings.outbox.poll_interval_ms = 100;
    settings.outbox.backoff_base_ms = 50;
    settings.outbox.backoff_cap_ms = 400;
    settings
}

/// Starts a server with the default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server after `customise` adjusts its settings.
pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_clock(Arc::new(SystemClock), customise).await
}

/// [`spawn_app_with`] on a clock of the test's choosing (a [`crate::clock::MockClock`] moves
/// time for deadlines and the auto-release job).
pub async fn spawn_app_with_clock(
    clock: Arc<dyn Clock>,
    customise: impl FnOnce(&mut Settings),
) -> TestApp {
    crate::init_logging();
    let db = tokio::task::spawn_blocking(TestDatabase::new)
        .await
        .expect("clone database");
    let redis_namespace = format!("t_{}", uuid::Uuid::new_v4().simple());
    let stub = ProviderStub::start(StubConfig::default())
        .await
        .expect("provider stub starts");
    let mut settings = test_settings(&db, &redis_namespace, &stub);
    customise(&mut settings);
    settings.validate().expect("test settings are valid");
    let app =
        Application::build_with_clock(settings.clone(), Duration::from_secs(10), clock.clone())
            .await
            .expect("server builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    zhijian_infra::providers::http_client::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    TestApp {
        address,
        client,
        db,
        redis_namespace,
        settings,
        stub,
        clock,
    }
}

/// A response, read in full.
#[derive(Debug)]
pub struct TestResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub body: Value,
    /// The raw body.
    pub text: String,
}

impl TestResponse {
    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the response is JSON.
    pub fn is_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|v| v.starts_with("application/json"))
    }
}

impl TestApp {
    /// Sends a request and checks a JSON answer against the contract.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> TestResponse {
        let request = request.build().expect("request builds");
        let method = request.method().to_string();
        let path = request.url().path().to_owned();
        let response = self.client.execute(request).await.expect("server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body reads");
        let is_json = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let body = if is_json {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{method} {path}: JSON content type but {e}: {text}"))
        } else {
            Value::Null
        };
        if is_json {
            assert_private_if_personal(&method, &path, &headers, &body);
            let spec = spec();
            let described = spec
                .template_for(&path)
                .is_some_and(|t| spec.doc["paths"][&t][method.to_lowercase()].is_object());
            if described {
                spec.assert_response(&method, &path, status, &body);
            } else {
                assert!(
                    status >= 400,
                    "{method} {path} answered {status} but is not in openapi.yaml"
                );
                assert_error_envelope(&body);
            }
        }
        TestResponse {
            status,
            headers,
            body,
            text,
        }
    }

    /// A request builder for `method` and `path` on this server.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.address, path))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(self.request(Method::GET, path)).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.send(self.request(Method::POST, path).json(body)).await
    }
}

/// Keys of an answer that carry personal data or credentials.
const PERSONAL_KEYS: &[&str] = &[
    "resident_id",
    "phone",
    "birth_date",
    "applicant",
    "access_token",
    "refresh_token",
];

fn carries_personal_data(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, value)| {
            (PERSONAL_KEYS.contains(&key.as_str()) && !value.is_null())
                || carries_personal_data(value)
        }),
        Value::Array(items) => items.iter().any(carries_personal_data),
        _ => false,
    }
}

/// Every answer that carries personal data must not be stored by any cache
/// (`Cache-Control: no-store`, and `Pragma: no-cache` for HTTP/1.0 caches). Checked on every
/// response every test receives.
pub fn assert_private_if_personal(method: &str, path: &str, headers: &HeaderMap, body: &Value) {
    if !carries_personal_data(body) {
        return;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    assert!(
        header("cache-control").is_some_and(|v| v.split(',').any(|d| d.trim() == "no-store")),
        "{method} {path} carries personal data without Cache-Control: no-store ({:?})",
        header("cache-control")
    );
    assert_eq!(
        header("pragma"),
        Some("no-cache"),
        "{method} {path} carries personal data without Pragma: no-cache"
    );
}

/// Asserts the `{code, message, field?}` error envelope.
pub fn assert_error_envelope(body: &Value) {
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("error body is not an object: {body}"));
    assert!(
        object
            .get("code")
            .and_then(Value::as_str)
            .is_some_and(|c| !c.is_empty()),
        "no code: {body}"
    );
    assert!(
        object
            .get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.is_empty()),
        "no message: {body}"
    );
    assert!(
        object
            .keys()
            .all(|k| ["code", "message", "field"].contains(&k.as_str())),
        "extra keys: {body}"
    );
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let pattern = format!("{}:*", self.redis_namespace);
        if let Ok(client) = redis::Client::open(redis_url())
            && let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1))
        {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(&pattern)
                .query(&mut conn)
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: Result<(), _> = redis::cmd("DEL").arg(keys).query(&mut conn);
            }
        }
    }
}
