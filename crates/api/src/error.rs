//! The one error type of the HTTP layer and its RFC 9457 `application/problem+json` body.
//!
//! Handlers return `Result<_, ApiError>`. Each variant fixes its status; each carries a stable
//! machine `code` that clients may switch on. Internal errors are logged with their whole chain
//! and shown to the client only as a 500 with the request id. The response carries its
//! [`Problem`] as an extension; the [`finish_problems`] middleware renders it in the client's
//! language, adds the request id and path, and turns any other error response (a 405 from the
//! router, a 408 from the timeout layer) into a problem too, so no error leaves as plain text.
//!
//! Titles and Chinese details come from one table, [`crate::problem_text`]; an error whose
//! Chinese detail must carry this request's particulars brings its own ([`ApiError::with_zh`]).

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use whistle_domain::ValueError;
use whistle_persistence::{Clash, RepoError};

use crate::app::AppError;
use crate::i18n::Lang;
use crate::problem_text;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (unparseable query string, JSON syntax, wrong content type).
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    /// 422: well-formed, but a value is unacceptable (out of range, too long, unknown enum).
    #[error("{detail}")]
    Unprocessable {
        code: &'static str,
        detail: String,
        field: Option<String>,
    },
    /// 401: no credentials, or credentials that do not check out. The reason is logged at debug
    /// level; clients get the same answer whatever it was.
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    /// 403: authenticated, but the policy does not allow this.
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    /// 429: too many attempts; retry after the given number of seconds.
    #[error("{detail}")]
    TooManyRequests {
        code: &'static str,
        detail: String,
        retry_after_secs: u64,
    },
    /// 404: the thing asked for does not exist, or the point is outside the city.
    #[error("{detail}")]
    NotFound { code: &'static str, detail: String },
    /// 409: the request conflicts with the current state (a taken username, a stale version).
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// 412: an `If-Match` precondition no longer holds (the resource changed).
    #[error("{detail}")]
    PreconditionFailed { detail: String },
    /// 415: the upload is not a kind of file we accept.
    #[error("{detail}")]
    UnsupportedMediaType { detail: String },
    /// 413: the body is larger than the configured limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 503: the database is unreachable; retry later. The detail is logged, not sent.
    #[error("{0}")]
    DatabaseUnavailable(String),
    /// 503: the photo store is unreachable or refused the operation; retry later. The detail
    /// is logged, not sent.
    #[error("{0}")]
    StorageUnavailable(String),
    /// 500: a bug or an unexpected failure. The detail is logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
    /// Any of the above with what the central table cannot supply: a Chinese detail holding
    /// this request's particulars (numbers, names, the rule that refused), and/or the field the
    /// problem is about. Built by [`ApiError::with_zh`] and [`ApiError::with_field`].
    #[error("{inner}")]
    Detailed {
        inner: Box<ApiError>,
        zh: Option<String>,
        field: Option<String>,
    },
}

