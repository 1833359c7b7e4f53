//! Analytics for leaders (数据分析和问题溯源): how well the loop closes and where problems come
//! from, over a period, in the caller's jurisdiction, as JSON (GeoJSON for hot spots) or CSV.
//!
//! Every figure is about the **cohort**: the cases reported in `[from, to)` inside the scope, as
//! they stand now. `to` defaults to now and `from` to 30 days before `to`; a period longer than
//! 366 days is refused (`period_too_long`), an inverted one too (`invalid_period`). Leaders see
//! their streets or districts (naming another area is a 403 `outside_jurisdiction`),
//! dispatchers and admins the whole city; others get a 403 `forbidden`. The case-list export
//! needs `ExportData`, which admins do not have (it carries residents' reports).
//!
//! CSV is UTF-8 with a byte-order mark, CRLF lines, text cells neutralised against formula
//! injection (`whistle_domain::analytics::csv_row`); the case list is streamed page by page.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Decision, DenyReason, Resource, authorize};
use whistle_domain::ValueError;
use whistle_domain::analytics::{
    CSV_BOM, Cell, CellLattice, GroupBy, METRES_PER_DEGREE, Period, PeriodError, cluster, csv_row,
    distance_m, group_by_zh, header_zh, rate, round4, stage_zh,
};
use whistle_domain::case::CaseStatus;
use whistle_domain::geography::Boundary;
use whistle_domain::ids::{CategoryId, CommunityId, DistrictId, GridId, StreetId, UserId};
use whistle_domain::jurisdiction::{Area, AreaPath};
use whistle_domain::location::Coordinate;
use whistle_domain::worklog::{Class721, Mix};
use whistle_persistence::repo::analytics::{
    self as repo, Areas, Figures, GroupKey, Query, Scope, StageTime,
};
use whistle_persistence::repo::cases::{self, CaseCursor, CaseFilter, CaseOrder, Visibility};
use whistle_persistence::repo::{PageRequest, categories, geography, places, users};

use crate::app::access::require_scope;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiQuery, CurrentUser};
use crate::i18n::Lang;
use crate::state::AppState;

/// Days a period covers when `from` is not given.
pub const DEFAULT_PERIOD_DAYS: i64 = 30;
/// The longest period any dashboard covers: a year, leap years included.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// Cases a repeat-location search clusters at most (narrow the period or scope beyond that).
pub const MAX_POINTS: u64 = 100_000;
/// Rows of the case-list export fetched per page while streaming.
const EXPORT_PAGE: u64 = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(summary))
        .routes(routes!(hotspots))
        .routes(routes!(repeat_locations))
        .routes(routes!(repeat_merchants))
        .routes(routes!(recurring_categories))
        .routes(routes!(workload))
        .routes(routes!(export_cases))
}

// ---- wire types ----------------------------------------------------------------------------

/// Parameters of the analytics endpoints; each endpoint reads the ones it names.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// Start of the period (RFC 3339, inclusive). Default: 30 days before `to`.
    pub from: Option<String>,
    /// End of the period (RFC 3339, exclusive). Default: now. At most 366 days after `from`.
    pub to: Option<String>,
    /// Only this district / street / community / grid (ids); it must be inside the caller's
    /// jurisdiction (403 `outside_jurisdiction`).
    pub district: Option<i64>,
    pub street: Option<i64>,
    pub community: Option<i64>,
    pub grid: Option<i64>,
    /// Only this category (code, e.g. `noise`).
    pub category: Option<String>,
    /// summary: `district`, `street`, `community`, `grid`, `category`, `officer`, `day`,
    /// `week` or `month` (local time; weeks start on Monday). None: the total only.
    pub group_by: Option<String>,
    /// `json` (default; GeoJSON for hot spots) or `csv`.
    pub format: Option<String>,
    /// hotspots: `cell` (default: square cells of `cell_m` metres) or `grid`.
    pub by: Option<String>,
    /// hotspots: cell size in metres, 50–5000 (default 250).
    pub cell_m: Option<f64>,
    /// hotspots, repeat-merchants: how many to return, 1–500 (default 20).
    pub limit: Option<u64>,
    /// repeat-locations: cases of one category within this many metres of each other form a
    /// location, 10–1000 (default 50).
    pub radius_m: Option<f64>,
    /// repeat-locations (default 3), repeat-merchants (default 2): the fewest cases that count
    /// as repeated, 2–1000.
    pub min_cases: Option<u64>,
    /// recurring-categories: the fewest consecutive weeks that count as recurring, 2–53
    /// (default 2).
    pub min_weeks: Option<u32>,
    /// cases.csv: comma-separated statuses.
    pub status: Option<String>,
}

/// Time spent in one stage (seconds, to the millisecond).
#[derive(Debug, Serialize, ToSchema)]
pub struct StageTimeDto {
    /// `accept`, `dispatch`, `sign`, `resolve`, `verify`.
    pub stage: String,
    /// Cases of the cohort that completed the stage at least once.
    pub cases: u64,
    /// Mean time in the stage (a case's rounds added up).
    pub mean_secs: Option<f64>,
    /// 90th percentile, interpolated between ranks (PostgreSQL's `percentile_cont`).
    pub p90_secs: Option<f64>,
}

