//! Extractors: axum's own with their rejections turned into [`ApiError`] problem bodies (axum's
//! rejections are plain text), and the authentication extractors.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use whistle_auth::Principal;
use whistle_auth::token::TokenError;

use crate::error::ApiError;
use crate::state::AppState;

/// `axum::Json` whose rejection is a problem+json, and whose strings pass the input screen
/// ([`crate::screen::json`]) before they are typed.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // Read as a document first, so the screen sees every string whatever `T` keeps of it;
        // the bodies are small and the cost is nothing beside a statement.
        let axum::Json(document) =
            axum::Json::<serde_json::Value>::from_request(req, state).await?;
        crate::screen::json(&document)?;
        serde_path_to_error::deserialize(document)
            .map(ApiJson)
            .map_err(|e| ApiError::Unprocessable {
                code: "invalid_body",
                detail: format!("Failed to deserialize the JSON body into the target type: {e}"),
                field: None,
            })
    }
}

/// `axum::extract::Query` whose rejection is a problem+json.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` whose rejection is a problem+json.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The authenticated caller. Rejects with 401 `unauthenticated` when there is no bearer token,
/// 401 `token_expired` when the token is genuine but past its lifetime (the client should
/// refresh), and 401 `invalid_token` when it does not verify at all (log in again); the reason
/// is logged.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Principal);

/// The caller if a bearer token was sent. A token that was sent but does not verify is still a
/// 401: a client with a broken token must not be silently treated as anonymous.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<Principal>);

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("invalid_token", "malformed Authorization header"))?;
    let (scheme, token) = text
        .split_once(' ')
        .ok_or_else(|| ApiError::unauthorized("invalid_token", "expected: Bearer <token>"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthorized(
            "invalid_token",
            "expected: Bearer <token>",
        ));
    }
    Ok(Some(token.trim()))
}

/// The authenticated caller with its session: which login it is, and whether it may only change
/// its password. The one extractor that accepts a token of an account whose password an admin
/// reset; `POST /api/v1/me/password` uses it.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub principal: Principal,
    /// The session (refresh-token family) of the token; `None` for tokens issued before tokens
    /// named it.
    pub session_id: Option<String>,
    pub password_change_required: bool,
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts)? {
            Some(token) => verify_session(state, token).await,
            None => Err(ApiError::unauthorized(
                "unauthenticated",
                "this endpoint needs a bearer access token",
            )),
        }
    }
}

/// A token that may only change its password is refused everywhere else with 403
/// `password_change_required`, so a client knows to show the change form.
async fn verify(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let session = verify_session(state, token).await?;
    if session.password_change_required {
        tracing::info!(target: "whistle::audit", user_id = session.principal.user_id.get(), "token limited to changing the password");
        return Err(ApiError::forbidden(
            "password_change_required",
            "the password was reset by an administrator: change it with POST /api/v1/me/password \
             before anything else",
        ));
    }
    Ok(session.principal)
}

async fn verify_session(state: &AppState, token: &str) -> Result<CurrentSession, ApiError> {
    let verified = state.auth.keys.verify_issued(token).map_err(|e| {
        tracing::info!(target: "whistle::audit", reason = %e, "access token refused");
        match e {
            TokenError::Expired => ApiError::unauthorized(
                "token_expired",
                "the access token has expired; get a new one with the refresh token",
            ),
            _ => {
                ApiError::unauthorized("invalid_token", "the access token is invalid; log in again")
            }
        }
    })?;
    let principal = verified.principal;
    state.cutoffs.refresh_if_due(&state.db, state.now()).await;
    if state
        .cutoffs
        .refuses(principal.user_id, verified.issued_at_ms)
    {
        tracing::warn!(target: "whistle::audit", user_id = principal.user_id.get(), "access token of an ended session refused");
        return Err(ApiError::unauthorized(
            "invalid_token",
            "this session has ended (account disabled, role or jurisdiction changed, password \
             changed or reset, or logged out everywhere); refresh or log in again",
        ));
    }
    Ok(CurrentSession {
        principal,
        session_id: verified.session.session_id,
        password_change_required: verified.session.password_change_required,
    })
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts)? {
            Some(token) => verify(state, token).await.map(CurrentUser),
            None => Err(ApiError::unauthorized(
                "unauthenticated",
                "this endpoint needs a bearer access token",
            )),
        }
    }
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer(parts)? {
            Some(token) => verify(state, token).await.map(|p| MaybeUser(Some(p))),
            None => Ok(MaybeUser(None)),
        }
    }
}

