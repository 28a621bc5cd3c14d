//! Transfers in and out (release, accept, reject), members with their lifecycle actions, and
//! the audit trail of the subtree — the use cases of `admin_transfers`, `member_lifecycle` and
//! `admin_audit`, with their role checks.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use zhijian_domain::audit::TrailReader;
use zhijian_domain::ids::MemberId;
use zhijian_domain::member::{MemberStatus, RetainReason};
use zhijian_domain::reason::Reason;
use zhijian_domain::transfer::TransferStatus;
use zhijian_infra::store::transfers::{Direction, ListFilter};
use zhijian_infra::usecases::audit;
use zhijian_infra::usecases::membership::transfers;
use zhijian_infra::usecases::membership::{lifecycle, members};

use super::pages::{Chrome, local_time};
use super::session::{Console, Form};
use super::{Page, html, see_other};
use crate::error::ApiError;
use crate::json;
use crate::pagination::{
    decode_id_cursor, decode_time_cursor, encode_id_cursor, encode_time_cursor,
};
use crate::routes::admin_audit::{AuditQuery, page as audit_page, parse_query};
use crate::startup::AppState;
use crate::views::member::member_view;
use crate::views::transfer::transfer_views;

const PAGE_SIZE: i64 = 25;

/// Registers the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/transfers", web::get().to(transfer_list))
        .route("/transfers/{id}/{action}", web::post().to(transfer_action))
        .route("/members", web::get().to(member_list))
        .route("/members/{id}/{action}", web::post().to(member_action))
        .route("/audit", web::get().to(audit_list));
}

type Query = web::Query<HashMap<String, String>>;

fn param<'a>(query: &'a Query, name: &str) -> Option<&'a str> {
    query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn bad(message: &str) -> Page {
    Page::message(StatusCode::BAD_REQUEST, message, None)
}

fn version(form: &Form) -> Result<i32, Page> {
    form.get("version")
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| bad("缺少版本号，请重新载入页面"))
}

/// One transfer on the page.
pub struct TransferRow {
    id: String,
    name: String,
    number: String,
    from: String,
    to: String,
    status: &'static str,
    requested: String,
    due: Option<String>,
    version: i32,
    can_release: bool,
    can_accept: bool,
}

#[derive(Template)]
#[template(path = "console/transfers.html")]
struct TransfersPage {
    chrome: Chrome,
    direction: &'static str,
    rows: Vec<TransferRow>,
    next: Option<String>,
    can_decide: bool,
    notice: bool,
}

/// `GET /console/transfers?direction=out|in`
async fn transfer_list(
    state: web::Data<AppState>,
    console: Console,
    query: Query,
) -> Result<HttpResponse, Page> {
    let (direction, name) = match param(&query, "direction") {
        Some("in") => (Direction::In, "in"),
        None | Some("out") => (Direction::Out, "out"),
        Some(_) => return Err(bad("direction 应为 out（转出）或 in（转入）")),
    };
    let after = param(&query, "cursor")
        .map(decode_time_cursor)
        .transpose()?;
    let filter = ListFilter {
        direction,
        status: None,
        after,
        limit: PAGE_SIZE,
    };
    let scope = console.admin.actor()?.union_path;
    let page = transfers::transfers_for_admin(&state.services, scope, filter)
        .await
        .map_err(ApiError::from)?;
    let next = page.more.then(|| page.items.last()).flatten().map(|d| {
        format!(
            "/console/transfers?direction={name}&cursor={}",
            encode_time_cursor(d.transfer.requested_at, d.transfer.id)
        )
    });
    let rows = transfer_views(&page.items)?
        .into_iter()
        .map(|t| TransferRow {
            id: t.id.to_string(),
            name: t.member.name,
            number: t.member.membership_number,
            from: t.from_union.name,
            to: t.to_union.name,
            requested: local_time(t.requested_at),
            due: t.release_due_at.map(local_time),
            version: t.version,
            can_release: name == "out" && t.status == TransferStatus::Requested.as_str(),
            can_accept: name == "in" && t.status == TransferStatus::Released.as_str(),
            status: t.status_label,
        })
        .collect();
    html(&TransfersPage {
        chrome: Chrome::of(&state, &console, "transfers").await?,
        direction: name,
        rows,
        next,
        can_decide: console.can_decide(),
        notice: param(&query, "notice").is_some(),
    })
}

