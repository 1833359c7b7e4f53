//! Short-lived signed links for printing (打印链接).
//!
//! A browser cannot send a Bearer header when someone clicks a link or hands a URL to the print
//! dialog, so a printable resource (a pledge document, a contact card) can also be opened with
//! `?expires=<unix seconds>&signature=<base64url>`: an HMAC-SHA256, under a key derived from the
//! server's token signing key, of the path and the expiry. The signature binds exactly one path,
//! so a link to one pledge opens no other, and it stops working at `expires`
//! (`app.print_link_ttl_secs` after it was issued, 5 minutes by default).
//!
//! Whoever asks for a link must be allowed to read the resource at that moment
//! (`POST /api/v1/print-links`); the link carries that permission for its few minutes, the way a
//! downloaded copy would.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use whistle_auth::Principal;
use whistle_auth::token::keyed_digest;

use crate::error::ApiError;
use crate::extract::MaybeUser;
use crate::state::AppState;

/// The signing key of print links, derived so that it is never the token key itself.
fn key(state: &AppState) -> [u8; 32] {
    keyed_digest(&state.auth.tracking_secret, b"whistle/print-links/v1")
}

fn mac(key: &[u8; 32], path: &str, expires: i64) -> [u8; 32] {
    keyed_digest(key, format!("GET\n{path}\n{expires}").as_bytes())
}

/// A link to `path` valid until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLink {
    /// `path?expires=…&signature=…`, relative to the server.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Signs `path` (no query string) for `app.print_link_ttl_secs` from `now`.
pub fn sign(state: &AppState, path: &str, now: DateTime<Utc>) -> SignedLink {
    let ttl = state.settings.app.print_link_ttl_secs.clamp(1, 24 * 3600);
    let expires = now.timestamp() + ttl;
    let signature = URL_SAFE_NO_PAD.encode(mac(&key(state), path, expires));
    SignedLink {
        url: format!("{path}?expires={expires}&signature={signature}"),
        expires_at: DateTime::from_timestamp(expires, 0).unwrap_or(now),
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Missing half, malformed, or not made by this server for this path and expiry.
    Invalid,
    /// Genuine but past its expiry.
    Expired,
}

impl From<LinkError> for ApiError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::Invalid => ApiError::forbidden(
                "signed_link_invalid",
                "the link's signature does not match this address; ask for a new print link",
            ),
            LinkError::Expired => ApiError::unauthorized(
                "signed_link_expired",
                "the print link has expired; ask for a new one",
            ),
        }
    }
}

/// Checks a signature for `path`. The signature is compared before the expiry, so a tampered
/// expiry is "invalid", never "expired".
pub fn verify(
    key: &[u8; 32],
    path: &str,
    expires: i64,
    signature: &str,
    now: DateTime<Utc>,
) -> Result<(), LinkError> {
    let given = URL_SAFE_NO_PAD
        .decode(signature.trim())
        .map_err(|_| LinkError::Invalid)?;
    let expected = mac(key, path, expires);
    if given.len() != expected.len()
        || given
            .iter()
            .zip(expected.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            != 0
    {
        return Err(LinkError::Invalid);
    }
    if now.timestamp() >= expires {
        return Err(LinkError::Expired);
    }
    Ok(())
}

/// The query parameters of a signed link.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkParams {
    /// Unix seconds after which the link no longer works (from `POST /api/v1/print-links`).
    pub expires: Option<String>,
    /// Base64url HMAC of the path and `expires` (from `POST /api/v1/print-links`).
    pub signature: Option<String>,
}

/// How a printable resource was opened: with a Bearer token, a valid signed link for exactly
/// this path, or neither. A signature that was sent but fails is refused (403
/// `signed_link_invalid`, 401 `signed_link_expired`), never treated as absent; so is a broken
/// Bearer token.
#[derive(Debug, Clone)]
pub enum PrintAccess {
    User(Principal),
    Link,
    Anonymous,
}

impl FromRequestParts<AppState> for PrintAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let params = axum::extract::Query::<LinkParams>::try_from_uri(&parts.uri)
            .map_err(|_| LinkError::Invalid)?
            .0;
        match (params.expires, params.signature) {
            (None, None) => {}
            (Some(expires), Some(signature)) => {
                let expires: i64 = expires.trim().parse().map_err(|_| LinkError::Invalid)?;
                verify(
                    &key(state),
                    parts.uri.path(),
                    expires,
                    &signature,
                    state.now(),
                )?;
                return Ok(PrintAccess::Link);
            }
            _ => return Err(LinkError::Invalid.into()),
        }
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await?;
        Ok(user.map_or(PrintAccess::Anonymous, PrintAccess::User))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn signature(path: &str, expires: i64) -> String {
        URL_SAFE_NO_PAD.encode(mac(&KEY, path, expires))
    }

    #[test]
    fn a_link_opens_its_own_path_until_it_expires() {
        let path = "/api/v1/pledges/3/document";
        let sig = signature(path, 1_000);
        assert_eq!(verify(&KEY, path, 1_000, &sig, at(999)), Ok(()));
        assert_eq!(
            verify(&KEY, path, 1_000, &sig, at(1_000)),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn tampering_with_path_expiry_or_signature_is_invalid() {
        let path = "/api/v1/pledges/3/document";
        let sig = signature(path, 1_000);
        let other = "/api/v1/pledges/4/document";
        assert_eq!(
            verify(&KEY, other, 1_000, &sig, at(0)),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            verify(&KEY, path, 2_000, &sig, at(0)),
            Err(LinkError::Invalid)
        );
        // A later expiry on an expired link is still invalid, not "expired".
        assert_eq!(
            verify(&KEY, path, 500, &sig, at(900)),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            verify(&KEY, path, 1_000, "not base64!", at(0)),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            verify(&[8; 32], path, 1_000, &sig, at(0)),
            Err(LinkError::Invalid)
        );
        let mut short = sig.clone();
        short.truncate(10);
        assert_eq!(
            verify(&KEY, path, 1_000, &short, at(0)),
            Err(LinkError::Invalid)
        );
    }
}
