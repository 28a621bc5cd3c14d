//! The provider stub itself: WeChat, Tencent and Aliyun wire formats, signature checks, faults
//! and recording. Requests are signed here by helpers written from the providers' docs, not by
//! the stub's own code, so a shared misunderstanding cannot pass unnoticed in both.
#![expect(
    clippy::expect_used,
    reason = "test helpers: a fixture that fails must fail the test loudly"
)]

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use zhijian_integration_tests::stub::{Fault, FaultTarget, Provider, ProviderStub, StubConfig};

async fn stub() -> ProviderStub {
    ProviderStub::start(StubConfig::default())
        .await
        .expect("the provider stub starts")
}

fn client() -> reqwest::Client {
    // reqwest is built without a TLS provider of its own; plain HTTP still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

// ---------------------------------------------------------------------------------------------
// WeChat

async fn jscode2session(stub: &ProviderStub, appid: &str, secret: &str, code: &str) -> Value {
    let response = client()
        .get(format!("{}/sns/jscode2session", stub.base_url))
        .query(&[
            ("appid", appid),
            ("secret", secret),
            ("js_code", code),
            ("grant_type", "authorization_code"),
        ])
        .send()
        .await
        .expect("jscode2session answers");
    json_of(response).await.1
}

async fn login(stub: &ProviderStub, code: &str) -> Value {
    let config = &stub.config;
    jscode2session(stub, &config.wechat_appid, &config.wechat_secret, code).await
}

async fn stable_token(stub: &ProviderStub, force_refresh: bool) -> Value {
    let response = client()
        .post(format!("{}/cgi-bin/stable_token", stub.base_url))
        .json(&json!({
            "grant_type": "client_credential",
            "appid": stub.config.wechat_appid,
            "secret": stub.config.wechat_secret,
            "force_refresh": force_refresh,
        }))
        .send()
        .await
        .expect("stable_token answers");
    json_of(response).await.1
}

async fn access_token(stub: &ProviderStub) -> String {
    let reply = stable_token(stub, false).await;
    reply["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

async fn phone_number(stub: &ProviderStub, token: &str, code: &str) -> Value {
    let response = client()
        .post(format!("{}/wxa/business/getuserphonenumber", stub.base_url))
        .query(&[("access_token", token)])
        .json(&json!({ "code": code }))
        .send()
        .await
        .expect("getuserphonenumber answers");
    json_of(response).await.1
}

async fn subscribe(stub: &ProviderStub, token: &str, message: &Value) -> Value {
    let response = client()
        .post(format!("{}/cgi-bin/message/subscribe/send", stub.base_url))
        .query(&[("access_token", token)])
        .json(message)
        .send()
        .await
        .expect("subscribe/send answers");
    json_of(response).await.1
}

fn approval_message(openid: &str) -> Value {
    json!({
        "touser": openid,
        "template_id": "tmpl-approved",
        "page": "pages/application/detail?id=42",
        "miniprogram_state": "formal",
        "lang": "zh_CN",
        "data": {
            "thing1": {"value": "入会申请"},
            "phrase2": {"value": "已通过"},
            "time3": {"value": "2026-11-23 10:00"},
        },
    })
}

#[tokio::test]
async fn jscode2session_logs_in_the_user_named_by_the_code_once() {
    let stub = stub().await;

    let reply = login(&stub, "alice.n1").await;
    assert_eq!(reply["openid"], "o_stub_alice");
    assert_eq!(reply["unionid"], "u_stub_alice");
    assert!(reply.get("errcode").is_none(), "{reply}");
    let session_key = reply["session_key"].as_str().expect("a session key");
    assert_eq!(BASE64.decode(session_key).expect("base64").len(), 16);

    assert_eq!(login(&stub, "alice.n1").await["errcode"], 40163);
    assert_eq!(login(&stub, "alice.n2").await["openid"], "o_stub_alice");
    assert_eq!(login(&stub, "alice").await["openid"], "o_stub_alice");

    let no_union = login(&stub, "nounion-bob").await;
    assert_eq!(no_union["openid"], "o_stub_nounion-bob");
    assert!(no_union.get("unionid").is_none(), "{no_union}");
}

#[tokio::test]
async fn jscode2session_answers_as_text_plain_like_wechat() {
    let stub = stub().await;
    let response = client()
        .get(format!("{}/sns/jscode2session", stub.base_url))
        .query(&[
            ("appid", stub.config.wechat_appid.as_str()),
            ("secret", stub.config.wechat_secret.as_str()),
            ("js_code", "carol"),
            ("grant_type", "authorization_code"),
        ])
        .send()
        .await
        .expect("an answer");
    let content_type = response.headers()["content-type"].to_str().expect("ascii");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
}

#[tokio::test]
async fn jscode2session_rejects_bad_credentials_and_special_codes() {
    let stub = stub().await;
    let secret = stub.config.wechat_secret.clone();
    let appid = stub.config.wechat_appid.clone();

    let wrong_appid = jscode2session(&stub, "wx-other", &secret, "dave").await;
    assert_eq!(
        wrong_appid,
        json!({"errcode": 40013, "errmsg": "invalid appid"})
    );
    assert_eq!(
        jscode2session(&stub, &appid, "wrong", "dave").await["errcode"],
        40125
    );
    assert_eq!(
        jscode2session(&stub, &appid, &secret, "").await["errcode"],
        41008
    );
    assert_eq!(login(&stub, "invalid").await["errcode"], 40029);
    assert_eq!(login(&stub, "blocked").await["errcode"], 40226);
    let busy = login(&stub, "busy").await;
    assert_eq!(busy, json!({"errcode": -1, "errmsg": "system error"}));

    // None of the failures used up the code.
    assert_eq!(login(&stub, "dave").await["openid"], "o_stub_dave");
}

#[tokio::test]
async fn stable_token_is_stable_until_a_forced_refresh_replaces_it() {
    let stub = stub().await;

    let first = stable_token(&stub, false).await;
    assert_eq!(first["expires_in"], 7200);
    let token = first["access_token"].as_str().expect("a token").to_owned();
    assert_eq!(
        stable_token(&stub, false).await["access_token"],
        token.as_str()
    );

    let refreshed = stable_token(&stub, true).await;
    let new_token = refreshed["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    assert_ne!(new_token, token);

    let stale = phone_number(&stub, &token, "phone-13800138000").await;
    assert_eq!(
        stale,
        json!({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"})
    );
    let fresh = phone_number(&stub, &new_token, "phone-13800138000").await;
    assert_eq!(fresh["errcode"], 0, "{fresh}");

    stub.expire_access_tokens();
    assert_eq!(
        phone_number(&stub, &new_token, "phone-13800138000.2").await["errcode"],
        42001
    );
    assert_ne!(access_token(&stub).await, new_token);
}

#[tokio::test]
async fn stable_token_checks_appid_and_secret() {
    let stub = stub().await;
    let post = |body: Value| {
        client()
            .post(format!("{}/cgi-bin/stable_token", stub.base_url))
            .json(&body)
            .send()
    };
    let bad_appid = post(json!({
        "grant_type": "client_credential", "appid": "wx-other",
        "secret": stub.config.wechat_secret, "force_refresh": false,
    }))
    .await
    .expect("an answer");
    assert_eq!(json_of(bad_appid).await.1["errcode"], 40013);
    let bad_secret = post(json!({
        "grant_type": "client_credential", "appid": stub.config.wechat_appid,
        "secret": "wrong", "force_refresh": false,
    }))
    .await
    .expect("an answer");
    assert_eq!(json_of(bad_secret).await.1["errcode"], 40125);
}

#[tokio::test]
async fn phone_codes_yield_their_number_once_with_an_inconsistent_country_code() {
    let stub = stub().await;
    let token = access_token(&stub).await;

    let first = phone_number(&stub, &token, "phone-13800138000").await;
    assert_eq!(first["errcode"], 0);
    assert_eq!(first["errmsg"], "ok");
    let info = &first["phone_info"];
    assert_eq!(info["phoneNumber"], "+8613800138000");
    assert_eq!(info["purePhoneNumber"], "13800138000");
    assert_eq!(info["countryCode"], "86");
    assert_eq!(
        info["watermark"]["appid"],
        stub.config.wechat_appid.as_str()
    );
    let stamp = info["watermark"]["timestamp"]
        .as_i64()
        .expect("a timestamp");
    assert!((Utc::now().timestamp() - stamp).abs() < 60);

    assert_eq!(
        phone_number(&stub, &token, "phone-13800138000").await["errcode"],
        40029
    );
    let second = phone_number(&stub, &token, "phone-13900139000.again").await;
    assert_eq!(second["phone_info"]["purePhoneNumber"], "13900139000");
    assert_eq!(second["phone_info"]["countryCode"], 86);
    assert_eq!(
        phone_number(&stub, &token, "garbage").await["errcode"],
        40029
    );
    assert_eq!(
        phone_number(&stub, "unknown", "phone-13700137000").await["errcode"],
        40001
    );
}

#[tokio::test]
async fn subscribe_messages_are_delivered_and_recorded() {
    let stub = stub().await;
    let token = access_token(&stub).await;

    let reply = subscribe(&stub, &token, &approval_message("o_stub_alice")).await;
    assert_eq!(reply["errcode"], 0, "{reply}");
    assert_eq!(reply["errmsg"], "ok");
    let msgid = reply["msgid"].as_u64().expect("a msgid");

    let delivered = stub.subscribe_messages("o_stub_alice");
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].msgid, msgid);
    assert_eq!(delivered[0].template_id, "tmpl-approved");
    assert_eq!(
        delivered[0].page.as_deref(),
        Some("pages/application/detail?id=42")
    );
    assert_eq!(delivered[0].data["phrase2"]["value"], "已通过");

    let over_http = client()
        .get(format!("{}/__stub/wechat/messages", stub.base_url))
        .query(&[("openid", "o_stub_alice")])
        .send()
        .await
        .expect("an answer");
    let (status, body) = json_of(over_http).await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["msgid"], msgid);
    assert!(stub.subscribe_messages("o_stub_bob").is_empty());
}

#[tokio::test]
async fn subscribe_checks_token_openid_template_and_value_limits() {
    let stub = stub().await;
    let token = access_token(&stub).await;
    let send = |message: Value| {
        let (stub, token) = (&stub, token.clone());
        async move { subscribe(stub, &token, &message).await["errcode"].clone() }
    };

    assert_eq!(
        subscribe(&stub, "stale", &approval_message("o_stub_alice")).await["errcode"],
        40001
    );
    assert_eq!(send(approval_message("alice")).await, 40003);
    let mut no_template = approval_message("o_stub_alice");
    no_template["template_id"] = json!("");
    assert_eq!(send(no_template).await, 40037);

    for (key, value) in [
        ("thing1", "一".repeat(21)),
        ("phrase2", "已经通过审核".to_owned()),
        ("name4", "一".repeat(11)),
        ("character_string5", "x".repeat(33)),
        ("number6", "1".repeat(33)),
        ("time3", "2026-11-23T10:00".to_owned()),
    ] {
        let mut message = approval_message("o_stub_alice");
        message["data"][key] = json!({ "value": value });
        assert_eq!(send(message).await, 47003, "{key} = {value}");
    }
    let mut at_limits = approval_message("o_stub_alice");
    at_limits["data"]["thing1"] = json!({"value": "一".repeat(20)});
    at_limits["data"]["name4"] = json!({"value": "一".repeat(10)});
    at_limits["data"]["character_string5"] = json!({"value": "x".repeat(32)});
    assert_eq!(send(at_limits).await, 0);
    assert_eq!(stub.subscribe_messages("o_stub_alice").len(), 1);
}

#[tokio::test]
async fn unsubscribed_users_answer_43101() {
    let stub = stub().await;
    let token = access_token(&stub).await;

    let reply = subscribe(&stub, &token, &approval_message("o_stub_nosub-eve")).await;
    assert_eq!(reply["errcode"], 43101);

    stub.mark_unsubscribed("o_stub_frank");
    assert_eq!(
        subscribe(&stub, &token, &approval_message("o_stub_frank")).await["errcode"],
        43101
    );

    let marked = client()
        .post(format!("{}/__stub/wechat/unsubscribed", stub.base_url))
        .json(&json!({"openid": "o_stub_grace"}))
        .send()
        .await
        .expect("an answer");
    assert!(marked.status().is_success());
    assert_eq!(
        subscribe(&stub, &token, &approval_message("o_stub_grace")).await["errcode"],
        43101
    );
    assert!(stub.subscribe_messages("o_stub_grace").is_empty());
    assert_eq!(
        subscribe(&stub, &token, &approval_message("o_stub_heidi")).await["errcode"],
        0
    );
}

// ---------------------------------------------------------------------------------------------
// Tencent Cloud SendSms, signed per the TC3-HMAC-SHA256 documentation.

fn hmac256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &str) -> String {
    hex::encode(Sha256::digest(data.as_bytes()))
}

/// The `Authorization` header for a `SendSms` call.
fn tc3_authorization(
    secret_id: &str,
    secret_key: &str,
    host: &str,
    content_type: &str,
    body: &str,
    timestamp: i64,
) -> String {
    let date = chrono::DateTime::from_timestamp(timestamp, 0)
        .expect("a valid timestamp")
        .format("%Y-%m-%d")
        .to_string();
    let canonical_request = format!(
        "POST\n/\n\ncontent-type:{content_type}\nhost:{host}\n\ncontent-type;host\n{}",
        sha256_hex(body)
    );
    let scope = format!("{date}/sms/tc3_request");
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{}",
        sha256_hex(&canonical_request)
    );
    let k_date = hmac256(format!("TC3{secret_key}").as_bytes(), &date);
    let k_service = hmac256(&k_date, "sms");
    let k_signing = hmac256(&k_service, "tc3_request");
    let signature = hex::encode(hmac256(&k_signing, &string_to_sign));
    format!(
        "TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"
    )
}

struct TencentCall<'a> {
    secret_id: &'a str,
    secret_key: &'a str,
    timestamp: i64,
}

