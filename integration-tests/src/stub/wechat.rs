//! WeChat mini-program server API: login (`jscode2session`), access token (`stable_token`),
//! phone number and subscribe message, answering with WeChat's `{errcode, errmsg}` errors.

use std::collections::HashMap;
use std::time::Instant;

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};

use super::fault::{self, FaultTarget, Outcome};
use super::state::{Provider, Shared, SubscribeMessage, TokenRejection};

/// Registers the WeChat routes at the root of the stub.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sns/jscode2session", web::get().to(jscode2session))
        .route("/cgi-bin/stable_token", web::post().to(stable_token))
        .route(
            "/wxa/business/getuserphonenumber",
            web::post().to(phone_number),
        )
        .route(
            "/cgi-bin/message/subscribe/send",
            web::post().to(subscribe_send),
        );
}

/// The `errmsg` WeChat sends with an `errcode`.
fn errmsg(code: i64) -> &'static str {
    match code {
        -1 => "system error",
        0 => "ok",
        40001 => "invalid credential, access_token is invalid or not latest",
        40002 => "invalid grant_type",
        40003 => "invalid openid",
        40013 => "invalid appid",
        40029 => "invalid code",
        40037 => "invalid template_id",
        40125 => "invalid appsecret",
        40163 => "code been used",
        40164 => "invalid ip, not in whitelist",
        40226 => "high risk user",
        41001 => "access_token missing",
        41002 => "appid missing",
        41004 => "appsecret missing",
        41008 => "missing code",
        42001 => "access_token expired",
        43101 => "user refuse to accept the msg",
        45011 => "api minute-quota reach limit  mustslower  retry next minute",
        47001 => "data format error",
        47003 => "argument invalid!",
        _ => "stub fault",
    }
}

fn error_body(code: i64) -> Value {
    json!({ "errcode": code, "errmsg": errmsg(code) })
}

fn error(code: i64) -> HttpResponse {
    HttpResponse::Ok().json(error_body(code))
}

fn error_with(code: i64, message: String) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "errcode": code, "errmsg": message }))
}

/// Runs the fault (if any) for `target`; `Err` carries the answer to send instead.
async fn faults(shared: &Shared, target: FaultTarget) -> Result<(), HttpResponse> {
    match fault::apply(shared, target).await {
        Outcome::Respond(response) => Err(response),
        Outcome::Errcode(code) => Err(error(code.as_wechat())),
        Outcome::Proceed => Ok(()),
    }
}

fn query_map(req: &HttpRequest) -> HashMap<String, String> {
    super::parse_pairs(req.query_string()).into_iter().collect()
}

/// A present, non-empty parameter.
fn param<'a>(query: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    query
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// `GET /sns/jscode2session`. Answers as `text/plain`, like WeChat does.
async fn jscode2session(shared: web::Data<Shared>, req: HttpRequest, body: Bytes) -> HttpResponse {
    shared.record(Provider::Wechat, &req, &body);
    let reply = match faults(&shared, FaultTarget::Jscode2session).await {
        Ok(()) => login(&shared, &query_map(&req)),
        Err(response) => return response,
    };
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(reply.to_string())
}

fn login(shared: &Shared, query: &HashMap<String, String>) -> Value {
    let config = &shared.config;
    match param(query, "appid") {
        None => return error_body(41002),
        Some(appid) if appid != config.wechat_appid => return error_body(40013),
        Some(_) => {}
    }
    match param(query, "secret") {
        None => return error_body(41004),
        Some(secret) if secret != config.wechat_secret => return error_body(40125),
        Some(_) => {}
    }
    let Some(js_code) = param(query, "js_code") else {
        return error_body(41008);
    };
    if param(query, "grant_type") != Some("authorization_code") {
        return error_body(40002);
    }
    match js_code {
        "invalid" => return error_body(40029),
        "blocked" => return error_body(40226),
        "busy" => return error_body(-1),
        _ => {}
    }
    let user = js_code
        .split_once('.')
        .map_or(js_code, |(user, _nonce)| user);
    if user.is_empty() {
        return error_body(40029);
    }
    if !shared.lock().used_js_codes.insert(js_code.to_owned()) {
        return error_body(40163);
    }
    let session_key = BASE64.encode(rand::random::<[u8; 16]>());
    let mut reply = json!({ "openid": format!("o_stub_{user}"), "session_key": session_key });
    if !user.starts_with("nounion-") {
        reply["unionid"] = json!(format!("u_stub_{user}"));
    }
    reply
}

