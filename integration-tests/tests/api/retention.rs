//! Retention: stored idempotent answers, delivered notifications and dead letters are deleted
//! when their periods end, in batches, with their delivery attempts, and counted in /metrics;
//! what is younger than its period, and what is still pending, stays.

use std::time::Duration;

use zhijian_integration_tests::fixtures::count;
use zhijian_integration_tests::{TestApp, spawn_app_with};

fn execute(app: &TestApp, sql: &str) {
    use diesel::RunQueryDsl;
    let mut conn = app.db.connect();
    diesel::sql_query(sql).execute(&mut conn).unwrap();
}

/// An outbox row in `status`, made `age` ago (delivered then too), with `attempts` deliveries.
fn outbox_row(app: &TestApp, status: &str, age: &str, attempts: i32) {
    let delivered = if status == "delivered" {
        format!("now() - interval '{age}'")
    } else {
        "NULL".to_owned()
    };
    execute(
        app,
        &format!(
            "WITH row AS (INSERT INTO outbox (event_type, aggregate_id, payload, created_at, \
             status, attempts, next_attempt_at, delivered_at) VALUES ('application.approved', \
             'x', '{{}}', now() - interval '{age}', '{status}', {attempts}, now(), {delivered}) \
             RETURNING id) \
             INSERT INTO deliveries (outbox_id, attempt, channel, recipient_kind, recipient_id, \
             provider, out_id, status) \
             SELECT row.id, n, 'sms', 'worker', 'w', 'log', 'o', 'failed' \
             FROM row, generate_series(1, {attempts}) AS n"
        ),
    );
}

#[tokio::test]
async fn rows_past_their_period_are_deleted_in_batches_and_counted() {
    let app = spawn_app_with(|settings| {
        settings.retention.interval_ms = 200;
        settings.retention.batch_size = 2;
        // No dispatcher: the pending row below must stay pending.
        settings.outbox.enabled = false;
    })
    .await;
    for n in 0..5 {
        execute(
            &app,
            &format!(
                "INSERT INTO idempotency_keys (scope, key, request_hash, response_status, \
                 response_body, created_at) VALUES ('s', 'old{n}', 'h', 201, \
                 '{{\"name\": \"张三\"}}', now() - interval '25 hours')"
            ),
        );
    }
    execute(
        &app,
        "INSERT INTO idempotency_keys (scope, key, request_hash, response_status, response_body, \
         created_at) VALUES ('s', 'young', 'h', 201, '{}', now() - interval '23 hours')",
    );
    for _ in 0..3 {
        outbox_row(&app, "delivered", "31 days", 2);
    }
    outbox_row(&app, "delivered", "29 days", 1);
    outbox_row(&app, "dead", "91 days", 3);
    outbox_row(&app, "dead", "91 days", 3);
    outbox_row(&app, "dead", "89 days", 1);
    outbox_row(&app, "pending", "100 days", 1);

    // The job sweeps every 200 ms: wait for the round that finds these rows.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while count(&app, "SELECT count(*) FROM outbox") > 3
        || count(&app, "SELECT count(*) FROM idempotency_keys") > 1
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the sweep did not run"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert_eq!(
        count(&app, "SELECT count(*) FROM idempotency_keys"),
        1,
        "only the answer younger than 24 h stays"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM idempotency_keys WHERE key = 'young'"
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM outbox WHERE status = 'delivered'"
        ),
        1
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM outbox WHERE status = 'dead'"),
        1
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM outbox WHERE status = 'pending'"),
        1,
        "a pending event is never deleted, however old"
    );
    assert_eq!(
        count(&app, "SELECT count(*) FROM deliveries"),
        3,
        "the attempts of the rows kept: 1 + 1 + 1"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM deliveries d WHERE NOT EXISTS \
             (SELECT 1 FROM outbox o WHERE o.id = d.outbox_id)"
        ),
        0
    );

    let metrics = app.get("/metrics").await;
    let figure = |kind: &str| {
        let prefix = format!("zhijian_retention_removed_total{{kind=\"{kind}\"}} ");
        metrics
            .text
            .lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .map(|value| value.trim().parse::<u64>().unwrap())
    };
    assert_eq!(figure("idempotency_answers"), Some(5));
    assert_eq!(figure("delivered_notifications"), Some(3));
    assert_eq!(figure("dead_letters"), Some(2));

    // Later rounds find nothing more to delete.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count(&app, "SELECT count(*) FROM outbox"), 3);
    assert_eq!(count(&app, "SELECT count(*) FROM idempotency_keys"), 1);
}
