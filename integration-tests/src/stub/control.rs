//! The stub's own JSON API under `/__stub/`: health, recordings, faults and provider-side
//! registrations (unsubscribed openids, blacklisted phones, expired tokens).

use actix_web::error::{InternalError, JsonPayloadError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::fault::Fault;
use super::state::{Provider, Shared};

/// Registers the `/__stub/` routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/__stub")
            .app_data(web::JsonConfig::default().error_handler(json_error))
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .route("/health", web::get().to(health))
            .route("/requests", web::get().to(list_requests))
            .route("/requests", web::delete().to(clear_requests))
            .route("/sms", web::get().to(list_sms))
            .route("/sms/blacklist", web::post().to(blacklist))
            .route("/wechat/messages", web::get().to(list_messages))
            .route("/wechat/unsubscribed", web::post().to(unsubscribe))
            .route("/wechat/expire_tokens", web::post().to(expire_tokens))
            .route("/faults", web::get().to(list_faults))
            .route("/faults", web::post().to(add_fault))
            .route("/faults", web::delete().to(clear_faults))
            .route("/reset", web::post().to(reset)),
    );
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let response = bad_request(format!("invalid JSON body: {err}"));
    InternalError::from_response(err, response).into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let response = bad_request(format!("invalid query: {err}"));
    InternalError::from_response(err, response).into()
}

fn bad_request(message: impl Into<String>) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": message.into() }))
}

/// `GET /__stub/health`.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

#[derive(Debug, Deserialize)]
struct RequestsQuery {
    provider: Option<String>,
}

/// `GET /__stub/requests?provider=wechat|tencent|aliyun`: recorded requests, oldest first.
async fn list_requests(
    shared: web::Data<Shared>,
    query: web::Query<RequestsQuery>,
) -> HttpResponse {
    let provider = match query.provider.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some("wechat") => Some(Provider::Wechat),
        Some("tencent") => Some(Provider::Tencent),
        Some("aliyun") => Some(Provider::Aliyun),
        Some(other) => {
            return bad_request(format!(
                "unknown provider {other:?}: use wechat, tencent or aliyun"
            ));
        }
    };
    HttpResponse::Ok().json(shared.lock().requests_of(provider))
}

/// `DELETE /__stub/requests`: forgets recorded requests, SMS and subscribe messages.
async fn clear_requests(shared: web::Data<Shared>) -> HttpResponse {
    shared.lock().clear_recordings();
    HttpResponse::NoContent().finish()
}

#[derive(Debug, Deserialize)]
struct SmsQuery {
    phone: Option<String>,
}

/// `GET /__stub/sms?phone=<11 digits>`: SMS accepted for that phone (all without `phone`).
async fn list_sms(shared: web::Data<Shared>, query: web::Query<SmsQuery>) -> HttpResponse {
    let phone = query.phone.as_deref().filter(|p| !p.is_empty());
    HttpResponse::Ok().json(shared.lock().sms_to(phone))
}

#[derive(Debug, Deserialize)]
struct MessagesQuery {
    openid: Option<String>,
}

/// `GET /__stub/wechat/messages?openid=`: subscribe messages accepted (all without `openid`).
async fn list_messages(
    shared: web::Data<Shared>,
    query: web::Query<MessagesQuery>,
) -> HttpResponse {
    let openid = query.openid.as_deref().filter(|o| !o.is_empty());
    HttpResponse::Ok().json(shared.lock().messages_to(openid))
}

#[derive(Debug, Deserialize)]
struct OpenidBody {
    openid: String,
}

/// `POST /__stub/wechat/unsubscribed {openid}`: subscribe messages to it answer `43101`.
async fn unsubscribe(shared: web::Data<Shared>, body: web::Json<OpenidBody>) -> HttpResponse {
    shared.lock().unsubscribed.insert(body.into_inner().openid);
    HttpResponse::NoContent().finish()
}

/// `POST /__stub/wechat/expire_tokens`: issued access tokens answer `42001` from now on.
async fn expire_tokens(shared: web::Data<Shared>) -> HttpResponse {
    shared.lock().expire_tokens();
    HttpResponse::NoContent().finish()
}

#[derive(Debug, Deserialize)]
struct PhoneBody {
    phone: String,
}

/// `POST /__stub/sms/blacklist {phone}`: SMS to it fail as blacklisted.
async fn blacklist(shared: web::Data<Shared>, body: web::Json<PhoneBody>) -> HttpResponse {
    let phone = super::national_number(&body.phone);
    shared.lock().blacklist.insert(phone);
    HttpResponse::NoContent().finish()
}

/// `GET /__stub/faults`: active faults in matching order.
async fn list_faults(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok().json(shared.lock().faults.clone())
}

/// `POST /__stub/faults`: adds a fault after the existing ones.
async fn add_fault(shared: web::Data<Shared>, body: web::Json<Fault>) -> HttpResponse {
    let fault = body.into_inner();
    if let Err(problem) = fault.validate() {
        return bad_request(problem);
    }
    shared.lock().faults.push(fault);
    HttpResponse::NoContent().finish()
}

/// `DELETE /__stub/faults`: removes every fault.
async fn clear_faults(shared: web::Data<Shared>) -> HttpResponse {
    shared.lock().faults.clear();
    HttpResponse::NoContent().finish()
}

/// `POST /__stub/reset`: forgets everything (recordings, faults, tokens, used codes,
/// registrations).
async fn reset(shared: web::Data<Shared>) -> HttpResponse {
    shared.lock().reset();
    HttpResponse::NoContent().finish()
}
