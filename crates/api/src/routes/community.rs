//! Community operations around people: stationing officers in communities (派驻), the community
//! contact card (社区联系牌), officers' portraits, and partner organisations (城管+物业).

use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource, may_somewhere};
use whistle_domain::ids::{CommunityId, UserId};
use whistle_domain::jurisdiction::{Area, Jurisdiction};
use whistle_domain::people::{PhoneNumber, Role};
use whistle_domain::stationing::OrganisationKind;
use whistle_domain::text::{Name, clean_text};
use whistle_persistence::RepoError;
use whistle_persistence::repo::audit::{self, AuditEntry, AuditEvent};
use whistle_persistence::repo::community::{self, Organisation, Stationing};
use whistle_persistence::repo::users;

use crate::app::access::require;
use crate::app::community::{load_community, path_of};
use crate::app::stationing::{self, Station};
use crate::card;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::media_store;
use crate::signed_link::{LinkParams, PrintAccess};
use crate::state::AppState;
use crate::wire::AreaRef;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_stationing))
        .routes(routes!(end_stationing))
        .routes(routes!(community_stationings))
        .routes(routes!(officer_stationings))
        .routes(routes!(officer_directory))
        .routes(routes!(contact_card))
        .routes(routes!(contact_card_svg))
        .routes(routes!(contact_card_png))
        .routes(routes!(create_organisation, list_organisations))
        .routes(routes!(get_organisation))
        .routes(routes!(add_member))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(put_officer_photo, get_officer_photo))
                .layer(DefaultBodyLimit::disable()),
        )
}

fn optional_text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    Ok(raw
        .filter(|s| !s.trim().is_empty())
        .map(|s| clean_text(field, s, max, true))
        .transpose()?)
}

fn parse_date(field: &'static str, raw: &str) -> Result<NaiveDate, ApiError> {
    raw.trim().parse().map_err(|_| ApiError::Unprocessable {
        code: "invalid_date",
        detail: format!("{field} must be a date YYYY-MM-DD"),
        field: Some(field.into()),
    })
}

// ---- stationing -----------------------------------------------------------------------------

/// Station an officer in a community.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewStationingRequest {
    /// The officer's account id.
    pub officer_id: i64,
    pub community_id: i64,
    /// What the officer does there (up to 1000 characters).
    pub duties: Option<String>,
    /// Which matters the officer may enforce (执法范围).
    pub enforcement_scope: Option<String>,
    /// e.g. `周一至周五 8:30–17:30`.
    pub office_hours: Option<String>,
    /// The phone printed on the contact card (the account's phone when absent).
    pub contact_phone: Option<String>,
    /// First day, `YYYY-MM-DD` (default: today).
    pub starts_on: Option<String>,
    /// Last day, inclusive (default: open-ended).
    pub ends_on: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StationingDto {
    pub id: i64,
    pub officer_id: i64,
    pub officer_name: Option<String>,
    pub badge_number: Option<String>,
    pub community_id: i64,
    pub duties: Option<String>,
    pub enforcement_scope: Option<String>,
    pub office_hours: Option<String>,
    pub contact_phone: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// Running today.
    pub current: bool,
    pub created_at: DateTime<Utc>,
}

