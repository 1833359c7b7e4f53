//! Wire types and translations several HTTP adapters share: paging, a reference to an area,
//! a point sent in a body. Route files import these, never each other.

pub mod accounts;
pub mod categories;
pub mod paging;

use serde::Serialize;
use utoipa::ToSchema;
use whistle_domain::case::Description;
use whistle_domain::geography::{Community, District, Grid, Street};
use whistle_domain::location::{Coordinate, Crs};
use whistle_domain::routing::{GridHit, LocateError};

use crate::error::ApiError;
use crate::state::AppState;

/// A reference to an area: enough to show and link it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaRef {
    pub id: i64,
    /// Administrative code (区划代码) or internal code.
    pub code: String,
    pub name: String,
}

impl From<&District> for AreaRef {
    fn from(d: &District) -> Self {
        AreaRef {
            id: d.id.get(),
            code: d.code.to_string(),
            name: d.name.to_string(),
        }
    }
}

impl From<&Street> for AreaRef {
    fn from(s: &Street) -> Self {
        AreaRef {
            id: s.id.get(),
            code: s.code.to_string(),
            name: s.name.to_string(),
        }
    }
}

impl From<&Community> for AreaRef {
    fn from(c: &Community) -> Self {
        AreaRef {
            id: c.id.get(),
            code: c.code.to_string(),
            name: c.name.to_string(),
        }
    }
}

impl From<&Grid> for AreaRef {
    fn from(g: &Grid) -> Self {
        AreaRef {
            id: g.id.get(),
            code: g.code.to_string(),
            name: g.name.to_string(),
        }
    }
}

/// A point sent in a request body (`lat`, `lon` and an optional `crs`), in WGS-84 and routed to
/// its grid: 422 `invalid_coordinate` at the field that is wrong, 422 `outside_city` at `lat`.
pub fn routed_point(
    state: &AppState,
    crs: Option<&str>,
    lat: f64,
    lon: f64,
) -> Result<(Coordinate, GridHit), ApiError> {
    let point = point_from(crs, lat, lon)?;
    let hit = state
        .grids()
        .locate(point)
        .map_err(|LocateError::OutsideCity { .. }| ApiError::Unprocessable {
            code: "outside_city",
            detail: "the location is not inside any grid of the city".into(),
            field: Some("lat".into()),
        })?;
    Ok((point, hit))
}

/// The note an action requires: 1–5000 characters, else 422 `note_required` at `note`.
pub fn required_note(note: Option<&str>) -> Result<Description, ApiError> {
    Description::parse(note.unwrap_or_default()).map_err(|_| ApiError::Unprocessable {
        code: "note_required",
        detail: "this action needs a note of 1–5000 characters".into(),
        field: Some("note".into()),
    })
}

/// A point sent in a request body, in WGS-84: 422 `invalid_coordinate` at the field that is
/// wrong, `invalid_value` at `crs` for an unknown system.
pub fn point_from(crs: Option<&str>, lat: f64, lon: f64) -> Result<Coordinate, ApiError> {
    let crs: Crs = crs.map(str::parse).transpose()?.unwrap_or_default();
    Coordinate::from_crs(crs, lat, lon).map_err(|e| ApiError::Unprocessable {
        code: "invalid_coordinate",
        detail: e.to_string(),
        field: Some(e.field.to_owned()),
    })
}

/// Multipart form with the portrait.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct PhotoForm {
    /// JPEG, PNG or WebP (recognised by content; metadata removed).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}
