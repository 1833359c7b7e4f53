//! Cursor pagination shared by list endpoints.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

/// One page of a list. Pass `next_cursor` back as `cursor` for the next page; no `next_cursor`
/// means this is the last page. Pages are keyed on a stable order, so rows added meanwhile never
/// shift or repeat what was already seen.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The cursor is opaque to clients; today it is the last id seen, prefixed so that a bare number
/// is not mistaken for one.
#[derive(Debug)]
pub struct Cursor;

impl Cursor {
    pub fn encode(after: i64) -> String {
        format!("i{after}")
    }

    pub fn decode(raw: Option<&str>) -> Result<Option<i64>, ApiError> {
        let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        raw.strip_prefix('i')
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "cursor is not one this API issued")
            })
    }
}

/// Checks a requested page size.
pub fn limit(raw: Option<u64>) -> Result<u64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::Unprocessable {
            code: "invalid_limit",
            detail: format!("limit must be between 1 and {MAX_LIMIT}"),
            field: Some("limit".to_owned()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(Cursor::decode(Some(&Cursor::encode(42))).unwrap(), Some(42));
        assert_eq!(Cursor::decode(None).unwrap(), None);
        assert_eq!(Cursor::decode(Some("")).unwrap(), None);
        for bad in ["42", "i", "ix", "i-1", "' OR 1=1"] {
            assert!(Cursor::decode(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits() {
        assert_eq!(limit(None).unwrap(), 50);
        assert_eq!(limit(Some(200)).unwrap(), 200);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(201)).is_err());
    }
}