impl ApiError {
    /// For `map_err`: a repository "not found" becomes `err` (a specific 404), anything else
    /// converts as usual.
    pub fn when_missing(err: ApiError) -> impl FnOnce(RepoError) -> ApiError {
        move |e| match e {
            RepoError::NotFound(_) => err,
            other => other.into(),
        }
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::NotFound {
            code,
            detail: detail.into(),
        }
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Unauthorized {
            code,
            detail: detail.into(),
        }
    }

    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            detail: detail.into(),
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            detail: detail.into(),
        }
    }

    /// The same error with its detail in Chinese, for a detail built from this request's
    /// particulars; other Chinese details come from [`crate::problem_text`].
    pub fn with_zh(self, zh: impl Into<String>) -> Self {
        match self {
            ApiError::Detailed { inner, field, .. } => ApiError::Detailed {
                inner,
                zh: Some(zh.into()),
                field,
            },
            other => ApiError::Detailed {
                inner: Box::new(other),
                zh: Some(zh.into()),
                field: None,
            },
        }
    }

    /// The same error naming the field it is about.
    pub fn with_field(self, field: impl Into<String>) -> Self {
        match self {
            ApiError::Detailed { inner, zh, .. } => ApiError::Detailed {
                inner,
                zh,
                field: Some(field.into()),
            },
            other => ApiError::Detailed {
                inner: Box::new(other),
                zh: None,
                field: Some(field.into()),
            },
        }
    }

    /// The error without the additions of [`ApiError::with_zh`] and [`ApiError::with_field`],
    /// for code that sorts errors by variant (Open311's mapping).
    pub fn plain(self) -> Self {
        match self {
            ApiError::Detailed { inner, .. } => inner.plain(),
            other => other,
        }
    }

    /// 409 for a write a unique rule refused, naming the field and never the database's words:
    /// "this badge number is already taken".
    pub fn taken(code: &'static str, clash: &Clash) -> Self {
        let Some(field) = clash.field() else {
            return ApiError::Conflict {
                code,
                detail: "this is already taken".into(),
            };
        };
        ApiError::Conflict {
            code,
            detail: format!("this {} is already taken", field.replace('_', " ")),
        }
        .with_field(field)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::DatabaseUnavailable(_) | ApiError::StorageUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Detailed { inner, .. } => inner.status(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::TooManyRequests { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. } => code,
            ApiError::PreconditionFailed { .. } => "precondition_failed",
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::DatabaseUnavailable(_) => "database_unavailable",
            ApiError::StorageUnavailable(_) => "storage_unavailable",
            ApiError::Internal(_) => "internal_error",
            ApiError::Detailed { inner, .. } => inner.code(),
        }
    }
}

/// A domain value that failed to parse is a 422 `invalid_value` naming the field.
/// 429 `rate_limited`, with the wait in `Retry-After`.
impl From<crate::authn::TooManyAttempts> for ApiError {
    fn from(e: crate::authn::TooManyAttempts) -> Self {
        ApiError::TooManyRequests {
            code: "rate_limited",
            detail: "too many attempts; retry later".into(),
            retry_after_secs: e.retry_after.as_secs().max(1),
        }
    }
}

impl From<ValueError> for ApiError {
    fn from(e: ValueError) -> Self {
        ApiError::invalid("invalid_value", e)
    }
}

impl ApiError {
    /// A 422 with `code` for a domain value that failed to parse: its field, its English reason,
    /// and its Chinese one when the rule has one.
    pub fn invalid(code: &'static str, e: ValueError) -> Self {
        let plain = ApiError::Unprocessable {
            code,
            detail: e.to_string(),
            field: Some(e.field.to_owned()),
        };
        match e.reason_zh {
            Some(zh) => plain.with_zh(format!("{}：{zh}", e.field)),
            None => plain,
        }
    }
}

impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound(what) => ApiError::NotFound {
                code: "not_found",
                detail: format!("{what} not found"),
            },
            RepoError::Conflict(clash) => match &clash.rule {
                // A rule a repository checked itself, described in its own words.
                Some(rule) => ApiError::Conflict {
                    code: "conflict",
                    detail: format!("conflicts with existing data: {rule}"),
                },
                None => ApiError::taken("already_exists", &clash),
            },
            RepoError::Reference(what) => ApiError::Unprocessable {
                code: "unknown_reference",
                detail: format!("refers to something that does not exist: {what}"),
                field: None,
            },
            RepoError::Unavailable(db) => ApiError::DatabaseUnavailable(db.to_string()),
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// A use case's refusal as the native API answers it.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let with = |plain: ApiError, zh: Option<String>| match zh {
            Some(zh) => plain.with_zh(zh),
            None => plain,
        };
        match e {
            AppError::Invalid {
                code,
                detail,
                field,
                zh,
            } => with(
                ApiError::Unprocessable {
                    code,
                    detail,
                    field,
                },
                zh,
            ),
            AppError::Forbidden { code, detail, zh } => {
                with(ApiError::Forbidden { code, detail }, zh)
            }
            AppError::NotFound { code, detail } => ApiError::NotFound { code, detail },
            AppError::Unauthenticated { code, detail } => ApiError::Unauthorized { code, detail },
            AppError::Throttled {
                code,
                detail,
                retry_after_secs,
            } => ApiError::TooManyRequests {
                code,
                detail,
                retry_after_secs,
            },
            AppError::Conflict { code, detail, zh } => {
                with(ApiError::Conflict { code, detail }, zh)
            }
            AppError::Taken { code, clash } => ApiError::taken(code, &clash),
            AppError::Stale { current } => ApiError::stale(false, current),
            AppError::Repo(e) => e.into(),
            AppError::Internal(e) => ApiError::Internal(e),
        }
    }
}