async fn tencent_send(stub: &ProviderStub, call: TencentCall<'_>, body: &Value) -> Value {
    let body = body.to_string();
    let content_type = "application/json; charset=utf-8";
    let host = stub.local_addr().to_string();
    let authorization = tc3_authorization(
        call.secret_id,
        call.secret_key,
        &host,
        content_type,
        &body,
        call.timestamp,
    );
    let response = client()
        .post(format!("{}/", stub.tencent_base_url()))
        .header("Content-Type", content_type)
        .header("X-TC-Action", "SendSms")
        .header("X-TC-Version", "2021-01-11")
        .header("X-TC-Region", "ap-guangzhou")
        .header("X-TC-Timestamp", call.timestamp.to_string())
        .header("Authorization", authorization)
        .body(body)
        .send()
        .await
        .expect("SendSms answers");
    let (status, reply) = json_of(response).await;
    assert_eq!(
        status, 200,
        "Tencent answers HTTP 200 even for errors: {reply}"
    );
    reply
}

fn signed_by(stub: &ProviderStub) -> TencentCall<'_> {
    TencentCall {
        secret_id: &stub.config.tencent_secret_id,
        secret_key: &stub.config.tencent_secret_key,
        timestamp: Utc::now().timestamp(),
    }
}

fn tencent_body(stub: &ProviderStub, phones: &[&str], code: &str) -> Value {
    json!({
        "PhoneNumberSet": phones,
        "SmsSdkAppId": stub.config.tencent_sdk_app_id,
        "TemplateId": "1110",
        "SignName": "职建工会",
        "TemplateParamSet": [code, "5"],
        "SessionContext": "req-1",
    })
}