/// The figures of one group (or of the whole cohort). Rates are `null` when their denominator
/// is 0. Definitions: `docs/ARCHITECTURE.md`, section Analytics.
#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresDto {
    /// Cases reported in the period (the cohort).
    pub reported: u64,
    /// Accepted (立案): every status except reported and rejected.
    pub accepted: u64,
    /// Not accepted (不予立案).
    pub rejected: u64,
    pub closed: u64,
    /// Neither closed nor rejected.
    pub open: u64,
    /// Open with the running stage past its deadline now.
    pub overdue: u64,
    /// Closed, with no stage ever ended after its deadline (approved extensions count).
    pub closed_on_time: u64,
    /// 按期结案率 = closed_on_time / closed.
    pub on_time_close_rate: Option<f64>,
    /// Resolved (处置) at least once.
    pub resolved: u64,
    /// Resolved, with every handling (resolve-stage) round ended by its deadline.
    pub resolved_on_time: u64,
    /// 按期处置率 = resolved_on_time / resolved.
    pub on_time_handling_rate: Option<f64>,
    /// Sent back for rework (返工) at least once.
    pub reworked: u64,
    /// 返工率 = reworked / resolved.
    pub rework_rate: Option<f64>,
    /// With at least one extension request (延期申请).
    pub extension_requested: u64,
    /// extension_requested / accepted.
    pub extension_rate: Option<f64>,
    /// Escalation events (上报/督办).
    pub escalations: u64,
    /// Cases escalated at least once.
    pub escalated_cases: u64,
    /// Rated by the reporter (a reopened case's old rating is gone).
    pub rated: u64,
    /// Mean rating, 1–5.
    pub mean_rating: Option<f64>,
    /// Rated 4 or 5.
    pub satisfied: u64,
    /// 满意率 = satisfied / rated.
    pub satisfaction_rate: Option<f64>,
    pub stages: Vec<StageTimeDto>,
}

fn secs(ms: Option<f64>) -> Option<f64> {
    ms.map(|ms| (ms).round() / 1000.0)
}

impl From<&Figures> for FiguresDto {
    fn from(f: &Figures) -> Self {
        FiguresDto {
            reported: f.reported,
            accepted: f.accepted,
            rejected: f.rejected,
            closed: f.closed,
            open: f.open,
            overdue: f.overdue,
            closed_on_time: f.closed_on_time,
            on_time_close_rate: rate(f.closed_on_time, f.closed),
            resolved: f.resolved,
            resolved_on_time: f.resolved_on_time,
            on_time_handling_rate: rate(f.resolved_on_time, f.resolved),
            reworked: f.reworked,
            rework_rate: rate(f.reworked, f.resolved),
            extension_requested: f.extension_requested,
            extension_rate: rate(f.extension_requested, f.accepted),
            escalations: f.escalations,
            escalated_cases: f.escalated_cases,
            rated: f.rated,
            mean_rating: f.mean_rating.map(round4),
            satisfied: f.satisfied,
            satisfaction_rate: rate(f.satisfied, f.rated),
            stages: f
                .stages
                .iter()
                .map(|s: &StageTime| StageTimeDto {
                    stage: s.stage.as_str().to_owned(),
                    cases: s.count,
                    mean_secs: secs(s.mean_ms),
                    p90_secs: secs(s.p90_ms),
                })
                .collect(),
        }
    }
}

/// One group's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDto {
    /// The id (district … officer) or local date (`2026-11-26`, week `2026-11-23` = its
    /// Monday, month `2026-11`) as text; `null` for cases assigned to nobody.
    pub key: Option<String>,
    /// The name behind the id (Chinese), or the date.
    pub label: Option<String>,
    pub figures: FiguresDto,
}

/// Figures of the cohort, per group and in total.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryDto {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The instant "open" and "overdue" refer to.
    pub as_of: DateTime<Utc>,
    pub group_by: Option<String>,
    pub groups: Vec<GroupDto>,
    pub total: FiguresDto,
}