impl ApiError {
    /// A stale version: 412 when the client sent `If-Match`, else 409 `version_conflict`.
    pub fn stale(via_if_match: bool, current: i32) -> Self {
        let detail =
            format!("the case changed meanwhile; its version is now {current}: reload and retry");
        if via_if_match {
            ApiError::PreconditionFailed { detail }
        } else {
            ApiError::Conflict {
                code: "version_conflict",
                detail,
            }
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        RepoError::from(e).into()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => ApiError::Unprocessable {
                code: "invalid_body",
                detail: e.body_text(),
                field: None,
            },
            JsonRejection::JsonSyntaxError(e) => {
                ApiError::bad_request("malformed_json", e.body_text())
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::bad_request(
                "unsupported_content_type",
                "expected Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge
            }
            other => ApiError::bad_request("unreadable_body", other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request("invalid_query", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request("invalid_path", r.body_text())
    }
}

/// The body of every error response (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:whistle:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short human summary, in the client's language.
    pub title: String,
    pub status: u16,
    /// What went wrong in this request.
    pub detail: String,
    /// Stable machine-readable code; switch on this, not on text.
    pub code: String,
    /// The path of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The field the problem is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Quote this when reporting a problem; it finds the request in the logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The detail in Chinese when the error brought its own; otherwise the table's is used.
    #[serde(skip)]
    #[schema(ignore)]
    pub detail_zh: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Problem {
            type_uri: format!("urn:whistle:problem:{code}"),
            title: String::new(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            instance: None,
            field: None,
            request_id: None,
            detail_zh: None,
        }
    }

    /// Puts the title and the detail in `lang`. English details are written where the error is
    /// raised; Chinese ones are the error's own or the table's.
    pub fn localize(&mut self, lang: Lang) {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.title = problem_text::title(&self.code, status, lang).to_owned();
        if lang == Lang::Zh {
            let zh = match self.detail_zh.take() {
                Some(zh) => zh,
                None => {
                    problem_text::detail_zh(&self.code, status, &self.detail, self.field.as_deref())
                }
            };
            self.detail = zh;
        }
    }

    fn render(mut self, lang: Lang) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.localize(lang);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = Response::new(Body::from(body));
        *res.status_mut() = status;
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        res
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Detailed { inner, zh, field } = self {
            let mut res = inner.into_response();
            if let Some(problem) = res.extensions_mut().get_mut::<Problem>() {
                if zh.is_some() {
                    problem.detail_zh = zh;
                }
                if field.is_some() {
                    problem.field = field;
                }
            }
            return res;
        }
        let status = self.status();
        let code = self.code();
        let problem = match &self {
            ApiError::Internal(e) => {
                // The whole chain goes to the log; the client learns only that it failed.
                tracing::error!(error = ?e, "internal error");
                Problem::new(
                    status,
                    code,
                    "an internal error occurred; quote the request id",
                )
            }
            ApiError::DatabaseUnavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                Problem::new(status, code, "the database is unreachable; retry later")
            }
            ApiError::StorageUnavailable(detail) => {
                tracing::warn!(%detail, "photo storage unavailable");
                Problem::new(
                    status,
                    code,
                    "the photo storage is unreachable; retry later",
                )
            }
            ApiError::Unprocessable { detail, field, .. } => {
                let mut p = Problem::new(status, code, detail.clone());
                p.field = field.clone();
                p
            }
            other => Problem::new(status, code, other.to_string()),
        };
        let mut res = problem.clone().render(Lang::default());
        res.extensions_mut().insert(problem);
        match &self {
            ApiError::Unauthorized { .. } => {
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        res
    }
}

/// A part of the API that answers errors in a body of its own (Open311, whose spec fixes one):
/// the paths it owns, how it writes an error that did not come from its handlers (a 405 from
/// the router, a 408 from the timeout layer, a 413 from the body limit), and how it refuses a
/// request the input screen rejected. The router names its dialects; this module knows none.
#[derive(Debug, Clone, Copy)]
pub struct ErrorDialect {
    pub prefix: &'static str,
    pub for_status: fn(path: &str, status: StatusCode) -> Response,
    pub bad_request: fn(path: &str, detail: &str) -> Response,
}

impl ErrorDialect {
    /// The dialect of the path, if one owns it.
    pub fn of<'a>(dialects: &'a [ErrorDialect], path: &str) -> Option<&'a ErrorDialect> {
        dialects.iter().find(|d| path.starts_with(d.prefix))
    }
}

/// Marks a response whose body is already in its dialect's own shape: [`finish_problems`]
/// leaves it as it is.
#[derive(Debug, Clone, Copy)]
pub struct OwnErrorBody;

/// Generic codes for error responses produced outside handlers.
fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "route_not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_content_type",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        s if s.is_server_error() => "internal_error",
        _ => "request_failed",
    }
}

