//! Open311 GeoReport v2 under `/open311/v2`, so that existing Open311 apps and client libraries
//! work against Whistle unchanged.
//!
//! - `discovery.{fmt}` — the endpoint, its formats, who runs it and how to get a key.
//! - `services.{fmt}`, `services/{code}.{fmt}` — the active case categories and their questions.
//! - `POST requests.{fmt}` — a report, through the one intake path of the native API
//!   (`cases::intake` with `Channel::Open311`), form-encoded or multipart with a `media` photo;
//!   needs an API key issued by an admin.
//! - `GET requests.{fmt}`, `requests/{id}.{fmt}`, `tokens/{token}.{fmt}` — public reads: the
//!   reporter's name, phone and e-mail never appear, points are rounded as on the public map.
//!
//! Every resource ends in `.json` or `.xml` (the spec's mandatory format); one [`wire::Node`]
//! tree is written as either. Errors are the spec's own body, `[{"code", "description"}]` or
//! `<errors><error>…`, never problem+json: 404 for what does not exist (an unknown resource,
//! format suffix, service code, request, token or `jurisdiction_id`), 403 for a missing, wrong or
//! revoked `api_key`, 400 for everything else — also for failures on our side, as the spec asks.
//! An empty optional parameter is the same as an absent one.

mod intake;
mod requests;
mod services;
pub mod wire;

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use whistle_persistence::RepoError;

use crate::app::AppError;
use crate::config::Environment;
use crate::error::{ApiError, ErrorDialect};
use crate::i18n::Lang;
use crate::state::AppState;
use wire::{Format, Node};

/// The spec's token for this interface (discovery `specification`).
const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";

#[derive(OpenApi)]
#[openapi(paths(
    discovery,
    services::service_list,
    services::service_definition,
    intake::create_request,
    requests::list_requests,
    requests::get_request,
    requests::get_token,
))]
struct Open311Doc;

/// Routes: axum cannot match a parameter followed by a suffix (`{code}.json`), so each resource
/// takes its whole last segment and splits the suffix itself ([`Format::split`]); the OpenAPI
/// document names the resources as the spec writes them (`services/{service_code}.{format}`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(Open311Doc::openapi())
        .route("/open311/v2/{file}", get(get_resource).post(post_resource))
        .route("/open311/v2/services/{file}", get(get_service_definition))
        .route("/open311/v2/requests/{file}", get(get_one_request))
        .route("/open311/v2/tokens/{file}", get(get_one_token))
        // A POST may carry a photo: its size is checked while reading (attachments.max_bytes);
        // form-encoded bodies keep the server's body limit (see `requests::read_body`).
        .layer(DefaultBodyLimit::disable())
}

// ---- errors --------------------------------------------------------------------------------

/// An Open311 error: the status (404, 403 or 400 for the client's mistakes; 408, 500 or 503 for
/// ours) and a description meant for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open311Error {
    pub status: StatusCode,
    pub description: String,
}

impl Open311Error {
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            description: description.into(),
        }
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            description: description.into(),
        }
    }

    /// A failure on our side (500, 503), in the spec's body: clients retry these, so they must
    /// not look like a bad request.
    pub fn server(status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
        }
    }

    pub fn forbidden(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            description: description.into(),
        }
    }

    pub fn respond(&self, format: Format) -> Response {
        wire::error_response(format, self.status, &self.description)
    }
}

/// The native API's errors in Open311's terms: what does not exist stays 404 (except a point
/// outside the city, which is bad input), refusals of the caller are 403, the rest 400.
/// Internal failures are logged in full and described to the client only generally, as 500 (or
/// 503 while the database is unreachable) so that clients retry instead of dropping the report.
impl From<ApiError> for Open311Error {
    fn from(e: ApiError) -> Self {
        match e.plain() {
            ApiError::NotFound { code, detail } if code != "outside_city" => {
                Open311Error::not_found(detail)
            }
            ApiError::Unauthorized { detail, .. } | ApiError::Forbidden { detail, .. } => {
                Open311Error::forbidden(detail)
            }
            ApiError::Internal(e) => internal(&e),
            ApiError::DatabaseUnavailable(detail) | ApiError::StorageUnavailable(detail) => {
                tracing::warn!(%detail, "database or photo storage unavailable");
                unavailable()
            }
            ApiError::UnsupportedMediaType { .. } => {
                Open311Error::bad_request("media must be a JPEG, PNG or WebP photo")
            }
            ApiError::PayloadTooLarge => Open311Error::bad_request("the request is too large"),
            other => Open311Error::bad_request(other.to_string()),
        }
    }
}

