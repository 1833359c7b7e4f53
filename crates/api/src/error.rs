//! The one error type of the HTTP layer and its RFC 9457 `application/problem+json` body.
//!
//! Handlers return `Result<_, ApiError>`. Each variant fixes its status; each carries a stable
//! machine `code` that clients may switch on. Internal errors are logged with their whole chain
//! and shown to the client only as a 500 with the request id. The response carries its
//! [`Problem`] as an extension; the [`finish_problems`] middleware renders it in the client's
//! language, adds the request id and path, and turns any other error response (a 405 from the
//! router, a 408 from the timeout layer) into a problem too, so no error leaves as plain text.

use axum::body::Body;
use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use whistle_domain::ValueError;
use whistle_persistence::RepoError;

use crate::i18n::Lang;

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
    /// 500: a bug or an unexpected failure. The detail is logged, never sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
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
            ApiError::DatabaseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
            ApiError::Internal(_) => "internal_error",
        }
    }
}

/// A domain value that failed to parse is a 422 naming the field.
impl From<ValueError> for ApiError {
    fn from(e: ValueError) -> Self {
        ApiError::Unprocessable {
            code: "invalid_value",
            detail: e.to_string(),
            field: Some(e.field.to_owned()),
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
            RepoError::Conflict(what) => ApiError::Conflict {
                code: "conflict",
                detail: format!("conflicts with existing data: {what}"),
            },
            RepoError::Reference(what) => ApiError::Unprocessable {
                code: "unknown_reference",
                detail: format!("refers to something that does not exist: {what}"),
                field: None,
            },
            RepoError::Db(db) if is_connectivity(&db) => {
                ApiError::DatabaseUnavailable(db.to_string())
            }
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        RepoError::from(e).into()
    }
}

/// Connection-level failures mean "try again later", not "bug": they become 503 so load
/// balancers and clients back off. Besides a pool timeout or a refused connection, that includes
/// a pooled connection that breaks under a statement: a connection used moments ago is handed
/// out without a ping (`whistle_persistence::db::connect`), so when the server goes away the
/// first statement on it is what finds out.
fn is_connectivity(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Query(RuntimeErr::SqlxError(inner)) | DbErr::Exec(RuntimeErr::SqlxError(inner)) => {
            match inner.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // 57014 query_canceled: the server's statement_timeout stopped the statement.
                sqlx::Error::Database(db) => db.code().as_deref() == Some("57014"),
                _ => false,
            }
        }
        _ => false,
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
        }
    }

    fn render(mut self, lang: Lang) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.title = title(&self.code, status, lang).to_owned();
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

