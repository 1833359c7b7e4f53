//! Officers' work records (线上工作记录): an officer or leader records a patrol, a home visit, a
//! lecture, door-to-door legal education, a mediation, an enforcement action or a joint action
//! with the property company; leaders read the records of their jurisdiction and everyone reads
//! their own; the 721 mix (70 % service, 20 % management, 10 % enforcement) is measured per
//! officer or community over a period.
//! The rules (who records and reads what, the periods) are `app::worklogs`; this module
//! translates the wire.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::Principal;
use whistle_domain::ValueError;
use whistle_domain::ids::{CaseId, CommunityId, GridId, MerchantId, UserId, WorkLogId};
use whistle_domain::location::{Coordinate, Crs};
use whistle_domain::text::Name;
use whistle_domain::worklog::{Class721, Mix, Notes, Participant, WorkLog};
use whistle_persistence::repo::worklogs::{self, WorkLogCursor, WorkLogFilter, WorkLogPhoto};

use crate::app::worklogs::{self as work, RecordWork};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::media_store;
use crate::state::AppState;
use crate::wire::paging::{self, PageOf};

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

fn officer_param(raw: Option<&str>, p: &Principal) -> Result<Option<UserId>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some("me") => Ok(Some(p.user_id)),
        Some(n) => n
            .parse::<i64>()
            .ok()
            .and_then(|n| UserId::new(n).ok())
            .map(Some)
            .ok_or_else(|| ApiError::Unprocessable {
                code: "invalid_value",
                detail: "officer must be me or an account id".into(),
                field: Some("officer".into()),
            }),
    }
}

/// The request as the use case's command: every value parsed.
fn command_from(req: NewWorkLogRequest) -> Result<RecordWork, ApiError> {
    let point = match (req.lat, req.lon) {
        (None, None) => None,
        (Some(lat), Some(lon)) => {
            let crs: Crs = req
                .crs
                .as_deref()
                .map(str::parse)
                .transpose()?
                .unwrap_or_default();
            Some(
                Coordinate::from_crs(crs, lat, lon).map_err(|e| ApiError::Unprocessable {
                    code: "invalid_coordinate",
                    detail: e.reason.clone(),
                    field: Some(e.field.to_owned()),
                })?,
            )
        }
        _ => {
            return Err(ApiError::Unprocessable {
                code: "invalid_value",
                detail: "give both lat and lon, or neither".into(),
                field: Some(if req.lat.is_none() { "lat" } else { "lon" }.into()),
            });
        }
    };
    Ok(RecordWork {
        activity: req.activity.parse()?,
        class: req
            .class
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .map(str::parse)
            .transpose()?,
        started_at: timestamp("started_at", &req.started_at)?,
        ended_at: timestamp("ended_at", &req.ended_at)?,
        community_id: req.community_id,
        grid_id: req.grid_id,
        point,
        participants: req
            .participants
            .iter()
            .map(|raw| Name::parse(raw).map_err(|e| ValueError::new("participants", e.reason)))
            .collect::<Result<_, _>>()?,
        participant_ids: req.participant_ids,
        notes: req
            .notes
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .map(Notes::parse)
            .transpose()?,
        case_ids: req.case_ids,
        merchant_ids: req
            .merchant_ids
            .iter()
            .map(|m| MerchantId::new(*m))
            .collect::<Result<_, _>>()
            .map_err(|e| ValueError::new("merchant_ids", e.reason))?,
    })
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
    let log = work::record(&state, &p, command_from(req)?).await?;
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
    let (vis, community) = work::scope(&state, &p, officer, q.community).await?;
    let (from, to) = work::period(q.from, q.to, state.now())?;
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
    let log = work::load_visible(&state, &p, id).await?;
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
    let (vis, community) = work::scope(&state, &p, officer, q.community).await?;
    let (from, to) = work::period(q.from, q.to, state.now())?;
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
    let log = work::may_add_photo(&state, &p, id).await?;
    let mut upload = media_store::read_upload(form, state.settings.attachments.max_bytes).await?;
    let bytes = upload.take_file()?;
    let image = media_store::store_image(&state, bytes).await?;
    let photo = work::add_photo(&state, &log, &image).await?;
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
    let log = work::load_visible(&state, &p, id).await?;
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
}
