//! Print links: a short-lived signed URL for a printable resource, for a browser that cannot send
//! the Bearer header (see `crate::signed_link`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::app::community::load_community;
use crate::app::merchants::readable_pledge;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, CurrentUser};
use crate::signed_link;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_print_link))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PrintLinkRequest {
    /// The printable resource, one of `/api/v1/pledges/{id}/document`,
    /// `/api/v1/communities/{id}/contact-card.svg` or `/api/v1/communities/{id}/contact-card.png`
    /// (no query string).
    pub path: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PrintLinkDto {
    /// The path with `?expires=…&signature=…`, relative to the server: open it in a browser, no
    /// login needed until `expires_at`. It opens this one resource only.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// What a print link may point at.
enum Printable {
    PledgeDocument(i64),
    ContactCard(i64),
}

fn printable(path: &str) -> Option<Printable> {
    let id = |s: &str| {
        // Canonical decimal only, so one resource has exactly one signable path.
        s.parse::<i64>()
            .ok()
            .filter(|n| *n > 0 && n.to_string() == s)
    };
    if let Some(rest) = path.strip_prefix("/api/v1/pledges/") {
        return rest
            .strip_suffix("/document")
            .and_then(id)
            .map(Printable::PledgeDocument);
    }
    if let Some(rest) = path.strip_prefix("/api/v1/communities/") {
        return rest
            .strip_suffix("/contact-card.svg")
            .or_else(|| rest.strip_suffix("/contact-card.png"))
            .and_then(id)
            .map(Printable::ContactCard);
    }
    None
}

/// A signed link to a printable resource the caller may read, valid for
/// `app.print_link_ttl_secs` (5 minutes by default). Tampering with the link answers 403
/// `signed_link_invalid`, an expired one 401 `signed_link_expired`.
#[utoipa::path(post, path = "/api/v1/print-links", tag = "community",
    request_body = PrintLinkRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = PrintLinkDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_print_link(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<PrintLinkRequest>,
) -> Result<(StatusCode, Json<PrintLinkDto>), ApiError> {
    let path = req.path.trim();
    match printable(path).ok_or_else(|| ApiError::Unprocessable {
        code: "not_printable",
        detail: "path must be /api/v1/pledges/{id}/document or \
                 /api/v1/communities/{id}/contact-card.svg|.png"
            .into(),
        field: Some("path".into()),
    })? {
        Printable::PledgeDocument(id) => {
            readable_pledge(&state, &p, id).await?;
        }
        Printable::ContactCard(id) => {
            load_community(&state, id).await?;
        }
    }
    let link = signed_link::sign(&state, path, state.now());
    Ok((
        StatusCode::CREATED,
        Json(PrintLinkDto {
            url: link.url,
            expires_at: link.expires_at,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_printable_paths_in_canonical_form() {
        assert!(matches!(
            printable("/api/v1/pledges/12/document"),
            Some(Printable::PledgeDocument(12))
        ));
        assert!(matches!(
            printable("/api/v1/communities/3/contact-card.png"),
            Some(Printable::ContactCard(3))
        ));
        assert!(matches!(
            printable("/api/v1/communities/3/contact-card.svg"),
            Some(Printable::ContactCard(3))
        ));
        for bad in [
            "/api/v1/pledges/012/document",
            "/api/v1/pledges/+1/document",
            "/api/v1/pledges/0/document",
            "/api/v1/pledges/1/signature",
            "/api/v1/communities/3/contact-card",
            "/api/v1/cases/1",
            "/api/v1/pledges/1/document?x=1",
        ] {
            assert!(printable(bad).is_none(), "{bad}");
        }
    }
}
