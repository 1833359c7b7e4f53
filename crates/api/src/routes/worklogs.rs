//! Officers' work records (线上工作记录): an officer or leader records a patrol, a home visit, a
//! lecture, door-to-door legal education, a mediation, an enforcement action or a joint action
//! with the property company; leaders read the records of their jurisdiction and everyone reads
//! their own; the 721 mix (70 % service, 20 % management, 10 % enforcement) is measured per
//! officer or community over a period.
//!
//! Periods are half-open on the start time, `[from, to)`. Without `to` a period ends now (plus
//! the few minutes of clock skew an entry may have); without `from` it starts 366 days before
//! `to`. A period longer than 366 days is refused, so no request scans all history.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Decision, Resource, authorize};
use whistle_domain::ValueError;
use whistle_domain::ids::{CaseId, CommunityId, GridId, MerchantId, UserId, WorkLogId};
use whistle_domain::jurisdiction::{Area, AreaPath};
use whistle_domain::location::{Coordinate, Crs};
use whistle_domain::people::Role;
use whistle_domain::text::Name;
use whistle_domain::worklog::{
    Activity, Class721, Classification, Mix, Notes, Participant, SpanError, WorkLog, WorkLogSpan,
};
use whistle_persistence::RepoError;
use whistle_persistence::repo::worklogs::{
    self, NewWorkLog, WorkLogCursor, WorkLogFilter, WorkLogPhoto, WorkLogVisibility,
};
use whistle_persistence::repo::{cases, geography, users};

use crate::app::AppError;
use crate::app::access::{require, require_scope};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::media_store;
use crate::state::AppState;
use crate::wire::paging::{self, PageOf};

/// The longest period a list or a mix covers, in days: a year, leap years included.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// Photos one entry may hold.
pub const MAX_PHOTOS: u64 = 20;
/// Participants (names and accounts together) one entry may name.
pub const MAX_PARTICIPANTS: usize = 30;
/// Cases, and merchants, one entry may link to.
pub const MAX_LINKS: usize = 20;

pub fn router() -> OpenApiRouter<AppState> {
    let photos = OpenApiRouter::new()
        .routes(routes!(upload_photo))
        .routes(routes!(download_photo))
        // The size limit of photos is enforced while reading (attachments.max_bytes); the JSON
        // limit must not apply to them, and only to them.
        .layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .routes(routes!(create_work_log, list_work_logs))
        .routes(routes!(work_mix))
        .routes(routes!(get_work_log))
        .merge(photos)
}

// ---- wire types ----------------------------------------------------------------------------

/// A new work-log entry. The officer is the caller.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewWorkLogRequest {
    /// `patrol` (巡查), `home_visit` (走访问需), `lecture` (讲座), `legal_education` (上门普法),
    /// `mediation` (调解), `enforcement` (执法), `joint_action` (城管+物业联合行动).
    pub activity: String,
    /// The 721 class: `service`, `management` or `enforcement`. Default: the activity's
    /// (home visits, legal education, lectures and mediation are service; patrols and joint
    /// actions management; enforcement enforcement).
    pub class: Option<String>,
    /// RFC 3339 with an offset, e.g. `2026-11-25T09:00:00+08:00`; kept to the second.
    pub started_at: String,
    /// After `started_at`, at most 24 hours later, and not in the future.
    pub ended_at: String,
    /// The community the work was done in; it must be in the caller's jurisdiction.
    pub community_id: i64,
    /// A grid of that community. Default: the grid of the point, if one is given.
    pub grid_id: Option<i64>,
    /// Where, in `crs`; both or neither; inside the community.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// `wgs84` (default), `gcj02` (Amap, Tencent) or `bd09` (Baidu).
    pub crs: Option<String>,
    /// People without an account who took part (e.g. 物业王经理), 1–100 characters each.
    #[serde(default)]
    pub participants: Vec<String>,
    /// Staff accounts who took part.
    #[serde(default)]
    pub participant_ids: Vec<i64>,
    /// What was done, up to 5000 characters.
    pub notes: Option<String>,
    /// Cases the work concerned; each must be one the caller can see.
    #[serde(default)]
    pub case_ids: Vec<i64>,
    /// Merchants the work concerned (ids of the merchant register).
    #[serde(default)]
    pub merchant_ids: Vec<i64>,
}