/// A use case's refusal in the spec's words: what does not exist is 404, what is refused 403,
/// anything else about the request 400; the server's own trouble 500 or 503, never in detail.
impl From<AppError> for Open311Error {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound { detail, .. } => Open311Error::not_found(detail),
            AppError::Forbidden { detail, .. } | AppError::Unauthenticated { detail, .. } => {
                Open311Error::forbidden(detail)
            }
            AppError::Throttled { detail, .. } => Open311Error::bad_request(detail),
            AppError::Invalid { detail, .. } | AppError::Conflict { detail, .. } => {
                Open311Error::bad_request(detail)
            }
            AppError::Taken { .. } => {
                Open311Error::bad_request("the request conflicts with existing data")
            }
            AppError::Stale { .. } => {
                Open311Error::bad_request("the request changed meanwhile: retry")
            }
            AppError::Repo(e) => e.into(),
            AppError::Internal(e) => internal(&e),
        }
    }
}

impl From<RepoError> for Open311Error {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound(what) => Open311Error::not_found(format!("{what} not found")),
            RepoError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                unavailable()
            }
            RepoError::Conflict(_) | RepoError::Reference(_) => {
                Open311Error::bad_request("the request conflicts with existing data")
            }
            other => internal(&anyhow::Error::new(other)),
        }
    }
}

fn internal(e: &anyhow::Error) -> Open311Error {
    tracing::error!(error = ?e, "internal error in Open311");
    Open311Error::server(
        StatusCode::INTERNAL_SERVER_ERROR,
        "general service error: the request could not be processed; \
         quote the x-request-id header when reporting it",
    )
}

fn unavailable() -> Open311Error {
    Open311Error::server(
        StatusCode::SERVICE_UNAVAILABLE,
        "the service is temporarily unavailable; retry later",
    )
}

/// Open311's errors for what happens outside its handlers (`crate::error::ErrorDialect`).
pub const ERROR_DIALECT: ErrorDialect = ErrorDialect {
    prefix: "/open311/",
    for_status: error_for_status,
    bad_request: bad_request_for,
};

/// An error response for anything under `/open311/` that did not come from a handler (a 405
/// from the router, a 408 from the timeout layer, a 413 from the body limit): the spec's body in
/// the format the path asks for: 404 kept, our own failures and timeouts kept (clients retry
/// them), everything else 400.
pub fn error_for_status(path: &str, status: StatusCode) -> Response {
    let format = Format::guess(path);
    let error = match status {
        StatusCode::NOT_FOUND => Open311Error::not_found("no such resource"),
        StatusCode::FORBIDDEN => Open311Error::forbidden("forbidden"),
        StatusCode::METHOD_NOT_ALLOWED => {
            Open311Error::bad_request("this method is not supported on this resource")
        }
        StatusCode::PAYLOAD_TOO_LARGE => Open311Error::bad_request("the request is too large"),
        // Transient: kept as they are so that clients retry.
        StatusCode::REQUEST_TIMEOUT => Open311Error::server(status, "the request took too long"),
        s if s.is_server_error() => Open311Error::server(
            s,
            "general service error: the request could not be processed; \
             quote the x-request-id header when reporting it",
        ),
        s => Open311Error::bad_request(
            s.canonical_reason()
                .unwrap_or("the request could not be processed")
                .to_ascii_lowercase(),
        ),
    };
    error.respond(format)
}

/// The spec's 400 for a request refused before any Open311 handler ran (the input screen), in
/// the format its path asks for.
pub fn bad_request_for(path: &str, detail: &str) -> Response {
    Open311Error::bad_request(detail.to_owned()).respond(Format::guess(path))
}

// ---- parameters ----------------------------------------------------------------------------