/// A hot spot as a GeoJSON Feature.
#[derive(Debug, Serialize, ToSchema)]
pub struct HotspotFeature {
    /// Always `Feature`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// A GeoJSON Polygon (the cell) or the grid's boundary, WGS-84.
    #[schema(value_type = Object)]
    pub geometry: serde_json::Value,
    pub properties: HotspotProperties,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HotspotProperties {
    /// 1 = densest.
    pub rank: u32,
    pub cases: u64,
    /// Cases per km².
    pub density_per_km2: Option<f64>,
    /// Cells: the cell's row and column in the lattice.
    pub row: Option<i64>,
    pub col: Option<i64>,
    /// Grids: the grid and its community.
    pub grid_id: Option<i64>,
    pub name: Option<String>,
    pub community: Option<String>,
    /// Cells: the nearest address-book place within 300 m of the cell's centre, or else the
    /// community the centre lies in; `null` outside every grid.
    pub near: Option<String>,
}

/// Hot spots, densest first: a GeoJSON FeatureCollection with the query as foreign members.
#[derive(Debug, Serialize, ToSchema)]
pub struct HotspotsDto {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `cell` or `grid`.
    pub by: String,
    pub cell_m: Option<f64>,
    pub features: Vec<HotspotFeature>,
}

/// A repeat location: cases of one category, each within `radius_m` of another.
#[derive(Debug, Serialize, ToSchema)]
pub struct RepeatLocationDto {
    pub category_id: i64,
    pub category: String,
    pub cases: u64,
    /// The mean point (WGS-84).
    pub lat: f64,
    pub lon: f64,
    /// The farthest case from the mean point, in metres.
    pub spread_m: f64,
    pub first_reported: DateTime<Utc>,
    pub last_reported: DateTime<Utc>,
    /// Case numbers, oldest first (at most 50).
    pub numbers: Vec<String>,
    /// The nearest address-book place within 300 m of the mean point, or else the community
    /// the point lies in.
    pub near: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RepeatLocationsDto {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub radius_m: f64,
    pub min_cases: u64,
    pub locations: Vec<RepeatLocationDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RepeatMerchantDto {
    pub merchant_id: i64,
    pub name: Option<String>,
    pub cases: u64,
    pub open: u64,
    /// Different categories among them.
    pub categories: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RepeatMerchantsDto {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub min_cases: u64,
    pub merchants: Vec<RepeatMerchantDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WeekCountDto {
    /// The week's Monday (local).
    pub week: String,
    pub cases: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecurrenceDto {
    pub grid_id: i64,
    pub grid: String,
    pub category_id: i64,
    pub category: String,
    /// The longest run of consecutive weeks with cases.
    pub run_weeks: u32,
    /// Its first Monday.
    pub run_start: String,
    pub weeks: Vec<WeekCountDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecurringDto {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub min_weeks: u32,
    pub recurrences: Vec<RecurrenceDto>,
}

/// One 721 class of a mix.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClassShareDto {
    /// `service`, `management`, `enforcement`.
    pub class: String,
    pub count: u64,
    pub minutes: u64,
    /// Of the minutes (the 721 method measures time).
    pub share_by_minutes: Option<f64>,
    /// 0.7, 0.2, 0.1.
    pub target_share: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkloadMixDto {
    pub count: u64,
    pub minutes: u64,
    pub classes: Vec<ClassShareDto>,
    /// Half the sum of |share − target|: 0 on target, at most 1.
    pub distance_from_target: Option<f64>,
}

fn mix_dto(mix: &Mix) -> WorkloadMixDto {
    WorkloadMixDto {
        count: mix.total_count(),
        minutes: mix.total_minutes(),
        classes: Class721::ALL
            .into_iter()
            .map(|c| ClassShareDto {
                class: c.as_str().to_owned(),
                count: mix.total(c).count,
                minutes: mix.total(c).minutes,
                share_by_minutes: mix.share_by_minutes(c).map(round4),
                target_share: c.target_share(),
            })
            .collect(),
        distance_from_target: mix.distance_from_target().map(round4),
    }
}

/// One officer's load: cohort cases assigned to them now, and work logged in the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfficerLoadDto {
    pub officer_id: i64,
    pub name: Option<String>,
    pub assigned: u64,
    pub open: u64,
    pub overdue: u64,
    pub closed: u64,
    pub closed_on_time: u64,
    pub on_time_close_rate: Option<f64>,
    pub reworked: u64,
    pub work: WorkloadMixDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkloadDto {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub as_of: DateTime<Utc>,
    pub officers: Vec<OfficerLoadDto>,
    /// The 721 mix of everyone's work in the scope.
    pub total_work: WorkloadMixDto,
}

// ---- parsing and scope ---------------------------------------------------------------------

fn unprocessable(code: &'static str, field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::Unprocessable {
        code,
        detail: detail.into(),
        field: Some(field.to_owned()),
    }
}

fn timestamp(field: &'static str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(raw)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| {
            ValueError::new(
                field,
                "must be an RFC 3339 timestamp with an offset, e.g. 2026-11-01T00:00:00+08:00",
            )
            .into()
        })
}

fn period(q: &AnalyticsQuery, now: DateTime<Utc>) -> Result<Period, ApiError> {
    let from = timestamp("from", q.from.as_deref())?;
    let to = timestamp("to", q.to.as_deref())?;
    Period::new(from, to, now, DEFAULT_PERIOD_DAYS, MAX_PERIOD_DAYS).map_err(|e| match e {
        PeriodError::Inverted => unprocessable("invalid_period", "from", e.to_string()),
        PeriodError::TooLong(_) => unprocessable("period_too_long", "from", e.to_string()),
    })
}

/// CSV or JSON.
fn wants_csv(q: &AnalyticsQuery) -> Result<bool, ApiError> {
    match q.format.as_deref().map(str::trim) {
        None | Some("") | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(unprocessable(
            "invalid_format",
            "format",
            "format must be json or csv",
        )),
    }
}

fn bounded<T: PartialOrd + Copy + std::fmt::Display>(
    field: &'static str,
    v: Option<T>,
    default: T,
    min: T,
    max: T,
) -> Result<T, ApiError> {
    let v = v.unwrap_or(default);
    // Written so that NaN, which compares false with everything, is refused too.
    if !(v >= min && v <= max) {
        return Err(unprocessable(
            "invalid_value",
            field,
            format!("{field} must be {min} to {max}"),
        ));
    }
    Ok(v)
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
    q: &AnalyticsQuery,
    action: Action,
) -> Result<Scope, ApiError> {
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
                return Err(ApiError::forbidden("forbidden", "not allowed"));
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
        let all = geography::list_districts(&state.db).await?;
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
        let street = geography::list_streets(&state.db, None)
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
        let c = geography::get_community(&state.db, id)
            .await
            .map_err(ApiError::when_missing(unknown()))?;
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
        let g = geography::get_grid_in_context(&state.db, id)
            .await
            .map_err(ApiError::when_missing(unknown()))?;
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
    if let Some(code) = q
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let unknown = || unprocessable("unknown_category", "category", "no such category");
        let c = categories::get_by_code(&state.db, code)
            .await?
            .ok_or_else(unknown)?;
        scope.category = Some(c.id.get());
    }
    Ok(scope)
}

async fn prepare(
    state: &AppState,
    p: &Principal,
    q: &AnalyticsQuery,
    action: Action,
) -> Result<Query, ApiError> {
    let now = state.now();
    let period = period(q, now)?;
    let scope = scope(state, p, q, action).await?;
    Ok(Query {
        period,
        scope,
        now,
        utc_offset_minutes: state.city().minutes(),
    })
}

fn offset(state: &AppState) -> FixedOffset {
    state.city().fixed()
}

/// How far an address-book place may be from a hot spot or repeat location to name it.
const NEAR_PLACE_M: f64 = 300.0;
/// Address-book entries considered at most per answer.
const NEAR_PLACE_CANDIDATES: u64 = 20_000;

/// Names for points a leader cannot read as coordinates: the nearest active address-book place
/// within [`NEAR_PLACE_M`], or else the community the point lies in (`None` outside every
/// grid). One query fetches the candidate places around all the points.
async fn near_names(
    state: &AppState,
    points: &[(f64, f64)],
) -> Result<Vec<Option<String>>, ApiError> {
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
        &state.db,
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
                    .community(&state.db, hit.community_id)
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

// ---- CSV -------------------------------------------------------------------------------------

fn csv_headers(filename: &str) -> [(header::HeaderName, HeaderValue); 2] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
                .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
        ),
    ]
}

/// A column heading: the English key, or its Chinese name for a Chinese request.
fn heading(lang: Lang, key: &str) -> Cell {
    match lang {
        Lang::Zh => Cell::from(header_zh(key).unwrap_or(key)),
        Lang::En => Cell::from(key),
    }
}

/// An instant as the city's local time to the second, e.g. `2026-12-01 09:30:05`: what a
/// spreadsheet reads as a date and time, in the zone its readers live in (`cases.utc_offset_minutes`).
fn local_time(t: DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A whole CSV document (the aggregate exports are small: one row per group), headed in the
/// request's language.
fn csv_response(filename: &str, lang: Lang, header_row: &[&str], rows: Vec<Vec<Cell>>) -> Response {
    let mut out = String::from(CSV_BOM);
    out.push_str(&csv_row(
        &header_row
            .iter()
            .map(|h| heading(lang, h))
            .collect::<Vec<_>>(),
    ));
    for r in rows {
        out.push_str(&csv_row(&r));
    }
    (csv_headers(filename), out).into_response()
}

fn figure_cells(f: &FiguresDto) -> Vec<Cell> {
    let mut cells: Vec<Cell> = vec![
        f.reported.into(),
        f.accepted.into(),
        f.rejected.into(),
        f.closed.into(),
        f.open.into(),
        f.overdue.into(),
        f.closed_on_time.into(),
        f.on_time_close_rate.into(),
        f.resolved.into(),
        f.resolved_on_time.into(),
        f.on_time_handling_rate.into(),
        f.reworked.into(),
        f.rework_rate.into(),
        f.extension_requested.into(),
        f.extension_rate.into(),
        f.escalations.into(),
        f.escalated_cases.into(),
        f.rated.into(),
        f.mean_rating.into(),
        f.satisfied.into(),
        f.satisfaction_rate.into(),
    ];
    for s in &f.stages {
        cells.push(s.cases.into());
        cells.push(s.mean_secs.into());
        cells.push(s.p90_secs.into());
    }
    cells
}

const FIGURE_HEADERS: [&str; 36] = [
    "reported",
    "accepted",
    "rejected",
    "closed",
    "open",
    "overdue",
    "closed_on_time",
    "on_time_close_rate",
    "resolved",
    "resolved_on_time",
    "on_time_handling_rate",
    "reworked",
    "rework_rate",
    "extension_requested",
    "extension_rate",
    "escalations",
    "escalated_cases",
    "rated",
    "mean_rating",
    "satisfied",
    "satisfaction_rate",
    "accept_cases",
    "accept_mean_secs",
    "accept_p90_secs",
    "dispatch_cases",
    "dispatch_mean_secs",
    "dispatch_p90_secs",
    "sign_cases",
    "sign_mean_secs",
    "sign_p90_secs",
    "resolve_cases",
    "resolve_mean_secs",
    "resolve_p90_secs",
    "verify_cases",
    "verify_mean_secs",
    "verify_p90_secs",
];

// ---- handlers ------------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/analytics/summary", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = SummaryDto, description = "JSON, or CSV (UTF-8 with BOM) with format=csv: one row per group, then `total`"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden (not a leader, dispatcher or admin), outside_jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_value (group_by, from, to), invalid_format, unknown_district/street/community/grid/category, areas_mismatch", body = Problem, content_type = "application/problem+json"),
    ))]
