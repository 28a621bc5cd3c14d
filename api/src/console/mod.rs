//! The admin console (`/console`): server-rendered pages for union officers at an office PC or
//! a phone — the review queue, an application and its decisions, transfers, members, the
//! review figures and the audit trail.
//!
//! Every page calls the same use cases as the API routes (`zhijian_infra::usecases`), with the
//! admin of a console session instead of a bearer token; nothing here touches the database.
//! Templates are askama (`api/templates/console/`, checked at compile time, every value
//! escaped); the stylesheet and the small keyboard script are compiled into the binary and
//! served from `/console/static/`. Every page works with JavaScript off.
//!
//! Security: a session cookie (`HttpOnly`, `SameSite=Strict`, `Secure` outside development)
//! naming a Redis record with idle and absolute timeouts ([`session`]); a synchronizer token
//! in every form, checked before any action; `Content-Security-Policy` without
//! `unsafe-inline` and with `frame-ancestors 'none'`, `Referrer-Policy: no-referrer`,
//! `X-Content-Type-Options: nosniff`, `Cache-Control: no-store` on every answer
//! ([`headers`]). Ids in URLs are opaque; no personal data ever is.

pub mod figures;
pub mod members;
pub mod pages;
pub mod review;
pub mod session;
pub mod sign_in;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;

use crate::error::ApiError;

/// The console's stylesheet.
const CSS: &str = include_str!("../../static/console/console.css");
/// The queue's keyboard navigation (progressive enhancement).
const JS: &str = include_str!("../../static/console/console.js");

/// The policy of every console answer: own files only, no inline script or style, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Registers the console under `/console`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .wrap_fn(headers)
            .route("", web::get().to(home))
            .route("/", web::get().to(home))
            .route("/static/console.css", web::get().to(css))
            .route("/static/console.js", web::get().to(js))
            .configure(sign_in::configure)
            .configure(review::configure)
            .configure(members::configure)
            .configure(figures::configure)
            .default_service(web::to(not_found)),
    );
}

/// Middleware: the security headers of every console answer.
pub fn headers<S, B>(
    req: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = service.call(req);
    async move {
        let mut response = response.await?;
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if !h.contains_key(header::CACHE_CONTROL) {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        Ok(response)
    }
}

async fn home() -> HttpResponse {
    see_other("/console/queue")
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(CSS)
}

async fn js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(JS)
}

async fn not_found() -> Result<HttpResponse, Page> {
    Err(Page::message(StatusCode::NOT_FOUND, "页面不存在", None))
}

/// `303 See Other` to `location` (after a form, and to the sign-in page).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// An HTML answer of `template`.
pub fn html(template: &impl Template) -> Result<HttpResponse, Page> {
    let body = template
        .render()
        .map_err(|e| Page::from(ApiError::internal(e)))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// The error page.
#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    back: Option<&'a str>,
    status: u16,
}

/// What a console handler answers instead of its page: an error page, or a redirect (to the
/// sign-in page when there is no session).
#[derive(Debug)]
pub enum Page {
    /// Go there (303).
    Redirect(String),
    /// An error page with this status, message and "back" link.
    Message {
        /// HTTP status.
        status: StatusCode,
        /// What to tell the admin, in Chinese.
        message: String,
        /// Where to go next (the page to reload, for a stale version).
        back: Option<String>,
    },
}

impl Page {
    /// An error page.
    pub fn message(status: StatusCode, message: &str, back: Option<String>) -> Self {
        Self::Message {
            status,
            message: message.to_owned(),
            back,
        }
    }

    /// `error` as a page, with `back` as its link (a stale version says so in words).
    pub fn api(error: ApiError, back: Option<String>) -> Self {
        let message = if error.code() == zhijian_domain::error_code::ErrorCode::StaleVersion {
            "已被他人处理：这件申请在您打开之后已有变化，请重新载入后再操作。".to_owned()
        } else if error.status() == StatusCode::CONFLICT {
            format!(
                "已被他人处理：{}。请重新载入查看最新状态。",
                error.body().message.trim_end_matches('。')
            )
        } else {
            error.body().message.to_string()
        };
        Self::Message {
            status: error.status(),
            message,
            back,
        }
    }
}

impl std::fmt::Display for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Redirect(to) => write!(f, "see {to}"),
            Self::Message {
                status, message, ..
            } => write!(f, "{status}: {message}"),
        }
    }
}

impl From<ApiError> for Page {
    fn from(error: ApiError) -> Self {
        if error.status().is_server_error() {
            log::error!("console: {error}");
        }
        Self::api(error, None)
    }
}

impl ResponseError for Page {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Redirect(_) => StatusCode::SEE_OTHER,
            Self::Message { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Redirect(to) => see_other(to),
            Self::Message {
                status,
                message,
                back,
            } => {
                let title = match *status {
                    StatusCode::CONFLICT => "已被他人处理",
                    StatusCode::FORBIDDEN => "无权操作",
                    StatusCode::NOT_FOUND => "未找到",
                    s if s.is_server_error() => "服务暂时不可用",
                    _ => "无法完成",
                };
                let page = ErrorPage {
                    title,
                    message,
                    back: back.as_deref(),
                    status: status.as_u16(),
                };
                let body = page
                    .render()
                    .unwrap_or_else(|_| "<!doctype html><title>错误</title>".to_owned());
                HttpResponse::build(*status)
                    .content_type("text/html; charset=utf-8")
                    .body(body)
            }
        }
    }
}
