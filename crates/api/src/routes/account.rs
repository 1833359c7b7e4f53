//! The owner's own account: changing the password, and the sessions (logins) it has open.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_domain::ids::UserId;
use whistle_persistence::repo::sessions;

use crate::app::password::{self, ChangePassword};
use crate::app::sessions as app_sessions;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ClientIp, CurrentSession};
use crate::state::AppState;
use crate::wire::accounts::{SessionDto, user_agent};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(change_password))
        .routes(routes!(list_sessions))
        .routes(routes!(end_session))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    /// The password in use now (after an admin's reset: the temporary one).
    pub current_password: String,
    /// 8–128 characters mixing at least two of letters, digits, other characters; not
    /// containing the username or phone number, and not the current password.
    pub new_password: String,
}

/// A session of the caller's account: one login, kept alive by its refresh tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountSessionDto {
    /// Give to `DELETE /api/v1/me/sessions/{id}` to end it.
    pub id: String,
    /// When the login happened.
    pub started_at: DateTime<Utc>,
    /// When it last got tokens (the login or its last refresh).
    pub last_used_at: DateTime<Utc>,
    /// When it ends unless refreshed.
    pub expires_at: DateTime<Utc>,
    /// The program that last used it, as it named itself (`User-Agent`).
    pub user_agent: Option<String>,
    /// The address it was last used from.
    pub client_ip: Option<String>,
    /// Whether this is the session the request came with.
    pub current: bool,
}

/// Change one's own password, giving the current one.
///
/// Every session of the account ends — its refresh tokens are revoked and access tokens issued
/// until now are refused — because a password is changed when it may be known to someone else.
/// The caller's own session goes on: the answer carries a fresh access and refresh token for it
/// (same `session_id`), which replace the ones the client held. This is also how an account whose
/// password an admin reset gets its full access back (the limited token is accepted here).
///
/// Wrong current passwords are counted like failed logins from the caller's session: after
/// `auth.login_free_failures` of them it must wait (`429 login_throttled`).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed; every other session ended; fresh tokens for this one", body = SessionDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`wrong_password` (the current one), `weak_password` or `password_unchanged` (the new one)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong current passwords; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
async fn change_password(
    State(state): State<AppState>,
    session: CurrentSession,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<Json<SessionDto>, ApiError> {
    state.auth.throttle_address(&ip)?;
    let session = password::change(
        &state,
        ChangePassword {
            user: session.principal.user_id,
            session_id: session.session_id.clone(),
            current: &req.current_password,
            new: &req.new_password,
            ip: &ip,
            user_agent: user_agent(&headers),
        },
    )
    .await?;
    Ok(Json(SessionDto::from(session)))
}

fn full_session(session: &CurrentSession) -> Result<UserId, ApiError> {
    if session.password_change_required {
        return Err(ApiError::forbidden(
            "password_change_required",
            "the password was reset by an administrator: change it with POST /api/v1/me/password \
             before anything else",
        ));
    }
    Ok(session.principal.user_id)
}

/// The caller's sessions that can still be refreshed, most recently used first.
///
/// `current` marks the one the request's access token belongs to (tokens issued before
/// sessions were named mark none).
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<AccountSessionDto>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The password must be changed first (`password_change_required`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_sessions(
    State(state): State<AppState>,
    session: CurrentSession,
) -> Result<Json<Vec<AccountSessionDto>>, ApiError> {
    let uid = full_session(&session)?;
    let live = sessions::list_live(&state.db, uid, state.now()).await?;
    Ok(Json(
        live.into_iter()
            .map(|s| AccountSessionDto {
                current: session.session_id.as_deref() == Some(s.id.as_str()),
                id: s.id,
                started_at: s.started_at,
                last_used_at: s.last_used_at,
                expires_at: s.expires_at,
                user_agent: s.user_agent,
                client_ip: s.client_ip,
            })
            .collect(),
    ))
}

/// End one of the caller's sessions (a phone left somewhere, a shared computer).
///
/// Its refresh token stops working at once. An access token it already holds runs out within
/// its lifetime (`auth.access_ttl_secs`); `POST /api/v1/auth/logout-all` ends those at once too.
/// A session that is not the caller's, or already ended, is a 404.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = String, Path, description = "The session's id from GET /api/v1/me/sessions")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The password must be changed first (`password_change_required`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No live session of the caller with this id (`session_not_found`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn end_session(
    State(state): State<AppState>,
    session: CurrentSession,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let uid = full_session(&session)?;
    app_sessions::end_one(&state, uid, &id, &ip).await?;
    Ok(StatusCode::NO_CONTENT)
}
