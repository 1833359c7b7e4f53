//! API keys of Open311 client applications, issued and revoked by admins (here or with
//! `whistle-api admin api-key …`). The key is shown once, when it is created; only its SHA-256 is
//! stored. Issuing and revoking are audited in the same transaction as the change. Keys are
//! credentials of client applications, so managing them takes the same permission as managing
//! accounts (`ManageUsers`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource};
use whistle_domain::ids::UserId;
use whistle_domain::text::Name;
use whistle_persistence::repo::api_keys::{self, ApiKey};

use crate::app::access::require;
use crate::app::api_keys::{Issuer, issue, revoke};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ClientIp, CurrentUser};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewApiKeyRequest {
    /// The client application, e.g. `街道微信小程序` (1–100 characters).
    pub name: String,
}

/// A key as stored: never the key itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyDto {
    pub id: i64,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub hint: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub active: bool,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        ApiKeyDto {
            active: k.is_active(),
            id: k.id,
            name: k.name.to_string(),
            hint: k.hint,
            created_by: k.created_by.map(UserId::get),
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// A key just issued, with the key itself: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedApiKeyDto {
    #[serde(flatten)]
    pub key: ApiKeyDto,
    /// Give this to the client application (its `api_key`); it cannot be shown again.
    pub api_key: String,
}

fn may_manage(p: &Principal) -> Result<(), ApiError> {
    Ok(require(p, Action::ManageUsers, &Resource::city())?)
}

/// The API keys, oldest first (never the keys themselves).
#[utoipa::path(get, path = "/api/v1/admin/api-keys", tag = "api-keys",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ApiKeyDto>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_keys(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<Vec<ApiKeyDto>>, ApiError> {
    may_manage(&p)?;
    let keys = api_keys::list(&state.db).await?;
    Ok(Json(keys.into_iter().map(ApiKeyDto::from).collect()))
}

/// Issue a key to a client application. The answer carries the key; it is not shown again.
#[utoipa::path(post, path = "/api/v1/admin/api-keys", tag = "api-keys",
    request_body = NewApiKeyRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = IssuedApiKeyDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_key(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<NewApiKeyRequest>,
) -> Result<(StatusCode, Json<IssuedApiKeyDto>), ApiError> {
    may_manage(&p)?;
    let name = Name::parse(&req.name)?;
    let (key, plaintext) = issue(&state.db, &name, Issuer::admin(&p, &ip, state.now())).await?;
    tracing::info!(
        api_key_id = key.id,
        user_id = p.user_id.get(),
        "api key issued"
    );
    Ok((
        StatusCode::CREATED,
        Json(IssuedApiKeyDto {
            key: key.into(),
            api_key: plaintext,
        }),
    ))
}

/// Revoke a key: its client can no longer create requests. Revoking twice is harmless.
#[utoipa::path(post, path = "/api/v1/admin/api-keys/{id}/revoke", tag = "api-keys",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = ApiKeyDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_key(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ApiKeyDto>, ApiError> {
    may_manage(&p)?;
    let key = revoke(&state.db, id, Issuer::admin(&p, &ip, state.now())).await?;
    tracing::info!(
        api_key_id = key.id,
        user_id = p.user_id.get(),
        "api key revoked"
    );
    Ok(Json(key.into()))
}
