//! Ready-made actors and forms for tests: a logged-in worker, the demo county with its admins,
//! a valid real-name form.

use serde_json::{Value, json};
use zhijian_devtools::demo::DemoReport;
use zhijian_infra::crypto::secret::Secret;

use crate::app::TestApp;

/// The password of every demo admin in tests.
pub const DEMO_PASSWORD: &str = "Test-demo-password-2026";

/// A valid 18-character resident ID: `region` (6 digits), `birth` (`YYYYMMDD`), `sequence`
/// (odd = male), and the GB 11643 check character.
pub fn resident_id(region: &str, birth: &str, sequence: u16) -> String {
    let body = format!("{region}{birth}{sequence:03}");
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).expect("digit") * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// A distinct valid resident ID for test person `n`.
pub fn person(n: u16) -> String {
    resident_id("500237", "19900101", n % 1000)
}

/// A complete, valid form: a courier working in 净坛社区, 巫山县.
pub fn application_form(resident_id: &str, phone: &str) -> Value {
    json!({
        "name": "张三",
        "resident_id": resident_id,
        "phone": phone,
        "ethnicity": "han",
        "education": "senior_high",
        "political_status": "masses",
        "household_type": "agricultural",
        "household_region": "500237107231",
        "employment_status": "flexible",
        "occupation": "courier",
        "employer_name": "巫山县某快递网点",
        "platform": "某快递",
        "work_region": "500237001009",
        "work_address": "重庆市巫山县高唐街道净坛社区广东中路1号",
        "consent": {"privacy_notice_version": "2026-01", "sensitive_data": true}
    })
}

impl TestApp {
    /// Builds the demo county in this app's database (admins' password: [`DEMO_PASSWORD`];
    /// managers enrolled with their `demo_totp_secret`, as `zhijian-dev seed-demo` does).
    pub async fn seed_demo(&self) -> DemoReport {
        let mut conn = self.db.connect();
        let pii = self.pii();
        tokio::task::spawn_blocking(move || {
            let report =
                zhijian_devtools::demo::seed_demo(&mut conn, Some(&Secret::new(DEMO_PASSWORD)))
                    .expect("demo seeds");
            zhijian_devtools::demo::seed_demo_second_factors(&mut conn, &pii)
                .expect("demo second factors");
            report
        })
        .await
        .expect("seed task")
    }

    /// The app's PII cipher (same keys as the server).
    pub fn pii(&self) -> zhijian_infra::crypto::pii::PiiCipher {
        self.settings.pii_cipher().expect("pii keys")
    }

    /// The use cases' services on the app's database, keys and clock, for a test that calls a
    /// use case directly (as a command does).
    pub fn services(&self) -> zhijian_infra::usecases::Services {
        zhijian_infra::usecases::Services {
            pool: zhijian_infra::db::build_pool(&self.settings.database),
            pii: std::sync::Arc::new(self.pii()),
            reference: std::sync::Arc::new(
                zhijian_infra::store::reference_cache::ReferenceCache::new(
                    std::time::Duration::from_secs(60),
                ),
            ),
            clock: self.clock.clone(),
        }
    }

    /// The TOTP code of base32 `secret` at the server's clock.
    pub fn totp_code(&self, secret: &str) -> String {
        self.totp_code_at(secret, self.clock.now())
    }

    /// The TOTP code of base32 `secret` at `at`.
    pub fn totp_code_at(&self, secret: &str, at: chrono::DateTime<chrono::Utc>) -> String {
        zhijian_infra::crypto::totp::TotpSecret::from_base32(secret)
            .expect("base32 secret")
            .code_at(u64::try_from(at.timestamp()).expect("after 1970"))
            .expect("code")
    }