/// Middleware: renders every error response as problem+json in the client's language, with the
/// request's id and path.
pub async fn finish_problems(
    State(dialects): State<&'static [ErrorDialect]>,
    req: Request,
    next: Next,
) -> Response {
    let lang = Lang::from_headers(req.headers());
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    if matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
    ) {
        // Every refusal is audited; the path names the resource, the request id finds the
        // policy's own line (who and why) beside it. No query string: it may hold a phone.
        tracing::warn!(target: "whistle::audit", status = status.as_u16(), %path, request_id = request_id.as_deref().unwrap_or("-"), "request refused");
    }
    // A dialect has its own error body; its handlers write it, and errors from outside them
    // (405, 408, 413) are rewritten into it here.
    if let Some(dialect) = ErrorDialect::of(dialects, &path) {
        if res.extensions().get::<OwnErrorBody>().is_some() {
            return res;
        }
        let (parts, _) = res.into_parts();
        let mut rendered = (dialect.for_status)(&path, status);
        copy_headers(&parts.headers, &mut rendered);
        return rendered;
    }
    let (mut parts, body) = res.into_parts();
    let mut problem = match parts.extensions.remove::<Problem>() {
        Some(p) => p,
        None => {
            drop(body);
            let detail = status
                .canonical_reason()
                .unwrap_or("error")
                .to_ascii_lowercase();
            Problem::new(status, code_for_status(status), detail)
        }
    };
    problem.instance = Some(path);
    problem.request_id = request_id;
    let mut rendered = problem.render(lang);
    copy_headers(&parts.headers, &mut rendered);
    rendered
}