/// A work-log entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkLogDto {
    pub id: i64,
    /// The account id of the officer or leader who did the work.
    pub officer_id: i64,
    pub activity: String,
    /// The 721 class the entry counts as.
    pub class: String,
    /// The class the activity has by default.
    pub default_class: String,
    /// True when the officer chose a class other than the default.
    pub class_overridden: bool,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// Whole minutes, a started minute counting in full: what the mix adds up.
    pub minutes: u32,
    pub community_id: i64,
    pub street_id: i64,
    pub district_id: i64,
    pub grid_id: Option<i64>,
    /// WGS-84.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub participants: Vec<String>,
    pub participant_ids: Vec<i64>,
    pub notes: Option<String>,
    pub case_ids: Vec<i64>,
    pub merchant_ids: Vec<i64>,
    pub photos: Vec<WorkLogPhotoDto>,
    pub created_at: DateTime<Utc>,
}

/// A photo of an entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkLogPhotoDto {
    pub id: i64,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// Where to download it (with the same credentials).
    pub url: String,
}

impl From<WorkLogPhoto> for WorkLogPhotoDto {
    fn from(p: WorkLogPhoto) -> Self {
        WorkLogPhotoDto {
            url: format!("/api/v1/work-logs/{}/photos/{}", p.work_log_id, p.id),
            id: p.id,
            mime: p.mime,
            size: p.size,
            sha256: p.sha256,
            created_at: p.created_at,
        }
    }
}

fn to_dto(log: WorkLog, photos: Vec<WorkLogPhoto>) -> WorkLogDto {
    let mut names = Vec::new();
    let mut ids = Vec::new();
    for p in log.participants {
        match p {
            Participant::Named(n) => names.push(n.as_str().to_owned()),
            Participant::Staff(u) => ids.push(u.get()),
        }
    }
    WorkLogDto {
        id: log.id.get(),
        officer_id: log.officer.get(),
        activity: log.activity.as_str().to_owned(),
        class: log.classification.class.as_str().to_owned(),
        default_class: log.activity.default_class().as_str().to_owned(),
        class_overridden: log.classification.overridden,
        started_at: log.span.started_at(),
        ended_at: log.span.ended_at(),
        minutes: log.span.minutes(),
        community_id: log.area.community.get(),
        street_id: log.area.street.get(),
        district_id: log.area.district.get(),
        grid_id: log.grid.map(GridId::get),
        lat: log.point.map(Coordinate::lat),
        lon: log.point.map(Coordinate::lon),
        participants: names,
        participant_ids: ids,
        notes: log.notes.map(|n| n.as_str().to_owned()),
        case_ids: log.cases.into_iter().map(CaseId::get).collect(),
        merchant_ids: log.merchants.into_iter().map(MerchantId::get).collect(),
        photos: photos.into_iter().map(WorkLogPhotoDto::from).collect(),
        created_at: log.created_at,
    }
}

/// Filters of the list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkLogQuery {
    /// `me`, or an officer's account id. Officers may name only themselves; leaders officers
    /// stationed in their jurisdiction.
    pub officer: Option<String>,
    /// A community id. Leaders: one in their jurisdiction. Officers: only with `officer=me`.
    pub community: Option<i64>,
    /// Entries starting at or after this instant (RFC 3339). Default: 366 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// Entries starting before this instant (RFC 3339). Default: now (plus the five minutes of
    /// clock skew an entry may have).
    pub to: Option<DateTime<Utc>>,
    pub activity: Option<String>,
    pub class: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// Whose mix, over which period.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MixQuery {
    /// `me`, or an officer's account id. Without `officer` and `community`: the caller's own
    /// mix (officers) or their whole jurisdiction's (leaders).
    pub officer: Option<String>,
    /// A community id (leaders).
    pub community: Option<i64>,
    /// Default: 366 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// Default: now (plus five minutes of clock skew).
    pub to: Option<DateTime<Utc>>,
}

/// The 721 mix of a set of entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkMixDto {
    pub officer_id: Option<i64>,
    pub community_id: Option<i64>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub total_count: u64,
    pub total_minutes: u64,
    /// Service, management, enforcement, in this order.
    pub classes: Vec<ClassMixDto>,
    /// Half the sum of the absolute deviations: 0 on target, at most 1. Null without entries.
    pub distance_from_target: Option<f64>,
}