/// The parameters of a request (query string, and the form for POST), in the order sent.
///
/// The spec's "optional" means an empty parameter is treated exactly like an absent one, so
/// every lookup skips empty values.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// From the query string of `uri`; 400 when it does not parse.
    pub fn from_query(uri: &Uri) -> Result<Self, Open311Error> {
        if uri.query().is_none() {
            return Ok(Self::default());
        }
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
            .map_err(|e| Open311Error::bad_request(format!("query string: {}", e.body_text())))?;
        Ok(Self(pairs))
    }

    /// 400 when a parameter fails the input screen (`crate::screen`); the query string was
    /// screened before the handler ran, a form body is screened here.
    pub fn screen(&self) -> Result<(), Open311Error> {
        for (name, value) in &self.0 {
            crate::screen::text(name, name)
                .and_then(|()| crate::screen::text(name, value))
                .map_err(|e| Open311Error::bad_request(e.to_string()))?;
        }
        Ok(())
    }

    pub fn extend(&mut self, more: Params) {
        self.0.extend(more.0);
    }

    /// The first non-empty value of `name`, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
    }

    /// Every value of a list parameter, given comma-separated, repeated, or both.
    pub fn list(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Every pair, for parameters named by pattern (`attribute[code]`).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// One jurisdiction per deployment: none or the configured one is accepted; any other is the
/// spec's 404 "jurisdiction_id provided was not found".
fn check_jurisdiction(state: &AppState, params: &Params) -> Result<(), Open311Error> {
    let ours = state.settings.open311.jurisdiction_id.trim();
    match params.get("jurisdiction_id") {
        None => Ok(()),
        Some(j) if j.eq_ignore_ascii_case(ours) => Ok(()),
        Some(j) => Err(Open311Error::not_found(format!(
            "jurisdiction_id {:?} not found; this endpoint serves {ours}",
            j.chars().take(60).collect::<String>()
        ))),
    }
}

// ---- shared rendering helpers --------------------------------------------------------------

/// The city's local offset: Open311 times carry it (`2026-11-25T14:03:00+08:00`).
fn local_offset(state: &AppState) -> FixedOffset {
    state.city().fixed()
}

/// W3C/ISO 8601 with the city's offset, to the second.
fn w3_time(state: &AppState, t: DateTime<Utc>) -> String {
    t.with_timezone(&local_offset(state))
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The answer to a path without a suffix we serve: 404, in XML (the spec's mandatory format).
fn unknown_format() -> Response {
    Open311Error::not_found("no such resource: resources end in .xml or .json (e.g. services.xml)")
        .respond(Format::Xml)
}

// ---- dispatch ------------------------------------------------------------------------------

/// `GET /open311/v2/{discovery|services|requests}.{fmt}`.
async fn get_resource(
    State(state): State<AppState>,
    Path(file): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some((resource, format)) = Format::split(&file) else {
        return unknown_format();
    };
    let lang = Lang::from_headers(&headers);
    let params = match Params::from_query(&uri) {
        Ok(p) => p,
        Err(e) => return e.respond(format),
    };
    let result = match resource {
        "discovery" => {
            discovery(&state, &params).map(|n| n.respond(format, StatusCode::OK, "discovery"))
        }
        "services" => services::service_list(&state, &params, lang)
            .await
            .map(|n| n.respond(format, StatusCode::OK, "services")),
        // Up to a thousand requests: written out as the connection takes them.
        "requests" => requests::list_requests(&state, &params, lang)
            .await
            .map(|page| {
                wire::respond_list(format, "service_requests", "request", page.into_nodes())
            }),
        _ => Err(Open311Error::not_found(format!(
            "no such resource: {}",
            resource.chars().take(60).collect::<String>()
        ))),
    };
    result.unwrap_or_else(|e| e.respond(format))
}

/// `POST /open311/v2/requests.{fmt}`.
async fn post_resource(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
    req: Request,
) -> Response {
    let Some((resource, format)) = Format::split(&file) else {
        return unknown_format();
    };
    let result = match resource {
        "requests" => intake::create_request(&state, &headers, req).await,
        "discovery" | "services" => Err(Open311Error::bad_request(format!(
            "{resource} is read with GET"
        ))),
        _ => Err(Open311Error::not_found(format!(
            "no such resource: {}",
            resource.chars().take(60).collect::<String>()
        ))),
    };
    match result {
        Ok(node) => node.respond(format, StatusCode::OK, "service_requests"),
        Err(e) => e.respond(format),
    }
}

/// `GET /open311/v2/services/{code}.{fmt}`.
async fn get_service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some((code, format)) = Format::split(&file) else {
        return unknown_format();
    };
    let result = match Params::from_query(&uri) {
        Ok(params) => {
            services::service_definition(&state, code, &params, Lang::from_headers(&headers)).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(node) => node.respond(format, StatusCode::OK, "service_definition"),
        Err(e) => e.respond(format),
    }
}

/// `GET /open311/v2/requests/{id}.{fmt}`.
async fn get_one_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some((id, format)) = Format::split(&file) else {
        return unknown_format();
    };
    let result = match Params::from_query(&uri) {
        Ok(params) => {
            requests::get_request(&state, id, &params, Lang::from_headers(&headers)).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(node) => node.respond(format, StatusCode::OK, "service_requests"),
        Err(e) => e.respond(format),
    }
}

/// `GET /open311/v2/tokens/{token}.{fmt}`.
async fn get_one_token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    uri: Uri,
) -> Response {
    let Some((token, format)) = Format::split(&file) else {
        return unknown_format();
    };
    let result = match Params::from_query(&uri) {
        Ok(params) => requests::get_token(&state, token, &params).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(node) => node.respond(format, StatusCode::OK, "service_requests"),
        Err(e) => e.respond(format),
    }
}

// ---- discovery -----------------------------------------------------------------------------

/// The discovery document.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoveryDoc {
    /// When the document (and the service list) last changed; sortable.
    pub changeset: String,
    pub contact: String,
    /// How a client application gets an API key.
    pub key_service: String,
    pub endpoints: Vec<EndpointDoc>,
}

/// One endpoint of the discovery document.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointDoc {
    /// `http://wiki.open311.org/GeoReport_v2`.
    pub specification: String,
    pub url: String,
    pub changeset: String,
    /// `production`, or `test` outside production.
    #[serde(rename = "type")]
    pub kind: String,
    /// `text/xml`, `application/json`.
    pub formats: Vec<String>,
}

