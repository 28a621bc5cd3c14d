//! Tencent Cloud SMS `SendSms` (API 3.0, version 2021-01-11) with TC3-HMAC-SHA256 signature
//! verification. Errors answer HTTP 200 like the real API: call-level failures in
//! `Response.Error`, per-number failures in `Response.SendStatusSet[].Code`.

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::StubConfig;
use super::fault::{self, FaultTarget, Outcome};
use super::sign::{constant_time_eq, hmac_sha256, sha256_hex};
use super::state::{Provider, RecordedSms, Shared};

/// Largest accepted difference between `X-TC-Timestamp` and the stub's clock, in seconds.
const MAX_SKEW_SECS: i64 = 300;

/// Registers `POST /tencent` and `POST /tencent/`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tencent", web::post().to(send_sms))
        .route("/tencent/", web::post().to(send_sms));
}

/// A call-level failure: `Response.Error.{Code, Message}`.
struct CallError {
    code: &'static str,
    message: String,
}

impl CallError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

fn call_error(code: &str, message: &str, request_id: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "Response": {
            "Error": { "Code": code, "Message": message },
            "RequestId": request_id,
        }
    }))
}

fn status_reply(statuses: Vec<Value>, request_id: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "Response": { "SendStatusSet": statuses, "RequestId": request_id }
    }))
}

fn number_status(phone: &str, code: &str) -> Value {
    let ok = code == "Ok";
    json!({
        "SerialNo": if ok { format!("2433:{}", super::random_digits(20)) } else { String::new() },
        "PhoneNumber": phone,
        "Fee": u8::from(ok),
        "SessionContext": "",
        "Code": code,
        "Message": per_number_message(code),
        "IsoCode": if code == "InvalidParameterValue.IncorrectPhoneNumber" { "" } else { "CN" },
    })
}

fn per_number_message(code: &str) -> &'static str {
    match code {
        "Ok" => "send success",
        "InvalidParameterValue.IncorrectPhoneNumber" => "incorrect phone number",
        "FailedOperation.PhoneNumberInBlacklist" => "the phone number is in the blacklist",
        c if c.starts_with("LimitExceeded.") => "the sending frequency limit is exceeded",
        _ => "stub fault",
    }
}

/// Codes the real API reports per number rather than for the whole call.
fn is_per_number_code(code: &str) -> bool {
    [
        "LimitExceeded.",
        "InvalidParameterValue.",
        "FailedOperation.",
    ]
    .iter()
    .any(|prefix| code.starts_with(prefix))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendSmsRequest {
    phone_number_set: Vec<String>,
    sms_sdk_app_id: String,
    template_id: String,
    #[serde(default)]
    sign_name: Option<String>,
    #[serde(default)]
    template_param_set: Vec<String>,
    #[serde(default)]
    session_context: Option<String>,
}

/// `POST /tencent/`: `SendSms`.
async fn send_sms(shared: web::Data<Shared>, req: HttpRequest, body: Bytes) -> HttpResponse {
    shared.record(Provider::Tencent, &req, &body);
    let request_id = uuid::Uuid::new_v4().to_string();
    match fault::apply(&shared, FaultTarget::Tencent).await {
        Outcome::Respond(response) => return response,
        Outcome::Errcode(code) => return fault_reply(&code.as_text(), &body, &request_id),
        Outcome::Proceed => {}
    }
    if let Err(err) = authenticate(&shared.config, &req, &body, Utc::now()) {
        return call_error(err.code, &err.message, &request_id);
    }
    let request = match serde_json::from_slice::<SendSmsRequest>(&body) {
        Ok(request) => request,
        Err(err) => {
            let message = format!("the body is not a valid SendSms request: {err}");
            return call_error("InvalidParameter", &message, &request_id);
        }
    };
    if let Err(err) = check_request(&shared.config, &request) {
        return call_error(err.code, &err.message, &request_id);
    }
    let statuses = deliver(&shared, &request);
    status_reply(statuses, &request_id)
}

/// A `code` fault: per number for the per-number families, call-level otherwise.
fn fault_reply(code: &str, body: &[u8], request_id: &str) -> HttpResponse {
    if !is_per_number_code(code) {
        return call_error(code, "stub fault", request_id);
    }
    let phones = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("PhoneNumberSet").cloned())
        .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
        .unwrap_or_default();
    let statuses = phones.iter().map(|p| number_status(p, code)).collect();
    status_reply(statuses, request_id)
}

fn check_request(config: &StubConfig, request: &SendSmsRequest) -> Result<(), CallError> {
    if request.sms_sdk_app_id != config.tencent_sdk_app_id {
        return Err(CallError::new(
            "InvalidParameterValue.SdkAppIdNotExist",
            format!("SmsSdkAppId {} does not exist", request.sms_sdk_app_id),
        ));
    }
    if request.phone_number_set.is_empty() {
        return Err(CallError::new(
            "MissingParameter",
            "PhoneNumberSet is empty",
        ));
    }
    if request.phone_number_set.len() > 200 {
        return Err(CallError::new(
            "LimitExceeded.PhoneNumberCountLimit",
            "at most 200 numbers per call",
        ));
    }
    if request.template_id.trim().is_empty() {
        return Err(CallError::new("MissingParameter", "TemplateId is empty"));
    }
    if request
        .sign_name
        .as_deref()
        .is_none_or(|s| s.trim().is_empty())
    {
        return Err(CallError::new(
            "MissingParameter",
            "SignName is required for mainland China numbers",
        ));
    }
    Ok(())
}