#[derive(Debug, Deserialize)]
struct StableTokenRequest {
    grant_type: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
    #[serde(default)]
    force_refresh: bool,
}

/// `POST /cgi-bin/stable_token`.
async fn stable_token(shared: web::Data<Shared>, req: HttpRequest, body: Bytes) -> HttpResponse {
    shared.record(Provider::Wechat, &req, &body);
    if let Err(response) = faults(&shared, FaultTarget::StableToken).await {
        return response;
    }
    let Ok(request) = serde_json::from_slice::<StableTokenRequest>(&body) else {
        return error(47001);
    };
    let config = &shared.config;
    if request.grant_type.as_deref() != Some("client_credential") {
        return error(40002);
    }
    match request.appid.as_deref().filter(|a| !a.is_empty()) {
        None => return error(41002),
        Some(appid) if appid != config.wechat_appid => return error(40013),
        Some(_) => {}
    }
    match request.secret.as_deref().filter(|s| !s.is_empty()) {
        None => return error(41004),
        Some(secret) if secret != config.wechat_secret => return error(40125),
        Some(_) => {}
    }
    let (token, expires_in) = shared
        .lock()
        .stable_token(request.force_refresh, Instant::now());
    HttpResponse::Ok().json(json!({ "access_token": token, "expires_in": expires_in }))
}

/// Checks `?access_token=`; `Err` is the WeChat `errcode` to answer.
fn check_access_token(shared: &Shared, req: &HttpRequest) -> Result<(), i64> {
    let query = query_map(req);
    let Some(token) = param(&query, "access_token") else {
        return Err(41001);
    };
    match shared.lock().check_token(token, Instant::now()) {
        Ok(()) => Ok(()),
        Err(TokenRejection::Invalid) => Err(40001),
        Err(TokenRejection::Expired) => Err(42001),
    }
}

#[derive(Debug, Deserialize)]
struct PhoneNumberRequest {
    code: Option<String>,
}

/// `POST /wxa/business/getuserphonenumber`.
async fn phone_number(shared: web::Data<Shared>, req: HttpRequest, body: Bytes) -> HttpResponse {
    shared.record(Provider::Wechat, &req, &body);
    if let Err(response) = faults(&shared, FaultTarget::Phone).await {
        return response;
    }
    if let Err(code) = check_access_token(&shared, &req) {
        return error(code);
    }
    let Ok(request) = serde_json::from_slice::<PhoneNumberRequest>(&body) else {
        return error(47001);
    };
    let Some(code) = request.code.filter(|c| !c.is_empty()) else {
        return error(41008);
    };
    let Some(phone) = phone_of_code(&code).map(str::to_owned) else {
        return error(40029);
    };
    let call = {
        let mut state = shared.lock();
        if !state.used_phone_codes.insert(code) {
            return error(40029);
        }
        state.phone_calls += 1;
        state.phone_calls
    };
    // The real API sends countryCode as a string in some replies and a number in others.
    let country_code = if call % 2 == 1 {
        json!("86")
    } else {
        json!(86)
    };
    HttpResponse::Ok().json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": format!("+86{phone}"),
            "purePhoneNumber": phone,
            "countryCode": country_code,
            "watermark": { "timestamp": Utc::now().timestamp(), "appid": shared.config.wechat_appid },
        },
    }))
}