impl From<DiscoveryDoc> for Node {
    fn from(d: DiscoveryDoc) -> Node {
        Node::Record(vec![
            ("changeset", Node::Text(d.changeset)),
            ("contact", Node::Text(d.contact)),
            ("key_service", Node::Text(d.key_service)),
            (
                "endpoints",
                Node::list(
                    "endpoint",
                    d.endpoints.into_iter().map(|e| {
                        Node::Record(vec![
                            ("specification", Node::Text(e.specification)),
                            ("url", Node::Text(e.url)),
                            ("changeset", Node::Text(e.changeset)),
                            ("type", Node::Text(e.kind)),
                            (
                                "formats",
                                Node::list("format", e.formats.into_iter().map(Node::Text)),
                            ),
                        ])
                    }),
                ),
            ),
        ])
    }
}

/// Service discovery: where the GeoReport v2 endpoint is, which formats it speaks, who runs it
/// and how to get an API key.
#[utoipa::path(get, path = "/open311/v2/discovery.{format}", tag = "open311",
    params(
        ("format" = String, Path, description = "`xml` or `json`"),
        ("jurisdiction_id" = Option<String>, Query),
    ),
    responses(
        (status = 200, content((DiscoveryDoc = "application/json"), (DiscoveryDoc = "text/xml"))),
        (status = 404, description = "Unknown format or jurisdiction_id", content((Vec<ErrorDoc> = "application/json"), (Vec<ErrorDoc> = "text/xml"))),
    ))]
fn discovery(state: &AppState, params: &Params) -> Result<Node, Open311Error> {
    check_jurisdiction(state, params)?;
    let settings = &state.settings;
    let changeset = settings.open311.changeset.clone();
    Ok(DiscoveryDoc {
        changeset: changeset.clone(),
        contact: settings.open311.contact.clone(),
        key_service: settings.open311.key_service.clone(),
        endpoints: vec![EndpointDoc {
            specification: SPECIFICATION.to_owned(),
            url: format!(
                "{}/open311/v2",
                settings.server.public_base_url.trim_end_matches('/')
            ),
            changeset,
            kind: match settings.app.environment {
                Environment::Production => "production",
                Environment::Development => "test",
            }
            .to_owned(),
            formats: vec!["text/xml".to_owned(), "application/json".to_owned()],
        }],
    }
    .into())
}

/// One error of the spec's error body (`<errors><error>…` in XML).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDoc {
    /// The HTTP status: 400, 403 or 404.
    pub code: u16,
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_parameters_count_as_absent() {
        let p = Params::new(vec![
            ("status".into(), "".into()),
            ("status".into(), " open ".into()),
            ("service_code".into(), "noise, ,006".into()),
            ("service_code".into(), "street_vending".into()),
            ("page".into(), " ".into()),
        ]);
        assert_eq!(p.get("status"), Some("open"));
        assert_eq!(p.get("page"), None);
        assert_eq!(p.get("absent"), None);
        assert_eq!(
            p.list("service_code"),
            vec!["noise", "006", "street_vending"]
        );
        assert!(p.list("page").is_empty());
    }

    #[test]
    fn native_errors_map_to_the_spec_codes() {
        let cases: Vec<(ApiError, u16)> = vec![
            (ApiError::not_found("case_not_found", "x"), 404),
            (ApiError::not_found("outside_city", "x"), 400),
            (ApiError::forbidden("forbidden", "x"), 403),
            (ApiError::bad_request("x", "y"), 400),
            (
                ApiError::Unprocessable {
                    code: "invalid_value",
                    detail: "d".into(),
                    field: None,
                },
                400,
            ),
            (ApiError::PayloadTooLarge, 400),
            (ApiError::Internal(anyhow::anyhow!("secret detail")), 500),
            (ApiError::DatabaseUnavailable("secret detail".into()), 503),
        ];
        for (e, status) in cases {
            let mapped = Open311Error::from(e);
            assert_eq!(mapped.status.as_u16(), status, "{mapped:?}");
            assert!(!mapped.description.contains("secret"));
        }
        for (status, kept) in [(405, 400), (413, 400), (404, 404), (408, 408), (503, 503)] {
            let res = error_for_status(
                "/open311/v2/requests.json",
                StatusCode::from_u16(status).unwrap(),
            );
            assert_eq!(res.status().as_u16(), kept, "{status}");
        }
    }
}
