//! Partner webhooks through the real server's outbox dispatcher, to receivers on 127.0.0.1
//! (admitted by the development setting `webhooks.allow_insecure_targets`, which the tests
//! turn on and production refuses — see `production.rs`):
//!
//! - a message is delivered once, with the Standard Webhooks headers, and its signature is
//!   verified by an independent implementation (the `standardwebhooks` package from PyPI, in
//!   the project's venv: `ZHIJIAN_TEST_PYTHON`); during a rotation overlap the header carries
//!   two `v1,` signatures and a receiver holding either secret accepts;
//! - a receiver that fails is retried with exponential backoff; one that is down ends as a
//!   dead letter after `outbox.max_attempts`, and a redelivery then delivers it with the same
//!   `webhook-id`;
//! - a 3xx is not followed and counts as a failure;
//! - under the production policy a loopback receiver is refused at delivery time and reached
//!   by nothing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::Utc;
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;
use zhijian_infra::crypto::pii::PiiCipher;
use zhijian_infra::webhooks::sign::WebhookSecret;
use zhijian_infra::webhooks::store::{self, Delivery};
use zhijian_integration_tests::app::{TestApp, spawn_app_with};
use zhijian_integration_tests::database::repo_root;

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    id: String,
    timestamp: String,
    signature: String,
    path: String,
    body: String,
}