async fn summary(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let group_by: Option<GroupBy> = q
        .group_by
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|g| {
            g.parse()
                .map_err(|e: ValueError| unprocessable("invalid_group_by", "group_by", e.reason))
        })
        .transpose()?;
    let csv = wants_csv(&q)?;
    let query = prepare(&state, &p, &q, Action::ViewStatistics).await?;
    let (groups, total) = repo::figures(&state.db, &query, group_by).await?;
    let dto = SummaryDto {
        from: query.period.from(),
        to: query.period.to(),
        as_of: query.now,
        group_by: group_by.map(|g| g.as_str().to_owned()),
        groups: groups
            .iter()
            .map(|g| GroupDto {
                key: match &g.key {
                    GroupKey::Id(id) => id.map(|i| i.to_string()),
                    GroupKey::Text(t) => Some(t.clone()),
                },
                // Cases assigned to nobody form the officer grouping's one keyless row.
                label: match (&g.key, group_by) {
                    (GroupKey::Id(None), Some(GroupBy::Officer)) => {
                        Some(lang.pick("未分派", "Unassigned").to_owned())
                    }
                    _ => g.label.clone(),
                },
                figures: FiguresDto::from(&g.figures),
            })
            .collect(),
        total: FiguresDto::from(&total),
    };
    if !csv {
        return Ok(axum::Json(dto).into_response());
    }
    let mut header = vec!["group_by", "key", "label"];
    header.extend(FIGURE_HEADERS);
    let by = match (lang, group_by) {
        (_, None) => String::new(),
        (Lang::Zh, Some(g)) => group_by_zh(g).to_owned(),
        (Lang::En, Some(g)) => g.as_str().to_owned(),
    };
    let mut rows: Vec<Vec<Cell>> = dto
        .groups
        .iter()
        .map(|g| {
            let mut r: Vec<Cell> = vec![
                by.clone().into(),
                g.key.clone().into(),
                g.label.clone().into(),
            ];
            r.extend(figure_cells(&g.figures));
            r
        })
        .collect();
    let mut t: Vec<Cell> = vec![lang.pick("合计", "total").into(), Cell::Empty, Cell::Empty];
    t.extend(figure_cells(&dto.total));
    rows.push(t);
    Ok(csv_response("summary.csv", lang, &header, rows))
}