/// `POST /console/transfers/{id}/{release|accept|reject}`
async fn transfer_action(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<(String, String)>,
    form: Form,
) -> Result<HttpResponse, Page> {
    let form = form.checked(console.csrf())?;
    let (raw, action) = path.into_inner();
    let id = crate::routes::transfers::parse_id(&raw)?;
    let actor = crate::routes::admin_transfers::decider(&console.admin)?;
    let version = version(&form)?;
    let direction = form.get("direction").unwrap_or("out");
    let back = format!(
        "/console/transfers?direction={}",
        if direction == "in" { "in" } else { "out" }
    );
    let services = &state.services;
    let done = match action.as_str() {
        "release" => transfers::release(services, actor, id, version).await,
        "accept" => transfers::accept(services, actor, id, version).await,
        "reject" => {
            let reason = Reason::parse(form.get("reason").unwrap_or_default()).map_err(|e| {
                Page::api(
                    ApiError::invalid(e.code(), e.to_string(), "reason"),
                    Some(back.clone()),
                )
            })?;
            transfers::reject(services, actor, id, version, reason).await
        }
        _ => return Err(Page::message(StatusCode::NOT_FOUND, "页面不存在", None)),
    };
    done.map_err(|e| Page::api(ApiError::from(e), Some(back.clone())))?;
    Ok(see_other(&format!("{back}&notice=done")))
}

/// One member on the page.
pub struct MemberRow {
    id: String,
    number: String,
    name: String,
    status: &'static str,
    union: String,
    joined: String,
    version: i32,
    active: bool,
    retained: bool,
}

#[derive(Template)]
#[template(path = "console/members.html")]
struct MembersPage {
    chrome: Chrome,
    rows: Vec<MemberRow>,
    statuses: Vec<(&'static str, &'static str, bool)>,
    retain_reasons: Vec<(&'static str, &'static str)>,
    next: Option<String>,
    can_decide: bool,
    notice: bool,
}

