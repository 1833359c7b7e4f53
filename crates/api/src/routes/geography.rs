//! Read endpoints for the geography: districts, streets, communities, grids, and `locate`, which
//! answers "which grid and community is this point in?" for any of the three coordinate systems.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_domain::geography::{District, Grid, Street};
use whistle_domain::ids::{CommunityId, DistrictId, StreetId};
use whistle_domain::location::{Coordinate, Crs};
use whistle_domain::routing::LocateError;
use whistle_persistence::repo::PageRequest;
use whistle_persistence::repo::geography::{self as geo_repo, CommunityFilter, CommunityInContext};

use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::wire::AreaRef;
use crate::wire::paging::{Cursor, PageOf};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_districts))
        .routes(routes!(list_streets))
        .routes(routes!(list_communities))
        .routes(routes!(get_community))
        .routes(routes!(list_grids))
        .routes(routes!(locate))
        .routes(routes!(basemap))
}

// ---- wire types ----------------------------------------------------------------------------

/// A district (区).
#[derive(Debug, Serialize, ToSchema)]
pub struct DistrictDto {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// Prefix of the district's case numbers (`HZ` → `HZ-20261125-000123`).
    pub case_prefix: String,
}

impl From<District> for DistrictDto {
    fn from(d: District) -> Self {
        DistrictDto {
            id: d.id.get(),
            code: d.code.to_string(),
            name: d.name.to_string(),
            case_prefix: d.case_prefix.as_str().to_owned(),
        }
    }
}

/// A street (街道).
#[derive(Debug, Serialize, ToSchema)]
pub struct StreetDto {
    pub id: i64,
    pub district_id: i64,
    pub code: String,
    pub name: String,
}

impl From<Street> for StreetDto {
    fn from(s: Street) -> Self {
        StreetDto {
            id: s.id.get(),
            district_id: s.district_id.get(),
            code: s.code.to_string(),
            name: s.name.to_string(),
        }
    }
}

/// A community (社区) with where it belongs.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommunityDto {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub street: AreaRef,
    pub district: AreaRef,
    /// Number of grids (网格) in the community.
    pub grid_count: u64,
    /// `[min_lon, min_lat, max_lon, max_lat]`, WGS-84.
    pub bbox: [f64; 4],
    /// GeoJSON MultiPolygon, WGS-84, `[lon, lat]` order. Only on the single-community endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub boundary: Option<serde_json::Value>,
}

impl CommunityDto {
    fn new(c: CommunityInContext, with_boundary: bool) -> Self {
        CommunityDto {
            id: c.community.id.get(),
            code: c.community.code.to_string(),
            name: c.community.name.to_string(),
            street: AreaRef::from(&c.street),
            district: AreaRef::from(&c.district),
            grid_count: c.grid_count,
            bbox: c.community.boundary.bbox(),
            boundary: with_boundary.then(|| c.community.boundary.to_geojson()),
        }
    }
}

/// A grid (网格).
#[derive(Debug, Serialize, ToSchema)]
pub struct GridDto {
    pub id: i64,
    pub community_id: i64,
    pub code: String,
    pub name: String,
    /// `[min_lon, min_lat, max_lon, max_lat]`, WGS-84.
    pub bbox: [f64; 4],
    /// GeoJSON MultiPolygon, WGS-84.
    #[schema(value_type = Object)]
    pub boundary: serde_json::Value,
}

impl From<Grid> for GridDto {
    fn from(g: Grid) -> Self {
        GridDto {
            id: g.id.get(),
            community_id: g.community_id.get(),
            code: g.code.to_string(),
            name: g.name.to_string(),
            bbox: g.boundary.bbox(),
            boundary: g.boundary.to_geojson(),
        }
    }
}

// ---- handlers ------------------------------------------------------------------------------

/// The districts of the city.
#[utoipa::path(get, path = "/api/v1/districts", tag = "geography",
    responses((status = 200, body = Vec<DistrictDto>)))]
