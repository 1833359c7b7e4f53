//! The screen every request passes before a handler sees it: no control characters in the
//! path, the query string or any JSON string, and no date outside
//! [`whistle_domain::input::YEARS`]. Handlers look values up by the text they are given (a
//! category code, a search term), so a value the database refuses — PostgreSQL rejects U+0000,
//! and its timestamps end long before chrono's — must be stopped here, once, as a 422 (Open311:
//! its own 400), never reach a statement and come back as a 500.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use whistle_domain::input::{refuse_controls, refuse_distant_dates};

use crate::error::{ApiError, ErrorDialect};

/// Checks one value that arrived under the name `field`.
pub fn text(field: &str, value: &str) -> Result<(), ApiError> {
    refuse_controls("", value)
        .and_then(|()| refuse_distant_dates("", value))
        .map_err(|e| ApiError::Unprocessable {
            code: if e.reason.contains("control") {
                "invalid_characters"
            } else {
                "date_out_of_range"
            },
            detail: format!("{}: {}", shorten(field), e.reason),
            field: Some(shorten(field)),
        })
}

/// Field names come from the client: bounded before they are echoed back.
fn shorten(field: &str) -> String {
    field.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// Checks every key and string of a JSON document; `field` of the error is the JSON path
/// (`attributes.time`, `items[2].note`).
pub fn json(value: &Value) -> Result<(), ApiError> {
    fn walk(value: &Value, path: &mut String) -> Result<(), ApiError> {
        match value {
            Value::String(s) => text(if path.is_empty() { "body" } else { path }, s),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            Value::Object(map) => {
                for (key, item) in map {
                    text(key, key)?;
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        }
    }
    walk(value, &mut String::new())
}

/// Checks the decoded path and every decoded query pair.
fn uri(req: &Request) -> Result<(), ApiError> {
    let path = percent_encoding::percent_decode_str(req.uri().path()).decode_utf8_lossy();
    refuse_controls("path", &path).map_err(|e| ApiError::Unprocessable {
        code: "invalid_characters",
        detail: e.to_string(),
        field: Some("path".into()),
    })?;
    if let Some(query) = req.uri().query() {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            text(&key, &key)?;
            text(&key, &value)?;
        }
    }
    Ok(())
}

/// Middleware: refuses a request whose path or query string fails the screen.
pub async fn screen_uri(
    State(dialects): State<&'static [ErrorDialect]>,
    req: Request,
    next: Next,
) -> Response {
    match uri(&req) {
        Ok(()) => next.run(req).await,
        // A dialect's clients (Open311's) know only its own errors, and a 4xx other than
        // 400/403/404 means nothing to them.
        Err(e) => match ErrorDialect::of(dialects, req.uri().path()) {
            Some(dialect) => (dialect.bad_request)(req.uri().path(), &e.to_string()),
            None => e.into_response(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_problems_name_their_path() {
        let ok = json!({"description": "南门\n北门", "attributes": {"time": "night"}, "n": [1, 2]});
        assert!(json(&ok).is_ok());
        let bad = json!({"items": [{"note": "ok"}, {"note": "bad\u{0}"}]});
        match json(&bad) {
            Err(ApiError::Unprocessable { code, field, .. }) => {
                assert_eq!(code, "invalid_characters");
                assert_eq!(field.as_deref(), Some("items[1].note"));
            }
            other => panic!("expected a 422, got {other:?}"),
        }
        let far = json!({"started_at": "-262143-01-01T00:00:00Z"});
        match json(&far) {
            Err(ApiError::Unprocessable { code, field, .. }) => {
                assert_eq!(code, "date_out_of_range");
                assert_eq!(field.as_deref(), Some("started_at"));
            }
            other => panic!("expected a 422, got {other:?}"),
        }
        assert!(json(&json!({"k\u{0}": 1})).is_err());
    }
}
