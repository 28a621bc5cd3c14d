//! Bulk import of a register over HTTP: the file as the body (`text/csv`, at most
//! [`MAX_BODY_BYTES`]), validated in the background (`202` with the import), its status and
//! report, the commit, and the templates.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::import::{
    ImportKind, ImportMode, member_template_header, union_template_header,
};
use zhijian_infra::usecases::imports::{self, Charset, ImportRow, Importer, Source};

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::json;
use crate::startup::AppState;

/// The largest file accepted: 64 MB (about 600 000 member rows); split larger registers.
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The media type of an Excel workbook (`.xlsx`), the other accepted upload.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Query of `POST /v1/admin/imports`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartImportQuery {
    /// `members` (or `unions`).
    pub kind: String,
    /// `all` (default) or `valid_only`.
    pub mode: Option<String>,
    /// `utf-8` or `gb18030`; detected when absent.
    pub charset: Option<String>,
}

/// An import as answered.
#[derive(Debug, Serialize)]
pub struct ImportView {
    id: uuid::Uuid,
    kind: String,
    mode: String,
    status: String,
    charset: String,
    rows_total: i32,
    rows_valid: i32,
    rows_invalid: i32,
    rows_committed: i32,
    warnings: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    committed_at: Option<chrono::DateTime<chrono::Utc>>,
    report: String,
}

fn view(row: &ImportRow) -> ImportView {
    ImportView {
        id: row.id,
        kind: row.kind.clone(),
        mode: row.mode.clone(),
        status: row.status.clone(),
        charset: row.charset.clone(),
        rows_total: row.rows_total,
        rows_valid: row.rows_valid,
        rows_invalid: row.rows_invalid,
        rows_committed: row.rows_committed,
        warnings: row.warnings,
        failure: row.failure.clone(),
        created_at: row.created_at,
        committed_at: row.committed_at,
        report: format!("/v1/admin/imports/{}/report.csv", row.id),
    }
}

/// Only managers import (a reviewer decides one application at a time).
fn importer(admin: &AdminIdentity) -> Result<Importer, ApiError> {
    if !admin.role.can_manage() {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "只有管理员可以批量导入",
        ));
    }
    Ok(Importer {
        admin: admin.actor()?,
        source: "api",
    })
}

async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    let media = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if media != "text/csv" && media != XLSX_MEDIA_TYPE {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "请以 text/csv 或 Excel（.xlsx）格式上传导入文件",
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::new(ErrorCode::BadRequest, "文件上传中断"))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                "文件超过64MB上限，请分批导入",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    if media == XLSX_MEDIA_TYPE && !body.starts_with(b"PK\x03\x04") {
        return Err(ApiError::new(
            ErrorCode::ImportBadSpreadsheet,
            "文件不是 Excel（.xlsx）工作簿，请确认文件格式，或另存为“CSV UTF-8”后上传",
        ));
    }
    Ok(body)
}

/// The kind, mode and charset of an upload.
fn start_query(
    query: &StartImportQuery,
) -> Result<(ImportKind, ImportMode, Option<Charset>), ApiError> {
    let kind = ImportKind::parse(&query.kind)
        .map_err(|e| ApiError::invalid(e.code(), e.to_string(), "kind"))?;
    let mode = json::optional_choice(query.mode.as_deref(), ImportMode::parse, "mode")?;
    let charset = query.charset.as_deref().map(|c| {
        Charset::parse(c).ok_or_else(|| {
            ApiError::invalid(
                ErrorCode::InvalidQueryParameter,
                "charset 只能是 utf-8 或 gb18030",
                "charset",
            )
        })
    });
    Ok((kind, mode.unwrap_or(ImportMode::All), charset.transpose()?))
}

/// `POST /v1/admin/imports`: phase one; `202` with the import (validating in the background),
/// or `200` with the import of the same file sent before.
pub async fn start(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    req: HttpRequest,
    query: web::Query<StartImportQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (kind, mode, charset) = start_query(&query)?;
    let importer = importer(&admin)?;
    let source = Source::Memory(read_body(&req, payload).await?.into());
    let ctx = &state.services;
    let started = match kind {
        ImportKind::Unions => {
            imports::start_union_import(ctx, importer, source, charset, mode).await?
        }
        _ => imports::start_member_import(ctx, importer, source, charset, mode, true, None).await?,
    };
    let mut response = if started.existing {
        HttpResponse::Ok()
    } else {
        HttpResponse::Accepted()
    };
    Ok(response.json(view(&started.import)))
}

fn parse_id(path: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(path)
        .map_err(|_| ApiError::invalid(ErrorCode::InvalidId, "导入编号格式不正确", "id"))
}

/// `GET /v1/admin/imports/{id}`: status, counts, progress.
pub async fn status(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let scope = admin.actor()?.union_path;
    let row = imports::import_status(&state.services, scope, id).await?;
    Ok(HttpResponse::Ok().json(view(&row)))
}

/// Query of `POST /v1/admin/imports/{id}/commit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitImportQuery {
    /// `all` or `valid_only`; the upload's mode when absent.
    pub mode: Option<String>,
}

/// `POST /v1/admin/imports/{id}/commit`: phase two.
pub async fn commit(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
    query: web::Query<CommitImportQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let mode = json::optional_choice(query.mode.as_deref(), ImportMode::parse, "mode")?;
    let importer = importer(&admin)?;
    let row = imports::commit_import(&state.services, importer, id, mode).await?;
    Ok(HttpResponse::Ok().json(view(&row)))
}

/// A CSV cell: quoted, and neutralised when a spreadsheet would read it as a formula.
fn cell(value: &str) -> String {
    let value = zhijian_domain::export::neutralise_csv_cell(value);
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// `GET /v1/admin/imports/{id}/report.csv`: the problems, UTF-8 with BOM (Excel opens it).
pub async fn report(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let scope = admin.actor()?.union_path;
    let (_, problems) = imports::import_report(&state.services, scope, id).await?;
    let mut csv = String::from("\u{feff}行号,列,级别,代码,说明\r\n");
    for p in problems {
        let level = if p.severity == "error" {
            "错误"
        } else {
            "提示"
        };
        let row = [
            p.line.to_string(),
            p.column_name,
            level.to_owned(),
            p.code,
            p.message,
        ];
        csv.push_str(&row.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
        csv.push_str("\r\n");
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(csv))
}

/// `GET /v1/admin/imports/templates/{kind}`: the header line to fill, UTF-8 with BOM.
pub async fn template(
    _admin: AdminIdentity,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let kind =
        ImportKind::parse(&path).map_err(|e| ApiError::invalid(e.code(), e.to_string(), "kind"))?;
    let header = match kind {
        ImportKind::Members => member_template_header().join(","),
        ImportKind::Unions => union_template_header().join(","),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}-template.csv\"", kind.as_str()),
        ))
        .body(format!("\u{feff}{header}\r\n")))
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn report_cells_are_quoted_and_never_formulas() {
        assert_eq!(cell("张三"), "\"张三\"");
        assert_eq!(cell("=1+1"), "\"'=1+1\"");
        // Spreadsheets skip a leading tab or carriage return before looking for a formula.
        assert_eq!(cell("\t=HYPERLINK(\"x\")"), "\"'\t=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("\r@SUM(A1)"), "\"'\r@SUM(A1)\"");
    }
}