async fn list_districts(State(state): State<AppState>) -> Result<Json<Vec<DistrictDto>>, ApiError> {
    let districts = geo_repo::list_districts(&state.db).await?;
    Ok(Json(districts.into_iter().map(DistrictDto::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreetQuery {
    /// Only streets of this district.
    pub district_id: Option<i64>,
}

/// The streets (街道), optionally of one district.
#[utoipa::path(get, path = "/api/v1/streets", tag = "geography", params(StreetQuery),
    responses(
        (status = 200, body = Vec<StreetDto>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_streets(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StreetQuery>,
) -> Result<Json<Vec<StreetDto>>, ApiError> {
    let district = q.district_id.map(DistrictId::new).transpose()?;
    let streets = geo_repo::list_streets(&state.db, district).await?;
    Ok(Json(streets.into_iter().map(StreetDto::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommunityQuery {
    /// Only communities of this street.
    pub street_id: Option<i64>,
    /// Only communities of this district.
    pub district_id: Option<i64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

/// The communities (社区), in a stable order, one page at a time.
#[utoipa::path(get, path = "/api/v1/communities", tag = "geography", params(CommunityQuery),
    responses(
        (status = 200, body = PageOf<CommunityDto>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_communities(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CommunityQuery>,
) -> Result<Json<PageOf<CommunityDto>>, ApiError> {
    let filter = CommunityFilter {
        street_id: q.street_id.map(StreetId::new).transpose()?,
        district_id: q.district_id.map(DistrictId::new).transpose()?,
    };
    let page = PageRequest {
        after: Cursor::decode(q.cursor.as_deref())?,
        limit: crate::wire::paging::limit(q.limit)?,
    };
    let found = geo_repo::list_communities(&state.db, filter, page).await?;
    Ok(Json(PageOf {
        items: found
            .items
            .into_iter()
            .map(|c| CommunityDto::new(c, false))
            .collect(),
        next_cursor: found.next_after.map(Cursor::encode),
    }))
}

/// One community, with its boundary.
#[utoipa::path(get, path = "/api/v1/communities/{id}", tag = "geography",
    params(("id" = i64, Path, description = "Community id")),
    responses(
        (status = 200, body = CommunityDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_community(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<CommunityDto>, ApiError> {
    let not_found = || ApiError::not_found("community_not_found", format!("no community {id}"));
    let id = CommunityId::new(id).map_err(|_| not_found())?;
    match geo_repo::get_community(&state.db, id).await {
        Ok(c) => Ok(Json(CommunityDto::new(c, true))),
        Err(whistle_persistence::RepoError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GridQuery {
    /// Only the grids of this community (404 if it does not exist).
    pub community_id: Option<i64>,
}

/// The grids (网格), optionally of one community, with their boundaries.
#[utoipa::path(get, path = "/api/v1/grids", tag = "geography", params(GridQuery),
    responses(
        (status = 200, body = Vec<GridDto>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_grids(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<GridQuery>,
) -> Result<Json<Vec<GridDto>>, ApiError> {
    let community = match q.community_id {
        None => None,
        Some(raw) => {
            let not_found =
                || ApiError::not_found("community_not_found", format!("no community {raw}"));
            let id = CommunityId::new(raw).map_err(|_| not_found())?;
            if !geo_repo::community_exists(&state.db, id).await? {
                return Err(not_found());
            }
            Some(id)
        }
    };
    let grids = geo_repo::list_grids(&state.db, community).await?;
    Ok(Json(grids.into_iter().map(GridDto::from).collect()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocateQuery {
    /// Latitude in the given `crs`, −90 to 90.
    #[param(value_type = f64)]
    pub lat: Option<String>,
    /// Longitude in the given `crs`, −180 to 180.
    #[param(value_type = f64)]
    pub lon: Option<String>,
    /// `wgs84` (GPS, default), `gcj02` (Amap, Tencent) or `bd09` (Baidu).
    #[param(value_type = Option<String>)]
    pub crs: Option<String>,
}

/// Where a point is.
#[derive(Debug, Serialize, ToSchema)]
pub struct LocateResult {
    pub grid: AreaRef,
    pub community: AreaRef,
    pub street: AreaRef,
    pub district: AreaRef,
    /// The point converted to WGS-84, as Whistle stores it.
    pub wgs84: LatLon,
    /// The coordinate system the point was given in.
    pub crs: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

fn parse_number(field: &'static str, raw: Option<&str>) -> Result<f64, ApiError> {
    let raw = raw
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::Unprocessable {
            code: "invalid_coordinate",
            detail: format!("{field} is required"),
            field: Some(field.to_owned()),
        })?;
    raw.parse::<f64>().map_err(|_| ApiError::Unprocessable {
        code: "invalid_coordinate",
        detail: format!("{field} must be a decimal number"),
        field: Some(field.to_owned()),
    })
}

/// The grid, community, street and district of a point. Accepts WGS-84, GCJ-02 and BD-09.
#[utoipa::path(get, path = "/api/v1/locate", tag = "geography", params(LocateQuery),
    responses(
        (status = 200, body = LocateResult),
        (status = 404, description = "The point is outside every grid of the city", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "Missing, malformed or out-of-range coordinate, or unknown crs",
         body = Problem, content_type = "application/problem+json"),
    ))]
async fn locate(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<LocateQuery>,
) -> Result<Json<LocateResult>, ApiError> {
    let lat = parse_number("lat", q.lat.as_deref())?;
    let lon = parse_number("lon", q.lon.as_deref())?;
    let crs: Crs = match q.crs.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Crs::Wgs84,
        Some(raw) => raw.parse()?,
    };
    let point = Coordinate::from_crs(crs, lat, lon)
        .map_err(|e| ApiError::invalid("invalid_coordinate", e))?;
    let hit = state.grids().locate(point).map_err(|e| match e {
        LocateError::OutsideCity { .. } => ApiError::not_found(
            "outside_city",
            format!("({lat}, {lon}) in {crs} is not inside any grid of the city"),
        ),
    })?;
    let found = geo_repo::get_grid_in_context(&state.db, hit.grid_id).await?;
    Ok(Json(LocateResult {
        grid: AreaRef::from(&found.grid),
        community: AreaRef {
            id: found.community.community.id.get(),
            code: found.community.community.code.to_string(),
            name: found.community.community.name.to_string(),
        },
        street: AreaRef::from(&found.community.street),
        district: AreaRef::from(&found.community.district),
        wgs84: LatLon {
            lat: point.lat(),
            lon: point.lon(),
        },
        crs: crs.as_str().to_owned(),
    }))
}

/// The basemap the web pages draw their maps on (configuration `[map]`).
#[derive(Debug, Serialize, ToSchema)]
pub struct BasemapDto {
    /// Tile URL template with `{z}`, `{x}`, `{y}` (and `{s}`), or absent: no tiles, the pages
    /// draw the grids on a plain background.
    pub tile_url: Option<String>,
    /// `wgs84` or `gcj02`: the system the tiles are drawn in. On `gcj02` tiles a page shifts
    /// the WGS-84 points and polygons it draws, and shifts a picked point back before sending.
    pub crs: String,
    /// Values of `{s}`.
    pub subdomains: Vec<String>,
    pub attribution: String,
    pub max_zoom: u8,
}

/// The basemap for the web pages' maps: a tile URL and its coordinate system, or none.
#[utoipa::path(get, path = "/api/v1/map/basemap", tag = "geography",
    responses((status = 200, body = BasemapDto)))]
async fn basemap(State(state): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let m = &state.settings.map;
    let url = m.tile_url.trim();
    let dto = BasemapDto {
        tile_url: (!url.is_empty()).then(|| url.to_owned()),
        crs: m.tile_crs.as_str().to_owned(),
        subdomains: m.tile_subdomains.chars().map(String::from).collect(),
        attribution: m.attribution.clone(),
        max_zoom: m.max_zoom,
    };
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        Json(dto),
    )
        .into_response()
}
