//! Workforce estimates and targets (底数 and 目标) over HTTP: one union's per year (read and set
//! by its managers, conditional on each group's version), and a CSV sheet of many unions'.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::ids::UnionId;
use zhijian_domain::occupation::OccupationGroup;
use zhijian_domain::text::WorkforceSource;
use zhijian_domain::workforce::{Figures, GroupFigures, RowProblem, WorkforceSheet, WorkforceYear};
use zhijian_infra::usecases::workforce::{self, ImportWorkforceError, Imported, UnionWorkforce};

use crate::auth::AdminIdentity;
use crate::error::{self, ApiError};
use crate::startup::AppState;
use crate::views::application::UnionRef;

/// One group of `PUT /v1/admin/unions/{id}/workforce/{year}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFiguresRequest {
    /// The occupation group's code.
    pub occupation: String,
    /// 底数.
    pub estimate: i64,
    /// 目标 (absent: none).
    #[serde(default)]
    pub target: Option<i64>,
    /// Where the figures come from.
    pub source: String,
    /// The version read; absent or null for a group without figures yet.
    #[serde(default)]
    pub version: Option<i32>,
}

/// Body of `PUT /v1/admin/unions/{id}/workforce/{year}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetWorkforceRequest {
    /// The groups to set; the others stay as they are.
    pub groups: Vec<GroupFiguresRequest>,
}

impl SetWorkforceRequest {
    fn parse(&self) -> Result<Vec<GroupFigures>, ApiError> {
        self.groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let at = |name: &str| format!("groups[{i}].{name}");
                let group = OccupationGroup::parse(&g.occupation)
                    .map_err(|e| ApiError::invalid(e.code(), e.to_string(), at("occupation")))?;
                let source = WorkforceSource::parse(&g.source)
                    .map_err(|e| ApiError::invalid(e.code(), e.to_string(), at("source")))?;
                let figures = Figures::new(g.estimate, g.target, source).map_err(|e| {
                    let field = if e.is_target() { "target" } else { "estimate" };
                    ApiError::invalid(e.code(), e.to_string(), at(field))
                })?;
                Ok(GroupFigures {
                    group,
                    figures,
                    version: g.version,
                })
            })
            .collect()
    }
}

/// One group's figures as stored.
#[derive(Debug, Serialize)]
pub struct GroupFiguresView {
    /// The group's code.
    pub occupation: &'static str,
    /// Its Chinese name.
    pub occupation_label: &'static str,
    /// One of the four key groups of new forms of employment.
    pub key_group: bool,
    /// 底数.
    pub estimate: i64,
    /// 目标, when set.
    pub target: Option<i64>,
    /// Where the figures come from.
    pub source: String,
    /// Pass back to change this group.
    pub version: i32,
    /// When last set.
    pub updated_at: DateTime<Utc>,
}

/// Sums over the union's own groups.
#[derive(Debug, Serialize)]
pub struct WorkforceTotals {
    /// Sum of the estimates.
    pub estimate: i64,
    /// Sum of the targets set.
    pub target: i64,
}

/// `GET|PUT /v1/admin/unions/{id}/workforce/{year}` answer.
#[derive(Debug, Serialize)]
pub struct UnionWorkforceView {
    /// The union.
    pub union: UnionRef,
    /// The year.
    pub year: i32,
    /// The groups with figures, in the order of the groups' list.
    pub groups: Vec<GroupFiguresView>,
    /// Over all groups of the union's own rows.
    pub totals: WorkforceTotals,
    /// Over the four key groups.
    pub key_groups: WorkforceTotals,
}

fn view(w: &UnionWorkforce) -> UnionWorkforceView {
    let sum = |key_only: bool| WorkforceTotals {
        estimate: w
            .rows
            .iter()
            .filter(|r| !key_only || r.occupation.is_key_group())
            .map(|r| r.estimate)
            .sum(),
        target: w
            .rows
            .iter()
            .filter(|r| !key_only || r.occupation.is_key_group())
            .filter_map(|r| r.target)
            .sum(),
    };
    UnionWorkforceView {
        union: UnionRef::from(&w.union),
        year: w.year.get(),
        groups: w
            .rows
            .iter()
            .map(|r| GroupFiguresView {
                occupation: r.occupation.as_str(),
                occupation_label: r.occupation.label_zh(),
                key_group: r.occupation.is_key_group(),
                estimate: r.estimate,
                target: r.target,
                source: r.source.clone(),
                version: r.version,
                updated_at: r.updated_at,
            })
            .collect(),
        totals: sum(false),
        key_groups: sum(true),
    }
}

