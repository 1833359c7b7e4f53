//! Liveness and readiness probes.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the process serves requests; `ready` when its database answers too.
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness: the process is up and serving HTTP. Never touches the database, so an outage of the
/// database does not get the process restarted.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Readiness: the database answers. 503 while it does not; the pool reconnects by itself when
/// the database is back.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The database is unreachable", body = crate::error::Problem,
         content_type = "application/problem+json"),
    ))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let limit = Duration::from_secs(state.settings.database.acquire_timeout_secs.max(1));
    match tokio::time::timeout(limit, state.db.ping()).await {
        Ok(Ok(())) => Ok(Json(Health {
            status: "ready",
            version: env!("CARGO_PKG_VERSION"),
        })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(database_unavailable())
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            Err(database_unavailable())
        }
    }
}

fn database_unavailable() -> ApiError {
    ApiError::DatabaseUnavailable("readiness ping failed".into())
}