/// `phone-<11 digits>` or `phone-<11 digits>.<nonce>` → the 11 digits.
fn phone_of_code(code: &str) -> Option<&str> {
    let rest = code.strip_prefix("phone-")?;
    let digits = rest.split_once('.').map_or(rest, |(digits, _nonce)| digits);
    (digits.len() == 11 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

#[derive(Debug, Deserialize)]
struct SubscribeSendRequest {
    touser: Option<String>,
    template_id: Option<String>,
    page: Option<String>,
    miniprogram_state: Option<String>,
    lang: Option<String>,
    data: Option<Value>,
}

/// `POST /cgi-bin/message/subscribe/send`.
async fn subscribe_send(shared: web::Data<Shared>, req: HttpRequest, body: Bytes) -> HttpResponse {
    shared.record(Provider::Wechat, &req, &body);
    if let Err(response) = faults(&shared, FaultTarget::Subscribe).await {
        return response;
    }
    if let Err(code) = check_access_token(&shared, &req) {
        return error(code);
    }
    let Ok(request) = serde_json::from_slice::<SubscribeSendRequest>(&body) else {
        return error(47001);
    };
    let Some(openid) = request.touser.filter(|o| o.starts_with("o_")) else {
        return error(40003);
    };
    let Some(template_id) = request.template_id.filter(|t| !t.trim().is_empty()) else {
        return error(40037);
    };
    let data = request.data.unwrap_or(Value::Null);
    if let Err(problem) = check_template_data(&data) {
        return error_with(47003, format!("argument invalid! {problem}"));
    }
    let msgid = {
        let mut state = shared.lock();
        if openid.contains("nosub") || state.unsubscribed.contains(&openid) {
            return error(43101);
        }
        state.next_msgid += 1;
        let msgid = 3_000_000_000 + state.next_msgid;
        state.messages.push(SubscribeMessage {
            openid: openid.clone(),
            template_id: template_id.clone(),
            page: request.page,
            miniprogram_state: request.miniprogram_state,
            lang: request.lang,
            data: data.clone(),
            msgid,
            received_at: Utc::now(),
        });
        msgid
    };
    log::info!("wechat subscribe message {msgid} to {openid}: template {template_id} data {data}");
    HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }))
}

/// Checks `data` against WeChat's value rules, selected by the key's prefix (`thing1` → thing).
fn check_template_data(data: &Value) -> Result<(), String> {
    let Some(fields) = data.as_object().filter(|f| !f.is_empty()) else {
        return Err("data must be a non-empty object".to_owned());
    };
    for (key, field) in fields {
        let Some(value) = field.get("value").and_then(Value::as_str) else {
            return Err(format!("data.{key}.value must be a string"));
        };
        if value.is_empty() {
            return Err(format!("data.{key}.value is empty"));
        }
        let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
        let chars = value.chars().count();
        let ok = match kind {
            "thing" => chars <= 20,
            "phrase" => chars <= 5,
            "name" => chars <= 10,
            "character_string" => chars <= 32 && value.bytes().all(|b| b.is_ascii_graphic()),
            "number" => chars <= 32 && is_number(value),
            "time" => is_minute_time(value),
            _ => true,
        };
        if !ok {
            return Err(format!(
                "data.{key}.value invalid: {value:?} is not a valid {kind}"
            ));
        }
    }
    Ok(())
}

/// Digits with at most one decimal point.
fn is_number(value: &str) -> bool {
    let mut parts = value.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// Exactly `YYYY-MM-DD HH:mm`, and a real date and time.
fn is_minute_time(value: &str) -> bool {
    let shape = value.len() == 16
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ',
            13 => b == b':',
            _ => b.is_ascii_digit(),
        });
    shape && chrono::NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_codes_carry_eleven_digits_and_an_optional_nonce() {
        assert_eq!(phone_of_code("phone-13800138000"), Some("13800138000"));
        assert_eq!(phone_of_code("phone-13800138000.x1"), Some("13800138000"));
        assert_eq!(phone_of_code("phone-1380013800"), None);
        assert_eq!(phone_of_code("13800138000"), None);
    }

    #[test]
    fn template_values_follow_the_limits_of_their_kind() {
        let ok = json!({
            "thing1": {"value": "入会申请"},
            "phrase2": {"value": "已通过"},
            "time3": {"value": "2026-11-23 10:00"},
            "number4": {"value": "12.5"},
            "character_string5": {"value": "A-123"},
            "name6": {"value": "张三"},
        });
        assert!(check_template_data(&ok).is_ok());
        for bad in [
            json!({"thing1": {"value": "一".repeat(21)}}),
            json!({"phrase1": {"value": "一二三四五六"}}),
            json!({"name1": {"value": "一".repeat(11)}}),
            json!({"character_string1": {"value": "a".repeat(33)}}),
            json!({"number1": {"value": "12a"}}),
            json!({"time1": {"value": "2026-11-23 10:00:00"}}),
            json!({"time1": {"value": "2026-13-23 10:00"}}),
            json!({"thing1": {"value": ""}}),
            json!({"thing1": "bare"}),
            json!({}),
        ] {
            assert!(check_template_data(&bad).is_err(), "{bad}");
        }
    }
}