fn union_id(segment: &str) -> Result<UnionId, ApiError> {
    segment
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0 && segment.bytes().all(|b| b.is_ascii_digit()))
        .map(UnionId::new)
        .ok_or_else(|| ApiError::invalid(ErrorCode::InvalidUnionId, "工会编号应为正整数", "id"))
}

fn year(text: &str) -> Result<WorkforceYear, ApiError> {
    WorkforceYear::parse(text).map_err(|e| ApiError::invalid(e.code(), e.to_string(), "year"))
}

/// `GET /v1/admin/unions/{id}/workforce/{year}`: the union's own figures for the year.
pub async fn get(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, year) = (union_id(&path.0)?, year(&path.1)?);
    let found = workforce::read_workforce(&state.services, admin.actor()?, id, year).await?;
    Ok(HttpResponse::Ok().json(view(&found)))
}

/// `PUT /v1/admin/unions/{id}/workforce/{year}`: sets the groups named, each conditional on
/// its version.
pub async fn set(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<(String, String)>,
    body: web::Json<SetWorkforceRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, year) = (union_id(&path.0)?, year(&path.1)?);
    let entries = body.parse()?;
    let set = workforce::set_workforce(&state.services, admin.actor()?, id, year, entries).await?;
    Ok(HttpResponse::Ok().json(view(&set)))
}

/// Query of `POST /v1/admin/workforce`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportWorkforceQuery {
    /// The year the sheet's figures are for.
    pub year: String,
}

/// `POST /v1/admin/workforce` answer.
#[derive(Debug, Serialize)]
pub struct ImportedView {
    /// The year.
    pub year: i32,
    /// Rows inserted or changed.
    pub written: usize,
    /// Rows that held the same figures already.
    pub unchanged: usize,
    /// Unions changed.
    pub unions: usize,
}

/// One problem of a refused sheet.
#[derive(Debug, Serialize)]
pub struct RowProblemView {
    /// The line (the header is line 1).
    pub line: usize,
    /// The column, as headed in the file; absent for the whole row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The stable code of the problem.
    pub code: ErrorCode,
    /// What is wrong.
    pub message: String,
}

/// `POST /v1/admin/workforce` answer when rows are wrong (422): nothing was imported.
#[derive(Debug, Serialize)]
pub struct ImportRejectedView {
    /// Every problem, by line and column.
    pub problems: Vec<RowProblemView>,
}

fn rejected(problems: Vec<RowProblem>) -> HttpResponse {
    let problems = problems
        .into_iter()
        .map(|p| RowProblemView {
            line: p.line,
            column: p.column,
            code: p.code,
            message: p.message,
        })
        .collect();
    HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY).json(ImportRejectedView { problems })
}

fn is_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))
}

/// `POST /v1/admin/workforce?year=`: a CSV sheet of many unions' figures, all or nothing.
pub async fn import(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    req: HttpRequest,
    query: web::Query<ImportWorkforceQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !is_csv(&req) {
        return Err(error::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let year = year(&query.year)?;
    let sheet = match WorkforceSheet::parse(&body) {
        Err(zhijian_domain::workforce::SheetError::Rows(problems)) => {
            return Ok(rejected(problems));
        }
        other => other.map_err(|e| ApiError::invalid(e.code(), e.to_string(), "body"))?,
    };
    match workforce::import_workforce(&state.services, admin.actor()?, year, sheet).await {
        Ok(Imported {
            year,
            written,
            unchanged,
            unions,
        }) => Ok(HttpResponse::Ok().json(ImportedView {
            year: year.get(),
            written,
            unchanged,
            unions,
        })),
        Err(ImportWorkforceError::Rows(problems)) => Ok(rejected(problems)),
        Err(e) => Err(e.into()),
    }
}