/// Per-number outcome; accepted messages are recorded.
fn deliver(shared: &Shared, request: &SendSmsRequest) -> Vec<Value> {
    let mut state = shared.lock();
    let mut statuses = Vec::with_capacity(request.phone_number_set.len());
    for number in &request.phone_number_set {
        // Only `+861[3-9]` and 9 digits: the API wants E.164 numbers.
        let national = number
            .strip_prefix("+86")
            .filter(|n| super::is_national_mobile(n))
            .map(str::to_owned);
        let code = match &national {
            None => "InvalidParameterValue.IncorrectPhoneNumber",
            Some(n) if state.is_blacklisted(n) => "FailedOperation.PhoneNumberInBlacklist",
            Some(n) => {
                log::info!(
                    "tencent sms to {n}: template {} params {:?}",
                    request.template_id,
                    request.template_param_set
                );
                state.sms.push(RecordedSms {
                    provider: Provider::Tencent,
                    phone: n.clone(),
                    sign_name: request.sign_name.clone().unwrap_or_default(),
                    template_id: request.template_id.clone(),
                    params: request.template_param_set.clone(),
                    out_id: request.session_context.clone(),
                    received_at: Utc::now(),
                });
                "Ok"
            }
        };
        let mut status = number_status(number, code);
        status["SessionContext"] = json!(request.session_context.clone().unwrap_or_default());
        statuses.push(status);
    }
    statuses
}

/// The parts of `Authorization: TC3-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
struct Authorization<'a> {
    secret_id: &'a str,
    date: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix("TC3-HMAC-SHA256 ")?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=')? {
            ("Credential", v) => credential = Some(v),
            ("SignedHeaders", v) => signed_headers = Some(v),
            ("Signature", v) => signature = Some(v),
            _ => return None,
        }
    }
    let mut scope = credential?.split('/');
    let (secret_id, date, service, terminator) =
        (scope.next()?, scope.next()?, scope.next()?, scope.next()?);
    if scope.next().is_some() || service != "sms" || terminator != "tc3_request" {
        return None;
    }
    Some(Authorization {
        secret_id,
        date,
        signed_headers: signed_headers?,
        signature: signature?,
    })
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Checks the API 3.0 headers and the TC3-HMAC-SHA256 signature.
fn authenticate(
    config: &StubConfig,
    req: &HttpRequest,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), CallError> {
    let required = |name: &str| {
        header(req, name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| CallError::new("MissingParameter", format!("missing header {name}")))
    };
    let action = required("X-TC-Action")?;
    if action != "SendSms" {
        return Err(CallError::new(
            "InvalidAction",
            format!("action {action} is not served by the stub"),
        ));
    }
    let version = required("X-TC-Version")?;
    if version != "2021-01-11" {
        return Err(CallError::new(
            "NoSuchVersion",
            format!("version {version} is not 2021-01-11"),
        ));
    }
    required("X-TC-Region")?;
    let timestamp_header = required("X-TC-Timestamp")?;
    let Ok(timestamp) = timestamp_header.trim().parse::<i64>() else {
        return Err(CallError::new(
            "InvalidParameter",
            "X-TC-Timestamp must be unix seconds",
        ));
    };
    let auth = header(req, "Authorization")
        .and_then(parse_authorization)
        .ok_or_else(|| {
            CallError::new(
                "AuthFailure.InvalidAuthorization",
                "Authorization must be `TC3-HMAC-SHA256 Credential=<SecretId>/<date>/sms/tc3_request, SignedHeaders=…, Signature=…`",
            )
        })?;
    if auth.secret_id != config.tencent_secret_id {
        return Err(CallError::new(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        ));
    }
    if (now.timestamp() - timestamp).abs() > MAX_SKEW_SECS {
        return Err(CallError::new(
            "AuthFailure.SignatureExpire",
            format!(
                "Signature expire. Request timestamp {timestamp} is more than {MAX_SKEW_SECS} s from server time {}",
                now.timestamp()
            ),
        ));
    }
    let date = DateTime::from_timestamp(timestamp, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    if auth.date != date {
        return Err(CallError::new(
            "AuthFailure.SignatureFailure",
            format!(
                "the credential date {} is not the UTC date {date} of X-TC-Timestamp",
                auth.date
            ),
        ));
    }
    let names: Vec<&str> = auth.signed_headers.split(';').collect();
    if !names.contains(&"content-type") || !names.contains(&"host") {
        return Err(CallError::new(
            "AuthFailure.SignatureFailure",
            "SignedHeaders must include content-type and host",
        ));
    }
    let mut canonical_headers = String::new();
    for name in &names {
        let Some(value) = header(req, name) else {
            return Err(CallError::new(
                "AuthFailure.SignatureFailure",
                format!("signed header {name} is not in the request"),
            ));
        };
        canonical_headers.push_str(&format!("{name}:{}\n", value.trim().to_lowercase()));
    }
    let canonical_request = format!(
        "POST\n/\n\n{canonical_headers}\n{}\n{}",
        auth.signed_headers,
        sha256_hex(body)
    );
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/sms/tc3_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let secret_date = hmac_sha256(
        format!("TC3{}", config.tencent_secret_key).as_bytes(),
        date.as_bytes(),
    );
    let secret_service = hmac_sha256(&secret_date, b"sms");
    let secret_signing = hmac_sha256(&secret_service, b"tc3_request");
    let expected = hex::encode(hmac_sha256(&secret_signing, string_to_sign.as_bytes()));
    if !constant_time_eq(&expected, auth.signature) {
        return Err(CallError::new(
            "AuthFailure.SignatureFailure",
            format!(
                "The provided credentials could not be validated. Please check your signature is correct. (stub canonical request: {canonical_request:?})"
            ),
        ));
    }
    Ok(())
}