/// One class of the mix. Shares are fractions (0–1) rounded to 4 decimals; null without entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClassMixDto {
    /// `service`, `management` or `enforcement`.
    pub class: String,
    pub count: u64,
    pub minutes: u64,
    /// This class's minutes over all minutes: how the 721 method measures the mix.
    pub share_by_minutes: Option<f64>,
    pub share_by_count: Option<f64>,
    /// 0.7, 0.2 or 0.1.
    pub target_share: f64,
    /// `share_by_minutes - target_share`: positive is more than the method asks for.
    pub deviation: Option<f64>,
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn mix_dto(
    mix: &Mix,
    officer: Option<UserId>,
    community: Option<CommunityId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> WorkMixDto {
    WorkMixDto {
        officer_id: officer.map(UserId::get),
        community_id: community.map(CommunityId::get),
        from,
        to,
        total_count: mix.total_count(),
        total_minutes: mix.total_minutes(),
        classes: Class721::ALL
            .into_iter()
            .map(|c| ClassMixDto {
                class: c.as_str().to_owned(),
                count: mix.total(c).count,
                minutes: mix.total(c).minutes,
                share_by_minutes: mix.share_by_minutes(c).map(round4),
                share_by_count: mix.share_by_count(c).map(round4),
                target_share: c.target_share(),
                deviation: mix.deviation(c).map(round4),
            })
            .collect(),
        distance_from_target: mix.distance_from_target().map(round4),
    }
}

// ---- helpers -------------------------------------------------------------------------------

fn unprocessable(code: &'static str, field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::Unprocessable {
        code,
        detail: detail.into(),
        field: Some(field.to_owned()),
    }
}

fn timestamp(field: &'static str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ValueError::new(
                field,
                "must be an RFC 3339 timestamp with an offset, e.g. 2026-11-25T09:00:00+08:00",
            )
            .into()
        })
}

fn span_error(e: SpanError) -> ApiError {
    let code = match e {
        SpanError::EndsBeforeStart => "invalid_span",
        SpanError::TooLong => "span_too_long",
        SpanError::InFuture => "span_in_future",
    };
    unprocessable(code, "ended_at", e.to_string())
}

/// The community at every level, or 422 `unknown_community`.
async fn community_path(state: &AppState, raw: i64) -> Result<AreaPath, ApiError> {
    let unknown = || unprocessable("unknown_community", "community", "no such community");
    let id = CommunityId::new(raw).map_err(|_| unknown())?;
    match geography::get_community(&state.db, id).await {
        Ok(c) => Ok(AreaPath {
            district: c.district.id,
            street: c.street.id,
            community: id,
        }),
        Err(RepoError::NotFound(_)) => Err(unknown()),
        Err(e) => Err(e.into()),
    }
}

fn resource(log: &WorkLog) -> Resource {
    Resource::at(log.area).owned_by(log.officer)
}

/// The entry if the caller may read it; 404 alike for entries that do not exist and entries the
/// caller may not see, so ids reveal nothing.
async fn load_visible(state: &AppState, p: &Principal, id: i64) -> Result<WorkLog, ApiError> {
    let not_found = || ApiError::not_found("work_log_not_found", "no such work log");
    let id = WorkLogId::new(id).map_err(|_| not_found())?;
    let log = worklogs::get(&state.db, id)
        .await
        .map_err(ApiError::when_missing(not_found()))?;
    require(p, Action::ViewWorkLogs, &resource(&log)).map_err(|e| match e {
        AppError::NotFound { .. } => not_found(),
        other => other.into(),
    })?;
    Ok(log)
}

/// `[from, to)` with the defaults and the cap described in the module documentation.
fn period(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let max = Duration::days(MAX_PERIOD_DAYS);
    let to = to.unwrap_or(now + Duration::minutes(WorkLogSpan::CLOCK_SKEW_MINUTES));
    let from = from.unwrap_or(to - max);
    if from >= to {
        return Err(unprocessable(
            "invalid_period",
            "from",
            "from must be before to",
        ));
    }
    if to - from > max {
        return Err(unprocessable(
            "period_too_long",
            "from",
            format!("a period spans at most {MAX_PERIOD_DAYS} days"),
        ));
    }
    Ok((from, to))
}

