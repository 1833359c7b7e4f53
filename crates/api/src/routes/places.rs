//! The address book (标准地址库): the picker that lets a hotline dispatcher or a resident name a
//! place instead of sending coordinates, and the admin import of a city's addresses.
//!
//! Intake places a report without coordinates by its `place_id` or by the entry its address text
//! names (see `whistle_domain::place::best_match`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::policy::{Action, Resource};
use whistle_domain::ids::{CommunityId, PlaceId};
use whistle_domain::location::{Coordinate, Crs};
use whistle_domain::place::{Place, PlaceKey, PlaceKind};
use whistle_domain::text::Name;
use whistle_persistence::repo::places;

use crate::app::access::require;
use crate::app::places::{self as places_app, MAX_IMPORT, PlaceEntry};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_places))
        .routes(routes!(get_place))
        .routes(routes!(import_places))
        .routes(routes!(retire_place))
}

// ---- wire types ----------------------------------------------------------------------------

/// An address-book entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceDto {
    pub id: i64,
    pub name: String,
    /// `address`, `building`, `landmark` or `community`.
    pub kind: String,
    /// WGS-84.
    pub lat: f64,
    pub lon: f64,
    pub grid_id: i64,
    pub community_id: i64,
    pub street_id: i64,
    pub district_id: i64,
    /// Retired entries no longer place new reports.
    pub active: bool,
}

impl From<&Place> for PlaceDto {
    fn from(p: &Place) -> Self {
        PlaceDto {
            id: p.id.get(),
            name: p.name.to_string(),
            kind: p.kind.as_str().to_owned(),
            lat: p.point.lat(),
            lon: p.point.lon(),
            grid_id: p.grid.grid_id.get(),
            community_id: p.area.community.get(),
            street_id: p.area.street.get(),
            district_id: p.area.district.get(),
            active: p.active,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlaceQuery {
    /// Part of the name, e.g. `文昌社区南` (spacing, punctuation and width do not matter).
    pub q: Option<String>,
    /// Only entries in this community.
    pub community: Option<i64>,
    /// `address`, `building`, `landmark` or `community`.
    pub kind: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<u64>,
}

/// One entry to import.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PlaceInput {
    /// The name as people say and write it, e.g. `文昌社区南门` or `文昌路18号`.
    pub name: String,
    /// `address`, `building`, `landmark` or `community`.
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
    /// `wgs84` (default), `gcj02` or `bd09`.
    pub crs: Option<String>,
}

/// A batch of entries. An entry whose name has the same key as a stored one updates it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ImportRequest {
    /// 1–1000 entries; all are stored or none is.
    pub places: Vec<PlaceInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub created: usize,
    pub updated: usize,
    /// The stored entries, in the order sent.
    pub places: Vec<PlaceDto>,
}

// ---- handlers ------------------------------------------------------------------------------

/// Search the address book, for pickers: entries whose name contains `q` (those starting with
/// it first, then the shortest). Public: place names are not personal data.
#[utoipa::path(get, path = "/api/v1/places", tag = "geography", params(PlaceQuery),
    responses(
        (status = 200, body = Vec<PlaceDto>),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn search_places(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PlaceQuery>,
) -> Result<Json<Vec<PlaceDto>>, ApiError> {
    let limit = match q.limit {
        None => 20,
        Some(l @ 1..=100) => l,
        Some(_) => {
            return Err(ApiError::Unprocessable {
                code: "invalid_limit",
                detail: "limit must be 1–100".into(),
                field: Some("limit".into()),
            });
        }
    };
    let text = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let key = match text {
        None => None,
        Some(t) if t.chars().count() > 200 => {
            return Err(ApiError::Unprocessable {
                code: "invalid_query",
                detail: "q must be at most 200 characters".into(),
                field: Some("q".into()),
            });
        }
        // One identifying character is a fine start for a picker.
        Some(t) => PlaceKey::fragment(t),
    };
    if text.is_some() && key.is_none() {
        return Ok(Json(Vec::new()));
    }
    let community = q
        .community
        .map(|c| {
            CommunityId::new(c).map_err(|_| ApiError::Unprocessable {
                code: "invalid_community",
                detail: "community must be a positive id".into(),
                field: Some("community".into()),
            })
        })
        .transpose()?;
    let kind: Option<PlaceKind> = q
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(str::parse)
        .transpose()?;
    let found = places::search(&state.db, key.as_ref(), community, kind, limit).await?;
    Ok(Json(found.iter().map(PlaceDto::from).collect()))
}

/// One address-book entry (also retired ones: cases may point at them).
#[utoipa::path(get, path = "/api/v1/places/{id}", tag = "geography",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = PlaceDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_place(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PlaceDto>, ApiError> {
    let place = load(&state, id).await?;
    Ok(Json(PlaceDto::from(&place)))
}

async fn load(state: &AppState, id: i64) -> Result<Place, ApiError> {
    let not_found = || ApiError::not_found("place_not_found", "no such address-book entry");
    let id = PlaceId::new(id).map_err(|_| not_found())?;
    places::get(&state.db, id)
        .await
        .map_err(ApiError::when_missing(not_found()))
}

/// Import entries into the address book (admins). Each point is routed to its grid; a point
/// outside the city or a bad entry rejects the whole batch (422 naming `places[i]`). An entry
/// whose name has the key of a stored one updates it, so re-importing a list is safe.
#[utoipa::path(post, path = "/api/v1/admin/places", tag = "admin",
    request_body = ImportRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = ImportResult),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn import_places(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<ImportRequest>,
) -> Result<Json<ImportResult>, ApiError> {
    // One entry past the limit is enough for the use case to refuse the batch.
    let mut entries = Vec::with_capacity(req.places.len().min(MAX_IMPORT + 1));
    for (i, input) in req.places.iter().take(MAX_IMPORT + 1).enumerate() {
        entries.push(entry_from(i, input)?);
    }
    let done = places_app::import(&state, &p, entries).await?;
    Ok(Json(ImportResult {
        created: done.created,
        updated: done.updated,
        places: done.places.iter().map(PlaceDto::from).collect(),
    }))
}

/// One entry of the body, its values parsed; a refusal names `places[i].…`.
fn entry_from(i: usize, input: &PlaceInput) -> Result<PlaceEntry, ApiError> {
    let at = |what: &str| Some(format!("places[{i}].{what}"));
    let name = Name::parse(&input.name).map_err(|e| ApiError::Unprocessable {
        code: "invalid_name",
        detail: e.to_string(),
        field: at("name"),
    })?;
    let kind: PlaceKind = input
        .kind
        .parse()
        .map_err(|e: whistle_domain::ValueError| ApiError::Unprocessable {
            code: "invalid_kind",
            detail: e.to_string(),
            field: at("kind"),
        })?;
    let crs: Crs = input
        .crs
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(str::parse)
        .transpose()?
        .unwrap_or_default();
    let point =
        Coordinate::from_crs(crs, input.lat, input.lon).map_err(|e| ApiError::Unprocessable {
            code: "invalid_coordinate",
            detail: e.to_string(),
            field: at(e.field),
        })?;
    Ok(PlaceEntry { name, kind, point })
}

/// Retire an entry (admins): it no longer places new reports; cases it placed keep it.
#[utoipa::path(delete, path = "/api/v1/admin/places/{id}", tag = "admin",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 204, description = "Retired"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn retire_place(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    require(&p, Action::ManageGeography, &Resource::city())?;
    let place = load(&state, id).await?;
    places::retire(&state.db, place.id, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