/// A webhook receiver on 127.0.0.1 answering `status` (changeable) to every request.
struct Receiver {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    async fn start(status: u16) -> Self {
        Self::start_on(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), status)
    }

    fn start_on(listener: std::net::TcpListener, status: u16) -> Self {
        let addr = listener.local_addr().unwrap();
        let status = Arc::new(AtomicU16::new(status));
        let received = Arc::new(Mutex::new(Vec::new()));
        let (s, r) = (Arc::clone(&status), Arc::clone(&received));
        let server = HttpServer::new(move || {
            let (s, r) = (Arc::clone(&s), Arc::clone(&r));
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (s, r) = (Arc::clone(&s), Arc::clone(&r));
                async move {
                    let header = |name: &str| {
                        req.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    r.lock().unwrap().push(Received {
                        at: Instant::now(),
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp"),
                        signature: header("webhook-signature"),
                        path: req.path().to_owned(),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    let code = s.load(Ordering::SeqCst);
                    let mut answer =
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap());
                    if (300..400).contains(&code) {
                        answer.insert_header(("location", "http://127.0.0.1:9/elsewhere"));
                    }
                    answer.finish()
                }
            }))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            addr,
            received,
            handle,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.addr.port())
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn cipher(app: &TestApp) -> PiiCipher {
    PiiCipher::from_config(
        &app.settings.pii.encryption_keys,
        &app.settings.pii.blind_index_key,
    )
    .unwrap()
}

/// Registers an endpoint of a new partner client for `application.approved`.
fn endpoint(app: &TestApp, url: &str) -> (Uuid, Uuid, WebhookSecret) {
    let mut conn = app.db.connect();
    let client = Uuid::new_v4();
    let url = reqwest::Url::parse(url).unwrap();
    let (endpoint, secret) = store::create_endpoint(
        &mut conn,
        &cipher(app),
        client,
        &url,
        &["application.approved".to_owned()],
        Utc::now(),
    )
    .unwrap();
    (client, endpoint.id, secret)
}

/// Queues `application.approved` for `client` as the partners' code does.
fn emit(app: &TestApp, client: Uuid) -> Uuid {
    let mut conn = app.db.connect();
    let data = json!({ "application_id": Uuid::new_v4(), "status": "approved" });
    let ids = conn
        .transaction(|conn| {
            store::enqueue_for_client(conn, client, "application.approved", data, Utc::now())
        })
        .unwrap();
    assert_eq!(ids.len(), 1);
    ids[0]
}

fn delivery(app: &TestApp, client: Uuid, id: Uuid) -> Delivery {
    store::get_delivery(&mut app.db.connect(), client, id)
        .unwrap()
        .unwrap()
}

fn outbox_status(app: &TestApp, outbox_id: i64) -> (String, i32) {
    use zhijian_infra::db::schema::outbox;
    outbox::table
        .find(outbox_id)
        .select((outbox::status, outbox::attempts))
        .first(&mut app.db.connect())
        .unwrap()
}

/// Waits until the delivery reaches `status`.
async fn wait_for(app: &TestApp, client: Uuid, id: Uuid, status: &str) -> Delivery {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let row = delivery(app, client, id);
        if row.status == status {
            return row;
        }
        assert!(
            Instant::now() < deadline,
            "delivery never became {status}: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the `standardwebhooks` package (PyPI) on a received request; `Ok` when it verifies.
fn python_verify(secret: &str, request: &Received) -> Result<(), String> {
    let python = std::env::var("ZHIJIAN_TEST_PYTHON").unwrap_or_else(|_| {
        repo_root()
            .join(".zhijian/venv/bin/python")
            .to_string_lossy()
            .into_owned()
    });
    let script = r#"
import sys
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
secret, msg_id, ts, signature = sys.argv[1:5]
body = sys.stdin.buffer.read()
try:
    Webhook(secret).verify(body, {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": signature})
except WebhookVerificationError as e:
    print("refused:", e)
    sys.exit(3)
print("verified")
"#;
    use std::io::Write;
    let mut child = std::process::Command::new(&python)
        .args([
            "-c",
            script,
            secret,
            &request.id,
            &request.timestamp,
            &request.signature,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{python} (the venv with standardwebhooks: make test creates it): {e}")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.body.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    match output.status.code() {
        Some(0) if stdout.contains("verified") => Ok(()),
        Some(3) => Err(stdout),
        _ => panic!(
            "the standardwebhooks verifier did not run (is it installed in {python}?): {stdout} {}",
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

async fn insecure_app(max_attempts: u32) -> TestApp {
    spawn_app_with(|s| {
        s.webhooks.allow_insecure_targets = true;
        s.outbox.max_attempts = max_attempts;
        s.outbox.backoff_base_ms = 200;
        s.outbox.backoff_cap_ms = 2_000;
        s.outbox.poll_interval_ms = 50;
    })
    .await
}

#[tokio::test]
async fn a_delivered_webhook_verifies_with_the_standard_webhooks_library_under_either_secret() {
    let app = insecure_app(3).await;
    let receiver = Receiver::start(204).await;
    let (client, endpoint_id, old) = endpoint(&app, &receiver.url("/hooks/zhijian"));

    // Without rotation: one signature.
    let first = emit(&app, client);
    let row = wait_for(&app, client, first, "delivered").await;
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.path, "/hooks/zhijian");
    assert_eq!(request.id, row.msg_id);
    assert!(request.id.starts_with("msg_"));
    assert_eq!(request.signature.split(' ').count(), 1);
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["type"], "application.approved");
    assert_eq!(body["data"]["status"], "approved");
    assert!(body["timestamp"].is_string());
    assert_eq!(python_verify(&old.expose(), request), Ok(()));
    assert!(python_verify(&WebhookSecret::generate().expose(), request).is_err());
    let mut tampered = request.clone();
    tampered.body = request.body.replace("approved", "rejected");
    assert!(python_verify(&old.expose(), &tampered).is_err());

    assert_eq!(row.attempt, 1);
    assert_eq!(row.response_code, Some(204));
    assert!(row.delivered_at.is_some() && row.error.is_none());
    assert_eq!(
        outbox_status(&app, row.outbox_id.unwrap()),
        ("delivered".into(), 1)
    );
    let log = store::list_deliveries(&mut app.db.connect(), client, None, None, 50).unwrap();
    assert_eq!(log.len(), 1);
    assert!(
        store::list_deliveries(&mut app.db.connect(), Uuid::new_v4(), None, None, 50)
            .unwrap()
            .is_empty()
    );

    // Rotation: during the overlap two `v1,` signatures; either secret verifies.
    let version = store::get_endpoint(&mut app.db.connect(), client, endpoint_id)
        .unwrap()
        .version;
    let (_, new) = store::rotate_secret(
        &mut app.db.connect(),
        &cipher(&app),
        client,
        endpoint_id,
        version,
        chrono::Duration::hours(24),
        Utc::now(),
    )
    .unwrap();
    let second = emit(&app, client);
    wait_for(&app, client, second, "delivered").await;
    let received = receiver.received();
    let request = received.last().unwrap();
    let signatures: Vec<&str> = request.signature.split(' ').collect();
    assert_eq!(signatures.len(), 2, "{}", request.signature);
    assert!(signatures.iter().all(|s| s.starts_with("v1,")));
    assert_eq!(python_verify(&old.expose(), request), Ok(()));
    assert_eq!(python_verify(&new.expose(), request), Ok(()));
    assert!(python_verify(&WebhookSecret::generate().expose(), request).is_err());
    receiver.handle.stop(false).await;
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff() {
    let app = insecure_app(4).await;
    let receiver = Receiver::start(503).await;
    let (client, _, _) = endpoint(&app, &receiver.url("/hook"));
    let id = emit(&app, client);
    let row = wait_for(&app, client, id, "dead").await;
    let received = receiver.received();
    assert_eq!(received.len(), 4);
    assert_eq!(row.attempt, 4);
    assert_eq!(row.response_code, Some(503));
    // Every attempt carries the same webhook-id; the waits double: 200, 400, 800 ms (+ jitter).
    assert!(received.iter().all(|r| r.id == row.msg_id));
    for (i, pair) in received.windows(2).enumerate() {
        let gap = pair[1].at - pair[0].at;
        let least = Duration::from_millis(200 << i);
        assert!(
            gap >= least,
            "attempt {}: waited {gap:?} < {least:?}",
            i + 2
        );
    }
    receiver.handle.stop(false).await;
}

#[tokio::test]
async fn a_receiver_that_is_down_ends_as_a_dead_letter_and_a_redelivery_delivers() {
    let app = insecure_app(3).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (client, _, secret) = endpoint(&app, &format!("http://127.0.0.1:{port}/hook"));
    let id = emit(&app, client);
    let dead = wait_for(&app, client, id, "dead").await;
    assert_eq!(dead.attempt, 3);
    assert_eq!(dead.response_code, None);
    assert!(
        dead.error.as_deref().unwrap().contains("connection"),
        "{dead:?}"
    );
    assert_eq!(
        outbox_status(&app, dead.outbox_id.unwrap()),
        ("dead".into(), 3)
    );

    // Another partner cannot redeliver it; a pending one cannot be redelivered.
    let mut conn = app.db.connect();
    assert!(matches!(
        store::redeliver(&mut conn, Uuid::new_v4(), id, Utc::now()),
        Err(store::RedeliverError::NotFound)
    ));

    // The receiver comes up; the partner asks for a redelivery.
    let receiver = Receiver::start_on(
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap(),
        200,
    );
    let queued = conn
        .transaction(|conn| store::redeliver(conn, client, id, Utc::now()))
        .unwrap();
    assert_eq!(queued.status, "pending");
    assert_ne!(queued.outbox_id, dead.outbox_id);
    assert!(matches!(
        store::redeliver(&mut conn, client, id, Utc::now()),
        Err(store::RedeliverError::Pending)
    ));
    let delivered = wait_for(&app, client, id, "delivered").await;
    assert_eq!(delivered.attempt, 4);
    assert_eq!(delivered.response_code, Some(200));
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].id, dead.msg_id,
        "a redelivery keeps the webhook-id"
    );
    assert_eq!(python_verify(&secret.expose(), &received[0]), Ok(()));
    receiver.handle.stop(false).await;
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_counts_as_a_failure() {
    let app = insecure_app(2).await;
    let receiver = Receiver::start(302).await;
    let (client, _, _) = endpoint(&app, &receiver.url("/hook"));
    let id = emit(&app, client);
    let row = wait_for(&app, client, id, "dead").await;
    assert_eq!(row.response_code, Some(302));
    assert!(
        row.error.as_deref().unwrap().starts_with("redirect"),
        "{row:?}"
    );
    let received = receiver.received();
    assert_eq!(
        received.len(),
        2,
        "one request per attempt, none to the Location"
    );
    assert!(received.iter().all(|r| r.path == "/hook"));
    receiver.handle.stop(false).await;
}

#[tokio::test]
async fn the_production_policy_refuses_a_loopback_receiver_at_delivery_time() {
    // The default settings: allow_insecure_targets = false.
    let app = spawn_app_with(|s| s.outbox.poll_interval_ms = 50).await;
    assert!(!app.settings.webhooks.allow_insecure_targets);
    let receiver = Receiver::start(200).await;
    for (url, code) in [
        (
            format!("https://localhost:{}/hook", receiver.addr.port()),
            "target_loopback",
        ),
        (
            format!("https://127.0.0.1:{}/hook", receiver.addr.port()),
            "target_loopback",
        ),
        (receiver.url("/hook"), "url_insecure_scheme"),
    ] {
        let (client, _, _) = endpoint(&app, &url);
        let id = emit(&app, client);
        let row = wait_for(&app, client, id, "failed").await;
        assert!(
            row.error.as_deref().unwrap().starts_with(code),
            "{url}: {row:?}"
        );
        assert_eq!(row.attempt, 1, "a refusal is not retried");
    }
    assert!(receiver.received().is_empty());
    receiver.handle.stop(false).await;
}