/// Titles by code, falling back to one per status.
fn title(code: &str, status: StatusCode, lang: Lang) -> &'static str {
    let (zh, en) = match code {
        "outside_city" => ("位置不在本市网格内", "Location outside the city"),
        "invalid_coordinate" => ("坐标无效", "Invalid coordinate"),
        "route_not_found" => ("接口不存在", "No such endpoint"),
        "database_unavailable" => ("数据库不可用", "Database unavailable"),
        "invalid_credentials" => ("用户名或密码错误", "Wrong username or password"),
        "account_locked" => ("账号已临时锁定", "Account temporarily locked"),
        "account_disabled" => ("账号已停用", "Account disabled"),
        "unauthenticated" => ("请先登录", "Login required"),
        "invalid_token" => ("登录凭证无效或已过期", "Invalid or expired token"),
        "invalid_code" => ("验证码错误或已失效", "Wrong or expired verification code"),
        "illegal_transition" => (
            "当前状态不允许该操作",
            "Action not allowed in the current status",
        ),
        "version_conflict" | "precondition_failed" => {
            ("案件已被他人修改", "The case was changed by someone else")
        }
        "unknown_category" => ("未知的问题类别", "Unknown category"),
        "case_not_found" => ("案件不存在", "No such case"),
        "invalid_span" => ("结束时间须晚于开始时间", "The work ends before it starts"),
        "point_outside_community" => ("位置不在该社区内", "Location outside the community"),
        "grid_not_in_community" => ("网格不属于该社区", "Grid not in the community"),
        "work_log_not_found" => ("工作记录不存在", "No such work log"),
        "invalid_characters" => (
            "输入含有不允许的控制字符",
            "Input contains control characters",
        ),
        "date_out_of_range" => (
            "日期须在 2000 年至 2100 年之间",
            "Dates must fall in the years 2000–2100",
        ),
        "idempotency_key_reused" => (
            "该幂等键已用于另一请求，请为新的上报换用新键",
            "Idempotency-Key already used for a different request",
        ),
        "image_too_large" => ("图片像素过多", "Image has too many pixels"),
        // Accounts: password change and reset, sessions, login throttling.
        "login_throttled" => (
            "登录失败次数过多，请稍后再试",
            "Too many failed logins; wait before trying again",
        ),
        "password_change_required" => (
            "密码已被管理员重置，请先修改密码",
            "Password reset by an administrator; change it first",
        ),
        "wrong_password" => ("当前密码不正确", "The current password is wrong"),
        "weak_password" => ("密码强度不足", "Password too weak"),
        "password_unchanged" => (
            "新密码不能与当前密码相同",
            "The new password is the current one",
        ),
        "session_not_found" => ("会话不存在或已结束", "No such session"),
        _ => match status {
            StatusCode::BAD_REQUEST => ("请求格式错误", "Malformed request"),
            StatusCode::UNAUTHORIZED => ("未登录或凭证无效", "Not authenticated"),
            StatusCode::FORBIDDEN => ("无权操作", "Forbidden"),
            StatusCode::NOT_FOUND => ("未找到", "Not found"),
            StatusCode::METHOD_NOT_ALLOWED => ("不支持该请求方法", "Method not allowed"),
            StatusCode::REQUEST_TIMEOUT => ("请求超时", "Request timed out"),
            StatusCode::CONFLICT => ("与现有数据冲突", "Conflict"),
            StatusCode::PAYLOAD_TOO_LARGE => ("请求体过大", "Request body too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ("不支持的内容类型", "Unsupported media type"),
            StatusCode::UNPROCESSABLE_ENTITY => ("输入内容无效", "Invalid input"),
            StatusCode::TOO_MANY_REQUESTS => ("请求过于频繁", "Too many requests"),
            StatusCode::SERVICE_UNAVAILABLE => ("服务暂不可用", "Service unavailable"),
            s if s.is_server_error() => ("服务器内部错误", "Internal server error"),
            _ => ("请求失败", "Request failed"),
        },
    };
    lang.pick(zh, en)
}

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
pub async fn finish_problems(req: Request, next: Next) -> Response {
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
    // Open311 has its own error body; its handlers write it, and errors from outside them (405,
    // 408, 413) are rewritten into it here.
    if path.starts_with("/open311/") {
        if res
            .extensions()
            .get::<crate::routes::open311::wire::Rendered>()
            .is_some()
        {
            return res;
        }
        let (parts, _) = res.into_parts();
        let mut rendered = crate::routes::open311::error_for_status(&path, status);
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
    fn a_connection_that_breaks_under_a_statement_is_a_503() {
        use sea_orm::{DbErr, RuntimeErr, sqlx};
        let broken = || {
            RuntimeErr::SqlxError(std::sync::Arc::new(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset by peer",
            ))))
        };
        for e in [DbErr::Query(broken()), DbErr::Exec(broken())] {
            let api = ApiError::from(e);
            assert_eq!(api.status().as_u16(), 503);
            assert_eq!(api.code(), "database_unavailable");
        }
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
                RepoError::Conflict("users.username".into()).into(),
                409,
                "conflict",
            ),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (
                ApiError::DatabaseUnavailable("db".into()),
                503,
                "database_unavailable",
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
        assert_eq!(
            title("outside_city", StatusCode::NOT_FOUND, Lang::En),
            "Location outside the city"
        );
        assert_eq!(title("whatever", StatusCode::NOT_FOUND, Lang::Zh), "未找到");
    }
}