    /// Logs in a worker through the WeChat stub; returns the access token.
    pub async fn worker_token(&self, user: &str) -> String {
        let code = format!("{user}.{}", uuid::Uuid::new_v4().simple());
        let response = self
            .post_json("/v1/auth/wechat", &json!({ "code": code }))
            .await;
        assert_eq!(response.status, 200, "worker login: {}", response.text);
        response.body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    /// Logs in a demo admin; returns the access token. An admin with a second factor (the
    /// demo managers) completes the second step with the code of its stored secret at the
    /// server's clock. A code works once per 30-second window, and tests sign managers in many
    /// times within one (or at a frozen clock): the fixture forgets the last used window first
    /// (the refusal of a reused code has its own tests, in `second_factor.rs`). A manager
    /// without a factor (created by a test) is enrolled over HTTP first, as the gate requires.
    pub async fn admin_token(&self, username: &str) -> String {
        let mut response = self
            .post_json(
                "/v1/admin/auth/login",
                &json!({ "username": username, "password": DEMO_PASSWORD }),
            )
            .await;
        assert_eq!(
            response.status, 200,
            "admin login {username}: {}",
            response.text
        );
        let two_steps = response.body["second_factor_required"] == true;
        if two_steps {
            self.forget_last_totp_step(username);
            let code = self.totp_code(&self.stored_totp_secret(username));
            let challenge = response.body["challenge"].clone();
            response = self
                .post_json(
                    "/v1/admin/auth/second-factor",
                    &json!({ "challenge": challenge, "code": code }),
                )
                .await;
            assert_eq!(
                response.status, 200,
                "admin second factor {username}: {}",
                response.text
            );
        }
        let token = response.body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned();
        if !two_steps && response.body["admin"]["role"] == "manager" {
            self.enrol_if_needed(username, &token).await;
        }
        token
    }

    /// Enrols the manager of `token` (signed in with the password alone: no factor yet) over
    /// HTTP, so the gate lets the session through.
    async fn enrol_if_needed(&self, username: &str, token: &str) {
        let started = self
            .call(
                reqwest::Method::POST,
                "/v1/admin/me/second-factor",
                token,
                None,
            )
            .await;
        if started.status == 409 {
            return;
        }
        assert_eq!(started.status, 201, "enrol {username}: {}", started.text);
        let secret = started.body["secret"].as_str().expect("secret");
        let code = json!({ "code": self.totp_code(secret) });
        let path = "/v1/admin/me/second-factor/confirm";
        let confirmed = self
            .call(reqwest::Method::POST, path, token, Some(&code))
            .await;
        assert_eq!(
            confirmed.status, 200,
            "confirm {username}: {}",
            confirmed.text
        );
    }

    /// The TOTP secret of admin `username`, opened from the database with the app's key.
    pub fn stored_totp_secret(&self, username: &str) -> String {
        use diesel::prelude::*;
        use zhijian_infra::db::schema::{admin_second_factors, admins};
        let mut conn = self.db.connect();
        let sealed: String = admin_second_factors::table
            .inner_join(admins::table)
            .filter(admins::username.eq(username))
            .select(admin_second_factors::secret_cipher)
            .first(&mut conn)
            .expect("a second factor");
        self.pii()
            .decrypt(
                &sealed,
                zhijian_infra::store::second_factors::SECRET_CONTEXT,
            )
            .expect("the secret opens")
    }

    /// Clears the last used TOTP window of admin `username` (see [`TestApp::admin_token`]).
    pub fn forget_last_totp_step(&self, username: &str) {
        use diesel::RunQueryDsl;
        let mut conn = self.db.connect();
        diesel::sql_query(
            "UPDATE admin_second_factors SET last_used_step = NULL \
             WHERE admin_id = (SELECT id FROM admins WHERE username = $1)",
        )
        .bind::<diesel::sql_types::Text, _>(username)
        .execute(&mut conn)
        .expect("forget the last TOTP step");
    }

    /// `method path` with a bearer token and an optional JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> crate::TestResponse {
        let mut request = self.request(method, path).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    /// `POST /v1/admin/applications/{id}/approve` at `version`, as the admin of `token`.
    pub async fn approve(&self, id: &str, token: &str, version: i32) -> crate::TestResponse {
        let path = format!("/v1/admin/applications/{id}/approve");
        self.call(
            reqwest::Method::POST,
            &path,
            token,
            Some(&json!({ "version": version })),
        )
        .await
    }
}

/// One number from SQL run on the app's database (`SELECT count(*) …`), for assertions on what
/// was or was not written.
pub fn count(app: &TestApp, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    let mut conn = app.db.connect();
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
        "({sql})"
    )))
    .get_result(&mut conn)
    .expect("count query")
}

/// A worker whose application (person `n`, a courier in 净坛社区) was approved into the
/// courier federation: the worker's token and the membership (`GET /v1/membership`).
pub async fn approved_member(app: &TestApp, user: &str, n: u16) -> (String, Value) {
    let worker = app.worker_token(user).await;
    let form = application_form(&person(n), "13812341234");
    let submitted = app
        .call(
            reqwest::Method::POST,
            "/v1/applications",
            &worker,
            Some(&form),
        )
        .await;
    assert_eq!(submitted.status, 201, "{}", submitted.text);
    let id = submitted.body["id"]
        .as_str()
        .expect("application id")
        .to_owned();
    let reviewer = app.admin_token("courier-reviewer").await;
    let approved = app.approve(&id, &reviewer, 1).await;
    assert_eq!(approved.status, 200, "{}", approved.text);
    let membership = app
        .call(reqwest::Method::GET, "/v1/membership", &worker, None)
        .await;
    assert_eq!(membership.status, 200, "{}", membership.text);
    (worker, membership.body)
}
