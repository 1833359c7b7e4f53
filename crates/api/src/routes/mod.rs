//! The HTTP surface: one router per module, merged here with the OpenAPI document and the
//! cross-cutting layers (request id, tracing, limits, timeouts, compression, problem bodies).

pub mod account;
pub mod admin;
pub mod analytics;
pub mod api_keys;
pub mod attachments;
pub mod auth;
pub mod cases;
pub mod catalogue;
pub mod categories;
pub mod community;
pub mod feedback;
pub mod geography;
pub mod health;
pub mod merchants;
pub mod notifications;
pub mod open311;
pub mod places;
pub mod print_links;
pub mod sessions;
pub mod worklogs;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ApiError, ErrorDialect, finish_problems};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Whistle (吹哨) API",
        description = "Urban-management case handling for communities: residents blow the whistle, \
                       the stationed officer reports for duty. Errors are RFC 9457 \
                       application/problem+json with a stable `code`.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "geography", description = "Districts, streets, communities, grids; locating a point"),
        (name = "catalogue", description = "Case categories"),
        (name = "auth", description = "Registration, login, sessions"),
        (name = "cases", description = "Reporting, following and handling cases"),
        (name = "admin", description = "Account management and the audit log (admins)"),
        (name = "community", description = "Stationed officers, contact cards, partner organisations (城管进社区)"),
        (name = "merchants", description = "Merchants, four-responsibility pledges (门前四包) and inspections"),
        (name = "work-logs", description = "Officers' work records (线上工作记录) and the 721 mix"),
        (name = "open311", description = "Open311 GeoReport v2 (XML or JSON by suffix; the spec's own error bodies, not problem+json)"),
        (name = "api-keys", description = "API keys of Open311 client applications (admins)"),
        (name = "notifications", description = "In-app inbox, notification settings, and the outbox with its dead letters (admins)"),
        (name = "analytics", description = "Figures for leaders: on-time rates, hot spots, problem tracing (溯源), workload, CSV exports"),
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

/// Declares the `bearer` security scheme (JWT access tokens from `/api/v1/auth/login`).
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Access token from /api/v1/auth/login or /refresh"))
                    .build(),
            ),
        );
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The parts of the API with an error body of their own.
const ERROR_DIALECTS: &[ErrorDialect] = &[open311::ERROR_DIALECT];

/// Every route with its OpenAPI description, before state and layers.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(geography::router())
        .merge(categories::router())
        .merge(auth::router())
        .merge(sessions::router())
        .merge(account::router())
        .merge(admin::router())
        .merge(cases::router())
        .merge(catalogue::router())
        .merge(attachments::router())
        .merge(feedback::router())
        .merge(community::router())
        .merge(merchants::router())
        .merge(worklogs::router())
        .merge(places::router())
        .merge(open311::router())
        .merge(api_keys::router())
        .merge(notifications::router())
        .merge(analytics::router())
        .merge(print_links::router())
}

/// The OpenAPI document (also served at `/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_router().into_openapi();
    document_password_change_required(&mut doc);
    doc
}

/// An account whose password an admin reset holds a token every authenticated endpoint refuses
/// with 403 `password_change_required` (see `extract::CurrentUser`): each operation that
/// documents a 401 documents that 403 as well, where it had none.
fn document_password_change_required(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            let responses = &mut op.responses.responses;
            if responses.contains_key("401") && !responses.contains_key("403") {
                let problem = ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build();
                responses.insert(
                    "403".to_owned(),
                    RefOr::T(
                        ResponseBuilder::new()
                            .description(
                                "The password was reset by an administrator and must be changed \
                                 first (`password_change_required`)",
                            )
                            .content(crate::error::PROBLEM_JSON, problem)
                            .build(),
                    ),
                );
            }
        }
    }
}

/// The complete application: routes, docs, and layers.
pub fn app(state: AppState) -> Router {
    let (routes, mut openapi) = api_router().split_for_parts();
    document_password_change_required(&mut openapi);
    let settings = state.settings.clone();
    let routes = routes
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .merge(crate::web::router())
        .fallback(|| async { ApiError::not_found("route_not_found", "no such endpoint") })
        .with_state(state);

    // Outermost first: the request id exists before the trace span opens; problem bodies are
    // finished after every inner layer (timeout, body limit) had its say.
    routes.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                }),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            // Compression wraps the problem rewriter: a body rewritten after compression would
            // go out as plain JSON under the compressed body's `Content-Encoding`.
            .layer(CompressionLayer::new())
            .layer(axum::middleware::from_fn_with_state(
                ERROR_DIALECTS,
                finish_problems,
            ))
            .layer(CatchPanicLayer::custom(|_| {
                tracing::error!("handler panicked");
                axum::http::Response::builder()
                    .status(StatusCode::INTERNAL_SERVER_ERROR)
                    .body(axum::body::Body::empty())
                    .unwrap_or_default()
            }))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(settings.server.request_timeout_secs.max(1)),
            ))
            .layer(axum::middleware::from_fn_with_state(
                ERROR_DIALECTS,
                crate::screen::screen_uri,
            ))
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_secs(settings.database.statement_timeout_secs.max(1)),
                crate::deadline::database_deadline,
            ))
            .layer(DefaultBodyLimit::max(settings.server.body_limit_bytes))
            // The hard cap lets photo uploads through; JSON bodies keep the smaller limit above.
            .layer(RequestBodyLimitLayer::new(
                settings
                    .server
                    .body_limit_bytes
                    .max(settings.attachments.max_bytes + 64 * 1024),
            )),
    )
}

#[cfg(test)]
mod layering_tests {
    /// A route file reaches shared things through `crate::wire`, `crate::app` and the like,
    /// never through another route file (Open311's files are one adapter and share theirs).
    #[test]
    fn no_route_file_imports_another() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") || path.ends_with("mod.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // A file's own unit tests may use `super::*`.
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            assert!(
                !text.contains("crate::routes::") && !text.contains("super::"),
                "{} imports another route file",
                path.display()
            );
            checked += 1;
        }
        assert!(checked >= 15, "only {checked} route files");
    }

    /// The routes translate; the use cases under `app/` hold the transactions. No file under
    /// `routes/` (folders included) names sea-orm.
    #[test]
    fn no_route_file_opens_a_transaction() {
        let mut checked = 0;
        for path in crate::rust_files_under("src/routes") {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            assert!(
                !text.contains("sea_orm") && !text.contains(".begin()"),
                "{} opens a transaction or names sea-orm",
                path.display()
            );
            checked += 1;
        }
        assert!(checked >= 35, "only {checked} route files");
    }
}