#[tokio::test]
async fn tencent_delivers_a_correctly_signed_request_number_by_number() {
    let stub = stub().await;
    stub.blacklist_phone("13711112222");
    let body = tencent_body(
        &stub,
        &["+8613800138000", "13800138001", "+8613711112222"],
        "123456",
    );

    let reply = tencent_send(&stub, signed_by(&stub), &body).await;
    let response = &reply["Response"];
    assert!(
        response["RequestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let statuses = response["SendStatusSet"].as_array().expect("statuses");
    assert_eq!(statuses.len(), 3, "{reply}");
    assert_eq!(statuses[0]["Code"], "Ok");
    assert_eq!(statuses[0]["PhoneNumber"], "+8613800138000");
    assert_eq!(statuses[0]["Fee"], 1);
    assert_eq!(
        statuses[1]["Code"],
        "InvalidParameterValue.IncorrectPhoneNumber"
    );
    assert_eq!(
        statuses[2]["Code"],
        "FailedOperation.PhoneNumberInBlacklist"
    );

    let sent = stub.sms_to("13800138000");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].provider, Provider::Tencent);
    assert_eq!(sent[0].template_id, "1110");
    assert_eq!(sent[0].sign_name, "职建工会");
    assert_eq!(sent[0].params, ["123456", "5"]);
    assert_eq!(sent[0].out_id.as_deref(), Some("req-1"));
    assert_eq!(
        stub.last_sms_code("+8613800138000").as_deref(),
        Some("123456")
    );
    assert!(stub.sms_to("13711112222").is_empty());

    let over_http = client()
        .get(format!("{}/__stub/sms", stub.base_url))
        .query(&[("phone", "13800138000")])
        .send()
        .await
        .expect("an answer");
    let (_, listed) = json_of(over_http).await;
    assert_eq!(listed[0]["params"][0], "123456");
    assert_eq!(listed[0]["provider"], "tencent");
    assert_eq!(listed[0]["phone"], "13800138000");
}

