//! Keyset pagination shared by every list: page sizes and opaque cursors.
//!
//! A cursor is the sort key of the last row of a page, base64url-encoded, so the next page is
//! an index range scan from there — its cost does not grow with how deep the page is.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use zhijian_domain::error_code::ErrorCode;

use crate::error::ApiError;

/// Rows per page when the client does not say.
pub const DEFAULT_PAGE: i64 = 20;
/// The largest page a client may ask for.
pub const MAX_PAGE: i64 = 100;

/// The page size from `limit`: 1–[`MAX_PAGE`], default [`DEFAULT_PAGE`].
pub fn page_size(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(
            ErrorCode::InvalidLimit,
            "每页条数应为1至100",
            "limit",
        )),
    }
}

fn bad_cursor() -> ApiError {
    ApiError::invalid(
        ErrorCode::InvalidCursor,
        "分页游标无效，请从第一页重新查询",
        "cursor",
    )
}

/// The cursor after a row sorted by `(at, id)`.
pub fn encode_time_cursor(at: DateTime<Utc>, id: uuid::Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{}|{id}", at.timestamp_micros()))
}

/// Reads a cursor made by [`encode_time_cursor`].
pub fn decode_time_cursor(cursor: &str) -> Result<(DateTime<Utc>, uuid::Uuid), ApiError> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad_cursor())?;
    let text = String::from_utf8(raw).map_err(|_| bad_cursor())?;
    let (micros, id) = text.split_once('|').ok_or_else(bad_cursor)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad_cursor)?;
    Ok((at, uuid::Uuid::parse_str(id).map_err(|_| bad_cursor())?))
}

/// The cursor after a row sorted by its id alone.
pub fn encode_id_cursor(id: uuid::Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Reads a cursor made by [`encode_id_cursor`].
pub fn decode_id_cursor(cursor: &str) -> Result<uuid::Uuid, ApiError> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad_cursor())?;
    uuid::Uuid::from_slice(&raw).map_err(|_| bad_cursor())
}

/// The cursor after a row sorted by a positive integer id (unions).
pub fn encode_number_cursor(id: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.to_be_bytes())
}

/// Reads a cursor made by [`encode_number_cursor`].
pub fn decode_number_cursor(cursor: &str) -> Result<i64, ApiError> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad_cursor())?;
    let bytes: [u8; 8] = raw.try_into().map_err(|_| bad_cursor())?;
    Ok(i64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_a_bad_request() {
        let at = DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap();
        let id = uuid::Uuid::now_v7();
        assert_eq!(
            decode_time_cursor(&encode_time_cursor(at, id)).unwrap(),
            (at, id)
        );
        assert_eq!(decode_id_cursor(&encode_id_cursor(id)).unwrap(), id);
        assert_eq!(decode_number_cursor(&encode_number_cursor(42)).unwrap(), 42);
        assert!(decode_number_cursor("bm9waXBl").is_err());
        for garbage in ["", "nonsense", "bm9waXBl"] {
            assert_eq!(
                decode_time_cursor(garbage)
                    .unwrap_err()
                    .body()
                    .field
                    .as_deref(),
                Some("cursor")
            );
            assert!(decode_id_cursor(garbage).is_err());
        }
        assert_eq!(page_size(None).unwrap(), 20);
        assert!(page_size(Some(0)).is_err());
        assert!(page_size(Some(101)).is_err());
    }
}
