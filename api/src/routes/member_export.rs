//! `GET /v1/admin/members/export`: the member register (会员名册) of a subtree as a CSV or XLSX
//! download, streamed as it is read (see `zhijian_infra::usecases::membership::export`).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use tokio::sync::mpsc;
use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::export::ExportFormat;
use zhijian_domain::ids::UnionId;
use zhijian_domain::member::MemberStatus;
use zhijian_infra::register_file::{Chunk, FileAborted};
use zhijian_infra::usecases::applications::PiiShown;
use zhijian_infra::usecases::membership::export::{ExportRequest, export_register};

use crate::auth::AdminIdentity;
use crate::error::ApiError;
use crate::json;
use crate::startup::AppState;

/// Query of `GET /v1/admin/members/export`: the filters of the member list, the format and the
/// union whose subtree is exported.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberExportQuery {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// A union inside the admin's subtree (default: the admin's own union).
    pub union_id: Option<i64>,
}

impl MemberExportQuery {
    fn parse(self, admin: &AdminIdentity) -> Result<ExportRequest, ApiError> {
        let union = match self.union_id {
            Some(id) if id < 1 => {
                let message = "工会编号不正确";
                return Err(ApiError::invalid(
                    ErrorCode::InvalidUnionId,
                    message,
                    "union_id",
                ));
            }
            id => id.map(UnionId::new),
        };
        Ok(ExportRequest {
            format: json::optional_choice(self.format.as_deref(), ExportFormat::parse, "format")?
                .unwrap_or(ExportFormat::Csv),
            union,
            status: json::optional_choice(self.status.as_deref(), MemberStatus::parse, "status")?,
            shown: if admin.role.can_view_personal_data() {
                PiiShown::Clear
            } else {
                PiiShown::Masked
            },
        })
    }
}

/// `GET /v1/admin/members/export`: personal data in clear for roles that may see it, masked
/// for viewers; every export audited with its row count when the file ends.
pub async fn export(
    state: web::Data<AppState>,
    admin: AdminIdentity,
    query: web::Query<MemberExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let request = query.into_inner().parse(&admin)?;
    let export = export_register(&state.services, admin.actor()?, request).await?;
    let today = zhijian_domain::calendar::local_date(state.services.now());
    let disposition = attachment(
        &format!("会员名册-{}-{}", export.union_name, today.format("%Y%m%d")),
        &format!("members-{}-{}", export.union_id, today.format("%Y%m%d")),
        request.format.extension(),
    );
    Ok(HttpResponse::Ok()
        .content_type(content_type(request.format))
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .streaming(body(export.chunks)))
}

/// The body: the chunks as they come. An `Err` chunk ends the stream with an error: actix cuts
/// the connection, so the client sees an incomplete download, never a short file that looks
/// whole.
fn body(
    mut chunks: mpsc::Receiver<Chunk>,
) -> impl futures_util::Stream<Item = Result<web::Bytes, FileAborted>> {
    futures_util::stream::poll_fn(move |cx| {
        chunks
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| c.map(web::Bytes::from)))
    })
}

/// `Content-Disposition` of a download named `name` (UTF-8, RFC 5987 `filename*`) with an ASCII
/// `fallback` for old clients (RFC 6266).
fn attachment(name: &str, fallback: &str, extension: &str) -> String {
    format!(
        "attachment; filename=\"{fallback}.{extension}\"; filename*=UTF-8''{}.{extension}",
        rfc5987(name)
    )
}

fn content_type(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Csv => "text/csv; charset=utf-8",
        ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
}

/// `value` percent-encoded as an RFC 5987 `ext-value` (the UTF-8 bytes outside `attr-char`).
fn rfc5987(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_file_names_are_percent_encoded_as_utf8() {
        assert_eq!(rfc5987("会员-1 a"), "%E4%BC%9A%E5%91%98-1%20a");
        assert_eq!(rfc5987("a\"b;c"), "a%22b%3Bc");
        assert_eq!(
            attachment("名册", "members-1", "csv"),
            "attachment; filename=\"members-1.csv\"; filename*=UTF-8''%E5%90%8D%E5%86%8C.csv"
        );
    }
}