#[tokio::test]
async fn tencent_rejects_a_wrong_signature_an_unknown_secret_id_and_a_stale_timestamp() {
    let stub = stub().await;
    let body = tencent_body(&stub, &["+8613800138000"], "111111");
    let error_code = |reply: &Value| reply["Response"]["Error"]["Code"].clone();

    let wrong_key = TencentCall {
        secret_key: "not-the-key",
        ..signed_by(&stub)
    };
    let reply = tencent_send(&stub, wrong_key, &body).await;
    assert_eq!(error_code(&reply), "AuthFailure.SignatureFailure");
    assert!(reply["Response"]["RequestId"].is_string());

    let unknown_id = TencentCall {
        secret_id: "AKIDother",
        ..signed_by(&stub)
    };
    assert_eq!(
        error_code(&tencent_send(&stub, unknown_id, &body).await),
        "AuthFailure.SecretIdNotFound"
    );

    let stale = TencentCall {
        timestamp: Utc::now().timestamp() - 301,
        ..signed_by(&stub)
    };
    assert_eq!(
        error_code(&tencent_send(&stub, stale, &body).await),
        "AuthFailure.SignatureExpire"
    );
    assert!(stub.all_sms().is_empty());
}

#[tokio::test]
async fn tencent_rejects_a_body_changed_after_signing() {
    let stub = stub().await;
    let signed = tencent_body(&stub, &["+8613800138000"], "111111").to_string();
    let host = stub.local_addr().to_string();
    let timestamp = Utc::now().timestamp();
    let content_type = "application/json";
    let authorization = tc3_authorization(
        &stub.config.tencent_secret_id,
        &stub.config.tencent_secret_key,
        &host,
        content_type,
        &signed,
        timestamp,
    );
    let tampered = signed.replace("111111", "999999");
    let response = client()
        .post(stub.tencent_base_url())
        .header("Content-Type", content_type)
        .header("X-TC-Action", "SendSms")
        .header("X-TC-Version", "2021-01-11")
        .header("X-TC-Region", "ap-guangzhou")
        .header("X-TC-Timestamp", timestamp.to_string())
        .header("Authorization", authorization)
        .body(tampered)
        .send()
        .await
        .expect("an answer");
    let (_, reply) = json_of(response).await;
    assert_eq!(
        reply["Response"]["Error"]["Code"],
        "AuthFailure.SignatureFailure"
    );
}

