//! The review pages: the queue (and the pool), an application with its decisions, and the
//! batch approval — the use cases of `crate::routes::admin_applications`, with the same
//! checks (a viewer is refused 403 whatever the form says; each decision is version-checked).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use zhijian_domain::application::{ApplicationStatus, RejectCode, RejectReason};
use zhijian_domain::form::FormField;
use zhijian_domain::ids::{ApplicationId, UnionId};
use zhijian_domain::occupation::OccupationGroup;
use zhijian_infra::store::applications::QueueFilter;
use zhijian_infra::usecases::applications::{
    self as usecase, ApplicationDetail, BATCH_APPROVE_MAX, DecideError, PiiShown,
};
use zhijian_infra::usecases::unions;

use super::pages::{Chrome, local_time, time_left};
use super::session::{Console, Form};
use super::{Page, html, see_other};
use crate::error::ApiError;
use crate::error::mapping::{decide_error, read_error};
use crate::json;
use crate::pagination::{decode_time_cursor, encode_time_cursor};
use crate::routes::admin_applications::reviewer;
use crate::startup::AppState;
use crate::views::application::{ApplicationView, application_view};

/// Applications on one page of the queue.
const PAGE_SIZE: i64 = 25;

/// Registers the review pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/queue", web::get().to(queue))
        .route("/pool", web::get().to(pool))
        .route("/applications/batch-approve", web::post().to(batch_approve))
        .route("/applications/{id}", web::get().to(application))
        .route("/applications/{id}/reveal", web::post().to(reveal))
        .route("/applications/{id}/{action}", web::post().to(decide));
}

/// One line of the queue.
pub struct QueueRow {
    id: String,
    name: String,
    union: String,
    occupation: &'static str,
    status: &'static str,
    due: String,
    left: String,
    overdue: bool,
    version: i32,
    selectable: bool,
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    chrome: Chrome,
    title: &'static str,
    action: &'static str,
    rows: Vec<QueueRow>,
    statuses: Vec<(&'static str, &'static str, bool)>,
    groups: Vec<(&'static str, &'static str, bool)>,
    overdue: String,
    union: String,
    next: Option<String>,
    notice: Option<&'static str>,
    can_decide: bool,
    filters: bool,
}

/// The query of the queue page (every value optional; a wrong one is a 400 page).
type Query = web::Query<HashMap<String, String>>;

fn param<'a>(query: &'a Query, name: &str) -> Option<&'a str> {
    query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn notice(query: &Query) -> Option<&'static str> {
    Some(match param(query, "notice")? {
        "approved" => "已通过，该申请已移出待审队列。",
        "rejected" => "已作出不予通过的决定。",
        "returned" => "已退回申请人修改。",
        "forwarded" => "已转交其他工会。",
        "assigned" => "已从临时库分派。",
        "password" => "密码已修改。",
        _ => return None,
    })
}

/// `GET /console/queue`: earliest deadline first, filtered by status, group, overdue and
/// union (a union's subtree).
async fn queue(
    state: web::Data<AppState>,
    console: Console,
    query: Query,
) -> Result<HttpResponse, Page> {
    let status = param(&query, "status")
        .map(ApplicationStatus::parse)
        .transpose()
        .map_err(|e| Page::message(StatusCode::BAD_REQUEST, &e.to_string(), None))?;
    let occupation = param(&query, "occupation")
        .map(OccupationGroup::parse)
        .transpose()
        .map_err(|e| Page::message(StatusCode::BAD_REQUEST, &e.to_string(), None))?;
    let overdue = match param(&query, "overdue") {
        Some("1") => Some(true),
        Some("0") => Some(false),
        _ => None,
    };
    let mut scope = console.admin.actor()?.union_path;
    let union = param(&query, "union").unwrap_or_default().to_owned();
    if !union.is_empty() {
        let id = union
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| Page::message(StatusCode::BAD_REQUEST, "工会编号应为正整数", None))?;
        let detail = unions::show_union(&state.services, scope, UnionId::new(id))
            .await
            .map_err(ApiError::from)?;
        scope = detail.union.union_path().map_err(ApiError::from)?;
    }
    let after = param(&query, "cursor")
        .map(decode_time_cursor)
        .transpose()?;
    let filter = QueueFilter {
        status,
        occupation,
        overdue,
        after,
        limit: PAGE_SIZE,
    };
    let page = usecase::review_queue(&state.services, scope, filter)
        .await
        .map_err(ApiError::from)?;
    let rows = page
        .rows
        .iter()
        .map(|(row, union)| {
            let due = row.due_at.unwrap_or(row.submitted_at);
            let (left, late) = time_left(due, page.now);
            QueueRow {
                id: row.id.to_string(),
                name: row.name.clone(),
                union: union.name.clone(),
                occupation: row.occupation.label_zh(),
                status: row.status.label_zh(),
                due: local_time(due),
                left: if row.status.is_open() {
                    left
                } else {
                    "—".into()
                },
                overdue: late && row.status.is_open(),
                version: row.version,
                selectable: row.status == ApplicationStatus::PendingReview,
            }
        })
        .collect();
    let next = page.next.map(|(due, id)| {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        for key in ["status", "occupation", "overdue", "union"] {
            if let Some(v) = param(&query, key) {
                pairs.append_pair(key, v);
            }
        }
        pairs.append_pair("cursor", &encode_time_cursor(due, id));
        format!("/console/queue?{}", pairs.finish())
    });
    let chosen = status.unwrap_or(ApplicationStatus::PendingReview);
    html(&QueuePage {
        chrome: Chrome::of(&state, &console, "queue").await?,
        title: "待审队列",
        action: "/console/queue",
        rows,
        statuses: ApplicationStatus::ALL
            .iter()
            .map(|s| (s.as_str(), s.label_zh(), *s == chosen))
            .collect(),
        groups: OccupationGroup::ALL
            .iter()
            .map(|g| (g.as_str(), g.label_zh(), Some(*g) == occupation))
            .collect(),
        overdue: param(&query, "overdue").unwrap_or_default().to_owned(),
        union,
        next,
        notice: notice(&query),
        can_decide: console.can_decide(),
        filters: true,
    })
}

