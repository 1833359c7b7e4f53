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
use whistle_auth::policy::Action;
use whistle_domain::ValueError;
use whistle_domain::analytics::{
    CSV_BOM, Cell, CellLattice, GroupBy, cluster, csv_row, distance_m, group_by_zh, header_zh,
    rate, round4, stage_zh,
};
use whistle_domain::case::CaseStatus;
use whistle_domain::geography::Boundary;
use whistle_domain::ids::{CategoryId, CommunityId, GridId, UserId};
use whistle_domain::worklog::{Class721, Mix};
use whistle_persistence::repo::analytics::{self as repo, Figures, GroupKey, Query, StageTime};
use whistle_persistence::repo::cases::{self, CaseCursor, CaseFilter, CaseOrder, Visibility};
use whistle_persistence::repo::{PageRequest, categories, geography, users};

use crate::app::analytics::{self, Filters, near_names};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiQuery, CurrentUser};
use crate::i18n::Lang;
use crate::state::AppState;

/// Cases a repeat-location search clusters at most (narrow the period or scope beyond that).
pub const MAX_POINTS: u64 = 100_000;
/// Rows of the case-list export fetched per page while streaming.
pub(super) const EXPORT_PAGE: u64 = 500;

mod export;
mod figures;
mod repeats;
mod workload;

use export::*;
use figures::*;
use repeats::*;
use workload::*;

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

pub(super) fn secs(ms: Option<f64>) -> Option<f64> {
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

pub(super) fn mix_dto(mix: &Mix) -> WorkloadMixDto {
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

pub(super) fn unprocessable(
    code: &'static str,
    field: &str,
    detail: impl Into<String>,
) -> ApiError {
    ApiError::Unprocessable {
        code,
        detail: detail.into(),
        field: Some(field.to_owned()),
    }
}

pub(super) fn timestamp(
    field: &'static str,
    raw: Option<&str>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
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

/// CSV or JSON.
pub(super) fn wants_csv(q: &AnalyticsQuery) -> Result<bool, ApiError> {
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

pub(super) fn bounded<T: PartialOrd + Copy + std::fmt::Display>(
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

/// The query's period and filters, for the use case.
pub(super) async fn prepare(
    state: &AppState,
    p: &Principal,
    q: &AnalyticsQuery,
    action: Action,
) -> Result<Query, ApiError> {
    let filters = Filters {
        from: timestamp("from", q.from.as_deref())?,
        to: timestamp("to", q.to.as_deref())?,
        district: q.district,
        street: q.street,
        community: q.community,
        grid: q.grid,
        category: q
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
    };
    Ok(analytics::prepare(state, p, &filters, action).await?)
}

pub(super) fn offset(state: &AppState) -> FixedOffset {
    state.city().fixed()
}