// ---------------------------------------------------------------------------------------------
// Aliyun SendSms, signed per the RPC (HMAC-SHA1) documentation.

/// RFC 3986 percent-encoding of every byte outside `A-Z a-z 0-9 - _ . ~`.
fn pop_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The full parameter list of a signed `SendSms` call.
fn aliyun_params(
    key_id: &str,
    key_secret: &str,
    method: &str,
    business: &[(&str, &str)],
) -> Vec<(String, String)> {
    let nonce = uuid::Uuid::new_v4().to_string();
    let timestamp = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut params: Vec<(String, String)> = [
        ("Action", "SendSms"),
        ("Version", "2017-05-25"),
        ("AccessKeyId", key_id),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("SignatureNonce", nonce.as_str()),
        ("Timestamp", timestamp.as_str()),
        ("Format", "JSON"),
        ("RegionId", "cn-hangzhou"),
    ]
    .iter()
    .chain(business)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    params.sort();
    let canonical = params
        .iter()
        .map(|(k, v)| format!("{}={}", pop_encode(k), pop_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let string_to_sign = format!("{method}&{}&{}", pop_encode("/"), pop_encode(&canonical));
    let mut mac =
        Hmac::<Sha1>::new_from_slice(format!("{key_secret}&").as_bytes()).expect("any key length");
    mac.update(string_to_sign.as_bytes());
    params.push((
        "Signature".to_owned(),
        BASE64.encode(mac.finalize().into_bytes()),
    ));
    params
}

fn aliyun_business<'a>(phones: &'a str, template_param: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("PhoneNumbers", phones),
        ("SignName", "职建工会"),
        ("TemplateCode", "SMS_123456789"),
        ("TemplateParam", template_param),
        ("OutId", "out-7"),
    ]
}

