//! Aliyun SMS: Dysmsapi `SendSms` (2017-05-25) signed with the RPC scheme (HMAC-SHA1 over
//! the sorted, percent-encoded parameters).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha1::Sha1;
use zhijian_domain::ports::{BoxFuture, SmsError, SmsMessage, SmsReceipt, SmsSender, SmsTemplate};

use super::{SmsConfig, endpoint, http_client, require, transport_error};
use crate::crypto::secret::Secret;

/// Sends SMS through Aliyun.
pub struct AliyunSms {
    http: reqwest::Client,
    url: reqwest::Url,
    access_key_id: String,
    access_key_secret: Secret,
    sign_name: String,
    template_verification: String,
    template_notification: String,
}

impl std::fmt::Debug for AliyunSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunSms")
            .field("url", &self.url.as_str())
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl AliyunSms {
    /// A sender from the `aliyun_*` keys of `config`; every one of them is required.
    pub fn new(config: &SmsConfig) -> Result<Self, super::SmsConfigError> {
        const P: &str = "aliyun";
        require(&config.aliyun_access_key_id, "aliyun_access_key_id", P)?;
        require(
            config.aliyun_access_key_secret.expose(),
            "aliyun_access_key_secret",
            P,
        )?;
        require(&config.sign_name, "sign_name", P)?;
        require(
            &config.aliyun_template_verification,
            "aliyun_template_verification",
            P,
        )?;
        require(
            &config.aliyun_template_notification,
            "aliyun_template_notification",
            P,
        )?;
        Ok(Self {
            http: http_client(config)?,
            url: endpoint(&config.aliyun_base_url, "aliyun_base_url")?,
            access_key_id: config.aliyun_access_key_id.clone(),
            access_key_secret: config.aliyun_access_key_secret.clone(),
            sign_name: config.sign_name.clone(),
            template_verification: config.aliyun_template_verification.clone(),
            template_notification: config.aliyun_template_notification.clone(),
        })
    }

    /// The signed parameters of one `SendSms` call.
    fn parameters(
        &self,
        message: &SmsMessage,
        nonce: &str,
        timestamp: &str,
    ) -> BTreeMap<String, String> {
        let template_code = match message.template {
            SmsTemplate::VerificationCode => &self.template_verification,
            SmsTemplate::Notification => &self.template_notification,
        };
        let mut params: BTreeMap<String, String> = [
            ("AccessKeyId", self.access_key_id.as_str()),
            ("Action", "SendSms"),
            ("Format", "JSON"),
            ("RegionId", "cn-hangzhou"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", nonce),
            ("SignatureVersion", "1.0"),
            ("Timestamp", timestamp),
            ("Version", "2017-05-25"),
            ("PhoneNumbers", message.phone.as_str()),
            ("SignName", self.sign_name.as_str()),
            ("TemplateCode", template_code.as_str()),
            ("OutId", message.out_id.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        params.insert("TemplateParam".to_owned(), template_param(message));
        let signature = rpc_signature("POST", &params, self.access_key_secret.expose());
        params.insert("Signature".to_owned(), signature);
        params
    }

    async fn send_one(&self, message: &SmsMessage) -> Result<SmsReceipt, SmsError> {
        let nonce = uuid::Uuid::new_v4().to_string();
        let timestamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let params = self.parameters(message, &nonce, &timestamp);
        let response = self
            .http
            .post(self.url.clone())
            .form(&params)
            .send()
            .await
            .map_err(|e| transport_error("aliyun", &message.out_id, e))?;
        let status = response.status();
        if status.is_server_error() {
            ::log::warn!("sms aliyun: out_id {}: HTTP {status}", message.out_id);
            return Err(SmsError::Unavailable(format!("HTTP {status}")));
        }
        // Aliyun answers signature and credential errors with 4xx and a JSON body: read it.
        let text = response
            .text()
            .await
            .map_err(|e| transport_error("aliyun", &message.out_id, e))?;
        let reply: Reply = serde_json::from_str(&text).map_err(|e| {
            ::log::warn!(
                "sms aliyun: out_id {}: HTTP {status}, unexpected reply: {e}",
                message.out_id
            );
            SmsError::Unavailable(format!("HTTP {status}, unexpected reply"))
        })?;
        interpret(reply, &message.out_id)
    }
}

impl SmsSender for AliyunSms {
    fn send<'a>(&'a self, message: &'a SmsMessage) -> BoxFuture<'a, Result<SmsReceipt, SmsError>> {
        Box::pin(self.send_one(message))
    }
}

/// `TemplateParam`: a JSON object as a string. Verification codes fill `${code}` and
/// `${minutes}`; notifications fill `${p1}`, `${p2}` … in order.
fn template_param(message: &SmsMessage) -> String {
    let mut object = Map::new();
    match message.template {
        SmsTemplate::VerificationCode => {
            for (name, value) in ["code", "minutes"].into_iter().zip(&message.params) {
                object.insert(name.to_owned(), Value::String(value.clone()));
            }
        }
        SmsTemplate::Notification => {
            for (i, value) in message.params.iter().enumerate() {
                object.insert(format!("p{}", i + 1), Value::String(value.clone()));
            }
        }
    }
    Value::Object(object).to_string()
}

/// Percent-encoding of Aliyun's RPC signature: `A–Z a–z 0–9 - _ . ~` are kept, every other
/// byte of the UTF-8 text becomes `%XX` (upper-case hex), so a space is `%20` and `*` is `%2A`.
pub fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The RPC `Signature` of `params` (every parameter but `Signature`):
/// base64(HMAC-SHA1(secret + "&", method + "&%2F&" + percentEncode(canonicalized query))),
/// the canonicalized query being `k=v` pairs sorted by key and joined with `&`, each key and
/// value percent-encoded.
pub fn rpc_signature(
    method: &str,
    params: &BTreeMap<String, String>,
    access_key_secret: &str,
) -> String {
    let canonical = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let string_to_sign = format!("{method}&%2F&{}", percent_encode(&canonical));
    // HMAC takes a key of any length: `new_from_slice` cannot fail here.
    match <Hmac<Sha1> as Mac>::new_from_slice(format!("{access_key_secret}&").as_bytes()) {
        Ok(mut mac) => {
            mac.update(string_to_sign.as_bytes());
            STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// What Aliyun's reply means.
fn interpret(reply: Reply, out_id: &str) -> Result<SmsReceipt, SmsError> {
    let context = format!(
        "out_id {out_id}, request {}: {} ({})",
        reply.request_id, reply.code, reply.message
    );
    match reply.code.as_str() {
        "OK" => Ok(SmsReceipt {
            provider_id: reply.biz_id,
        }),
        "isv.BUSINESS_LIMIT_CONTROL" => {
            ::log::info!("sms aliyun: {context}");
            Err(SmsError::RateLimited)
        }
        "isv.MOBILE_NUMBER_ILLEGAL" => {
            ::log::info!("sms aliyun: {context}");
            Err(SmsError::InvalidNumber)
        }
        // The number is on the blacklist (the user unsubscribed): retrying cannot help.
        "isv.BLACK_KEY_CONTROL_LIMIT" => {
            ::log::info!("sms aliyun: {context}");
            Err(SmsError::Blacklisted)
        }
        "isv.AMOUNT_NOT_ENOUGH" | "isv.OUT_OF_SERVICE" => {
            ::log::error!("ALERT sms aliyun: account cannot send, top it up: {context}");
            Err(SmsError::Unavailable(reply.code))
        }
        c if c.contains("Signature") || c.contains("AccessKey") => {
            ::log::error!(
                "sms aliyun: credentials refused, check sms.aliyun_access_key_id/secret: {context}"
            );
            Err(SmsError::Unavailable(reply.code))
        }
        _ => {
            ::log::warn!("sms aliyun: {context}");
            Err(SmsError::Unavailable(reply.code))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Reply {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    biz_id: String,
    #[serde(default)]
    request_id: String,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::providers::http_client::stub::{Reply as StubReply, Stub};
    use crate::providers::sms::SmsProvider;

    /// The worked example of Aliyun's "signature mechanism" page (ECS `DescribeRegions`,
    /// AccessKey `testid` / `testsecret`), whose published signature is
    /// `CT9X0VtwR86fNWSnsc6v8YGOjuE=`.
    #[test]
    fn the_documented_example_signature_is_reproduced() {
        let params: BTreeMap<String, String> = [
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("TimeStamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            rpc_signature("GET", &params, "testsecret"),
            "CT9X0VtwR86fNWSnsc6v8YGOjuE="
        );
    }

    #[test]
    fn percent_encoding_follows_aliyun_rules() {
        assert_eq!(percent_encode("aZ09-_.~"), "aZ09-_.~");
        assert_eq!(percent_encode("a b*c+d/e:f="), "a%20b%2Ac%2Bd%2Fe%3Af%3D");
        assert_eq!(
            percent_encode("{\"code\":\"1\"}"),
            "%7B%22code%22%3A%221%22%7D"
        );
        assert_eq!(percent_encode("工会"), "%E5%B7%A5%E4%BC%9A");
    }

    fn config(base_url: &str, timeout_ms: u64) -> SmsConfig {
        SmsConfig {
            provider: SmsProvider::Aliyun,
            aliyun_base_url: base_url.to_owned(),
            aliyun_access_key_id: "LTAI-test".to_owned(),
            aliyun_access_key_secret: Secret::new("aliyun-secret"),
            aliyun_template_verification: "SMS_1".to_owned(),
            aliyun_template_notification: "SMS_2".to_owned(),
            timeout_ms,
            ..SmsConfig::default()
        }
    }

    fn message(template: SmsTemplate, params: &[&str]) -> SmsMessage {
        SmsMessage {
            phone: "13711112222".to_owned(),
            template,
            params: params.iter().map(|p| (*p).to_owned()).collect(),
            out_id: "out-7".to_owned(),
        }
    }

    fn sender(stub: &Stub, timeout_ms: u64) -> AliyunSms {
        AliyunSms::new(&config(&format!("{}/aliyun/", stub.base_url), timeout_ms)).unwrap()
    }

    fn ok() -> StubReply {
        StubReply::json(
            json!({"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "r"}),
        )
    }

    #[tokio::test]
    async fn a_message_is_posted_as_a_signed_form_and_its_biz_id_returned() {
        let stub = Stub::start(|_| ok());
        let receipt = sender(&stub, 1000)
            .send(&message(SmsTemplate::VerificationCode, &["123456", "5"]))
            .await
            .unwrap();
        assert_eq!(receipt.provider_id, "900619746936498440^0");

        let seen = &stub.requests()[0];
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.target, "/aliyun/");
        assert!(
            seen.header("content-type")
                .unwrap()
                .starts_with("application/x-www-form-urlencoded")
        );
        let mut form: BTreeMap<String, String> = seen.form().into_iter().collect();
        let get = |k: &str| form.get(k).cloned().unwrap_or_default();
        assert_eq!(get("Action"), "SendSms");
        assert_eq!(get("Version"), "2017-05-25");
        assert_eq!(get("Format"), "JSON");
        assert_eq!(get("RegionId"), "cn-hangzhou");
        assert_eq!(get("SignatureMethod"), "HMAC-SHA1");
        assert_eq!(get("SignatureVersion"), "1.0");
        assert_eq!(get("AccessKeyId"), "LTAI-test");
        assert_eq!(get("PhoneNumbers"), "13711112222");
        assert_eq!(get("SignName"), "指尖入会");
        assert_eq!(get("TemplateCode"), "SMS_1");
        assert_eq!(get("OutId"), "out-7");
        assert_eq!(
            serde_json::from_str::<Value>(&get("TemplateParam")).unwrap(),
            json!({"code": "123456", "minutes": "5"})
        );
        assert!(uuid::Uuid::parse_str(&get("SignatureNonce")).is_ok());
        assert!(
            chrono::NaiveDateTime::parse_from_str(&get("Timestamp"), "%Y-%m-%dT%H:%M:%SZ").is_ok()
        );
        let signature = form.remove("Signature").unwrap();
        assert_eq!(signature, rpc_signature("POST", &form, "aliyun-secret"));
    }

    #[tokio::test]
    async fn a_notification_fills_numbered_parameters() {
        let stub = Stub::start(|_| ok());
        sender(&stub, 1000)
            .send(&message(SmsTemplate::Notification, &["张三", "已通过"]))
            .await
            .unwrap();
        let form: BTreeMap<String, String> = stub.requests()[0].form().into_iter().collect();
        assert_eq!(form["TemplateCode"], "SMS_2");
        assert_eq!(
            serde_json::from_str::<Value>(&form["TemplateParam"]).unwrap(),
            json!({"p1": "张三", "p2": "已通过"})
        );
    }

    #[tokio::test]
    async fn error_codes_are_mapped() {
        let cases = [
            (200, "isv.BUSINESS_LIMIT_CONTROL", SmsError::RateLimited),
            (200, "isv.MOBILE_NUMBER_ILLEGAL", SmsError::InvalidNumber),
            (200, "isv.BLACK_KEY_CONTROL_LIMIT", SmsError::Blacklisted),
            (
                200,
                "isv.AMOUNT_NOT_ENOUGH",
                SmsError::Unavailable("isv.AMOUNT_NOT_ENOUGH".to_owned()),
            ),
            (
                200,
                "isp.SYSTEM_ERROR",
                SmsError::Unavailable("isp.SYSTEM_ERROR".to_owned()),
            ),
            (
                400,
                "SignatureDoesNotMatch",
                SmsError::Unavailable("SignatureDoesNotMatch".to_owned()),
            ),
            (
                404,
                "InvalidAccessKeyId.NotFound",
                SmsError::Unavailable("InvalidAccessKeyId.NotFound".to_owned()),
            ),
        ];
        for (http, code, expected) in cases {
            let stub = Stub::start(move |_| {
                StubReply::status(
                    http,
                    &json!({"Code": code, "Message": "m", "RequestId": "r"}).to_string(),
                )
            });
            let error = sender(&stub, 1000)
                .send(&message(SmsTemplate::VerificationCode, &["1", "5"]))
                .await
                .unwrap_err();
            assert_eq!(error, expected, "{code}");
        }
    }

    #[tokio::test]
    async fn a_5xx_or_a_timeout_is_unavailable() {
        let stub = Stub::start(|_| StubReply::status(500, "oops"));
        let error = sender(&stub, 1000)
            .send(&message(SmsTemplate::VerificationCode, &["1"]))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, SmsError::Unavailable(m) if m.contains("500")),
            "{error:?}"
        );

        let stub = Stub::start(|_| ok().delayed(Duration::from_millis(600)));
        let error = sender(&stub, 100)
            .send(&message(SmsTemplate::VerificationCode, &["1"]))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, SmsError::Unavailable(m) if m.contains("timed out")),
            "{error:?}"
        );
    }
}