/// The client's address: the socket peer, or, when configured to trust the proxy in front, the
/// `X-Forwarded-For` entry `limits.forwarded_for_hops` from the right — the address our own
/// proxy saw. The entries before it are whatever the client sent, and taking the first one (as
/// was done before) let any client pose as any address, a known one included.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.auth.trust_forwarded_for
            && let Some(seen) = forwarded_client(
                parts.headers.get_all("x-forwarded-for"),
                state.auth.forwarded_for_hops,
            )
        {
            return Ok(ClientIp(seen.to_string()));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(ClientIp(peer))
    }
}

/// The `X-Forwarded-For` entry `hops` from the right, over every such header in order (a proxy
/// may add a header instead of extending one).
fn forwarded_client(
    values: axum::http::header::GetAll<'_, axum::http::HeaderValue>,
    hops: u32,
) -> Option<IpAddr> {
    let entries: Vec<&str> = values
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let index = entries.len().checked_sub(hops.max(1) as usize)?;
    entries[index].parse().ok()
}

/// The `Idempotency-Key` header: 1–100 visible ASCII characters, or none.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=100).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1–100 visible ASCII characters",
            )
        })?;
    Ok(Some(key.to_owned()))
}

/// The header an anonymous reporter sends the tracking token of their case in.
pub const TRACKING_HEADER: &str = "x-tracking-token";

/// Who acts on one case: an account (the policy decides what it may do), or the anonymous
/// reporter holding that case's tracking token (which opens that case and no other).
#[derive(Debug, Clone)]
pub enum CaseCaller {
    Account(Principal),
    Reporter,
}

/// Without a login the case's tracking token must come along: none is 401, a wrong one is
/// answered like a missing case (404), so a token cannot be used to probe which ids exist.
pub async fn case_caller(
    state: &AppState,
    case_id: whistle_domain::ids::CaseId,
    viewer: Option<Principal>,
    headers: &HeaderMap,
) -> Result<CaseCaller, ApiError> {
    if let Some(p) = viewer {
        return Ok(CaseCaller::Account(p));
    }
    let Some(token) = headers.get(TRACKING_HEADER).and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::unauthorized(
            "unauthenticated",
            "log in or send the case's X-Tracking-Token",
        ));
    };
    let stored = whistle_persistence::repo::cases::tracking_hash(&state.db, case_id).await?;
    match stored {
        Some(h) if token.len() <= 128 && whistle_auth::refresh::hash(token) == h => {
            Ok(CaseCaller::Reporter)
        }
        _ => Err(ApiError::not_found("case_not_found", "no such case")),
    }
}

#[cfg(test)]
mod forwarded_tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    fn client(values: &[&str], hops: u32) -> Option<String> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        forwarded_client(h.get_all("x-forwarded-for"), hops).map(|ip| ip.to_string())
    }

    #[test]
    fn the_address_our_proxy_saw_wins_over_what_the_client_wrote() {
        // The client wrote 10.1.1.1; our proxy appended the address it really came from.
        assert_eq!(
            client(&["10.1.1.1, 203.0.113.7"], 1).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            client(&["10.1.1.1", "203.0.113.7"], 1).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(client(&["203.0.113.7"], 1).as_deref(), Some("203.0.113.7"));
        // Two proxies of ours: the second appended the first's address.
        assert_eq!(
            client(&["10.1.1.1, 203.0.113.7, 192.168.0.2"], 2).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(client(&["203.0.113.7"], 2), None);
        assert_eq!(client(&["not-an-address"], 1), None);
        assert_eq!(client(&[], 1), None);
    }
}