#[utoipa::path(get, path = "/api/v1/analytics/hotspots", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = HotspotsDto, content_type = "application/geo+json", description = "GeoJSON FeatureCollection, densest first; CSV with format=csv"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_value (by, cell_m, limit), invalid_format, unknown_…", body = Problem, content_type = "application/problem+json"),
    ))]
async fn hotspots(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let by_grid = match q.by.as_deref().map(str::trim) {
        None | Some("") | Some("cell") => false,
        Some("grid") => true,
        Some(_) => {
            return Err(unprocessable(
                "invalid_value",
                "by",
                "by must be cell or grid",
            ));
        }
    };
    let cell_m = bounded("cell_m", q.cell_m, 250.0, 50.0, 5000.0)?;
    let limit = bounded("limit", q.limit, 20, 1, 500)?;
    let csv = wants_csv(&q)?;
    let query = prepare(&state, &p, &q, Action::ViewStatistics).await?;
    let mut features = Vec::new();
    if by_grid {
        let mut grids: Vec<(repo::GridCount, Option<f64>)> = repo::grid_counts(&state.db, &query)
            .await?
            .into_iter()
            .map(|g| {
                let km2 = Boundary::from_geojson(&g.boundary)
                    .ok()
                    .map(|b| b.area_km2())
                    .filter(|a| *a > 0.0);
                let density = km2.map(|a| round4(g.cases as f64 / a));
                (g, density)
            })
            .collect();
        grids.sort_by(|a, b| {
            b.1.unwrap_or(0.0)
                .total_cmp(&a.1.unwrap_or(0.0))
                .then(b.0.cases.cmp(&a.0.cases))
                .then(a.0.grid_id.cmp(&b.0.grid_id))
        });
        for (rank, (g, density)) in grids.into_iter().take(limit as usize).enumerate() {
            features.push(HotspotFeature {
                kind: "Feature",
                geometry: serde_json::from_str(&g.boundary).unwrap_or(serde_json::Value::Null),
                properties: HotspotProperties {
                    rank: rank as u32 + 1,
                    cases: g.cases,
                    density_per_km2: density,
                    row: None,
                    col: None,
                    grid_id: Some(g.grid_id),
                    name: Some(g.name),
                    community: Some(g.community),
                    near: None,
                },
            });
        }
    } else {
        let lattice = CellLattice::new(cell_m, repo::reference_latitude(&state.db).await?)?;
        let cells =
            repo::cell_counts(&state.db, &query, lattice.dlat(), lattice.dlon(), limit).await?;
        let centres: Vec<(f64, f64)> = cells
            .iter()
            .map(|c| {
                let ring = lattice.ring(c.row, c.col);
                (
                    (ring[0][1] + ring[2][1]) / 2.0,
                    (ring[0][0] + ring[2][0]) / 2.0,
                )
            })
            .collect();
        let mut near = near_names(&state, &centres).await?.into_iter();
        for (rank, c) in cells.into_iter().enumerate() {
            features.push(HotspotFeature {
                kind: "Feature",
                geometry: serde_json::json!({
                    "type": "Polygon",
                    "coordinates": [lattice.ring(c.row, c.col)],
                }),
                properties: HotspotProperties {
                    rank: rank as u32 + 1,
                    cases: c.cases,
                    density_per_km2: Some(round4(c.cases as f64 / lattice.cell_km2())),
                    row: Some(c.row),
                    col: Some(c.col),
                    grid_id: None,
                    name: None,
                    community: None,
                    near: near.next().flatten(),
                },
            });
        }
    }
    let dto = HotspotsDto {
        kind: "FeatureCollection",
        from: query.period.from(),
        to: query.period.to(),
        by: if by_grid { "grid" } else { "cell" }.to_owned(),
        cell_m: (!by_grid).then_some(cell_m),
        features,
    };
    if csv {
        let rows = dto
            .features
            .iter()
            .map(|f| {
                let p = &f.properties;
                // The feature's south-west and north-east corners.
                let coords: Vec<[f64; 2]> = f.geometry["coordinates"][0]
                    .as_array()
                    .map(|ring| {
                        ring.iter()
                            .filter_map(|c| Some([c[0].as_f64()?, c[1].as_f64()?]))
                            .collect()
                    })
                    .unwrap_or_default();
                let min = |i: usize| coords.iter().map(|c| c[i]).reduce(f64::min);
                let max = |i: usize| coords.iter().map(|c| c[i]).reduce(f64::max);
                vec![
                    i64::from(p.rank).into(),
                    p.cases.into(),
                    p.density_per_km2.into(),
                    p.row.map_or(Cell::Empty, Cell::Int),
                    p.col.map_or(Cell::Empty, Cell::Int),
                    p.grid_id.map_or(Cell::Empty, Cell::Int),
                    p.name.clone().into(),
                    p.community.clone().into(),
                    p.near.clone().into(),
                    min(1).into(),
                    min(0).into(),
                    max(1).into(),
                    max(0).into(),
                ]
            })
            .collect();
        return Ok(csv_response(
            "hotspots.csv",
            lang,
            &[
                "rank",
                "cases",
                "density_per_km2",
                "row",
                "col",
                "grid_id",
                "name",
                "community",
                "near",
                "min_lat",
                "min_lon",
                "max_lat",
                "max_lon",
            ],
            rows,
        ));
    }
    let mut res = axum::Json(dto).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    Ok(res)
}

#[utoipa::path(get, path = "/api/v1/analytics/repeat-locations", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = RepeatLocationsDto, description = "Largest first; CSV with format=csv"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_value (radius_m, min_cases), too_many_cases (narrow the period or scope), invalid_format, unknown_…", body = Problem, content_type = "application/problem+json"),
    ))]
