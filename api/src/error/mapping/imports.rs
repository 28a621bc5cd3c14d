//! Import errors to HTTP: an unreadable file is a 400 naming why (encoding, header, no rows);
//! another subtree's import is 404; committing a report with errors in all-or-nothing mode, or
//! an import not validated, is 409.

use zhijian_domain::error_code::ErrorCode;
use zhijian_domain::import::HeaderError;
use zhijian_infra::usecases::imports::{CommitError, FileError, ReadError, StartError};

use crate::error::ApiError;

impl From<StartError> for ApiError {
    fn from(error: StartError) -> Self {
        match error {
            StartError::File(file) => file_error(file),
            StartError::Kind => ApiError::invalid(
                ErrorCode::InvalidQueryParameter,
                "暂不支持该导入类型",
                "kind",
            ),
            StartError::Store(e) => e.into(),
        }
    }
}

fn file_error(error: FileError) -> ApiError {
    let message = error.to_string();
    let code = match &error {
        FileError::MixedEncoding | FileError::BadEncoding => ErrorCode::ImportBadEncoding,
        FileError::Header(HeaderError::Empty) => ErrorCode::ImportEmptyFile,
        FileError::Header(_) => ErrorCode::ImportBadHeader,
        FileError::NoRows => ErrorCode::ImportNoRows,
        FileError::Spreadsheet(_) => ErrorCode::ImportBadSpreadsheet,
        FileError::SpreadsheetTooLarge => ErrorCode::ImportSpreadsheetTooLarge,
        // A sheet longer than an import takes: too large, like a body over the limit.
        FileError::TooManyRows(_) => ErrorCode::PayloadTooLarge,
        FileError::Io(cause) => return ApiError::internal(cause),
    };
    ApiError::new(code, message)
}

impl From<ReadError> for ApiError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::NotFound => ApiError::new(ErrorCode::NotFound, "导入记录不存在"),
            ReadError::Store(e) => e.into(),
        }
    }
}

impl From<CommitError> for ApiError {
    fn from(error: CommitError) -> Self {
        match error {
            CommitError::NotFound => ApiError::new(ErrorCode::NotFound, "导入记录不存在"),
            CommitError::NotCommittable(status) => ApiError::new(
                ErrorCode::ImportNotCommittable,
                format!("该导入当前状态为“{}”，不能提交", status.label_zh()),
            ),
            CommitError::HasProblems(rows) => ApiError::new(
                ErrorCode::ImportHasProblems,
                format!("有{rows}行存在错误：请修正后重新上传，或选择“仅导入无误的行”"),
            ),
            CommitError::Store(e) => e.into(),
        }
    }
}

impl From<zhijian_infra::usecases::membership::claim::ClaimError> for ApiError {
    fn from(error: zhijian_infra::usecases::membership::claim::ClaimError) -> Self {
        use zhijian_infra::usecases::membership::claim::ClaimError;
        match error {
            ClaimError::NotFound => ApiError::new(ErrorCode::NotAMember, "未找到会员记录"),
            ClaimError::Limited { retry_after_secs } => {
                ApiError::new(ErrorCode::TooManyRequests, "尝试次数过多，请稍后再试")
                    .with_retry_after(retry_after_secs)
            }
            ClaimError::Store(e) => e.into(),
        }
    }
}
