//! Ready-made actors and forms for tests: a logged-in worker, the demo county with its admins,
//! a valid real-name form.

use serde_json::{Value, json};
use zhijian_infra::demo::DemoReport;
use zhijian_infra::secret::Secret;

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
    /// Builds the demo county in this app's database (admins' password: [`DEMO_PASSWORD`]).
    pub async fn seed_demo(&self) -> DemoReport {
        let mut conn = self.db.connect();
        tokio::task::spawn_blocking(move || {
            zhijian_infra::demo::seed_demo(&mut conn, Some(&Secret::new(DEMO_PASSWORD)))
                .expect("demo seeds")
        })
        .await
        .expect("seed task")
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

    /// Logs in a demo admin; returns the access token.
    pub async fn admin_token(&self, username: &str) -> String {
        let response = self
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
        response.body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
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
}
