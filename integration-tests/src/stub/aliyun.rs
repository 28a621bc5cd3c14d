//! Aliyun Dysmsapi `SendSms` (2017-05-25), RPC style, with legacy HMAC-SHA1 signature
//! verification. Parameters come from the query string and, for POST, a form-encoded body.
//! Errors are `{"Code","Message","RequestId"}`: HTTP 4xx for request and signature problems,
//! HTTP 200 for business (`isv.*`, `isp.*`) codes, like the real API.

use std::collections::{HashMap, HashSet};

use actix_web::http::{Method, StatusCode};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{NaiveDateTime, Utc};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::{Value, json};

use super::StubConfig;
use super::fault::{self, FaultTarget, Outcome};
use super::sign::{aliyun_percent_encode, constant_time_eq, hmac_sha1};
use super::state::{Provider, RecordedSms, Shared};

/// Largest accepted difference between `Timestamp` and the stub's clock, in seconds.
const MAX_SKEW_SECS: i64 = 15 * 60;

/// Registers `GET|POST /aliyun` and `GET|POST /aliyun/`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    for path in ["/aliyun", "/aliyun/"] {
        cfg.route(path, web::get().to(send_sms))
            .route(path, web::post().to(send_sms));
    }
}

/// An error answer: HTTP status, `Code`, `Message`.
struct Failure {
    status: StatusCode,
    code: String,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// A business error: HTTP 200 with a `Code` other than `OK`.
    fn business(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::OK, code, message)
    }

    fn missing(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("Missing{name}"),
            format!("{name} is mandatory for this action."),
        )
    }

    fn into_response(self, request_id: &str) -> HttpResponse {
        HttpResponse::build(self.status).json(json!({
            "Code": self.code,
            "Message": self.message,
            "RequestId": request_id,
        }))
    }
}

/// `GET|POST /aliyun/`: `SendSms`.
async fn send_sms(shared: web::Data<Shared>, req: HttpRequest, body: Bytes) -> HttpResponse {
    shared.record(Provider::Aliyun, &req, &body);
    let request_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    match fault::apply(&shared, FaultTarget::Aliyun).await {
        Outcome::Respond(response) => return response,
        Outcome::Errcode(code) => {
            let code = code.as_text();
            let status = if code.starts_with("isv.") || code.starts_with("isp.") {
                StatusCode::OK
            } else {
                StatusCode::BAD_REQUEST
            };
            return Failure::new(status, code, "stub fault").into_response(&request_id);
        }
        Outcome::Proceed => {}
    }
    let mut pairs = super::parse_pairs(req.query_string());
    if req.method() == Method::POST && !body.is_empty() {
        pairs.extend(super::parse_pairs(&String::from_utf8_lossy(&body)));
    }
    let reply =
        authenticate(&shared, req.method(), &pairs).and_then(|params| send(&shared, &params));
    match reply {
        Ok(biz_id) => HttpResponse::Ok().json(json!({
            "Code": "OK",
            "Message": "OK",
            "BizId": biz_id,
            "RequestId": request_id,
        })),
        Err(failure) => failure.into_response(&request_id),
    }
}

/// Checks the common parameters and the signature; returns the parameters by name.
fn authenticate(
    shared: &Shared,
    method: &Method,
    pairs: &[(String, String)],
) -> Result<HashMap<String, String>, Failure> {
    let config: &StubConfig = &shared.config;
    let mut params = HashMap::new();
    for (name, value) in pairs {
        params.entry(name.clone()).or_insert_with(|| value.clone());
    }
    for name in [
        "Action",
        "Version",
        "AccessKeyId",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "Timestamp",
        "Format",
        "Signature",
    ] {
        if params.get(name).is_none_or(String::is_empty) {
            return Err(Failure::missing(name));
        }
    }
    let get = |name: &str| params.get(name).map_or("", String::as_str);
    if get("Action") != "SendSms" {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "InvalidAction.NotFound",
            format!("Specified api {} is not found in the stub.", get("Action")),
        ));
    }
    if get("Version") != "2017-05-25" {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "InvalidVersion",
            format!(
                "Specified parameter Version {} is not valid.",
                get("Version")
            ),
        ));
    }
    if !get("Format").eq_ignore_ascii_case("JSON") {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "the stub only answers Format=JSON",
        ));
    }
    if get("SignatureMethod") != "HMAC-SHA1" {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "InvalidSignatureMethod",
            "Specified signature method is not valid, use HMAC-SHA1.",
        ));
    }
    if get("SignatureVersion") != "1.0" {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "InvalidSignatureVersion",
            "Specified signature version is not valid, use 1.0.",
        ));
    }
    if get("AccessKeyId") != config.aliyun_access_key_id {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        ));
    }
    let Ok(timestamp) = NaiveDateTime::parse_from_str(get("Timestamp"), "%Y-%m-%dT%H:%M:%SZ")
    else {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Format",
            "Specified time stamp is not in ISO 8601 UTC format YYYY-MM-DDThh:mm:ssZ.",
        ));
    };
    let skew = (Utc::now().naive_utc() - timestamp).num_seconds().abs();
    if skew > MAX_SKEW_SECS {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date header is expired.",
        ));
    }
    let string_to_sign = string_to_sign(method.as_str(), pairs);
    let key = format!("{}&", config.aliyun_access_key_secret);
    let expected = BASE64.encode(hmac_sha1(key.as_bytes(), string_to_sign.as_bytes()));
    if !constant_time_eq(&expected, get("Signature")) {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            ),
        ));
    }
    if !shared
        .lock()
        .aliyun_nonces
        .insert(get("SignatureNonce").to_owned())
    {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(params)
}