async fn stationing_dtos(
    state: &AppState,
    list: Vec<Stationing>,
) -> Result<Vec<StationingDto>, ApiError> {
    let ids: Vec<UserId> = list.iter().map(|s| s.officer_id).collect();
    let officers = community::card_officers(&state.db, &ids).await?;
    let today = state.today();
    Ok(list
        .into_iter()
        .map(|s| {
            let o = officers.iter().find(|o| o.user_id == s.officer_id);
            StationingDto {
                id: s.id,
                officer_id: s.officer_id.get(),
                officer_name: o.map(|o| o.name.clone()),
                badge_number: o.map(|o| o.badge_number.clone()),
                community_id: s.community_id.get(),
                duties: s.duties,
                enforcement_scope: s.enforcement_scope,
                office_hours: s.office_hours,
                contact_phone: s.contact_phone,
                starts_on: s.period.starts_on(),
                ends_on: s.period.ends_on(),
                current: s.period.contains(today),
                created_at: s.created_at,
            }
        })
        .collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OfficerQuery {
    /// Text in the officer's name or badge number.
    pub q: Option<String>,
    /// At most this many (default 50, at most 200).
    pub limit: Option<u64>,
}

/// An enabled officer, for choosing whom to station or dispatch.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryOfficerDto {
    pub id: i64,
    pub name: String,
    pub badge_number: String,
    pub squad: Option<String>,
    /// The community he is stationed in today, if any.
    pub stationed_in: Option<AreaRef>,
}

/// The bureau's enabled officers by badge number (names and badges only; no phone numbers), for
/// those who station or dispatch them: leaders and the command centre.
#[utoipa::path(get, path = "/api/v1/officers", tag = "community",
    params(OfficerQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<DirectoryOfficerDto>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn officer_directory(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<OfficerQuery>,
) -> Result<Json<Vec<DirectoryOfficerDto>>, ApiError> {
    if !(may_somewhere(p.role, Action::ManageStationing)
        || may_somewhere(p.role, Action::DispatchCase))
    {
        return Err(ApiError::forbidden(
            "forbidden",
            "only those who station or dispatch officers may list them",
        ));
    }
    let limit = match q.limit {
        None => 50,
        Some(n @ 1..=200) => n,
        Some(_) => {
            return Err(ApiError::Unprocessable {
                code: "invalid_value",
                detail: "limit must be 1 to 200".into(),
                field: Some("limit".into()),
            });
        }
    };
    let text: Option<String> = q.q.as_deref().map(|t| t.trim().chars().take(50).collect());
    let found =
        community::officer_directory(&state.db, text.as_deref(), state.today(), limit).await?;
    let mut out = Vec::with_capacity(found.len());
    let mut names: std::collections::HashMap<CommunityId, AreaRef> = Default::default();
    for o in found {
        let stationed_in = match o.stationed_in {
            Some(c) => match names.entry(c) {
                std::collections::hash_map::Entry::Occupied(known) => Some(known.get().clone()),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    let place = load_community(&state, c.get()).await?;
                    Some(slot.insert(AreaRef::from(&place.community)).clone())
                }
            },
            None => None,
        };
        out.push(DirectoryOfficerDto {
            id: o.user_id.get(),
            name: o.name,
            badge_number: o.badge_number,
            squad: o.squad,
            stationed_in,
        });
    }
    Ok(Json(out))
}

/// Station an officer in a community (派驻). An officer serves one community at a time:
/// periods of one officer may not overlap (409 `stationing_overlaps`). The community is added to
/// the officer's jurisdiction if it is not already covered, so the officer can handle its cases.
#[utoipa::path(post, path = "/api/v1/stationings", tag = "community",
    request_body = NewStationingRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = StationingDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Overlaps another stationing of the officer", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_stationing(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<NewStationingRequest>,
) -> Result<(StatusCode, Json<StationingDto>), ApiError> {
    let command = Station {
        officer_id: req.officer_id,
        community_id: req.community_id,
        duties: optional_text("duties", req.duties.as_deref(), 1_000)?,
        enforcement_scope: optional_text(
            "enforcement_scope",
            req.enforcement_scope.as_deref(),
            1_000,
        )?,
        office_hours: optional_text("office_hours", req.office_hours.as_deref(), 200)?,
        contact_phone: req
            .contact_phone
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                // Named as the request names it, so the form shows it at its field.
                PhoneNumber::parse(s).map_err(|e| whistle_domain::ValueError {
                    field: "contact_phone",
                    ..e
                })
            })
            .transpose()?,
        starts_on: req
            .starts_on
            .as_deref()
            .map(|s| parse_date("starts_on", s))
            .transpose()?,
        ends_on: req
            .ends_on
            .as_deref()
            .map(|s| parse_date("ends_on", s))
            .transpose()?,
    };
    let stored = stationing::station(&state, &p, command).await?;
    let mut dto = stationing_dtos(&state, vec![stored]).await?;
    let dto = dto
        .pop()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stationing vanished")))?;
    Ok((StatusCode::CREATED, Json(dto)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EndStationingRequest {
    /// Last day, inclusive, `YYYY-MM-DD` (default: today).
    pub ends_on: Option<String>,
}

/// End a stationing (the history is kept).
#[utoipa::path(post, path = "/api/v1/stationings/{id}/end", tag = "community",
    params(("id" = i64, Path)), request_body = EndStationingRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = StationingDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn end_stationing(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<EndStationingRequest>,
) -> Result<Json<StationingDto>, ApiError> {
    let ends_on = req
        .ends_on
        .as_deref()
        .map(|d| parse_date("ends_on", d))
        .transpose()?;
    let stored = stationing::end(&state, &p, id, ends_on).await?;
    let mut dto = stationing_dtos(&state, vec![stored]).await?;
    dto.pop()
        .map(Json)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stationing vanished")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StationingQuery {
    /// `true`: the whole history, newest first; default: who is stationed today.
    pub history: Option<bool>,
}

fn require_staff(p: &Principal) -> Result<(), ApiError> {
    match p.role {
        Role::Resident | Role::Partner => Err(ApiError::forbidden(
            "forbidden",
            "only staff read stationing records",
        )),
        _ => Ok(()),
    }
}

/// A community's stationed officers (today), or its stationing history.
#[utoipa::path(get, path = "/api/v1/communities/{id}/stationings", tag = "community",
    params(("id" = i64, Path), StationingQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<StationingDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn community_stationings(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<StationingQuery>,
) -> Result<Json<Vec<StationingDto>>, ApiError> {
    require_staff(&p)?;
    let place = load_community(&state, id).await?;
    let on = (!q.history.unwrap_or(false)).then(|| state.today());
    let list = community::of_community(&state.db, place.community.id, on).await?;
    Ok(Json(stationing_dtos(&state, list).await?))
}

/// An officer's stationing history, oldest first.
#[utoipa::path(get, path = "/api/v1/officers/{id}/stationings", tag = "community",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<StationingDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn officer_stationings(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<StationingDto>>, ApiError> {
    require_staff(&p)?;
    let Ok(officer) = UserId::new(id) else {
        return Ok(Json(Vec::new()));
    };
    let list = community::of_officer(&state.db, officer).await?;
    Ok(Json(stationing_dtos(&state, list).await?))
}

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
async fn contact_card(
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
async fn render<T: Send + 'static>(
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
async fn contact_card_svg(
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
async fn contact_card_png(
    State(state): State<AppState>,
    _access: PrintAccess,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let png = render(&state, id, card::render_png).await?;
    Ok(bytes_response("image/png", png))
}

// ---- officers' portraits --------------------------------------------------------------------

/// Upload an officer's portrait for the contact card: the officer themself, or a leader who
/// may station officers in one of the officer's communities.
#[utoipa::path(put, path = "/api/v1/officers/{id}/photo", tag = "community",
    params(("id" = i64, Path)), security(("bearer" = [])),
    request_body(content = crate::wire::PhotoForm, content_type = "multipart/form-data"),
    responses(
        (status = 204, description = "Stored"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Over the pixel limit (`image_too_large`) or not decodable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_officer_photo(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    form: Multipart,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::not_found("officer_not_found", "no such officer");
    let officer = UserId::new(id).map_err(|_| not_found())?;
    if officer != p.user_id {
        let stationed = community::of_officer(&state.db, officer).await?;
        let mut allowed = false;
        for s in &stationed {
            let place = load_community(&state, s.community_id.get()).await?;
            if require(&p, Action::ManageStationing, &Resource::at(path_of(&place))).is_ok() {
                allowed = true;
                break;
            }
        }
        if !allowed {
            return Err(ApiError::forbidden(
                "forbidden",
                "only the officer or their leader may change the portrait",
            ));
        }
    }
    let mut upload = media_store::read_upload(form, state.settings.attachments.max_bytes).await?;
    let image = media_store::store_image(&state, upload.take_file()?).await?;
    let txn = state.db.begin().await?;
    community::set_officer_photo(&txn, officer, &image.sha256, image.mime)
        .await
        .map_err(ApiError::when_missing(not_found()))?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An officer's portrait. Public, like the card it is printed on.
#[utoipa::path(get, path = "/api/v1/officers/{id}/photo", tag = "community",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_officer_photo(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("photo_not_found", "no portrait for this officer");
    let officer = UserId::new(id).map_err(|_| not_found())?;
    let (sha, mime) = community::officer_photo(&state.db, officer)
        .await
        .map_err(ApiError::when_missing(not_found()))?
        .ok_or_else(not_found)?;
    media_store::image_response(&state, &sha, &mime, "public, max-age=3600").await
}

/// Serves bytes with a content type (the rendered card).
pub(crate) fn bytes_response(content_type: &'static str, bytes: Vec<u8>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    (StatusCode::OK, headers, bytes).into_response()
}

// ---- partner organisations ------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewOrganisationRequest {
    /// `property_company` (物业公司) or `homeowners_committee` (业委会).
    pub kind: String,
    pub name: String,
    pub community_id: i64,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationDto {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub community_id: i64,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    /// Partner accounts of the organisation.
    pub member_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
}

async fn organisation_dto(state: &AppState, o: Organisation) -> Result<OrganisationDto, ApiError> {
    let members = community::members(&state.db, o.id).await?;
    Ok(OrganisationDto {
        id: o.id,
        kind: o.kind.as_str().to_owned(),
        name: o.name,
        community_id: o.community_id.get(),
        contact_name: o.contact_name,
        contact_phone: o.contact_phone,
        member_ids: members.into_iter().map(UserId::get).collect(),
        created_at: o.created_at,
    })
}

/// Register a property company or homeowners' committee serving a community (administrators).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "community",
    request_body = NewOrganisationRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = OrganisationDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_organisation(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<NewOrganisationRequest>,
) -> Result<(StatusCode, Json<OrganisationDto>), ApiError> {
    require(&p, Action::ManageUsers, &Resource::city())?;
    let kind = OrganisationKind::parse(req.kind.trim()).map_err(|_| ApiError::Unprocessable {
        code: "invalid_value",
        detail: "kind must be property_company or homeowners_committee".into(),
        field: Some("kind".into()),
    })?;
    let name = Name::parse(&req.name)?;
    let place = load_community(&state, req.community_id).await?;
    let contact_name = req
        .contact_name
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(Name::parse)
        .transpose()?;
    let contact_phone = req
        .contact_phone
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(PhoneNumber::parse)
        .transpose()?;
    let txn = state.db.begin().await?;
    let org = community::insert_organisation(
        &txn,
        kind,
        name.as_str(),
        place.community.id,
        contact_name.as_ref().map(Name::as_str),
        contact_phone.as_ref().map(PhoneNumber::as_str),
    )
    .await?;
    txn.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(organisation_dto(&state, org).await?),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrganisationQuery {
    pub community: Option<i64>,
}

/// Partner organisations, optionally of one community (staff).
#[utoipa::path(get, path = "/api/v1/organisations", tag = "community",
    params(OrganisationQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<OrganisationDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_organisations(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<OrganisationQuery>,
) -> Result<Json<Vec<OrganisationDto>>, ApiError> {
    require_staff(&p)?;
    let community = q.community.map(CommunityId::new).transpose()?;
    let list = community::list_organisations(&state.db, community).await?;
    let mut out = Vec::with_capacity(list.len());
    for o in list {
        out.push(organisation_dto(&state, o).await?);
    }
    Ok(Json(out))
}

/// One organisation: staff, and the organisation's own members.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "community",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = OrganisationDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_organisation(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<OrganisationDto>, ApiError> {
    let not_found = || ApiError::not_found("organisation_not_found", "no such organisation");
    let org = community::get_organisation(&state.db, id)
        .await
        .map_err(ApiError::when_missing(not_found()))?;
    let dto = organisation_dto(&state, org).await?;
    let member = dto.member_ids.contains(&p.user_id.get());
    if require_staff(&p).is_err() && !member {
        return Err(not_found());
    }
    Ok(Json(dto))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddMemberRequest {
    /// A partner account.
    pub user_id: i64,
}

/// Attach a partner account to an organisation (administrators). The account's jurisdiction
/// becomes the organisation's community: partners report and follow cases in their compound.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/members", tag = "community",
    params(("id" = i64, Path)), request_body = AddMemberRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = OrganisationDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_member(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<AddMemberRequest>,
) -> Result<Json<OrganisationDto>, ApiError> {
    require(&p, Action::ManageUsers, &Resource::city())?;
    let org = community::get_organisation(&state.db, id)
        .await
        .map_err(|e| match e {
            RepoError::NotFound(_) => {
                ApiError::not_found("organisation_not_found", "no such organisation")
            }
            other => other.into(),
        })?;
    let user_id = UserId::new(req.user_id)
        .map_err(|_| ApiError::not_found("user_not_found", "no such account"))?;
    let user = users::get_user(&state.db, user_id)
        .await
        .map_err(|e| match e {
            RepoError::NotFound(_) => ApiError::not_found("user_not_found", "no such account"),
            other => other.into(),
        })?;
    if user.role != Role::Partner {
        return Err(ApiError::Unprocessable {
            code: "not_a_partner",
            detail: "only partner accounts join organisations".into(),
            field: Some("user_id".into()),
        });
    }
    let jurisdiction = Jurisdiction::for_role(Role::Partner, [Area::Community(org.community_id)])?;
    let txn = state.db.begin().await?;
    community::set_member(&txn, org.id, user_id).await?;
    users::set_jurisdiction(&txn, user_id, &jurisdiction).await?;
    audit::record(
        &txn,
        AuditEvent::JurisdictionChanged,
        AuditEntry {
            actor: Some(p.user_id),
            subject: Some(user_id),
            username: None,
            ip: None,
            detail: Some(format!("member of organisation {} ({})", org.id, org.name)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Json(organisation_dto(&state, org).await?))
}