async fn repeat_locations(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let radius_m = bounded("radius_m", q.radius_m, 50.0, 10.0, 1000.0)?;
    let min_cases = bounded("min_cases", q.min_cases, 3, 2, 1000)?;
    let csv = wants_csv(&q)?;
    let query = prepare(&state, &p, &q, Action::ViewStatistics).await?;
    let points = repo::case_points(&state.db, &query, MAX_POINTS + 1).await?;
    if points.len() as u64 > MAX_POINTS {
        return Err(unprocessable(
            "too_many_cases",
            "from",
            format!("more than {MAX_POINTS} cases: narrow the period, area or category"),
        ));
    }
    let mut by_category: HashMap<i64, Vec<&repo::CasePoint>> = HashMap::new();
    for pt in &points {
        by_category.entry(pt.category_id).or_default().push(pt);
    }
    let mut locations = Vec::new();
    for pts in by_category.values() {
        let coords: Vec<(f64, f64)> = pts.iter().map(|p| (p.lat, p.lon)).collect();
        for group in cluster(&coords, radius_m) {
            if (group.len() as u64) < min_cases {
                continue;
            }
            let members: Vec<&repo::CasePoint> = group.iter().map(|&i| pts[i]).collect();
            let n = members.len() as f64;
            let lat = members.iter().map(|m| m.lat).sum::<f64>() / n;
            let lon = members.iter().map(|m| m.lon).sum::<f64>() / n;
            let spread = members
                .iter()
                .map(|m| distance_m((lat, lon), (m.lat, m.lon)))
                .fold(0.0, f64::max);
            locations.push(RepeatLocationDto {
                category_id: members[0].category_id,
                category: members[0].category.clone(),
                cases: members.len() as u64,
                lat: (lat * 1e6).round() / 1e6,
                lon: (lon * 1e6).round() / 1e6,
                spread_m: (spread * 10.0).round() / 10.0,
                first_reported: members
                    .iter()
                    .map(|m| m.created_at)
                    .min()
                    .unwrap_or(query.now),
                last_reported: members
                    .iter()
                    .map(|m| m.created_at)
                    .max()
                    .unwrap_or(query.now),
                numbers: members.iter().take(50).map(|m| m.number.clone()).collect(),
                near: None,
            });
        }
    }
    locations.sort_by(|a, b| {
        b.cases
            .cmp(&a.cases)
            .then(a.category_id.cmp(&b.category_id))
            .then(a.first_reported.cmp(&b.first_reported))
    });
    let points: Vec<(f64, f64)> = locations.iter().map(|l| (l.lat, l.lon)).collect();
    for (l, near) in locations.iter_mut().zip(near_names(&state, &points).await?) {
        l.near = near;
    }
    let dto = RepeatLocationsDto {
        from: query.period.from(),
        to: query.period.to(),
        radius_m,
        min_cases,
        locations,
    };
    if csv {
        let tz = offset(&state);
        let rows = dto
            .locations
            .iter()
            .map(|l| {
                vec![
                    l.category.clone().into(),
                    l.cases.into(),
                    Some(l.lat).into(),
                    Some(l.lon).into(),
                    Some(l.spread_m).into(),
                    local_time(l.first_reported, tz).into(),
                    local_time(l.last_reported, tz).into(),
                    l.numbers.join(" ").into(),
                    l.near.clone().into(),
                ]
            })
            .collect();
        return Ok(csv_response(
            "repeat-locations.csv",
            lang,
            &[
                "category",
                "cases",
                "lat",
                "lon",
                "spread_m",
                "first_reported",
                "last_reported",
                "numbers",
                "near",
            ],
            rows,
        ));
    }
    Ok(axum::Json(dto).into_response())
}

#[utoipa::path(get, path = "/api/v1/analytics/repeat-merchants", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = RepeatMerchantsDto, description = "Most cases first; CSV with format=csv"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_value (min_cases, limit), invalid_format, unknown_…", body = Problem, content_type = "application/problem+json"),
    ))]
async fn repeat_merchants(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let min_cases = bounded("min_cases", q.min_cases, 2, 2, 1000)?;
    let limit = bounded("limit", q.limit, 20, 1, 500)?;
    let csv = wants_csv(&q)?;
    let query = prepare(&state, &p, &q, Action::ViewStatistics).await?;
    let merchants = repo::repeat_merchants(&state.db, &query, min_cases, limit).await?;
    let dto = RepeatMerchantsDto {
        from: query.period.from(),
        to: query.period.to(),
        min_cases,
        merchants: merchants
            .into_iter()
            .map(|m| RepeatMerchantDto {
                merchant_id: m.merchant_id,
                name: m.name,
                cases: m.cases,
                open: m.open,
                categories: m.categories,
            })
            .collect(),
    };
    if csv {
        let rows = dto
            .merchants
            .iter()
            .map(|m| {
                vec![
                    m.merchant_id.into(),
                    m.name.clone().into(),
                    m.cases.into(),
                    m.open.into(),
                    m.categories.into(),
                ]
            })
            .collect();
        return Ok(csv_response(
            "repeat-merchants.csv",
            lang,
            &["merchant_id", "name", "cases", "open", "categories"],
            rows,
        ));
    }
    Ok(axum::Json(dto).into_response())
}

#[utoipa::path(get, path = "/api/v1/analytics/recurring-categories", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = RecurringDto, description = "Longest runs first; CSV (one row per grid, category and week) with format=csv"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_value (min_weeks), invalid_format, unknown_…", body = Problem, content_type = "application/problem+json"),
    ))]