/// `METHOD&%2F&percentEncode(sorted, percent-encoded name=value pairs without Signature)`.
fn string_to_sign(method: &str, pairs: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .filter(|(name, _)| name != "Signature")
        .map(|(name, value)| (aliyun_percent_encode(name), aliyun_percent_encode(value)))
        .collect();
    encoded.sort();
    let canonical = encoded
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{method}&{}&{}",
        aliyun_percent_encode("/"),
        aliyun_percent_encode(&canonical)
    )
}

/// Validates the business parameters and records the messages; returns the `BizId`.
fn send(shared: &Shared, params: &HashMap<String, String>) -> Result<String, Failure> {
    let required = |name: &str| {
        params
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Failure::missing(name))
    };
    let numbers = required("PhoneNumbers")?;
    let sign_name = required("SignName")?;
    let template_code = required("TemplateCode")?;
    let template_params = match params.get("TemplateParam").filter(|v| !v.is_empty()) {
        None => Vec::new(),
        Some(raw) => match serde_json::from_str::<OrderedObject>(raw) {
            Ok(OrderedObject(fields)) => fields
                .into_iter()
                .map(|(_, value)| match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect(),
            Err(_) => {
                return Err(Failure::business(
                    "isv.INVALID_JSON_PARAM",
                    "JSON参数不合法，只接受字符串值",
                ));
            }
        },
    };
    let numbers: Vec<&str> = numbers.split(',').map(str::trim).collect();
    if numbers.len() > 1000 {
        return Err(Failure::business(
            "isv.MOBILE_COUNT_OVER_LIMIT",
            "at most 1000 numbers per call",
        ));
    }
    let mut nationals = Vec::with_capacity(numbers.len());
    for number in &numbers {
        match super::mainland_mobile(number) {
            Some(national) => nationals.push(national),
            None => {
                return Err(Failure::business(
                    "isv.MOBILE_NUMBER_ILLEGAL",
                    format!("{number} is not a valid mobile number"),
                ));
            }
        }
    }
    let unique: HashSet<&String> = nationals.iter().collect();
    let mut state = shared.lock();
    if let Some(blocked) = unique.iter().find(|n| state.is_blacklisted(n)) {
        return Err(Failure::business(
            "isv.BLACK_KEY_CONTROL_LIMIT",
            format!("{blocked} is blacklisted"),
        ));
    }
    let out_id = params.get("OutId").filter(|v| !v.is_empty()).cloned();
    for national in nationals {
        log::info!("aliyun sms to {national}: template {template_code} params {template_params:?}");
        state.sms.push(RecordedSms {
            provider: Provider::Aliyun,
            phone: national,
            sign_name: sign_name.clone(),
            template_id: template_code.clone(),
            params: template_params.clone(),
            out_id: out_id.clone(),
            received_at: Utc::now(),
        });
    }
    Ok(format!("{}^0", super::random_digits(18)))
}

/// A JSON object's fields in document order (serde_json's map may sort them).
struct OrderedObject(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;

        impl<'de> Visitor<'de> for Fields {
            type Value = OrderedObject;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedObject, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry::<String, Value>()? {
                    fields.push(field);
                }
                Ok(OrderedObject(fields))
            }
        }

        deserializer.deserialize_map(Fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_sorts_and_double_encodes() {
        let pairs = vec![
            ("b".to_owned(), "x y".to_owned()),
            ("Signature".to_owned(), "ignored".to_owned()),
            ("a".to_owned(), "1/2".to_owned()),
        ];
        assert_eq!(
            string_to_sign("GET", &pairs),
            "GET&%2F&a%3D1%252F2%26b%3Dx%2520y"
        );
    }

    #[test]
    fn template_params_keep_document_order() {
        let OrderedObject(fields) =
            serde_json::from_str(r#"{"z":"1","a":2}"#).unwrap_or(OrderedObject(Vec::new()));
        assert_eq!(
            fields,
            vec![("z".to_owned(), json!("1")), ("a".to_owned(), json!(2))]
        );
    }
}