/// `GET /console/pool`: applications no union could take, to assign.
async fn pool(
    state: web::Data<AppState>,
    console: Console,
    query: Query,
) -> Result<HttpResponse, Page> {
    let after = param(&query, "cursor")
        .map(decode_time_cursor)
        .transpose()?;
    let filter = QueueFilter {
        status: Some(ApplicationStatus::Pooled),
        after,
        limit: PAGE_SIZE,
        ..QueueFilter::default()
    };
    let scope = console.admin.actor()?.union_path;
    let page = usecase::review_queue(&state.services, scope, filter)
        .await
        .map_err(ApiError::from)?;
    let rows = page
        .rows
        .iter()
        .map(|(row, union)| {
            let due = row.due_at.unwrap_or(row.submitted_at);
            let (left, overdue) = time_left(due, page.now);
            QueueRow {
                id: row.id.to_string(),
                name: row.name.clone(),
                union: union.name.clone(),
                occupation: row.occupation.label_zh(),
                status: row.status.label_zh(),
                due: local_time(due),
                left,
                overdue,
                version: row.version,
                selectable: false,
            }
        })
        .collect();
    let next = page
        .next
        .map(|(due, id)| format!("/console/pool?cursor={}", encode_time_cursor(due, id)));
    html(&QueuePage {
        chrome: Chrome::of(&state, &console, "pool").await?,
        title: "临时库（待分派）",
        action: "/console/pool",
        rows,
        statuses: Vec::new(),
        groups: Vec::new(),
        overdue: String::new(),
        union: String::new(),
        next,
        notice: notice(&query),
        can_decide: false,
        filters: false,
    })
}

#[derive(Template)]
#[template(path = "console/application.html")]
struct ApplicationPage {
    chrome: Chrome,
    app: ApplicationView,
    submitted: String,
    due: Option<String>,
    left: Option<String>,
    timeline: Vec<(String, String, String, Option<String>)>,
    revealed: bool,
    can_reveal: bool,
    can_decide: bool,
    pending: bool,
    pooled: bool,
    reject_codes: Vec<(&'static str, &'static str)>,
    fields: Vec<(&'static str, &'static str)>,
    /// The applicant's ethnicity, education, political status, household type and
    /// employment, in Chinese.
    labels: [&'static str; 5],
}

/// The Chinese label of a form field.
fn field_label(field: FormField) -> &'static str {
    match field.as_str() {
        "name" => "姓名",
        "resident_id" => "身份证号码",
        "phone" => "手机号码",
        "ethnicity" => "民族",
        "education" => "学历",
        "political_status" => "政治面貌",
        "household_type" => "户籍类型",
        "household_region" => "户籍地",
        "employment_status" => "就业状态",
        "occupation" => "职业",
        "employer_name" => "工作单位或平台",
        "employer_credit_code" => "统一社会信用代码",
        "platform" => "平台",
        "work_region" => "工作地点",
        "work_address" => "工作地址",
        other => other_label(other),
    }
}

fn other_label(_: &str) -> &'static str {
    "其他"
}