fn officer_param(raw: Option<&str>, p: &Principal) -> Result<Option<UserId>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some("me") => Ok(Some(p.user_id)),
        Some(n) => n
            .parse::<i64>()
            .ok()
            .and_then(|n| UserId::new(n).ok())
            .map(Some)
            .ok_or_else(|| {
                unprocessable(
                    "invalid_value",
                    "officer",
                    "officer must be me or an account id",
                )
            }),
    }
}

/// Checks that the caller may see the named officer's and community's work, and returns what the
/// caller may see at all.
///
/// An officer's own work is always theirs to see. Another officer's work is visible where the
/// policy lets the caller see it in one of the communities that officer is stationed in. A
/// community's work is visible where the policy lets the caller see anyone's work there, unless
/// the caller asked for their own work only (`officer=me`), which is a filter and not a scope.
async fn scope(
    state: &AppState,
    p: &Principal,
    officer: Option<UserId>,
    community: Option<i64>,
) -> Result<(WorkLogVisibility, Option<CommunityId>), ApiError> {
    // Own entries are the least a reader of work logs sees; roles that cannot see even those
    // cannot read work logs at all (403).
    require_scope(
        p,
        Action::ViewWorkLogs,
        &Resource::city().owned_by(p.user_id),
    )?;
    if let Some(o) = officer.filter(|o| *o != p.user_id) {
        let user = match users::get_user(&state.db, o).await {
            Ok(u) if u.role.is_enforcement() => u,
            Ok(_) | Err(RepoError::NotFound(_)) => {
                return Err(unprocessable(
                    "unknown_officer",
                    "officer",
                    "no officer or leader with this account id",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let stationed = users::jurisdiction_of(&state.db, o, user.role).await?;
        let mut decision = authorize(p, Action::ViewWorkLogs, &Resource::city().owned_by(o));
        for area in stationed.areas() {
            if let Area::Community(c) = area {
                let path = community_path(state, c.get()).await?;
                decision = authorize(p, Action::ViewWorkLogs, &Resource::at(path).owned_by(o));
                if decision == Decision::Allow {
                    break;
                }
            }
        }
        if decision != Decision::Allow {
            require_scope(p, Action::ViewWorkLogs, &Resource::city().owned_by(o))?;
        }
    }
    let community = match community {
        Some(raw) => {
            let path = community_path(state, raw).await?;
            if officer != Some(p.user_id) {
                require_scope(p, Action::ViewWorkLogs, &Resource::at(path))?;
            }
            Some(path.community)
        }
        None => None,
    };
    // The policy lets leaders read work logs inside their jurisdiction and officers only their
    // own: the areas widen the visibility for leaders only.
    let mut vis = WorkLogVisibility {
        author: Some(p.user_id),
        ..Default::default()
    };
    if p.role == Role::Leader {
        for area in p.jurisdiction.areas() {
            match area {
                Area::District(d) => vis.districts.push(d.get()),
                Area::Street(s) => vis.streets.push(s.get()),
                Area::Community(c) => vis.communities.push(c.get()),
            }
        }
    }
    Ok((vis, community))
}

fn encode_cursor(c: WorkLogCursor) -> String {
    format!("w{}_{}", c.started_at.timestamp(), c.id)
}

fn decode_cursor(raw: Option<&str>) -> Result<Option<WorkLogCursor>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    raw.strip_prefix('w')
        .and_then(|rest| rest.split_once('_'))
        .and_then(|(secs, id)| {
            let started_at = DateTime::<Utc>::from_timestamp(secs.parse().ok()?, 0)?;
            let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
            Some(WorkLogCursor { started_at, id })
        })
        .map(Some)
        .ok_or_else(|| ApiError::bad_request("invalid_cursor", "cursor is not one this API issued"))
}

// ---- handlers ------------------------------------------------------------------------------

/// Record a piece of one's own work (线上工作记录). Officers record work in the communities they
/// are stationed in, leaders anywhere in their jurisdiction. The entry and its participants and
/// links are stored in one transaction.
#[utoipa::path(post, path = "/api/v1/work-logs", tag = "work-logs",
    request_body = NewWorkLogRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = WorkLogDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an officer or leader, or outside the jurisdiction", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_span, span_too_long, span_in_future, unknown_community, unknown_grid, grid_not_in_community, point_outside_community, unknown_case, unknown_participant, invalid_value", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_work_log(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<NewWorkLogRequest>,
) -> Result<(StatusCode, Json<WorkLogDto>), ApiError> {
    let area = community_path(&state, req.community_id).await?;
    require(&p, Action::LogWork, &Resource::at(area).owned_by(p.user_id))?;

    let activity: Activity = req.activity.parse()?;
    let class: Option<Class721> = req
        .class
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(str::parse)
        .transpose()?;
    let now = state.now();
    let span = WorkLogSpan::new(
        timestamp("started_at", &req.started_at)?,
        timestamp("ended_at", &req.ended_at)?,
        now,
    )
    .map_err(span_error)?;
    let notes = req
        .notes
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .map(Notes::parse)
        .transpose()?;

    let mut grid = match req.grid_id {
        Some(raw) => {
            let unknown = || unprocessable("unknown_grid", "grid_id", "no such grid");
            let id = GridId::new(raw).map_err(|_| unknown())?;
            let g = geography::get_grid(&state.db, id)
                .await
                .map_err(ApiError::when_missing(unknown()))?;
            if g.community_id != area.community {
                return Err(unprocessable(
                    "grid_not_in_community",
                    "grid_id",
                    format!("grid {id} is not in community {}", area.community),
                ));
            }
            Some(id)
        }
        None => None,
    };
    let point = match (req.lat, req.lon) {
        (None, None) => None,
        (Some(lat), Some(lon)) => {
            let crs: Crs = req
                .crs
                .as_deref()
                .map(str::parse)
                .transpose()?
                .unwrap_or_default();
            let point = Coordinate::from_crs(crs, lat, lon)
                .map_err(|e| unprocessable("invalid_coordinate", e.field, e.reason.clone()))?;
            let hit = state
                .grids()
                .locate(point)
                .ok()
                .filter(|hit| hit.community_id == area.community)
                .ok_or_else(|| {
                    unprocessable(
                        "point_outside_community",
                        "lat",
                        format!("the point is not inside community {}", area.community),
                    )
                })?;
            grid = grid.or(Some(hit.grid_id));
            Some(point)
        }
        _ => {
            return Err(unprocessable(
                "invalid_value",
                if req.lat.is_none() { "lat" } else { "lon" },
                "give both lat and lon, or neither",
            ));
        }
    };

    if req.participants.len() + req.participant_ids.len() > MAX_PARTICIPANTS {
        return Err(unprocessable(
            "too_many_participants",
            "participants",
            format!("an entry names at most {MAX_PARTICIPANTS} participants"),
        ));
    }
    let mut participants = Vec::new();
    for raw in &req.participants {
        let name = Name::parse(raw).map_err(|e| ValueError::new("participants", e.reason))?;
        let p = Participant::Named(name);
        if !participants.contains(&p) {
            participants.push(p);
        }
    }
    for raw in &req.participant_ids {
        let unknown = || {
            unprocessable(
                "unknown_participant",
                "participant_ids",
                format!("{raw} is not an active staff account"),
            )
        };
        let id = UserId::new(*raw).map_err(|_| unknown())?;
        match users::get_user(&state.db, id).await {
            Ok(u) if u.role.is_staff() && !u.disabled => {}
            Ok(_) | Err(RepoError::NotFound(_)) => return Err(unknown()),
            Err(e) => return Err(e.into()),
        }
        let p = Participant::Staff(id);
        if !participants.contains(&p) {
            participants.push(p);
        }
    }

    if req.case_ids.len() > MAX_LINKS || req.merchant_ids.len() > MAX_LINKS {
        return Err(unprocessable(
            "too_many_links",
            if req.case_ids.len() > MAX_LINKS {
                "case_ids"
            } else {
                "merchant_ids"
            },
            format!("an entry links at most {MAX_LINKS} cases and {MAX_LINKS} merchants"),
        ));
    }
    let mut linked_cases: Vec<CaseId> = Vec::new();
    for raw in &req.case_ids {
        // A case that does not exist and one the caller may not see get the same answer.
        let unknown = || {
            unprocessable(
                "unknown_case",
                "case_ids",
                format!("no case {raw} that you can see"),
            )
        };
        let id = CaseId::new(*raw).map_err(|_| unknown())?;
        let case = match cases::get(&state.db, id).await {
            Ok(c) => c,
            Err(RepoError::NotFound(_)) => return Err(unknown()),
            Err(e) => return Err(e.into()),
        };
        let visible = authorize(
            &p,
            Action::ViewCase,
            &Resource {
                area: Some(case.area),
                owner: case.reporter_id,
            },
        );
        if visible != Decision::Allow {
            return Err(unknown());
        }
        if !linked_cases.contains(&id) {
            linked_cases.push(id);
        }
    }
    let mut merchants: Vec<MerchantId> = req
        .merchant_ids
        .iter()
        .map(|m| MerchantId::new(*m))
        .collect::<Result<_, _>>()
        .map_err(|e| ValueError::new("merchant_ids", e.reason))?;
    merchants.sort();
    merchants.dedup();
    for m in &merchants {
        match whistle_persistence::repo::merchants::get_merchant(&state.db, *m).await {
            Ok(_) => {}
            Err(RepoError::NotFound(_)) => {
                return Err(unprocessable(
                    "unknown_merchant",
                    "merchant_ids",
                    format!("no merchant {m}"),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }

    let new = NewWorkLog {
        officer: p.user_id,
        activity,
        classification: Classification::of(activity, class),
        span,
        area,
        grid,
        point,
        participants,
        notes,
        cases: linked_cases,
        merchants,
        now,
    };
    let txn = state.db.begin().await?;
    let log = worklogs::insert(&txn, &new).await?;
    txn.commit().await?;
    tracing::info!(
        work_log_id = log.id.get(),
        officer_id = p.user_id.get(),
        community_id = area.community.get(),
        activity = activity.as_str(),
        class = log.classification.class.as_str(),
        "work logged"
    );
    Ok((StatusCode::CREATED, Json(to_dto(log, Vec::new()))))
}

/// Work-log entries, newest first: officers see their own, leaders those of their jurisdiction
/// (and their own). Filter by officer, community, period, activity and class.
#[utoipa::path(get, path = "/api/v1/work-logs", tag = "work-logs", params(WorkLogQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PageOf<WorkLogDto>),
        (status = 400, description = "Malformed query or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, unknown_officer, unknown_community, invalid_value", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_work_logs(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<WorkLogQuery>,
) -> Result<Json<PageOf<WorkLogDto>>, ApiError> {
    let officer = officer_param(q.officer.as_deref(), &p)?;
    let (vis, community) = scope(&state, &p, officer, q.community).await?;
    let (from, to) = period(q.from, q.to, state.now())?;
    let filter = WorkLogFilter {
        officer,
        community,
        from,
        to,
        activity: q
            .activity
            .as_deref()
            .filter(|a| !a.trim().is_empty())
            .map(str::parse)
            .transpose()?,
        class: q
            .class
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .map(str::parse)
            .transpose()?,
    };
    let after = decode_cursor(q.cursor.as_deref())?;
    let limit = paging::limit(q.limit)?;
    let (found, next) = worklogs::list(&state.db, &vis, &filter, after, limit).await?;
    let ids: Vec<WorkLogId> = found.iter().map(|l| l.id).collect();
    let mut photos = worklogs::photos_of(&state.db, &ids).await?;
    let items = found
        .into_iter()
        .map(|log| {
            let (mine, rest): (Vec<_>, Vec<_>) =
                photos.drain(..).partition(|ph| ph.work_log_id == log.id);
            photos = rest;
            to_dto(log, mine)
        })
        .collect();
    Ok(Json(PageOf {
        items,
        next_cursor: next.map(encode_cursor),
    }))
}

/// One entry, with its photos. 404 for entries the caller may not see.
#[utoipa::path(get, path = "/api/v1/work-logs/{id}", tag = "work-logs",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = WorkLogDto),
        (status = 403, description = "The role cannot read work logs", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_work_log(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<WorkLogDto>, ApiError> {
    let log = load_visible(&state, &p, id).await?;
    let photos = worklogs::photos_of(&state.db, &[log.id]).await?;
    Ok(Json(to_dto(log, photos)))
}

/// The 721 mix (721工作法): per class the number of entries and minutes, the shares by minutes
/// and by count, the 70/20/10 target and the deviation from it. Officers ask for their own;
/// leaders for officers and communities of their jurisdiction (403 outside).
#[utoipa::path(get, path = "/api/v1/work-logs/mix", tag = "work-logs", params(MixQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = WorkMixDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_period, period_too_long, unknown_officer, unknown_community", body = Problem, content_type = "application/problem+json"),
    ))]
async fn work_mix(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<MixQuery>,
) -> Result<Json<WorkMixDto>, ApiError> {
    let officer = officer_param(q.officer.as_deref(), &p)?;
    let (vis, community) = scope(&state, &p, officer, q.community).await?;
    let (from, to) = period(q.from, q.to, state.now())?;
    let filter = WorkLogFilter {
        officer,
        community,
        from,
        to,
        activity: None,
        class: None,
    };
    let mix = worklogs::mix(&state.db, &vis, &filter).await?;
    Ok(Json(mix_dto(&mix, officer, community, from, to)))
}

/// Multipart form of a photo upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct WorkLogPhotoForm {
    /// The photo: JPEG, PNG or WebP (recognised by content); metadata is removed.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Add a photo to one's own entry (at most 20 per entry). Only the officer who recorded the
/// entry may add photos.
#[utoipa::path(post, path = "/api/v1/work-logs/{id}/photos", tag = "work-logs",
    params(("id" = i64, Path)), security(("bearer" = [])),
    request_body(content = WorkLogPhotoForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = WorkLogPhotoDto),
        (status = 403, description = "Not the entry's author", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The entry holds the most photos it may", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JPEG, PNG or WebP", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn upload_photo(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    form: Multipart,
) -> Result<(StatusCode, Json<WorkLogPhotoDto>), ApiError> {
    let log = load_visible(&state, &p, id).await?;
    if log.officer != p.user_id {
        return Err(ApiError::forbidden(
            "not_author",
            "only the officer who recorded the entry can add photos",
        ));
    }
    // Still allowed to record work there (a stationing may have ended since).
    require(&p, Action::LogWork, &resource(&log))?;
    if worklogs::count_photos(&state.db, log.id).await? >= MAX_PHOTOS {
        return Err(ApiError::Conflict {
            code: "too_many_photos",
            detail: format!("an entry holds at most {MAX_PHOTOS} photos"),
        });
    }
    let mut upload = media_store::read_upload(form, state.settings.attachments.max_bytes).await?;
    let bytes = upload.take_file()?;
    let image = media_store::store_image(&state, bytes).await?;
    let txn = state.db.begin().await?;
    let photo = worklogs::add_photo(
        &txn,
        log.id,
        &image.sha256,
        image.mime,
        image.size,
        state.now(),
    )
    .await?;
    txn.commit().await?;
    tracing::info!(
        work_log_id = log.id.get(),
        photo_id = photo.id,
        "work-log photo added"
    );
    Ok((StatusCode::CREATED, Json(photo.into())))
}

/// Download a photo of an entry (metadata already removed), for those who may see the entry.
#[utoipa::path(get, path = "/api/v1/work-logs/{id}/photos/{photo_id}", tag = "work-logs",
    params(("id" = i64, Path), ("photo_id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn download_photo(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath((id, photo_id)): ApiPath<(i64, i64)>,
) -> Result<Response, ApiError> {
    let log = load_visible(&state, &p, id).await?;
    let photo = worklogs::get_photo(&state.db, log.id, photo_id)
        .await
        .map_err(ApiError::when_missing(ApiError::not_found(
            "photo_not_found",
            "no such photo",
        )))?;
    media_store::image_response(&state, &photo.sha256, &photo.mime, "private, max-age=86400").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = WorkLogCursor {
            started_at: DateTime::<Utc>::from_timestamp(1_795_000_000, 0).unwrap(),
            id: 42,
        };
        assert_eq!(decode_cursor(Some(&encode_cursor(c))).unwrap(), Some(c));
        assert_eq!(decode_cursor(None).unwrap(), None);
        for bad in ["42", "w", "w1_", "w_1", "wx_1", "w1_0", "i42", "' OR 1=1"] {
            assert!(decode_cursor(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn periods_default_cap_and_refuse_inversion() {
        let now = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).unwrap();
        let (from, to) = period(None, None, now).unwrap();
        assert_eq!(to - from, Duration::days(MAX_PERIOD_DAYS));
        assert!(to > now, "today's entries are included");
        let day = Duration::days(1);
        assert!(period(Some(now), Some(now - day), now).is_err());
        assert!(period(Some(now), Some(now), now).is_err());
        assert!(period(Some(now - Duration::days(400)), Some(now), now).is_err());
        assert_eq!(
            period(Some(now - day), None, now).unwrap().0,
            now - day,
            "from alone runs to now"
        );
    }
}