async fn recurring_categories(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let min_weeks = bounded("min_weeks", q.min_weeks, 2, 2, 53)?;
    let csv = wants_csv(&q)?;
    let query = prepare(&state, &p, &q, Action::ViewStatistics).await?;
    let found = repo::recurring(&state.db, &query, min_weeks).await?;
    let dto = RecurringDto {
        from: query.period.from(),
        to: query.period.to(),
        min_weeks,
        recurrences: found
            .into_iter()
            .map(|r| RecurrenceDto {
                grid_id: r.grid_id,
                grid: r.grid,
                category_id: r.category_id,
                category: r.category,
                run_weeks: r.run_weeks,
                run_start: r.run_start.to_string(),
                weeks: r
                    .weeks
                    .into_iter()
                    .map(|(w, n)| WeekCountDto {
                        week: w.to_string(),
                        cases: n,
                    })
                    .collect(),
            })
            .collect(),
    };
    if csv {
        let mut rows = Vec::new();
        for r in &dto.recurrences {
            for w in &r.weeks {
                rows.push(vec![
                    r.grid_id.into(),
                    r.grid.clone().into(),
                    r.category.clone().into(),
                    i64::from(r.run_weeks).into(),
                    r.run_start.clone().into(),
                    w.week.clone().into(),
                    w.cases.into(),
                ]);
            }
        }
        return Ok(csv_response(
            "recurring-categories.csv",
            lang,
            &[
                "grid_id",
                "grid",
                "category",
                "run_weeks",
                "run_start",
                "week",
                "cases",
            ],
            rows,
        ));
    }
    Ok(axum::Json(dto).into_response())
}

#[utoipa::path(get, path = "/api/v1/analytics/workload", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = WorkloadDto, description = "Per officer; CSV with format=csv"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_format, unknown_…", body = Problem, content_type = "application/problem+json"),
    ))]
async fn workload(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let csv = wants_csv(&q)?;
    let query = prepare(&state, &p, &q, Action::ViewStatistics).await?;
    let loads = repo::workload(&state.db, &query).await?;
    let mut total = Vec::new();
    for l in &loads {
        for c in Class721::ALL {
            let t = l.mix.total(c);
            total.push((c, t.count, t.minutes));
        }
    }
    let dto = WorkloadDto {
        from: query.period.from(),
        to: query.period.to(),
        as_of: query.now,
        officers: loads
            .iter()
            .map(|l| OfficerLoadDto {
                officer_id: l.officer_id,
                name: l.name.clone(),
                assigned: l.assigned,
                open: l.open,
                overdue: l.overdue,
                closed: l.closed,
                closed_on_time: l.closed_on_time,
                on_time_close_rate: rate(l.closed_on_time, l.closed),
                reworked: l.reworked,
                work: mix_dto(&l.mix),
            })
            .collect(),
        total_work: mix_dto(&Mix::from_rows(total)),
    };
    if csv {
        let rows = dto
            .officers
            .iter()
            .map(|o| {
                let mut r: Vec<Cell> = vec![
                    o.officer_id.into(),
                    o.name.clone().into(),
                    o.assigned.into(),
                    o.open.into(),
                    o.overdue.into(),
                    o.closed.into(),
                    o.closed_on_time.into(),
                    o.on_time_close_rate.into(),
                    o.reworked.into(),
                    o.work.count.into(),
                    o.work.minutes.into(),
                ];
                for c in &o.work.classes {
                    r.push(c.minutes.into());
                    r.push(c.share_by_minutes.into());
                }
                r.push(o.work.distance_from_target.into());
                r
            })
            .collect();
        return Ok(csv_response(
            "workload.csv",
            lang,
            &[
                "officer_id",
                "name",
                "assigned",
                "open",
                "overdue",
                "closed",
                "closed_on_time",
                "on_time_close_rate",
                "reworked",
                "work_logs",
                "work_minutes",
                "service_minutes",
                "service_share",
                "management_minutes",
                "management_share",
                "enforcement_minutes",
                "enforcement_share",
                "distance_from_721",
            ],
            rows,
        ));
    }
    Ok(axum::Json(dto).into_response())
}

/// Names for the export's columns, loaded once per export (small tables).
struct Names {
    categories: HashMap<i64, String>,
    streets: HashMap<i64, String>,
    communities: HashMap<i64, String>,
    grids: HashMap<i64, String>,
    staff: HashMap<i64, String>,
}

async fn load_names(state: &AppState) -> Result<Names, ApiError> {
    let mut communities = HashMap::new();
    let mut after = None;
    loop {
        let page = geography::list_communities(
            &state.db,
            Default::default(),
            PageRequest { after, limit: 1000 },
        )
        .await?;
        for c in &page.items {
            communities.insert(c.community.id.get(), c.community.name.as_str().to_owned());
        }
        match page.next_after {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    Ok(Names {
        categories: categories::list_categories(&state.db, true)
            .await?
            .into_iter()
            .map(|c| (c.id.get(), c.name.zh().as_str().to_owned()))
            .collect(),
        streets: geography::list_streets(&state.db, None)
            .await?
            .into_iter()
            .map(|s| (s.id.get(), s.name.as_str().to_owned()))
            .collect(),
        communities,
        grids: geography::list_grids(&state.db, None)
            .await?
            .into_iter()
            .map(|g| (g.id.get(), g.name.as_str().to_owned()))
            .collect(),
        staff: HashMap::new(),
    })
}

const CASE_HEADERS: [&str; 18] = [
    "number",
    "reported_at",
    "category",
    "case_type",
    "priority",
    "source",
    "status",
    "stage",
    "stage_due",
    "overdue",
    "street",
    "community",
    "grid",
    "address",
    "description",
    "assignee",
    "rating",
    "closed_at",
];

#[utoipa::path(get, path = "/api/v1/analytics/cases.csv", tag = "analytics",
    params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, content_type = "text/csv", description = "The cases reported in the period, newest first, streamed: UTF-8 with BOM, CRLF, formula cells neutralised. Reporter names and phones are never exported."),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden (needs ExportData: leaders and dispatchers), outside_jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, invalid_value (status), unknown_…", body = Problem, content_type = "application/problem+json"),
    ))]