/// `GET /console/members?status=…`
async fn member_list(
    state: web::Data<AppState>,
    console: Console,
    query: Query,
) -> Result<HttpResponse, Page> {
    let status = param(&query, "status")
        .map(MemberStatus::parse)
        .transpose()
        .map_err(|e| bad(&e.to_string()))?;
    let after = param(&query, "cursor").map(decode_id_cursor).transpose()?;
    let scope = console.admin.actor()?.union_path;
    let page = members::list_members(&state.services, scope, status, after, PAGE_SIZE)
        .await
        .map_err(ApiError::from)?;
    let next = page
        .more
        .then(|| page.items.last())
        .flatten()
        .map(|(m, _)| {
            let status = status
                .map(|s| format!("status={}&", s.as_str()))
                .unwrap_or_default();
            format!("/console/members?{status}cursor={}", encode_id_cursor(m.id))
        });
    let rows = page
        .items
        .iter()
        .map(|(member, union)| {
            member_view(member, union).map(|m| MemberRow {
                id: m.id.to_string(),
                number: m.membership_number,
                name: m.name,
                active: m.status == MemberStatus::Active.as_str(),
                retained: m.status == MemberStatus::Retained.as_str(),
                status: m.status_label,
                union: m.union.name,
                joined: m.joined_on.to_string(),
                version: m.version,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    html(&MembersPage {
        chrome: Chrome::of(&state, &console, "members").await?,
        rows,
        statuses: MemberStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.label_zh(), Some(*s) == status))
            .collect(),
        retain_reasons: RetainReason::ALL
            .iter()
            .map(|r| (r.as_str(), r.label_zh()))
            .collect(),
        next,
        can_decide: console.can_decide(),
        notice: param(&query, "notice").is_some(),
    })
}

/// `POST /console/members/{id}/{retain|reactivate|expel|deceased}`
async fn member_action(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<(String, String)>,
    form: Form,
) -> Result<HttpResponse, Page> {
    let form = form.checked(console.csrf())?;
    let (raw, action) = path.into_inner();
    let id = MemberId::parse(&raw).map_err(|_| bad("会员编号格式不正确"))?;
    let actor = crate::routes::member_lifecycle::decider(&console.admin)?;
    let version = version(&form)?;
    let back = || Some("/console/members".to_owned());
    let invalid = |e: ApiError| Page::api(e, back());
    let note = || {
        json::optional_reason(form.get("note").filter(|n| !n.trim().is_empty()), "note")
            .map_err(invalid)
    };
    let services = &state.services;
    let done = match action.as_str() {
        "retain" => {
            let why = RetainReason::parse(form.get("reason").unwrap_or_default())
                .map_err(|e| invalid(ApiError::invalid(e.code(), e.to_string(), "reason")))?;
            lifecycle::retain(services, actor, id, version, why, note()?).await
        }
        "reactivate" => lifecycle::reactivate(services, actor, id, version).await,
        "expel" => {
            let why =
                json::reason(form.get("reason").unwrap_or_default(), "reason").map_err(invalid)?;
            lifecycle::expel(services, actor, id, version, why).await
        }
        "deceased" => lifecycle::decease(services, actor, id, version, note()?).await,
        _ => return Err(Page::message(StatusCode::NOT_FOUND, "页面不存在", None)),
    };
    done.map_err(|e| invalid(ApiError::from(e)))?;
    Ok(see_other("/console/members?notice=done"))
}

/// One row of the audit trail.
pub struct AuditRow {
    at: String,
    actor: String,
    union: String,
    object: String,
    object_id: String,
    action: String,
    reason: String,
}

/// Who acted, in Chinese.
fn actor_label(kind: &str, role: Option<&str>) -> String {
    match (kind, role.map(zhijian_domain::admin::AdminRole::parse)) {
        ("admin", Some(Ok(role))) => role.label_zh().to_owned(),
        ("admin", _) => "管理员账号".to_owned(),
        ("worker", _) => "职工".to_owned(),
        ("system", _) => "系统".to_owned(),
        ("applicant", _) => "申请人".to_owned(),
        (other, _) => other.to_owned(),
    }
}

/// What was done, in Chinese where the action is a common one.
fn action_label(action: &str) -> &str {
    match action {
        "login" => "登录",
        "submit" => "提交申请",
        "logout" => "退出登录",
        "login_password_accepted" => "密码验证通过",
        "approve" => "通过申请",
        "reject" => "不予通过",
        "return" => "退回修改",
        "forward" => "转交",
        "assign" => "分派",
        "view_personal_data" => "查看完整个人信息",
        "release" => "同意转出",
        "accept" => "接收转入",
        "retain" => "保留会籍",
        "reactivate" => "恢复会籍",
        "expel" => "除名",
        other => other,
    }
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<AuditRow>,
    object_kind: String,
    next: Option<String>,
}

/// `GET /console/audit?object_kind=…`: the trail of the subtree, newest first (managers and
/// viewers, as in the API).
async fn audit_list(
    state: web::Data<AppState>,
    console: Console,
    query: Query,
) -> Result<HttpResponse, Page> {
    let reader = TrailReader::authorize(console.admin.role)
        .map_err(crate::error::mapping::audit::may_not_read)?;
    let object_kind = param(&query, "object_kind").map(str::to_owned);
    let parsed = parse_query(&AuditQuery {
        object_kind: object_kind.clone(),
        object_id: None,
        cursor: param(&query, "cursor").map(str::to_owned),
        limit: Some(50),
    })?;
    let scope = console
        .admin
        .subtree()
        .ok_or_else(|| ApiError::internal("an admin session with a malformed union path"))?;
    let trail = audit::list_trail(&state.services, &reader, scope, parsed)
        .await
        .map_err(ApiError::from)?;
    let page = audit_page(trail);
    let kind = object_kind.clone().unwrap_or_default();
    let next = page.next_cursor.map(|c| {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        if !kind.is_empty() {
            pairs.append_pair("object_kind", &kind);
        }
        pairs.append_pair("cursor", &c);
        format!("/console/audit?{}", pairs.finish())
    });
    let rows = page
        .items
        .into_iter()
        .map(|e| AuditRow {
            at: local_time(e.at),
            actor: actor_label(&e.actor_kind, e.actor_role.as_deref()),
            union: e.union.map(|u| u.name).unwrap_or_default(),
            object: format!(
                "{} {}",
                e.object_kind,
                e.object_id.chars().take(8).collect::<String>()
            ),
            object_id: e.object_id,
            action: action_label(&e.action).to_owned(),
            reason: e.reason.unwrap_or_default(),
        })
        .collect();
    html(&AuditPage {
        chrome: Chrome::of(&state, &console, "audit").await?,
        rows,
        object_kind: object_kind.unwrap_or_default(),
        next,
    })
}
