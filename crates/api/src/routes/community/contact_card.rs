//! The community contact card (社区联系牌): who is stationed here and how to reach them, as
//! JSON, SVG or PNG (signed print links for the PNG and SVG).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use whistle_domain::ids::UserId;
use whistle_persistence::repo::community;

use crate::app::community::load_community;
use crate::card;
use crate::error::{ApiError, Problem};
use crate::extract::ApiPath;
use crate::signed_link::{LinkParams, PrintAccess};
use crate::state::AppState;
use crate::wire::AreaRef;

// ---- contact card ---------------------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct CardOfficerDto {
    pub officer_id: i64,
    pub name: String,
    pub badge_number: String,
    pub phone: Option<String>,
    /// The portrait, if one was uploaded.
    pub photo_url: Option<String>,
    pub duties: Option<String>,
    pub enforcement_scope: Option<String>,
    pub office_hours: Option<String>,
}

/// The community contact card (社区联系牌): who is stationed here and how to reach them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactCardDto {
    pub community: AreaRef,
    pub street: AreaRef,
    pub district: AreaRef,
    pub bureau: String,
    pub officers: Vec<CardOfficerDto>,
    pub hotline: String,
    /// Where the card's QR code leads: the reporting page for this community.
    pub report_url: String,
    pub svg_url: String,
    pub png_url: String,
}

/// Builds the card's content: officers stationed today (enabled accounts only).
pub(crate) async fn card_of(state: &AppState, id: i64) -> Result<ContactCardDto, ApiError> {
    let place = load_community(state, id).await?;
    let list = community::of_community(&state.db, place.community.id, Some(state.today())).await?;
    let ids: Vec<UserId> = list.iter().map(|s| s.officer_id).collect();
    let officers = community::card_officers(&state.db, &ids).await?;
    let mut out = Vec::new();
    for s in &list {
        let Some(o) = officers
            .iter()
            .find(|o| o.user_id == s.officer_id && !o.disabled)
        else {
            continue;
        };
        out.push(CardOfficerDto {
            officer_id: o.user_id.get(),
            name: o.name.clone(),
            badge_number: o.badge_number.clone(),
            phone: s.contact_phone.clone().or_else(|| o.phone.clone()),
            photo_url: o
                .has_photo
                .then(|| format!("/api/v1/officers/{}/photo", o.user_id)),
            duties: s.duties.clone(),
            enforcement_scope: s.enforcement_scope.clone(),
            office_hours: s.office_hours.clone(),
        });
    }
    let app = &state.settings.app;
    let base = state.settings.server.public_base_url.trim_end_matches('/');
    Ok(ContactCardDto {
        report_url: format!("{base}/report?community={}", place.community.code.as_str()),
        svg_url: format!(
            "/api/v1/communities/{}/contact-card.svg",
            place.community.id
        ),
        png_url: format!(
            "/api/v1/communities/{}/contact-card.png",
            place.community.id
        ),
        bureau: format!("{}{}", place.district.name.as_str(), app.bureau_suffix),
        hotline: app.hotline.clone(),
        community: (&place.community).into(),
        street: (&place.street).into(),
        district: (&place.district).into(),
        officers: out,
    })
}

/// The community contact card as JSON. Public: the card hangs at the community's gate.
#[utoipa::path(get, path = "/api/v1/communities/{id}/contact-card", tag = "community",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = ContactCardDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn contact_card(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ContactCardDto>, ApiError> {
    Ok(Json(card_of(&state, id).await?))
}

fn card_input(dto: &ContactCardDto) -> card::ContactCard {
    card::ContactCard {
        community_name: dto.community.name.clone(),
        street_name: dto.street.name.clone(),
        district_name: dto.district.name.clone(),
        bureau_name: dto.bureau.clone(),
        office_hours: dto.officers.iter().find_map(|o| o.office_hours.clone()),
        officers: dto
            .officers
            .iter()
            .map(|o| card::CardOfficer {
                name: o.name.clone(),
                badge_number: o.badge_number.clone(),
                phone: o.phone.clone(),
                duties: o.duties.clone(),
                enforcement_scope: o.enforcement_scope.clone(),
            })
            .collect(),
        report_url: dto.report_url.clone(),
        hotline: Some(dto.hotline.clone()),
    }
}

/// Renders off the async workers: drawing a card takes tens of milliseconds of CPU.
pub(super) async fn render<T: Send + 'static>(
    state: &AppState,
    id: i64,
    f: fn(&card::ContactCard) -> Result<T, card::CardError>,
) -> Result<T, ApiError> {
    let input = card_input(&card_of(state, id).await?);
    let missing = card::missing_glyphs(&input);
    if !missing.is_empty() {
        let list: Vec<String> = missing
            .iter()
            .map(|c| format!("{c} (U+{:04X})", u32::from(*c)))
            .collect();
        return Err(ApiError::Unprocessable {
            code: "glyph_missing",
            detail: format!(
                "the card's font cannot draw {}; it would print as a box. Add the character \
                 to the embedded font (crates/api/assets/fonts/make_subset.py) or correct the text",
                list.join(", ")
            ),
            field: None,
        });
    }
    tokio::task::spawn_blocking(move || f(&input))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("rendering a contact card")))
}

/// The printable contact card as SVG (A5 proportions; text drawn as outlines, so it shows the
/// same without Chinese fonts), with a QR code to the community's reporting page. Public, like
/// the card on the wall; a print link's `expires`/`signature`, if given, must hold. A name or
/// text with a character the card's font lacks is refused (422 `glyph_missing`, the characters
/// in the detail) rather than printed as a box.
#[utoipa::path(get, path = "/api/v1/communities/{id}/contact-card.svg", tag = "community",
    params(("id" = i64, Path), LinkParams),
    responses(
        (status = 200, description = "SVG image", content_type = "image/svg+xml"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn contact_card_svg(
    State(state): State<AppState>,
    _access: PrintAccess,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let svg = render(&state, id, card::render_svg).await?;
    Ok(bytes_response("image/svg+xml", svg.into_bytes()))
}

/// The printable contact card as PNG (1240×1760, A5 at about 213 dpi). Access and
/// `glyph_missing` as for the SVG.
#[utoipa::path(get, path = "/api/v1/communities/{id}/contact-card.png", tag = "community",
    params(("id" = i64, Path), LinkParams),
    responses(
        (status = 200, description = "PNG image", content_type = "image/png"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn contact_card_png(
    State(state): State<AppState>,
    _access: PrintAccess,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let png = render(&state, id, card::render_png).await?;
    Ok(bytes_response("image/png", png))
}

/// Serves bytes with a content type (the rendered card).
fn bytes_response(content_type: &'static str, bytes: Vec<u8>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    (StatusCode::OK, headers, bytes).into_response()
}
