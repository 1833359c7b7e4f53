//! The question every analytics answer starts from: the period, and the scope the caller may
//! see narrowed by the areas and the category named; and names for points leaders may not read
//! as coordinates.

use chrono::{DateTime, Utc};
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Decision, DenyReason, Resource, authorize};
use whistle_domain::analytics::{METRES_PER_DEGREE, Period, PeriodError, distance_m};
use whistle_domain::ids::{CommunityId, DistrictId, GridId, StreetId};
use whistle_domain::jurisdiction::{Area, AreaPath};
use whistle_domain::location::Coordinate;
use whistle_persistence::repo::analytics::{Areas, Query, Scope};
use whistle_persistence::repo::{categories, geography, places};

use crate::app::AppError;
use crate::app::access::require_scope;
use crate::state::AppState;

/// Days a period covers when `from` is not given.
pub const DEFAULT_PERIOD_DAYS: i64 = 30;
/// The longest period any dashboard covers: a year, leap years included.
pub const MAX_PERIOD_DAYS: i64 = 366;

/// What an analytics request names: the period (`[from, to)`, defaults in
/// [`DEFAULT_PERIOD_DAYS`] before now) and the areas and category it narrows to.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub district: Option<i64>,
    pub street: Option<i64>,
    pub community: Option<i64>,
    pub grid: Option<i64>,
    /// A category code.
    pub category: Option<String>,
}

fn unprocessable(code: &'static str, field: &str, detail: impl Into<String>) -> AppError {
    AppError::invalid(code, field, detail)
}

/// The period, the scope and the city's time, for `action`.
pub async fn prepare(
    state: &AppState,
    p: &Principal,
    q: &Filters,
    action: Action,
) -> Result<Query, AppError> {
    let now = state.now();
    let period = Period::new(q.from, q.to, now, DEFAULT_PERIOD_DAYS, MAX_PERIOD_DAYS).map_err(
        |e| match e {
            PeriodError::Inverted => unprocessable("invalid_period", "from", e.to_string()),
            PeriodError::TooLong(_) => unprocessable("period_too_long", "from", e.to_string()),
        },
    )?;
    let scope = scope(state, p, q, action).await?;
    Ok(Query {
        period,
        scope,
        now,
        utc_offset_minutes: state.city().minutes(),
    })
}

/// An id that cannot name a real row: the community of a street- or district-wide resource.
/// Leaders hold streets and districts only, so it never decides for them; a jurisdiction of
/// communities is (safely) denied.
fn nowhere_community() -> CommunityId {
    CommunityId::new(i64::MAX).unwrap_or_else(|_| unreachable!("i64::MAX is a valid id"))
}

fn nowhere_street() -> StreetId {
    StreetId::new(i64::MAX).unwrap_or_else(|_| unreachable!("i64::MAX is a valid id"))
}