async fn export_cases(
    State(state): State<AppState>,
    lang: Lang,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Response, ApiError> {
    let statuses: Vec<CaseStatus> = q
        .status
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let query = prepare(&state, &p, &q, Action::ExportData).await?;
    let s = &query.scope;
    let mut vis = Visibility::default();
    match (&s.areas, s.street, s.district) {
        (_, Some(street), _) => vis.streets = vec![street],
        (_, None, Some(district)) => vis.districts = vec![district],
        (None, None, None) => vis.everything = true,
        (Some(a), None, None) => {
            vis.districts = a.districts.clone();
            vis.streets = a.streets.clone();
            vis.communities = a.communities.clone();
        }
    }
    let filter = CaseFilter {
        statuses,
        category: s.category.map(CategoryId::new).transpose()?,
        community: s.community.map(CommunityId::new).transpose()?,
        grid: s.grid.map(GridId::new).transpose()?,
        created_from: Some(query.period.from()),
        created_to: Some(query.period.to()),
        ..Default::default()
    };
    let names = load_names(&state).await?;
    let tz = offset(&state);
    let now = query.now;

    struct Cursor {
        state: AppState,
        vis: Visibility,
        filter: CaseFilter,
        names: Names,
        after: Option<CaseCursor>,
        first: bool,
        done: bool,
    }
    let start = Cursor {
        state: state.clone(),
        vis,
        filter,
        names,
        after: None,
        first: true,
        done: false,
    };
    let stream = futures_util::stream::unfold(start, move |mut cur| async move {
        if cur.done {
            return None;
        }
        let mut out = String::new();
        if cur.first {
            cur.first = false;
            out.push_str(CSV_BOM);
            out.push_str(&csv_row(
                &CASE_HEADERS
                    .iter()
                    .map(|h| match (lang, *h) {
                        // A yes/no column here, not the summary's count.
                        (Lang::Zh, "overdue") => Cell::from("是否超期"),
                        _ => heading(lang, h),
                    })
                    .collect::<Vec<_>>(),
            ));
        }
        let page = cases::search(
            &cur.state.db,
            &cur.vis,
            &cur.filter,
            CaseOrder::Newest,
            cur.after,
            EXPORT_PAGE,
        )
        .await;
        let (list, next) = match page {
            Ok(p) => p,
            Err(e) => {
                // The headers are gone; all that is left is to cut the download short.
                tracing::error!(error = %e, "case export failed mid-stream");
                cur.done = true;
                return Some((Err(std::io::Error::other("export failed")), cur));
            }
        };
        for c in &list {
            let assignee = match c.assignee {
                Some(a) => Some(staff_name(&cur.state, &mut cur.names, a).await),
                None => None,
            };
            let overdue = !c.status.is_terminal() && c.stage_due.is_some_and(|d| d < now);
            let name = |m: &HashMap<i64, String>, id: i64| m.get(&id).cloned().unwrap_or_default();
            out.push_str(&csv_row(&[
                c.number.as_str().into(),
                local_time(c.created_at, tz).into(),
                name(&cur.names.categories, c.category_id.get()).into(),
                coded(lang, c.case_type.name_zh(), c.case_type.as_str()).into(),
                coded(lang, c.priority.name_zh(), c.priority.as_str()).into(),
                coded(lang, c.source.name_zh(), c.source.as_str()).into(),
                coded(lang, c.status.name_zh(), c.status.as_str()).into(),
                c.stage
                    .map(|s| {
                        coded(lang, stage_zh(s.as_str()).unwrap_or(s.as_str()), s.as_str())
                            .to_owned()
                    })
                    .into(),
                c.stage_due.map(|d| local_time(d, tz)).into(),
                match (lang, overdue) {
                    (Lang::Zh, true) => "是",
                    (Lang::Zh, false) => "否",
                    (Lang::En, true) => "yes",
                    (Lang::En, false) => "no",
                }
                .into(),
                name(&cur.names.streets, c.area.street.get()).into(),
                name(&cur.names.communities, c.area.community.get()).into(),
                name(&cur.names.grids, c.location.grid().grid_id.get()).into(),
                c.address.clone().into(),
                c.description.as_str().into(),
                assignee.into(),
                c.rating
                    .as_ref()
                    .map_or(Cell::Empty, |r| Cell::Int(i64::from(r.score()))),
                c.closed_at.map(|d| local_time(d, tz)).into(),
            ]));
        }
        cur.after = next;
        cur.done = next.is_none();
        Some((Ok::<_, std::io::Error>(out), cur))
    });
    // Fused: the compression layer polls a body once more after it ended, and a bare `unfold`
    // panics when polled past its end, cutting every gzip download off.
    let mut res = Body::from_stream(futures_util::StreamExt::fuse(stream)).into_response();
    for (k, v) in csv_headers("cases.csv") {
        res.headers_mut().insert(k, v);
    }
    Ok(res)
}

/// A coded value as a Chinese reader reads it, or its wire code for an English request.
fn coded(lang: Lang, zh: &'static str, code: &'static str) -> &'static str {
    lang.pick(zh, code)
}

/// An assignee's display name, looked up once per export.
async fn staff_name(state: &AppState, names: &mut Names, id: UserId) -> String {
    if let Some(n) = names.staff.get(&id.get()) {
        return n.clone();
    }
    let n = users::get_user(&state.db, id)
        .await
        .map(|u| u.display_name.as_str().to_owned())
        .unwrap_or_default();
    names.staff.insert(id.get(), n.clone());
    n
}