/// Keeps the headers inner layers set (Retry-After, Allow, WWW-Authenticate) on a rewritten
/// error response, except those that describe the replaced body: its type, length and encoding
/// belong to bytes that are no longer sent.
fn copy_headers(from: &header::HeaderMap, to: &mut Response) {
    for (name, value) in from {
        let describes_body = name == header::CONTENT_TYPE
            || name == header::CONTENT_LENGTH
            || name == header::CONTENT_ENCODING
            || name == header::TRANSFER_ENCODING;
        if !describes_body {
            to.headers_mut().append(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_database_is_a_503_and_a_refused_statement_a_500() {
        use sea_orm::{DbErr, RuntimeErr};
        let down = RepoError::Unavailable(DbErr::Conn(RuntimeErr::Internal("refused".into())));
        let api = ApiError::from(down);
        assert_eq!(api.status().as_u16(), 503);
        assert_eq!(api.code(), "database_unavailable");
        // A statement the database refused is still a bug of ours.
        let refused = ApiError::from(DbErr::Query(RuntimeErr::Internal("syntax".into())));
        assert_eq!(refused.status().as_u16(), 500);
    }

    #[test]
    fn every_variant_has_a_status_and_code() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (ApiError::bad_request("x", "d"), 400, "x"),
            (
                ValueError::new("lat", "must be a number between -90 and 90").into(),
                422,
                "invalid_value",
            ),
            (
                ApiError::not_found("outside_city", "d"),
                404,
                "outside_city",
            ),
            (
                RepoError::Conflict(Clash::new("users", &["username"])).into(),
                409,
                "already_exists",
            ),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (
                ApiError::DatabaseUnavailable("db".into()),
                503,
                "database_unavailable",
            ),
            (
                ApiError::StorageUnavailable("s3".into()),
                503,
                "storage_unavailable",
            ),
            (
                ApiError::Internal(anyhow::anyhow!("boom")),
                500,
                "internal_error",
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status);
            assert_eq!(err.code(), code);
        }
    }

    #[test]
    fn internal_errors_do_not_leak_detail() {
        let res = ApiError::Internal(anyhow::anyhow!("password=hunter2 in connection string"))
            .into_response();
        let problem = res.extensions().get::<Problem>().unwrap();
        assert!(!problem.detail.contains("hunter2"));
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            PROBLEM_JSON
        );
    }

    #[test]
    fn titles_follow_language() {
        let title = problem_text::title;
        assert_eq!(
            title("outside_city", StatusCode::NOT_FOUND, Lang::En),
            "Location outside the city"
        );
        assert_eq!(title("whatever", StatusCode::NOT_FOUND, Lang::Zh), "未找到");
    }

    fn rendered(err: ApiError, lang: Lang) -> Problem {
        let res = err.into_response();
        let mut p = res.extensions().get::<Problem>().unwrap().clone();
        p.localize(lang);
        p
    }

    #[test]
    fn details_follow_language_and_keep_particulars() {
        let e = || {
            ApiError::from(
                ValueError::new("name", "must be at most 100 characters, got 120")
                    .zh("最多 100 个字，实际 120 个"),
            )
        };
        let en = rendered(e(), Lang::En);
        assert_eq!(en.detail, "name: must be at most 100 characters, got 120");
        let zh = rendered(e(), Lang::Zh);
        assert_eq!(zh.detail, "name：最多 100 个字，实际 120 个");
        assert_eq!(zh.field.as_deref(), Some("name"));
        assert_eq!(zh.code, "invalid_value");
        // Without a Chinese reason of its own, the table's sentence names the field.
        let zh = rendered(ValueError::new("lat", "bad").into(), Lang::Zh);
        assert_eq!(zh.detail, "「lat」的值无效");
    }

    #[test]
    fn a_unique_clash_names_the_field_not_the_database() {
        let err = ApiError::from(RepoError::Conflict(Clash::new(
            "officer",
            &["badge_number"],
        )));
        assert_eq!((err.status().as_u16(), err.code()), (409, "already_exists"));
        let en = rendered(err, Lang::En);
        assert_eq!(en.detail, "this badge number is already taken");
        assert_eq!(en.field.as_deref(), Some("badge_number"));
        let zh = rendered(
            ApiError::from(RepoError::Conflict(Clash::new(
                "officer",
                &["badge_number"],
            ))),
            Lang::Zh,
        );
        assert_eq!(zh.detail, "「badge_number」已被占用");
    }

    /// Every code raised anywhere in this crate's source has Chinese words in
    /// [`problem_text::TEXTS`]. Codes are found where they are written: `code: "…"` (also inside
    /// an `if`), and the first argument of the constructors; codes chosen by a `match` elsewhere
    /// are listed here by hand.
    #[test]
    fn every_code_in_the_source_has_chinese_text() {
        let mut codes = std::collections::BTreeMap::<String, String>::new();
        for path in crate::rust_files_under("src") {
            let text = std::fs::read_to_string(&path).unwrap();
            for code in codes_in(&text) {
                codes
                    .entry(code)
                    .or_insert_with(|| path.display().to_string());
            }
        }
        // Chosen by `match` arms: the policy's reasons (crate::authn), work-log spans
        // (routes/worklogs.rs), and the codes of generated responses.
        for code in [
            "role_not_permitted",
            "outside_jurisdiction",
            "not_owner",
            "token_expired",
            "invalid_span",
            "span_too_long",
            "span_in_future",
            "already_exists",
            "conflict",
        ] {
            codes.insert(code.into(), "listed".into());
        }
        for status in 400..600u16 {
            if let Ok(s) = StatusCode::from_u16(status) {
                codes.insert(code_for_status(s).into(), "code_for_status".into());
            }
        }
        for err in [
            ApiError::PreconditionFailed {
                detail: String::new(),
            },
            ApiError::UnsupportedMediaType {
                detail: String::new(),
            },
            ApiError::PayloadTooLarge,
            ApiError::DatabaseUnavailable(String::new()),
            ApiError::StorageUnavailable(String::new()),
            ApiError::Internal(anyhow::anyhow!("x")),
        ] {
            codes.insert(err.code().into(), "ApiError::code".into());
        }
        assert!(
            codes.len() > 100,
            "the scan found only {} codes",
            codes.len()
        );
        let missing: Vec<_> = codes
            .iter()
            .filter(|(code, _)| problem_text::lookup(code).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "codes without Chinese text in problem_text::TEXTS: {missing:?}"
        );
    }

    /// The codes written in `text` outside its tests.
    fn codes_in(text: &str) -> Vec<String> {
        let text = text.split("#[cfg(test)]").next().unwrap_or(text);
        let mut out = Vec::new();
        let literal_after = |rest: &str, window: usize| -> Vec<String> {
            let head: String = rest.chars().take(window).collect();
            head.split('"')
                .skip(1)
                .step_by(2)
                .filter(|s| {
                    !s.is_empty()
                        && s.chars()
                            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                        && s.starts_with(|c: char| c.is_ascii_lowercase())
                })
                .map(str::to_owned)
                .collect()
        };
        for (i, _) in text.match_indices("code: ") {
            let rest = &text[i + 6..];
            let mut end = rest.find(",\n").unwrap_or(rest.len()).min(300);
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            let rest = &rest[..end];
            if rest.starts_with('"') {
                out.extend(literal_after(rest, 60).into_iter().take(1));
            } else if rest.starts_with("if ") || rest.starts_with("match ") {
                // The branches, not the condition.
                let branches = &rest[rest.find('{').unwrap_or(0)..];
                out.extend(literal_after(branches, 300));
            }
        }
        for ctor in [
            "ApiError::not_found(",
            "ApiError::unauthorized(",
            "ApiError::forbidden(",
            "ApiError::bad_request(",
            "ApiError::taken(",
            "AppError::invalid(",
            "AppError::forbidden(",
            "AppError::not_found(",
            "AppError::conflict(",
            "AppError::value(",
            "unprocessable(",
        ] {
            for (i, _) in text.match_indices(ctor) {
                let rest = text[i + ctor.len()..].trim_start();
                if rest.starts_with('"') {
                    out.extend(literal_after(rest, 60).into_iter().take(1));
                }
            }
        }
        out
    }
}