/// Who may see what: the caller's base scope from the policy, narrowed and checked by the
/// area filters, plus the category filter.
async fn scope(
    state: &AppState,
    p: &Principal,
    q: &Filters,
    action: Action,
) -> Result<Scope, AppError> {
    let mut scope = Scope {
        areas: match authorize(p, action, &Resource::city()) {
            Decision::Allow => None,
            Decision::Deny(DenyReason::OutsideJurisdiction) if !p.jurisdiction.is_empty() => {
                let mut areas = Areas::default();
                for a in p.jurisdiction.areas() {
                    match a {
                        Area::District(d) => areas.districts.push(d.get()),
                        Area::Street(s) => areas.streets.push(s.get()),
                        Area::Community(c) => areas.communities.push(c.get()),
                    }
                }
                Some(areas)
            }
            // Officers, residents…: 403 `forbidden`; a leader without areas: 403
            // `outside_jurisdiction`.
            Decision::Deny(_) => {
                require_scope(p, action, &Resource::city())?;
                return Err(AppError::forbidden("forbidden", "not allowed"));
            }
        },
        ..Default::default()
    };

    // The most specific area named decides the resource checked; the others must contain it.
    let mut path: Option<AreaPath> = None;
    let mismatch = |field: &str| {
        unprocessable(
            "areas_mismatch",
            field,
            "the areas named do not contain each other",
        )
    };
    if let Some(raw) = q.district {
        let unknown = || unprocessable("unknown_district", "district", "no such district");
        let id = DistrictId::new(raw).map_err(|_| unknown())?;
        let all = geography::list_districts(state.reads()).await?;
        if !all.iter().any(|d| d.id == id) {
            return Err(unknown());
        }
        path = Some(AreaPath {
            district: id,
            street: nowhere_street(),
            community: nowhere_community(),
        });
        scope.district = Some(raw);
    }
    if let Some(raw) = q.street {
        let unknown = || unprocessable("unknown_street", "street", "no such street");
        let id = StreetId::new(raw).map_err(|_| unknown())?;
        let street = geography::list_streets(state.reads(), None)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(unknown)?;
        if path.is_some_and(|p| p.district != street.district_id) {
            return Err(mismatch("street"));
        }
        path = Some(AreaPath {
            district: street.district_id,
            street: id,
            community: nowhere_community(),
        });
        scope.street = Some(raw);
    }
    if let Some(raw) = q.community {
        let unknown = || unprocessable("unknown_community", "community", "no such community");
        let id = CommunityId::new(raw).map_err(|_| unknown())?;
        let c = geography::get_community(state.reads(), id)
            .await
            .map_err(AppError::when_missing(unknown()))?;
        let here = AreaPath {
            district: c.district.id,
            street: c.street.id,
            community: id,
        };
        if path.is_some_and(|p| {
            p.district != here.district || (q.street.is_some() && p.street != here.street)
        }) {
            return Err(mismatch("community"));
        }
        path = Some(here);
        scope.community = Some(raw);
    }
    if let Some(raw) = q.grid {
        let unknown = || unprocessable("unknown_grid", "grid", "no such grid");
        let id = GridId::new(raw).map_err(|_| unknown())?;
        let g = geography::get_grid_in_context(state.reads(), id)
            .await
            .map_err(AppError::when_missing(unknown()))?;
        let here = AreaPath {
            district: g.community.district.id,
            street: g.community.street.id,
            community: g.grid.community_id,
        };
        if path.is_some_and(|p| {
            p.district != here.district
                || (q.street.is_some() && p.street != here.street)
                || (q.community.is_some() && p.community != here.community)
        }) {
            return Err(mismatch("grid"));
        }
        path = Some(here);
        scope.grid = Some(raw);
    }
    if let Some(path) = path {
        require_scope(p, action, &Resource::at(path))?;
    }
    if let Some(code) = q.category.as_deref() {
        let unknown = || unprocessable("unknown_category", "category", "no such category");
        let c = categories::get_by_code(state.reads(), code)
            .await?
            .ok_or_else(unknown)?;
        scope.category = Some(c.id.get());
    }
    Ok(scope)
}

/// How far an address-book place may be from a hot spot or repeat location to name it.
pub const NEAR_PLACE_M: f64 = 300.0;
/// Address-book entries considered at most per answer.
pub const NEAR_PLACE_CANDIDATES: u64 = 20_000;

/// Names for points a leader cannot read as coordinates: the nearest active address-book place
/// within [`NEAR_PLACE_M`], or else the community the point lies in (`None` outside every
/// grid). One query fetches the candidate places around all the points.
pub async fn near_names(
    state: &AppState,
    points: &[(f64, f64)],
) -> Result<Vec<Option<String>>, AppError> {
    if points.is_empty() {
        return Ok(Vec::new());
    }
    let lat_pad = NEAR_PLACE_M / METRES_PER_DEGREE;
    let (mut lo, mut hi) = ((f64::MAX, f64::MAX), (f64::MIN, f64::MIN));
    for &(lat, lon) in points {
        lo = (lo.0.min(lat), lo.1.min(lon));
        hi = (hi.0.max(lat), hi.1.max(lon));
    }
    let widest = lo.0.abs().max(hi.0.abs()).min(85.0);
    let lon_pad = lat_pad / widest.to_radians().cos();
    let candidates = places::within_box(
        state.reads(),
        (lo.0 - lat_pad, lo.1 - lon_pad),
        (hi.0 + lat_pad, hi.1 + lon_pad),
        NEAR_PLACE_CANDIDATES,
    )
    .await?;
    let grids = state.grids();
    let mut out = Vec::with_capacity(points.len());
    for &(lat, lon) in points {
        let nearest = candidates
            .iter()
            .map(|p| (distance_m((lat, lon), (p.point.lat(), p.point.lon())), p))
            .filter(|(d, _)| *d <= NEAR_PLACE_M)
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let name = match nearest {
            Some((_, p)) => Some(p.name.as_str().to_owned()),
            None => match Coordinate::wgs84(lat, lon)
                .ok()
                .and_then(|c| grids.locate(c).ok())
            {
                Some(hit) => state
                    .reference
                    .community(state.reads(), hit.community_id)
                    .await
                    .ok()
                    .map(|c| c.community.name.as_str().to_owned()),
                None => None,
            },
        };
        out.push(name);
    }
    Ok(out)
}
