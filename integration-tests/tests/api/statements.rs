//! `make bench` compares B1 with pgbench replaying the server's own SQL (`bench/sql/submit.sql`).
//! This test captures every statement the server sends to PostgreSQL for one submission
//! (diesel's instrumentation on the server's own pool connections, in this test's process) and
//! fails when the script and the server drift apart: the same statements, as many times each,
//! parameters (and the casts that type them) aside.
//!
//! `ZHIJIAN_WRITE_STATEMENTS=DIR` also writes what was captured (with the binds) to
//! `DIR/submit.captured.sql`, to rewrite the script from.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};
use reqwest::Method;
use zhijian_integration_tests::database::repo_root;
use zhijian_integration_tests::fixtures::{application_form, person};
use zhijian_integration_tests::{TestApp, spawn_app_with};

static RECORDING: AtomicBool = AtomicBool::new(false);
/// The database whose connections record (other tests of the process use other databases).
static DATABASE: Mutex<String> = Mutex::new(String::new());
static CAPTURED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Every new connection of this process records its statements while [`RECORDING`] is set,
/// if it is a connection to [`DATABASE`].
fn recorder() -> Option<Box<dyn Instrumentation>> {
    let mut url = String::new();
    Some(Box::new(
        move |event: InstrumentationEvent<'_>| match event {
            InstrumentationEvent::StartEstablishConnection { url: to, .. } => url = to.to_owned(),
            InstrumentationEvent::StartQuery { query, .. } if RECORDING.load(Ordering::SeqCst) => {
                let database = DATABASE.lock().unwrap();
                if !database.is_empty() && url.contains(&format!("/{}", *database)) {
                    CAPTURED.lock().unwrap().push(query.to_string());
                }
            }
            _ => {}
        },
    ))
}

/// The statements `work` makes the server send to `app`'s database, in order, with binds.
async fn capture<F: std::future::Future<Output = ()>>(app: &TestApp, work: F) -> Vec<String> {
    *DATABASE.lock().unwrap() = app.db.name.clone();
    CAPTURED.lock().unwrap().clear();
    RECORDING.store(true, Ordering::SeqCst);
    work.await;
    RECORDING.store(false, Ordering::SeqCst);
    // A connection the pool opens meanwhile sets itself up once (`infra::db::SessionSettings`):
    // not a statement of the request.
    std::mem::take(&mut *CAPTURED.lock().unwrap())
        .into_iter()
        .filter(|s| s != "SET jit = off")
        .collect()
}

/// A statement's shape: comments dropped, whitespace collapsed, a trailing `;` dropped, and
/// every parameter — the server's `$n`, pgbench's `:name`, with a cast right after it — written
/// `?`.
fn shape(sql: &str) -> String {
    let sql = sql.split(" -- binds: ").next().unwrap_or(sql);
    let uncommented: Vec<&str> = sql
        .lines()
        .map(|line| line.split("-- ").next().unwrap_or(line))
        .collect();
    let chars: Vec<char> = uncommented.join(" ").chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        let parameter = (c == '$' && next.is_ascii_digit())
            || (c == ':' && prev != ':' && (next.is_ascii_alphabetic() || next == '_'));
        if parameter {
            out.push('?');
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            // A cast right after a parameter states its type (pgbench sends its variables
            // untyped, diesel typed): part of the parameter, not of the statement.
            while chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
                i += 2;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '[' | ']'))
                {
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.trim_end_matches(';').trim_end().to_owned()
}

/// The statements of a pgbench script that stand for the server's: every SQL command except
/// those after a line `-- not sent by the server` (the script's own parameter making).
fn script_statements(name: &str) -> Vec<String> {
    let path = repo_root().join("bench/sql").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut skip = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() {
            if trimmed == "-- not sent by the server" {
                skip = true;
                continue;
            }
            if trimmed.is_empty() || trimmed.starts_with("--") || trimmed.starts_with('\\') {
                continue;
            }
        }
        if trimmed.starts_with('\\') {
            // `\gset` ends the command before it.
            if !skip {
                statements.push(shape(&current));
            }
            current.clear();
            skip = false;
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            if !skip {
                statements.push(shape(&current));
            }
            current.clear();
            skip = false;
        }
    }
    statements
}

fn counted(statements: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for s in statements {
        *counts.entry(s).or_insert(0) += 1;
    }
    counts
}

fn assert_same(script: &str, captured: &[String]) {
    if let Ok(dir) = std::env::var("ZHIJIAN_WRITE_STATEMENTS") {
        let path = std::path::Path::new(&dir).join(script.replace(".sql", ".captured.sql"));
        std::fs::write(&path, captured.join(";\n\n") + ";\n").unwrap();
    }
    let server = counted(captured.iter().map(|s| shape(s)));
    let replay = counted(script_statements(script));
    let missing: Vec<_> = server
        .iter()
        .filter(|(s, n)| replay.get(*s) != Some(n))
        .collect();
    let extra: Vec<_> = replay
        .iter()
        .filter(|(s, n)| server.get(*s) != Some(n))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "bench/sql/{script} and the server differ.\nThe server sent (count, statement), not so in the script:\n{missing:#?}\nThe script has, not so from the server:\n{extra:#?}"
    );
}

async fn quiet_app() -> TestApp {
    set_default_instrumentation(recorder).unwrap();
    spawn_app_with(|s| {
        // Nothing in the background while statements are captured.
        s.outbox.enabled = false;
        s.jobs.transfer_auto_release_interval_ms = 3_600_000;
        s.jobs.calendar_status_interval_ms = 3_600_000;
        s.jobs.union_move_resume_interval_ms = 3_600_000;
    })
    .await
}

async fn submit(app: &TestApp, token: &str, n: u16) -> serde_json::Value {
    let response = app
        .send(
            app.request(Method::POST, "/v1/applications")
                .bearer_auth(token)
                .header("Idempotency-Key", format!("statements-{n}"))
                .json(&application_form(&person(n), &format!("1381234{n:04}"))),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    response.body
}

#[tokio::test]
async fn the_submission_replay_sends_what_the_server_sends() {
    let app = quiet_app().await;
    app.seed_demo().await;
    let worker = app.worker_token("replay").await;
    // The first submission fills the server's caches (regions, calendar): the replay is of
    // the steady state.
    submit(&app, &worker, 1).await;
    let captured = capture(&app, async {
        submit(&app, &worker, 2).await;
    })
    .await;
    assert!(!captured.is_empty(), "no statement was captured");
    assert_same("submit.sql", &captured);
}
