//! `POST /v1/oauth/token`: the OAuth 2.0 client credentials grant (RFC 6749 §4.4) for partner
//! clients, authenticated by `client_secret_basic` (HTTP Basic, RFC 6749 §2.3.1, form-encoded
//! id and secret) or `client_secret_post` (both in the form body) — not both at once. Errors
//! take the form of RFC 6749 §5.2 (`{error, error_description}`), `invalid_client` with 401 and
//! `WWW-Authenticate: Basic`. Every answer carries `Cache-Control: no-store`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zhijian_domain::partner::Scopes;
use zhijian_infra::usecases::partners::{self, AuthenticateError};

use crate::error::ApiError;
use crate::partner_auth::issue_partner_token;
use crate::startup::AppState;

/// The form of a token request.
#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// A token (RFC 6749 §5.1).
#[derive(Serialize)]
pub struct TokenResponse {
    /// The JWT.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds it lives.
    pub expires_in: u64,
    /// The granted scopes.
    pub scope: String,
}

/// An error of RFC 6749 §5.2.
#[derive(Debug, Serialize)]
struct OAuthError {
    error: &'static str,
    error_description: &'static str,
}

fn oauth_error(status: StatusCode, error: &'static str, description: &'static str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"zhijian\""));
    }
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(OAuthError {
            error,
            error_description: description,
        })
}

fn invalid_request(description: &'static str) -> HttpResponse {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn invalid_client() -> HttpResponse {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "客户端认证失败（client_id 或 client_secret 不正确，或该客户端已停用）",
    )
}

/// `Authorization: Basic` credentials: `Ok(None)` without the header, `Err` when malformed.
fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, ()> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or(())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| ())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ())?;
    let (id, secret) = decoded.split_once(':').ok_or(())?;
    // RFC 6749 §2.3.1: both are form-encoded before Basic encoding.
    let unescape = |s: &str| -> Result<String, ()> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&format!("v={s}")).map_err(|_| ())?;
        pairs.into_iter().next().map(|(_, v)| v).ok_or(())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

/// `POST /v1/oauth/token`
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let form_encoded = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_encoded {
        return Ok(invalid_request(
            "请求内容类型必须是 application/x-www-form-urlencoded",
        ));
    }
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return Ok(invalid_request("请求体不是有效的表单"));
    };
    let mut form = TokenRequest::default();
    for (name, value) in pairs {
        let slot = match name.as_str() {
            "grant_type" => &mut form.grant_type,
            "scope" => &mut form.scope,
            "client_id" => &mut form.client_id,
            "client_secret" => &mut form.client_secret,
            _ => continue,
        };
        // RFC 6749 §3.2: parameters must not be included more than once.
        if slot.replace(value).is_some() {
            return Ok(invalid_request("参数重复"));
        }
    }
    let Ok(basic) = basic_credentials(&req) else {
        return Ok(invalid_client());
    };
    let (client_id, secret) = match (basic, form.client_id, form.client_secret) {
        (Some(_), _, Some(_)) => return Ok(invalid_request("只能使用一种客户端认证方式")),
        (Some((id, secret)), form_id, None) => {
            if form_id.is_some_and(|f| f != id) {
                return Ok(invalid_request("client_id 与认证信息不一致"));
            }
            (id, secret)
        }
        (None, Some(id), Some(secret)) => (id, secret),
        (None, _, _) => return Ok(invalid_client()),
    };
    match form.grant_type.as_deref() {
        None => return Ok(invalid_request("缺少 grant_type")),
        Some("client_credentials") => {}
        Some(_) => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "仅支持 client_credentials",
            ));
        }
    }
    let requested = match form.scope.as_deref() {
        None => None,
        Some(scope) => match Scopes::parse_oauth(scope) {
            Ok(scopes) => Some(scopes),
            Err(_) => {
                return Ok(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "scope 中含有未知的授权范围",
                ));
            }
        },
    };
    let client = match partners::authenticate_client(&state.services, &client_id, &secret).await {
        Ok(client) => client,
        Err(AuthenticateError::Refused) => return Ok(invalid_client()),
        Err(AuthenticateError::Disabled) => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "该客户端已停用",
            ));
        }
        Err(AuthenticateError::Store(e)) => return Err(e.into()),
    };
    let registered = Scopes::parse(client.scopes.iter().map(String::as_str))
        .map_err(|e| ApiError::internal(format!("stored scopes of {}: {e}", client.id)))?;
    let Ok(granted) = registered.grant(requested.as_ref()) else {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "请求的授权范围超出该客户端的登记范围",
        ));
    };
    let settings = &state.settings;
    let now = state.services.now();
    let access_token =
        issue_partner_token(&settings.auth, &settings.partners, client.id, &granted, now)?;
    log::info!(client_id:% = client.id, scope = granted.to_oauth().as_str(); "partner token issued");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: settings.partners.token_ttl_secs,
            scope: granted.to_oauth(),
        }))
}