fn event_label(event: &str) -> &'static str {
    match event {
        "submitted" => "提交申请",
        "approved" => "通过",
        "rejected" => "不予通过",
        "returned" => "退回修改",
        "corrected" => "申请人已修改",
        "forwarded" => "转交",
        "assigned" => "分派",
        "pooled" => "进入临时库",
        "escalated" => "超时上报",
        "withdrawn" => "申请人撤回",
        "expired" => "失效",
        _ => "变更",
    }
}

async fn show(
    state: &AppState,
    console: &Console,
    id: ApplicationId,
    shown: PiiShown,
) -> Result<HttpResponse, Page> {
    let cap = state.settings.privacy.reveals_per_hour;
    let detail =
        usecase::admin_application(&state.services, console.admin.actor()?, shown, cap, id)
            .await
            .map_err(read_error)?;
    render(state, console, &detail, shown == PiiShown::Clear).await
}

async fn render(
    state: &AppState,
    console: &Console,
    detail: &ApplicationDetail,
    revealed: bool,
) -> Result<HttpResponse, Page> {
    let now = state.services.now();
    let app = application_view(detail, now)?;
    let status = detail.row.status;
    let (left, _) = app
        .due_at
        .map(|due| time_left(due, now))
        .unwrap_or_default();
    html(&ApplicationPage {
        chrome: Chrome::of(state, console, "queue").await?,
        submitted: local_time(app.submitted_at),
        due: app.due_at.map(local_time),
        left: (status.is_open() && app.due_at.is_some()).then_some(left),
        timeline: app
            .timeline
            .iter()
            .map(|t| {
                (
                    local_time(t.at),
                    event_label(&t.event).to_owned(),
                    t.union.name.clone(),
                    t.reason.clone(),
                )
            })
            .collect(),
        revealed,
        can_reveal: console.admin.role.can_view_personal_data() && !revealed,
        can_decide: console.can_decide(),
        pending: status == ApplicationStatus::PendingReview,
        pooled: status == ApplicationStatus::Pooled,
        reject_codes: RejectCode::ALL
            .iter()
            .map(|c| (c.as_str(), c.label_zh()))
            .collect(),
        fields: FormField::ALL
            .iter()
            .map(|f| (f.as_str(), field_label(*f)))
            .collect(),
        labels: [
            detail.row.ethnicity.label_zh(),
            detail.row.education.label_zh(),
            detail.row.political_status.label_zh(),
            detail.row.household_type.label_zh(),
            detail.row.employment_status.label_zh(),
        ],
        app,
    })
}

/// `GET /console/applications/{id}`: personal data masked; "显示" reveals it.
async fn application(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<String>,
) -> Result<HttpResponse, Page> {
    let id = json::application_id(&path)?;
    show(&state, &console, id, PiiShown::Masked).await
}

/// `POST /console/applications/{id}/reveal`: the same page with the personal data in clear,
/// for a role that may see it (audited and capped by the use case, as in the API).
async fn reveal(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, Page> {
    form.checked(console.csrf())?;
    let id = json::application_id(&path)?;
    if !console.admin.role.can_view_personal_data() {
        return Err(Page::message(
            StatusCode::FORBIDDEN,
            "当前角色不能查看完整的个人信息",
            None,
        ));
    }
    show(&state, &console, id, PiiShown::Clear).await
}

fn version(form: &Form) -> Result<i32, Page> {
    form.get("version")
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Page::message(StatusCode::BAD_REQUEST, "缺少版本号，请重新载入页面", None))
}

fn union_id(form: &Form) -> Result<UnionId, Page> {
    form.get("union_id")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|id| *id > 0)
        .map(UnionId::new)
        .ok_or_else(|| {
            Page::message(
                StatusCode::BAD_REQUEST,
                "请填写目标工会编号（正整数）",
                None,
            )
        })
}

fn invalid(e: ApiError, back: &str) -> Page {
    Page::api(e, Some(back.to_owned()))
}

