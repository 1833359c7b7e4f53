//! Ending every session of one's own account at once (a lost phone, a shared computer).

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::app::sessions as app_sessions;
use crate::error::{ApiError, Problem};
use crate::extract::{ClientIp, CurrentUser};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(logout_everywhere))
}

/// Log out everywhere: every refresh token of the caller's account is revoked, and every access
/// token issued until now is refused from the next request on, this one's included.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session of the account has ended"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
async fn logout_everywhere(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ClientIp(ip): ClientIp,
) -> Result<StatusCode, ApiError> {
    app_sessions::end_all(&state, p.user_id, &ip).await?;
    Ok(StatusCode::NO_CONTENT)
}