#[tokio::test]
async fn aliyun_delivers_signed_get_and_post_requests() {
    let stub = stub().await;
    let config = &stub.config;

    let params = aliyun_params(
        &config.aliyun_access_key_id,
        &config.aliyun_access_key_secret,
        "GET",
        &aliyun_business("13800138000", r#"{"code":"123456","minutes":"5 分钟*"}"#),
    );
    let response = client()
        .get(format!("{}/", stub.aliyun_base_url()))
        .query(&params)
        .send()
        .await
        .expect("an answer");
    let (status, reply) = json_of(response).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["Code"], "OK");
    assert_eq!(reply["Message"], "OK");
    assert!(reply["BizId"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(reply["RequestId"].is_string());

    let params = aliyun_params(
        &config.aliyun_access_key_id,
        &config.aliyun_access_key_secret,
        "POST",
        &aliyun_business("13800138000,+8613900139000", r#"{"code":"654321"}"#),
    );
    let response = client()
        .post(stub.aliyun_base_url())
        .form(&params)
        .send()
        .await
        .expect("an answer");
    let (status, reply) = json_of(response).await;
    assert_eq!((status, &reply["Code"]), (200, &json!("OK")), "{reply}");

    let sent = stub.sms_to("13800138000");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].provider, Provider::Aliyun);
    assert_eq!(sent[0].params, ["123456", "5 分钟*"]);
    assert_eq!(sent[0].template_id, "SMS_123456789");
    assert_eq!(sent[0].out_id.as_deref(), Some("out-7"));
    assert_eq!(stub.last_sms_code("13800138000").as_deref(), Some("654321"));
    assert_eq!(stub.last_sms_code("13900139000").as_deref(), Some("654321"));
}

#[tokio::test]
async fn aliyun_rejects_a_bad_signature_and_an_illegal_number() {
    let stub = stub().await;
    let config = &stub.config;

    let params = aliyun_params(
        &config.aliyun_access_key_id,
        "not-the-secret",
        "GET",
        &aliyun_business("13800138000", r#"{"code":"123456"}"#),
    );
    let response = client()
        .get(stub.aliyun_base_url())
        .query(&params)
        .send()
        .await
        .expect("an answer");
    let (status, reply) = json_of(response).await;
    assert_eq!(status, 400);
    assert_eq!(reply["Code"], "SignatureDoesNotMatch");

    // Signed for GET, sent as POST: the method is part of the string to sign.
    let params = aliyun_params(
        &config.aliyun_access_key_id,
        &config.aliyun_access_key_secret,
        "GET",
        &aliyun_business("13800138000", r#"{"code":"123456"}"#),
    );
    let response = client()
        .post(stub.aliyun_base_url())
        .form(&params)
        .send()
        .await
        .expect("an answer");
    assert_eq!(json_of(response).await.1["Code"], "SignatureDoesNotMatch");

    let params = aliyun_params(
        &config.aliyun_access_key_id,
        &config.aliyun_access_key_secret,
        "GET",
        &aliyun_business("12345", r#"{"code":"123456"}"#),
    );
    let response = client()
        .get(stub.aliyun_base_url())
        .query(&params)
        .send()
        .await
        .expect("an answer");
    let (status, reply) = json_of(response).await;
    assert_eq!(
        (status, &reply["Code"]),
        (200, &json!("isv.MOBILE_NUMBER_ILLEGAL"))
    );
    assert!(stub.all_sms().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Faults

#[tokio::test]
async fn a_status_fault_applies_the_given_number_of_times() {
    let stub = stub().await;
    stub.inject_fault(Fault::status(FaultTarget::Jscode2session, 503).times(2));

    for _ in 0..2 {
        let response = client()
            .get(format!("{}/sns/jscode2session", stub.base_url))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status().as_u16(), 503);
    }
    assert_eq!(login(&stub, "ivan").await["openid"], "o_stub_ivan");
}

#[tokio::test]
async fn errcode_faults_speak_each_providers_wire_format() {
    let stub = stub().await;

    stub.inject_fault(Fault::errcode(FaultTarget::Jscode2session, 45011).times(1));
    let limited = login(&stub, "judy").await;
    assert_eq!(limited["errcode"], 45011);
    assert!(limited["errmsg"].is_string());
    // The fault did not use up the code.
    assert_eq!(login(&stub, "judy").await["openid"], "o_stub_judy");

    stub.inject_fault(
        Fault::errcode(FaultTarget::Tencent, "LimitExceeded.PhoneNumberDailyLimit").times(1),
    );
    let body = tencent_body(&stub, &["+8613800138000"], "222222");
    let reply = tencent_send(&stub, signed_by(&stub), &body).await;
    assert_eq!(
        reply["Response"]["SendStatusSet"][0]["Code"],
        "LimitExceeded.PhoneNumberDailyLimit"
    );
    stub.inject_fault(Fault::errcode(FaultTarget::Tencent, "InternalError").times(1));
    let reply = tencent_send(&stub, signed_by(&stub), &body).await;
    assert_eq!(reply["Response"]["Error"]["Code"], "InternalError");
    assert!(stub.sms_to("13800138000").is_empty());

    stub.inject_fault(Fault::errcode(
        FaultTarget::Aliyun,
        "isv.BUSINESS_LIMIT_CONTROL",
    ));
    let params = aliyun_params(
        &stub.config.aliyun_access_key_id,
        &stub.config.aliyun_access_key_secret,
        "GET",
        &aliyun_business("13800138000", r#"{"code":"123456"}"#),
    );
    let response = client()
        .get(stub.aliyun_base_url())
        .query(&params)
        .send()
        .await
        .expect("an answer");
    let (status, reply) = json_of(response).await;
    assert_eq!(
        (status, &reply["Code"]),
        (200, &json!("isv.BUSINESS_LIMIT_CONTROL"))
    );

    stub.clear_faults();
    let reply = tencent_send(&stub, signed_by(&stub), &body).await;
    assert_eq!(reply["Response"]["SendStatusSet"][0]["Code"], "Ok");
}

#[tokio::test]
async fn a_delay_fault_slows_the_answer_and_can_outlast_a_client_timeout() {
    let stub = stub().await;
    stub.inject_fault(Fault::delay(FaultTarget::StableToken, Duration::from_millis(300)).times(1));
    let started = Instant::now();
    let reply = stable_token(&stub, false).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(reply["access_token"].is_string(), "{reply}");

    stub.inject_fault(Fault::delay(FaultTarget::All, Duration::from_secs(5)));
    let _ = client();
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("a client");
    let err = impatient
        .get(format!("{}/sns/jscode2session", stub.base_url))
        .send()
        .await
        .expect_err("the stub answers too late");
    assert!(err.is_timeout(), "{err}");
}

#[tokio::test]
async fn a_drop_fault_closes_the_connection_without_an_answer() {
    let stub = stub().await;
    stub.inject_fault(Fault::drop_connection(FaultTarget::Subscribe).times(1));
    let token = access_token(&stub).await;
    let result = client()
        .post(format!("{}/cgi-bin/message/subscribe/send", stub.base_url))
        .query(&[("access_token", token.as_str())])
        .json(&approval_message("o_stub_kim"))
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
    assert!(stub.subscribe_messages("o_stub_kim").is_empty());
    assert_eq!(
        subscribe(&stub, &token, &approval_message("o_stub_kim")).await["errcode"],
        0
    );
}

#[tokio::test]
async fn faults_can_be_managed_over_http() {
    let stub = stub().await;
    let faults = format!("{}/__stub/faults", stub.base_url);

    let added = client()
        .post(&faults)
        .json(&json!({"target": "*", "mode": "errcode", "errcode": -1}))
        .send()
        .await
        .expect("an answer");
    assert!(added.status().is_success());
    let (_, listed) = json_of(client().get(&faults).send().await.expect("an answer")).await;
    assert_eq!(listed[0]["target"], "*");
    assert_eq!(login(&stub, "leo").await["errcode"], -1);
    assert_eq!(login(&stub, "leo").await["errcode"], -1);

    let cleared = client().delete(&faults).send().await.expect("an answer");
    assert!(cleared.status().is_success());
    assert_eq!(login(&stub, "leo").await["openid"], "o_stub_leo");

    let invalid = client()
        .post(&faults)
        .json(&json!({"target": "tencent", "mode": "delay"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(invalid.status().as_u16(), 400);
    let unknown = client()
        .post(&faults)
        .json(&json!({"target": "smtp", "mode": "drop"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(unknown.status().as_u16(), 400);
}

// ---------------------------------------------------------------------------------------------
// Recording and lifecycle

#[tokio::test]
async fn requests_are_recorded_per_provider_and_can_be_cleared() {
    let stub = stub().await;
    let health = client()
        .get(format!("{}/__stub/health", stub.base_url))
        .send()
        .await
        .expect("an answer");
    assert_eq!(health.status().as_u16(), 200);

    login(&stub, "mallory").await;
    let token = access_token(&stub).await;
    let body = tencent_body(&stub, &["+8613800138000"], "333333");
    tencent_send(&stub, signed_by(&stub), &body).await;

    let wechat = stub.requests(Provider::Wechat);
    assert_eq!(wechat.len(), 2);
    assert_eq!(wechat[0].path, "/sns/jscode2session");
    assert_eq!(wechat[0].method, "GET");
    assert_eq!(wechat[0].query["js_code"], "mallory");
    assert_eq!(wechat[1].path, "/cgi-bin/stable_token");
    assert_eq!(wechat[1].body["grant_type"], "client_credential");
    assert!(!token.is_empty());

    let tencent = stub.requests(Provider::Tencent);
    assert_eq!(tencent.len(), 1);
    assert_eq!(tencent[0].headers["x-tc-action"], "SendSms");
    assert_eq!(tencent[0].body["TemplateParamSet"][0], "333333");
    assert!(stub.requests(Provider::Aliyun).is_empty());

    let requests = format!("{}/__stub/requests", stub.base_url);
    let over_http = client()
        .get(&requests)
        .query(&[("provider", "tencent")])
        .send()
        .await
        .expect("an answer");
    let (_, listed) = json_of(over_http).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["provider"], "tencent");
    assert_eq!(listed[0]["method"], "POST");
    assert!(listed[0]["received_at"].is_string());
    let (_, all) = json_of(client().get(&requests).send().await.expect("an answer")).await;
    assert_eq!(all.as_array().map(Vec::len), Some(3));

    let cleared = client().delete(&requests).send().await.expect("an answer");
    assert!(cleared.status().is_success());
    assert!(stub.all_requests().is_empty());
    assert!(stub.all_sms().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stub_stops_gracefully_and_on_drop() {
    let stopped = stub().await;
    let url = format!("{}/__stub/health", stopped.base_url);
    assert!(client().get(&url).send().await.is_ok());
    stopped.stop().await;
    assert!(client().get(&url).send().await.is_err());

    let dropped = stub().await;
    let url = format!("{}/__stub/health", dropped.base_url);
    drop(dropped);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(client().get(&url).send().await.is_err());
}

#[actix_web::test]
async fn the_stub_also_runs_on_an_actix_runtime() {
    let stub = stub().await;
    assert_eq!(login(&stub, "niaj").await["openid"], "o_stub_niaj");
}