/// `POST /console/applications/{id}/{approve|reject|return|forward|assign}`.
async fn decide(
    state: web::Data<AppState>,
    console: Console,
    path: web::Path<(String, String)>,
    form: Form,
) -> Result<HttpResponse, Page> {
    let form = form.checked(console.csrf())?;
    let (raw_id, action) = path.into_inner();
    let id = json::application_id(&raw_id)?;
    let back = format!("/console/applications/{id}");
    let (actor, _) = reviewer(&console.admin)?;
    let version = version(&form)?;
    let show = PiiShown::Masked;
    let services = &state.services;
    let (outcome, notice): (Result<ApplicationDetail, DecideError>, &str) = match action.as_str() {
        "approve" => (
            usecase::approve_application(services, actor, show, id, version).await,
            "approved",
        ),
        "reject" => {
            let code =
                RejectCode::parse(form.get("reason_code").unwrap_or_default()).map_err(|e| {
                    invalid(
                        ApiError::invalid(e.code(), e.to_string(), "reason_code"),
                        &back,
                    )
                })?;
            let note =
                json::optional_reason(form.get("note").filter(|n| !n.trim().is_empty()), "note")
                    .map_err(|e| invalid(e, &back))?;
            let reason = RejectReason::new(code, note)
                .map_err(|e| invalid(ApiError::invalid(e.code(), e.to_string(), "note"), &back))?;
            (
                usecase::reject_application(services, actor, show, id, version, reason).await,
                "rejected",
            )
        }
        "return" => {
            let fields = FormField::parse_all(&form.all("fields")).map_err(|e| {
                invalid(ApiError::invalid(e.code(), e.to_string(), "fields"), &back)
            })?;
            let note =
                json::optional_reason(form.get("note").filter(|n| !n.trim().is_empty()), "note")
                    .map_err(|e| invalid(e, &back))?;
            (
                usecase::return_application(services, actor, show, id, version, fields, note).await,
                "returned",
            )
        }
        "forward" => {
            let to = union_id(&form)?;
            let reason = json::reason(form.get("reason").unwrap_or_default(), "reason")
                .map_err(|e| invalid(e, &back))?;
            (
                usecase::forward_application(services, actor, show, id, version, to, reason).await,
                "forwarded",
            )
        }
        "assign" => {
            let to = union_id(&form)?;
            (
                usecase::assign_application(services, actor, show, id, version, to).await,
                "assigned",
            )
        }
        _ => return Err(Page::message(StatusCode::NOT_FOUND, "页面不存在", None)),
    };
    outcome.map_err(|e| invalid(decide_error(e), &back))?;
    let to = if notice == "assigned" {
        "pool"
    } else {
        "queue"
    };
    Ok(see_other(&format!("/console/{to}?notice={notice}")))
}

#[derive(Template)]
#[template(path = "console/batch.html")]
struct BatchPage {
    chrome: Chrome,
    items: Vec<String>,
    confirmed: bool,
    approved: usize,
    failed: Vec<(String, String)>,
}

/// `POST /console/applications/batch-approve`: the selected applications (`item` =
/// `id:version`) — first a confirmation page, then (with `confirm`) each approved with its own
/// version check; the result lists the ones refused and why.
async fn batch_approve(
    state: web::Data<AppState>,
    console: Console,
    form: Form,
) -> Result<HttpResponse, Page> {
    let form = form.checked(console.csrf())?;
    let (actor, _) = reviewer(&console.admin)?;
    let raw: Vec<String> = form.all("item").into_iter().map(str::to_owned).collect();
    if raw.is_empty() {
        return Err(Page::message(
            StatusCode::BAD_REQUEST,
            "请先勾选要通过的申请",
            Some("/console/queue".into()),
        ));
    }
    if raw.len() > BATCH_APPROVE_MAX {
        return Err(Page::message(
            StatusCode::BAD_REQUEST,
            "一次最多批量通过 100 件申请",
            Some("/console/queue".into()),
        ));
    }
    let mut items = Vec::with_capacity(raw.len());
    for item in &raw {
        let parsed = item
            .split_once(':')
            .and_then(|(id, v)| Some((ApplicationId::parse(id).ok()?, v.parse::<i32>().ok()?)));
        items.push(
            parsed.ok_or_else(|| {
                Page::message(StatusCode::BAD_REQUEST, "所选申请的编号不正确", None)
            })?,
        );
    }
    let chrome = Chrome::of(&state, &console, "queue").await?;
    if form.get("confirm").is_none() {
        return html(&BatchPage {
            chrome,
            items: raw,
            confirmed: false,
            approved: 0,
            failed: Vec::new(),
        });
    }
    let outcomes = usecase::approve_applications(&state.services, actor, items).await;
    let mut approved = 0;
    let mut failed = Vec::new();
    for (id, outcome) in outcomes {
        match outcome {
            Ok(_) => approved += 1,
            Err(e) => {
                let page = Page::api(decide_error(e), None);
                let why = match page {
                    Page::Message { message, .. } => message,
                    Page::Redirect(_) => String::new(),
                };
                failed.push((id.to_string(), why));
            }
        }
    }
    html(&BatchPage {
        chrome,
        items: Vec::new(),
        confirmed: true,
        approved,
        failed,
    })
}
