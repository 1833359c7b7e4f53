//! Cases: intake (a resident blows the whistle), reading a case and its timeline, and the actions
//! of the closed loop.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Decision, Resource, authorize};
use whistle_auth::refresh;
use whistle_auth::token::keyed_digest;
use whistle_domain::calendar::{SlaPolicy, Stage, WorkingCalendar};
use whistle_domain::case::{
    Case, CaseLocation, CaseNumber, CaseSource, CaseStatus, CaseType, Description, Priority,
    Rating, Reporter,
};
use whistle_domain::ids::{CaseId, MerchantId, PlaceId, UserId};
use whistle_domain::jurisdiction::AreaPath;
use whistle_domain::lifecycle::{CaseActionKind, entries, transition};
use whistle_domain::location::{Coordinate, Crs};
use whistle_domain::people::{PhoneNumber, Role};
use whistle_domain::routing::LocateError;
use whistle_domain::text::Name;
use whistle_persistence::RepoError;
use whistle_persistence::repo::cases::{
    self, Attention, CaseCursor, CaseEvent, CaseFilter, CaseOrder, CaseUpdate, Idempotency,
    NewCase, Relocation, Visibility,
};
use whistle_persistence::repo::{open311, users};

use crate::authn::require;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser, MaybeUser};
use crate::media_store::StoredImage;
use crate::routes::geography::{AreaRef, routed_point};
use crate::routes::paging::{self, PageOf};
use crate::routes::places;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_case, list_cases))
        .routes(routes!(public_cases))
        .routes(routes!(get_case))
        .routes(routes!(get_timeline))
        .routes(routes!(act))
        .routes(routes!(relocate))
}

const TRACKING_HEADER: &str = "x-tracking-token";

// ---- wire types ----------------------------------------------------------------------------

/// A new report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NewCaseRequest {
    /// Category code, e.g. `noise`.
    pub category: String,
    /// What is wrong, 1–5000 characters.
    pub description: String,
    /// Latitude in `crs`. With `lon`, the point that routes the case; without a point, the case
    /// is placed by `place_id` or by the address book entry its `address` names.
    pub lat: Option<f64>,
    /// Longitude in `crs`.
    pub lon: Option<f64>,
    /// `wgs84` (default), `gcj02` (Amap, Tencent) or `bd09` (Baidu).
    pub crs: Option<String>,
    /// The address as the reporter describes it.
    pub address: Option<String>,
    /// An entry of the address book (`GET /api/v1/places`), when there is no point.
    pub place_id: Option<i64>,
    /// Staff only: `urgent`, `high`, `normal`, `low` (default: the category's).
    pub priority: Option<String>,
    /// Staff only: `complaint`, `help_request`, `consultation`, `suggestion`.
    pub case_type: Option<String>,
    /// Hotline entry and anonymous reports: the caller's name.
    pub reporter_name: Option<String>,
    /// Hotline entry and anonymous reports: the caller's phone.
    pub reporter_phone: Option<String>,
    /// Answers to the category's extra questions (see `/api/v1/categories`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// A case as the caller may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDto {
    pub id: i64,
    /// Human case number, e.g. `HZ-20261125-000123`.
    pub number: String,
    pub status: String,
    pub category: String,
    pub case_type: String,
    pub priority: String,
    pub source: String,
    pub description: String,
    pub address: Option<String>,
    /// WGS-84.
    pub lat: f64,
    pub lon: f64,
    pub grid: AreaRef,
    pub community: AreaRef,
    pub street: AreaRef,
    pub district: AreaRef,
    /// The reporter's name and phone, masked unless the caller may see them.
    pub reporter_name: Option<String>,
    pub reporter_phone: Option<String>,
    pub suggested_officer_id: Option<i64>,
    pub assignee_id: Option<i64>,
    /// The category's name, so that no second look-up is needed.
    pub category_name_zh: String,
    pub category_name_en: String,
    /// The officer routing suggested (the one stationed in the community with the least open
    /// work), named.
    pub suggested_officer: Option<OfficerRef>,
    /// The officer handling the case, named; for the reporter with the officer's public
    /// contact number.
    pub assignee: Option<OfficerRef>,
    /// The stage whose clock is running (`accept`, `dispatch`, `sign`, `resolve`, `verify`).
    pub stage: Option<String>,
    /// Its deadline.
    pub stage_due: Option<DateTime<Utc>>,
    /// Send back as `version` (or `If-Match`) with the next action.
    pub version: i32,
    pub rating: Option<u8>,
    pub rating_comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Answers to the category's extra questions.
    #[schema(value_type = Object)]
    pub attributes: std::collections::BTreeMap<String, serde_json::Value>,
    /// The merchant the case is about, if any.
    pub merchant_id: Option<i64>,
    /// The address-book entry that placed the case when the report had no coordinates.
    pub place_id: Option<i64>,
    /// Only in the intake response to an anonymous reporter: send it as `X-Tracking-Token` to
    /// follow the case. Keep it; it is not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_token: Option<String>,
    /// Only in the intake response: open cases of the same category nearby, reported recently.
    /// The command centre may reject this one as a duplicate of one of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub possible_duplicates: Option<Vec<DuplicateDto>>,
    /// What the caller may do to the case now (`POST /api/v1/cases/{id}/actions`): the actions
    /// its status allows that the caller's role, jurisdiction and assignment permit, for menus
    /// and buttons. The action itself is checked again when it is sent. Empty for a reader by
    /// tracking token.
    pub actions: Vec<String>,
}

/// An officer as the caller may see them: staff see the whole name, residents the surname and
/// office ("田警官").
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfficerRef {
    pub id: i64,
    pub name: String,
    /// Staff: the officer's phone. The case's reporter: the number printed on the community's
    /// contact card (the stationing's contact phone). Others: absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// A case that may be the same problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateDto {
    pub id: i64,
    pub number: String,
    pub status: String,
    /// Distance from the new report, in metres.
    pub distance_m: f64,
}

/// An action on a case.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ActionRequest {
    /// `accept`, `reject`, `dispatch`, `sign`, `return`, `resolve`, `verify`, `rework`, `close`,
    /// `escalate`, `request_extension`, `decide_extension`, `reopen`, `rate`, `comment`.
    pub action: String,
    /// The case's `version` as last read (or send `If-Match`).
    pub version: Option<i32>,
    /// Notes (required for resolve, rework, return, comment and extension requests).
    pub note: Option<String>,
    /// dispatch: the officer's account id.
    pub assignee_id: Option<i64>,
    /// reject: `invalid`, `duplicate` or `out_of_scope`.
    pub reason: Option<String>,
    /// reject as duplicate: the other case's number.
    pub duplicate_of: Option<String>,
    /// escalate: `leader`, `street` or `department` (and `department` names it).
    pub escalate_to: Option<String>,
    pub department: Option<String>,
    /// request_extension: extra working hours asked for (1–240).
    pub extension_hours: Option<u32>,
    /// decide_extension: approve or deny.
    pub approve: Option<bool>,
    /// rate: 1–5.
    pub rating: Option<i64>,
}

/// One event of the timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    /// Who took the step: staff see names, residents see staff by surname and office
    /// ("田警官") and other residents masked ("张**"). Absent for anonymous reporters.
    pub actor_name: Option<String>,
    pub actor_role: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
}

// ---- helpers -------------------------------------------------------------------------------

/// Now, to the microsecond: PostgreSQL keeps microseconds, and list cursors carry deadlines at
/// that precision, so nothing stored may be finer.
pub(crate) fn now_micros() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

fn offset(state: &AppState) -> FixedOffset {
    FixedOffset::east_opt(state.settings.cases.utc_offset_minutes * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(8 * 3600).expect("valid offset"))
}

/// The deadline of `stage` starting `now`, on the city's calendar and the category's policy.
pub(crate) fn deadline(
    state: &AppState,
    calendar: &WorkingCalendar,
    policy: &SlaPolicy,
    stage: Stage,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let local = now.with_timezone(&offset(state)).naive_local();
    let due = policy.deadline(stage, local, calendar);
    due.and_local_timezone(offset(state))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
}

pub(crate) async fn policy(
    state: &AppState,
    case_cat: whistle_domain::ids::CategoryId,
    p: Priority,
) -> Result<SlaPolicy, ApiError> {
    Ok(state
        .reference
        .policy(&state.db, case_cat, p)
        .await
        .unwrap_or_else(|| SlaPolicy::default_for(p)))
}

fn tracking_token(state: &AppState, scope_key: Option<&str>) -> Result<String, ApiError> {
    match scope_key {
        // Reproducible for a retried intake with the same Idempotency-Key.
        Some(k) => Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(keyed_digest(&state.auth.tracking_secret, k.as_bytes()))),
        None => Ok(refresh::generate()
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?
            .plaintext),
    }
}

pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=100).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1–100 visible ASCII characters",
            )
        })?;
    Ok(Some(key.to_owned()))
}

/// Everything the DTO needs besides the case.
async fn to_dto(
    state: &AppState,
    case: &Case,
    viewer: Option<&Principal>,
    tracking: Option<String>,
) -> Result<CaseDto, ApiError> {
    to_dto_with(state, case, viewer, tracking, &mut Lookups::default()).await
}

/// The reporters `to_dto` names, remembered across the cases of one page and read for the
/// whole page at once ([`Lookups::reporters_of`]): looking each up once per case made the queue
/// ~300 queries a page (whistle-bench api). Grids and categories come from the reference cache.
#[derive(Default)]
struct Lookups {
    /// A reporter's display name and phone; `None` for an account that no longer exists.
    reporters: HashMap<i64, Option<(String, Option<whistle_domain::people::PhoneNumber>)>>,
    /// Suggested and assigned officers, the same way.
    officers: HashMap<i64, Option<whistle_domain::people::User>>,
}

impl Lookups {
    /// Reads the reporters of a page's cases in one query.
    async fn reporters_of(&mut self, state: &AppState, cases: &[Case]) -> Result<(), ApiError> {
        let mut wanted: Vec<UserId> = cases
            .iter()
            .filter_map(|c| match c.reporter {
                Reporter::Account(id) if !self.reporters.contains_key(&id.get()) => Some(id),
                _ => None,
            })
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        for id in &wanted {
            self.reporters.insert(id.get(), None);
        }
        for u in users::get_users(&state.db, &wanted).await? {
            self.reporters
                .insert(u.id.get(), Some((u.display_name.to_string(), u.phone)));
        }
        self.officers_of(state, cases).await
    }

    /// Reads the suggested and assigned officers of the cases not yet known, in one query.
    async fn officers_of(&mut self, state: &AppState, cases: &[Case]) -> Result<(), ApiError> {
        let mut wanted: Vec<UserId> = cases
            .iter()
            .flat_map(|c| [c.suggested_officer, c.assignee])
            .flatten()
            .filter(|id| !self.officers.contains_key(&id.get()))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        for id in &wanted {
            self.officers.insert(id.get(), None);
        }
        for u in users::get_users(&state.db, &wanted).await? {
            self.officers.insert(u.id.get(), Some(u));
        }
        Ok(())
    }
}

/// How much of an officer the viewer of a case sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OfficerView {
    /// Staff: the whole name and the account's phone.
    Staff,
    /// The case's reporter: the public name and the contact card's number.
    Reporter,
    /// Anyone else who may read the case: the public name.
    Public,
}

impl OfficerView {
    /// An anonymous viewer is the reporter: a case is only shown without a login to the holder
    /// of its tracking token.
    fn of(viewer: Option<&Principal>, case: &Case) -> Self {
        match viewer {
            Some(p) if !matches!(p.role, Role::Resident | Role::Partner) => OfficerView::Staff,
            Some(p) if case.reporter_id == Some(p.user_id) => OfficerView::Reporter,
            Some(_) => OfficerView::Public,
            None => OfficerView::Reporter,
        }
    }
}

/// The officer as `view` shows them; the reporter's number is the one on the contact card of
/// the case's community (the stationing's contact phone, else the account's).
async fn officer_ref(
    state: &AppState,
    user: &whistle_domain::people::User,
    case: &Case,
    view: OfficerView,
) -> Result<OfficerRef, ApiError> {
    let (name, phone) = match view {
        OfficerView::Staff => (
            user.display_name.to_string(),
            user.phone.as_ref().map(|p| p.as_str().to_owned()),
        ),
        OfficerView::Reporter => {
            let posted = whistle_persistence::repo::community::of_officer(&state.db, user.id)
                .await?
                .into_iter()
                .rev()
                .find(|s| s.community_id == case.area.community)
                .and_then(|s| s.contact_phone);
            (
                whistle_domain::people::public_name(user.display_name.as_str(), user.role, false),
                posted.or_else(|| user.phone.as_ref().map(|p| p.as_str().to_owned())),
            )
        }
        OfficerView::Public => (
            whistle_domain::people::public_name(user.display_name.as_str(), user.role, false),
            None,
        ),
    };
    Ok(OfficerRef {
        id: user.id.get(),
        name,
        phone,
    })
}

async fn to_dto_with(
    state: &AppState,
    case: &Case,
    viewer: Option<&Principal>,
    tracking: Option<String>,
    seen: &mut Lookups,
) -> Result<CaseDto, ApiError> {
    let place = state
        .reference
        .grid(&state.db, case.location.grid().grid_id)
        .await?;
    let category = state
        .reference
        .category(&state.db, case.category_id)
        .await?;
    if let Reporter::Account(id) = &case.reporter
        && let Entry::Vacant(e) = seen.reporters.entry(id.get())
    {
        e.insert(match users::get_user(&state.db, *id).await {
            Ok(u) => Some((u.display_name.to_string(), u.phone)),
            Err(RepoError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        });
    }
    let resource = Resource {
        area: Some(case.area),
        owner: case.reporter_id,
    };
    let full_contact = viewer
        .is_some_and(|p| authorize(p, Action::ViewReporterContact, &resource) == Decision::Allow)
        || tracking.is_some();
    let (name, phone) = match &case.reporter {
        Reporter::Account(id) => match &seen.reporters[&id.get()] {
            Some((name, phone)) => (Some(name.clone()), phone.clone()),
            None => (None, None),
        },
        Reporter::Anonymous { name, phone } => {
            (name.as_ref().map(|n| n.to_string()), phone.clone())
        }
    };
    let (name, phone) = if full_contact {
        (name, phone.map(|p| p.as_str().to_owned()))
    } else {
        (name.map(|n| mask_name(&n)), phone.map(|p| p.masked()))
    };
    seen.officers_of(state, std::slice::from_ref(case)).await?;
    let view = OfficerView::of(viewer, case);
    let named =
        |id: Option<UserId>| id.and_then(|id| seen.officers.get(&id.get()).cloned().flatten());
    let suggested_user = named(case.suggested_officer);
    let assignee_user = named(case.assignee);
    let suggested_officer = match &suggested_user {
        Some(u) => Some(officer_ref(state, u, case, view).await?),
        None => None,
    };
    let assignee = match &assignee_user {
        Some(u) => Some(officer_ref(state, u, case, view).await?),
        None => None,
    };
    let point = case.location.point();
    Ok(CaseDto {
        category_name_zh: category.name.zh().to_string(),
        category_name_en: category.name.en().to_string(),
        suggested_officer,
        assignee,
        id: case.id.get(),
        number: case.number.to_string(),
        status: case.status.as_str().to_owned(),
        category: category.code.to_string(),
        case_type: case.case_type.as_str().to_owned(),
        priority: case.priority.as_str().to_owned(),
        source: case.source.as_str().to_owned(),
        description: case.description.as_str().to_owned(),
        address: case.address.clone(),
        lat: point.lat(),
        lon: point.lon(),
        grid: AreaRef::from(&place.grid),
        community: AreaRef {
            id: place.community.community.id.get(),
            code: place.community.community.code.to_string(),
            name: place.community.community.name.to_string(),
        },
        street: AreaRef::from(&place.community.street),
        district: AreaRef::from(&place.community.district),
        reporter_name: name,
        reporter_phone: phone,
        suggested_officer_id: case.suggested_officer.map(UserId::get),
        assignee_id: case.assignee.map(UserId::get),
        stage: case.stage.map(|s| s.as_str().to_owned()),
        stage_due: case.stage_due,
        version: case.version,
        rating: case.rating.as_ref().map(Rating::score),
        rating_comment: case
            .rating
            .as_ref()
            .and_then(|r| r.comment().map(str::to_owned)),
        created_at: case.created_at,
        updated_at: case.updated_at,
        closed_at: case.closed_at,
        attributes: case.attributes.clone(),
        merchant_id: case.merchant_id.map(MerchantId::get),
        place_id: case.location.place().map(PlaceId::get),
        tracking_token: tracking,
        possible_duplicates: None,
        actions: viewer
            .map(|p| {
                actions_for(p, case)
                    .into_iter()
                    .map(|a| a.as_str().to_owned())
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// Open cases of the same category within the configured radius and window, nearest first.
async fn possible_duplicates(state: &AppState, case: &Case) -> Result<Vec<DuplicateDto>, ApiError> {
    let radius = state.settings.cases.duplicate_radius_m.clamp(0.0, 5000.0);
    let point = case.location.point();
    // Metres to degrees: 111 km per degree of latitude, less per degree of longitude.
    let dlat = radius / 111_000.0;
    let dlon = radius / (111_000.0 * point.lat().to_radians().cos().max(0.01));
    let since = case.created_at
        - chrono::Duration::hours(state.settings.cases.duplicate_window_hours.max(0));
    let bbox = [
        point.lat() - dlat,
        point.lon() - dlon,
        point.lat() + dlat,
        point.lon() + dlon,
    ];
    let near = cases::open_near(&state.db, case.category_id, since, bbox, 50).await?;
    let mut found: Vec<DuplicateDto> = near
        .into_iter()
        // Only earlier reports: a retried intake then answers with the same list.
        .filter(|c| c.id < case.id)
        .map(|c| DuplicateDto {
            id: c.id.get(),
            number: c.number.to_string(),
            status: c.status.as_str().to_owned(),
            distance_m: (c.location.point().distance_m(point) * 10.0).round() / 10.0,
        })
        .filter(|d| d.distance_m <= radius)
        .collect();
    found.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    found.truncate(10);
    Ok(found)
}

/// 张师傅 → 张**: how a name appears to those who may not see it.
fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().clamp(1, 2))),
        None => String::new(),
    }
}

fn with_etag(status: StatusCode, dto: CaseDto) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", dto.version)).ok();
    let mut res = (status, Json(dto)).into_response();
    if let Some(e) = etag {
        res.headers_mut().insert(header::ETAG, e);
    }
    res
}

/// Who may read this case: an account the policy allows, or the anonymous reporter's token.
async fn authorize_read(
    state: &AppState,
    case: &Case,
    viewer: Option<&Principal>,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let resource = Resource {
        area: Some(case.area),
        owner: case.reporter_id,
    };
    match viewer {
        // A case the caller may not read is answered exactly like one that does not exist.
        Some(p) => require(p, Action::ViewCase, &resource).map_err(as_missing_case),
        None => {
            let token = headers.get(TRACKING_HEADER).and_then(|v| v.to_str().ok());
            let stored = cases::tracking_hash(&state.db, case.id).await?;
            match (token, stored) {
                (Some(t), Some(h)) if t.len() <= 128 && refresh::hash(t) == h => Ok(()),
                (None, _) => Err(ApiError::unauthorized(
                    "unauthenticated",
                    "log in or send the case's X-Tracking-Token",
                )),
                _ => Err(ApiError::not_found("case_not_found", "no such case")),
            }
        }
    }
}

/// A case the caller may not see is answered exactly like one that does not exist, code
/// included: a different code would tell which ids exist.
fn as_missing_case(e: ApiError) -> ApiError {
    match e {
        ApiError::NotFound { .. } => ApiError::not_found("case_not_found", "no such case"),
        other => other,
    }
}

async fn load(state: &AppState, id: i64) -> Result<Case, ApiError> {
    let not_found = || ApiError::not_found("case_not_found", "no such case");
    let id = CaseId::new(id).map_err(|_| not_found())?;
    cases::get(&state.db, id)
        .await
        .map_err(ApiError::when_missing(not_found()))
}

// ---- handlers ------------------------------------------------------------------------------

/// Where a report came in: the native API (and inspections) or an Open311 client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    Native,
    Open311,
}

/// The report's point in WGS-84: its coordinates when it has them, else the address-book entry
/// it names (by `place_id` or by its address text).
async fn locate_report(
    state: &AppState,
    req: &NewCaseRequest,
    crs: Crs,
) -> Result<(Coordinate, Option<PlaceId>), ApiError> {
    match (req.lat, req.lon) {
        (Some(lat), Some(lon)) => Coordinate::from_crs(crs, lat, lon)
            .map(|p| (p, None))
            .map_err(|e| ApiError::Unprocessable {
                code: "invalid_coordinate",
                detail: e.to_string(),
                field: Some(e.field.to_owned()),
            }),
        (Some(_), None) | (None, Some(_)) => Err(ApiError::Unprocessable {
            code: "incomplete_coordinate",
            detail: "send both lat and lon, or neither".into(),
            field: Some(if req.lat.is_some() { "lon" } else { "lat" }.into()),
        }),
        (None, None) => {
            let place = places::place_report(state, req.place_id, req.address.as_deref()).await?;
            Ok((place.point, Some(place.id)))
        }
    }
}

/// A validated, routed report ready to be written: everything intake decides before its
/// transaction (category, answers, routing, SLA deadline, suggested officer, tracking token).
pub(crate) struct PreparedCase {
    pub new: NewCase,
    pub crs: Crs,
    /// The anonymous reporter's tracking token (shown once).
    pub token: Option<String>,
}

/// The one intake path: the native API, inspections that open a case and Open311 all come
/// through here, so routing, SLA and idempotency cannot differ between them.
pub(crate) async fn prepare_intake(
    state: &AppState,
    viewer: Option<&Principal>,
    req: &NewCaseRequest,
    channel: Channel,
    idempotency: Option<Idempotency>,
    scoped_key: Option<&str>,
) -> Result<PreparedCase, ApiError> {
    let category = state
        .reference
        .category_by_code(&state.db, req.category.trim())
        .await?
        .filter(|c| c.active)
        .ok_or_else(|| ApiError::Unprocessable {
            code: "unknown_category",
            detail: format!(
                "no active category {:?}",
                req.category.chars().take(40).collect::<String>()
            ),
            field: Some("category".into()),
        })?;
    let description = Description::parse(&req.description)?;
    let answers =
        whistle_domain::category::validate_answers(&category.attributes, &req.attributes)?;
    let crs: Crs = req
        .crs
        .as_deref()
        .map(str::parse)
        .transpose()?
        .unwrap_or_default();
    let (point, from_place) = locate_report(state, req, crs).await?;
    let address = req
        .address
        .as_deref()
        .filter(|a| !a.trim().is_empty())
        .map(whistle_domain::merchant::Address::parse)
        .transpose()?
        .map(|a| a.as_str().to_owned());
    let hit = state
        .grids()
        .locate(point)
        .map_err(|LocateError::OutsideCity { .. }| ApiError::Unprocessable {
            code: "outside_city",
            detail: "the location is not inside any grid of the city".into(),
            field: Some(
                if from_place.is_some() {
                    "place_id"
                } else {
                    "lat"
                }
                .into(),
            ),
        })?;
    let place = state.reference.grid(&state.db, hit.grid_id).await?;
    let area = AreaPath {
        district: place.community.district.id,
        street: place.community.street.id,
        community: hit.community_id,
    };
    // Who reports decides the source, and whether priority and type may be set by hand.
    let (source, staff) = match viewer.map(|p| p.role) {
        _ if channel == Channel::Open311 => (CaseSource::Open311, false),
        None | Some(Role::Resident) => (CaseSource::ResidentApp, false),
        Some(Role::Partner) => (CaseSource::Partner, false),
        Some(Role::Officer | Role::Leader) => (CaseSource::OfficerPatrol, true),
        Some(Role::Dispatcher) => (CaseSource::Hotline12345, true),
        Some(Role::Admin) => (CaseSource::ResidentApp, false),
    };
    if let Some(p) = viewer {
        require(
            p,
            Action::ReportCase,
            &Resource::at(area).owned_by(p.user_id),
        )?;
    }
    let priority = match (staff, req.priority.as_deref()) {
        (true, Some(p)) => p.parse()?,
        _ => category.default_priority,
    };
    let case_type: CaseType = match (staff, req.case_type.as_deref()) {
        (true, Some(t)) => t.parse()?,
        _ => category.case_type,
    };
    let (reporter_name, reporter_phone) = if viewer.is_none_or(|p| p.role == Role::Dispatcher) {
        (
            req.reporter_name
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(Name::parse)
                .transpose()?,
            req.reporter_phone
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(PhoneNumber::parse)
                .transpose()?,
        )
    } else {
        (None, None)
    };
    let calendar = state.reference.calendar(&state.db).await;
    let policy = policy(state, category.id, priority).await?;
    let now = now_micros();
    let today = now.with_timezone(&offset(state)).date_naive();
    let suggested = cases::suggest_officer(&state.db, hit.community_id, today).await?;
    let token = viewer
        .is_none()
        .then(|| tracking_token(state, scoped_key))
        .transpose()?;
    // 自行发现，自行处置: what an officer finds on patrol or at an inspection is his to handle
    // at once; it waits for no dispatcher.
    let handled_by = viewer
        .filter(|p| p.role == Role::Officer && channel == Channel::Native)
        .map(|p| p.user_id);
    let first_stage = if handled_by.is_some() {
        Stage::Resolve
    } else {
        Stage::Accept
    };
    let new = NewCase {
        prefix: place.community.district.case_prefix.clone(),
        local_day: now.with_timezone(&offset(state)).date_naive(),
        category_id: category.id,
        case_type,
        priority,
        source,
        description,
        address,
        location: match from_place {
            Some(id) => CaseLocation::routed(point, hit).from_place(id),
            None => CaseLocation::routed(point, hit),
        },
        area,
        reporter_id: viewer.map(|p| p.user_id),
        reporter_name,
        reporter_phone,
        tracking_token_hash: token.as_deref().map(refresh::hash),
        suggested_officer: suggested,
        handled_by,
        stage_due: deadline(state, &calendar, &policy, first_stage, now),
        idempotency,
        attributes: answers,
        merchant_id: None,
        now,
    };
    Ok(PreparedCase { new, crs, token })
}

/// Takes the prepared case's number, in a transaction of its own (`cases::reserve_number`):
/// call it just before the transaction that writes the case.
pub(crate) async fn reserve_number(
    state: &AppState,
    prepared: &PreparedCase,
) -> Result<CaseNumber, RepoError> {
    cases::reserve_number(&state.db, &prepared.new.prefix, prepared.new.local_day).await
}

/// Writes a prepared case under its reserved number, and its first timeline event, inside the
/// caller's transaction.
pub(crate) async fn insert_intake(
    txn: &impl ConnectionTrait,
    prepared: &PreparedCase,
    number: &CaseNumber,
    viewer: Option<&Principal>,
) -> Result<Case, RepoError> {
    let new = &prepared.new;
    let case = cases::insert(txn, new, number).await?;
    let event = |action: CaseActionKind, from: CaseStatus, to: CaseStatus, data| CaseEvent {
        id: 0,
        case_id: case.id,
        at: new.now,
        actor_id: viewer.map(|p| p.user_id),
        actor_role: viewer
            .map(|p| p.role.as_str())
            .unwrap_or("anonymous")
            .to_owned(),
        action: action.as_str().to_owned(),
        from_status: Some(from),
        to_status: to,
        note: None,
        data,
    };
    cases::append_event(
        txn,
        &CaseEvent {
            action: "report".into(),
            from_status: None,
            ..event(
                CaseActionKind::Comment,
                CaseStatus::Reported,
                CaseStatus::Reported,
                Some(serde_json::json!({
                    "source": new.source.as_str(),
                    "crs": new.location.place().is_none().then(|| prepared.crs.as_str()),
                    "suggested_officer_id": new.suggested_officer.map(UserId::get),
                    "merchant_id": new.merchant_id.map(MerchantId::get),
                    "place_id": new.location.place().map(PlaceId::get),
                })),
            )
        },
    )
    .await?;
    // A case its finder handles himself went through acceptance, dispatch and signing in the
    // same instant, by him: the timeline says so step by step, as the state machine has it.
    if let Some(officer) = new.handled_by {
        use CaseActionKind as A;
        use CaseStatus as S;
        let data = serde_json::json!({ "assignee_id": officer.get(), "self_found": true });
        for (action, from, to) in [
            (A::Accept, S::Reported, S::Accepted),
            (A::Dispatch, S::Accepted, S::Dispatched),
            (A::Sign, S::Dispatched, S::InProgress),
        ] {
            debug_assert_eq!(transition(from, action), Ok(to));
            cases::append_event(txn, &event(action, from, to, Some(data.clone()))).await?;
        }
    }
    Ok(case)
}

/// Report a problem (吹哨). Residents and partners logged in, anyone anonymously (the answer
/// carries a tracking token), officers on patrol, dispatchers entering a 12345 call.
///
/// In one transaction: routing to grid and community, the suggested officer (least open load
/// among the community's officers), the first SLA deadline, the case number and the first
/// timeline event. With an `Idempotency-Key` header a retry returns the same case and never
/// creates a second one.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = NewCaseRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: same key, same case")),
    responses(
        (status = 201, body = CaseDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The address-book entry named by place_id does not exist", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input, or the point is outside the city (outside_city)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_case(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    headers: HeaderMap,
    ApiJson(req): ApiJson<NewCaseRequest>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let scope = match &viewer {
        Some(p) => format!("user:{}", p.user_id),
        None => "anonymous".to_owned(),
    };
    let done = intake(
        &state,
        viewer.as_ref(),
        &req,
        Channel::Native,
        key.map(|k| (scope, k)),
        IntakeExtras::default(),
    )
    .await?;
    let mut dto = to_dto(&state, &done.case, viewer.as_ref(), done.token).await?;
    dto.possible_duplicates = Some(possible_duplicates(&state, &done.case).await?);
    Ok(with_etag(StatusCode::CREATED, dto))
}

/// A case taken in (or found again for a retried key), with the anonymous reporter's token.
pub(crate) struct Intake {
    pub case: Case,
    pub token: Option<String>,
    /// `false` when a retried idempotency key found the case an earlier request created.
    pub created: bool,
}

/// What comes with a report besides its form, written in the same transaction as the case, so
/// that a report is stored whole or not at all.
#[derive(Debug, Default)]
pub(crate) struct IntakeExtras {
    /// The reporter's photo, already recognised, cleaned and stored as a file
    /// (`media_store::store_image`); attached like any later photo (`attachments::record_photo`).
    pub photo: Option<StoredImage>,
    /// The Open311 client that submitted the report, and the `media_url` it sent.
    pub open311_client: Option<Open311Client>,
}

/// Which client application (by API key) sent an Open311 report.
#[derive(Debug, Clone)]
pub(crate) struct Open311Client {
    pub api_key_id: i64,
    pub media_url: Option<String>,
}

impl IntakeExtras {
    async fn write(
        &self,
        txn: &impl ConnectionTrait,
        case: &Case,
        viewer: Option<&Principal>,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        if let Some(photo) = &self.photo {
            crate::routes::attachments::record_photo(txn, case, photo, "report", viewer, now)
                .await?;
        }
        if let Some(client) = &self.open311_client {
            open311::record_origin(
                txn,
                &open311::Origin {
                    case_id: case.id,
                    api_key_id: client.api_key_id,
                    media_url: client.media_url.clone(),
                },
                now,
            )
            .await?;
        }
        Ok(())
    }
}

/// Intake from end to end: a retried `(scope, key)` finds its case; otherwise the report is
/// prepared and written in one transaction together with its `extras`. Two concurrent requests
/// with one key create one case: the loser of the unique index answers with the winner's.
///
/// A key is only a retry when the request is the same one ([`fingerprint`]): clients choose
/// keys, and a scope can be shared (every anonymous reporter, every user of one Open311
/// application), so the same key with another request is `422 idempotency_key_reused` and never
/// the stored case of whoever used the key first.
pub(crate) async fn intake(
    state: &AppState,
    viewer: Option<&Principal>,
    req: &NewCaseRequest,
    channel: Channel,
    idempotency: Option<(String, String)>,
    extras: IntakeExtras,
) -> Result<Intake, ApiError> {
    let idempotency = idempotency.map(|(scope, key)| Idempotency {
        fingerprint: fingerprint(channel, req, &extras),
        scope,
        key,
    });
    let scoped_key = idempotency
        .as_ref()
        .map(|i| format!("{}\u{1f}{}", i.scope, i.key));
    let replay = |(case, stored): (Case, Option<String>)| {
        let asked = idempotency.as_ref().map(|i| i.fingerprint.as_str());
        if stored.as_deref() != asked {
            tracing::info!(
                case_id = case.id.get(),
                "idempotency key reused for another request"
            );
            return Err(key_reused());
        }
        Ok(Intake {
            case,
            token: viewer
                .is_none()
                .then(|| tracking_token(state, scoped_key.as_deref()))
                .transpose()?,
            created: false,
        })
    };
    if let Some(i) = &idempotency
        && let Some(found) = cases::find_by_idempotency(&state.db, &i.scope, &i.key).await?
    {
        return replay(found);
    }

    let prepared = prepare_intake(
        state,
        viewer,
        req,
        channel,
        idempotency.clone(),
        scoped_key.as_deref(),
    )
    .await?;
    let number = reserve_number(state, &prepared).await?;
    let txn = state.db.begin().await?;
    let written = async {
        let case = insert_intake(&txn, &prepared, &number, viewer).await?;
        extras.write(&txn, &case, viewer, prepared.new.now).await?;
        Ok::<_, RepoError>(case)
    }
    .await;
    match written {
        Ok(case) => {
            txn.commit().await?;
            tracing::info!(case_id = case.id.get(), number = %case.number, community_id = case.area.community.get(), source = case.source.as_str(), "case reported");
            Ok(Intake {
                case,
                token: prepared.token,
                created: true,
            })
        }
        // A concurrent request with the same key won the race: a retry answers with its case.
        Err(RepoError::Conflict(_)) if idempotency.is_some() => {
            drop(txn);
            let i = idempotency.as_ref().expect("checked above");
            let found = cases::find_by_idempotency(&state.db, &i.scope, &i.key)
                .await?
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("idempotent case vanished")))?;
            replay(found)
        }
        Err(e) => Err(e.into()),
    }
}

fn key_reused() -> ApiError {
    ApiError::Unprocessable {
        code: "idempotency_key_reused",
        detail: "this Idempotency-Key was already used for a different request; \
                 send a new key with a new report"
            .into(),
        field: Some("Idempotency-Key".into()),
    }
}

/// A digest of everything that makes a report this report: the channel, the form as sent and
/// the photo's content. Hex SHA-256 (64 characters, the column's width).
fn fingerprint(channel: Channel, req: &NewCaseRequest, extras: &IntakeExtras) -> String {
    use sha2::Digest;
    let document = serde_json::json!({
        "channel": format!("{channel:?}"),
        "request": req,
        "photo": extras.photo.as_ref().map(|p| &p.sha256),
        "media_url": extras.open311_client.as_ref().and_then(|c| c.media_url.as_ref()),
    });
    let digest = sha2::Sha256::digest(document.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// One case, by its id or by its number (`HZ-20261201-000003`, as printed and as residents
/// quote it on the phone). Staff see cases in their jurisdiction, residents their own (others
/// are 404), an anonymous reporter the case of their `X-Tracking-Token`.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases",
    params(
        ("id" = String, Path, description = "The case id (digits) or its number, e.g. HZ-20261201-000003"),
        ("X-Tracking-Token" = Option<String>, Header),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, body = CaseDto, headers(("ETag" = String, description = "The version, for If-Match"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_case(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    // Without a login or a tracking token nothing is looked up, so the answer cannot tell
    // which cases exist.
    if viewer.is_none() && !headers.contains_key(TRACKING_HEADER) {
        return Err(ApiError::unauthorized(
            "unauthenticated",
            "log in or send the case's X-Tracking-Token",
        ));
    }
    let case = match id.parse::<i64>() {
        Ok(id) => load(&state, id).await?,
        Err(_) => {
            let not_found = || ApiError::not_found("case_not_found", "no such case");
            let number = CaseNumber::parse(&id).map_err(|_| not_found())?;
            cases::find_by_number(&state.db, &number)
                .await?
                .ok_or_else(not_found)?
        }
    };
    authorize_read(&state, &case, viewer.as_ref(), &headers).await?;
    let mut dto = to_dto(&state, &case, viewer.as_ref(), None).await?;
    // Whoever may reject the case now sees what it may duplicate (合并).
    if dto
        .actions
        .iter()
        .any(|a| a == CaseActionKind::Reject.as_str())
    {
        dto.possible_duplicates = Some(possible_duplicates(&state, &case).await?);
    }
    Ok(with_etag(StatusCode::OK, dto))
}

/// The timeline of a case: every step, who took it and when. Append-only.
#[utoipa::path(get, path = "/api/v1/cases/{id}/timeline", tag = "cases",
    params(("id" = i64, Path), ("X-Tracking-Token" = Option<String>, Header)),
    security((), ("bearer" = [])),
    responses(
        (status = 200, body = Vec<EventDto>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_timeline(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    lang: crate::i18n::Lang,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<EventDto>>, ApiError> {
    let case = load(&state, id).await?;
    authorize_read(&state, &case, viewer.as_ref(), &headers).await?;
    let events = cases::timeline(&state.db, case.id).await?;
    let mut actors: Vec<UserId> = events.iter().filter_map(|e| e.actor_id).collect();
    actors.sort_unstable();
    actors.dedup();
    let actors = users::get_users(&state.db, &actors).await?;
    let staff_viewer = viewer
        .as_ref()
        .is_some_and(|p| !matches!(p.role, Role::Resident | Role::Partner));
    let sees_residents = viewer.as_ref().is_some_and(|p| {
        authorize(
            p,
            Action::ViewReporterContact,
            &Resource {
                area: Some(case.area),
                owner: case.reporter_id,
            },
        )
        .is_allowed()
    });
    let name_of = |id: UserId| -> Option<String> {
        let u = actors.iter().find(|u| u.id == id)?;
        let resident = matches!(u.role, Role::Resident | Role::Partner);
        let me = viewer.as_ref().is_some_and(|p| p.user_id == id);
        Some(if me || (staff_viewer && (!resident || sees_residents)) {
            u.display_name.to_string()
        } else {
            whistle_domain::people::public_name(
                u.display_name.as_str(),
                u.role,
                lang == crate::i18n::Lang::En,
            )
        })
    };
    Ok(Json(
        events
            .into_iter()
            .map(|e| EventDto {
                at: e.at,
                actor_id: e.actor_id.map(UserId::get),
                actor_name: e.actor_id.and_then(name_of),
                actor_role: e.actor_role,
                action: e.action,
                from_status: e.from_status.map(|s| s.as_str().to_owned()),
                to_status: e.to_status.as_str().to_owned(),
                note: e.note,
                data: e.data,
            })
            .collect(),
    ))
}

fn required_note(note: Option<&str>) -> Result<String, ApiError> {
    let note = note.unwrap_or_default();
    Description::parse(note)
        .map(|d| d.as_str().to_owned())
        .map_err(|_| ApiError::Unprocessable {
            code: "note_required",
            detail: "this action needs a note of 1–5000 characters".into(),
            field: Some("note".into()),
        })
}

fn expected_version(req: &ActionRequest, headers: &HeaderMap) -> Result<(i32, bool), ApiError> {
    version_from(req.version, headers)
}

/// The version a change expects: `If-Match` when sent (true), else the body's `version`.
fn version_from(body: Option<i32>, headers: &HeaderMap) -> Result<(i32, bool), ApiError> {
    if let Some(raw) = headers.get(header::IF_MATCH) {
        let v = raw
            .to_str()
            .ok()
            .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
            .and_then(|s| s.parse::<i32>().ok())
            .ok_or_else(|| {
                ApiError::bad_request("invalid_if_match", "If-Match must be the case's ETag")
            })?;
        return Ok((v, true));
    }
    body.map(|v| (v, false))
        .ok_or_else(|| ApiError::Unprocessable {
            code: "version_required",
            detail: "send the case's version (or If-Match) so that concurrent changes are detected"
                .into(),
            field: Some("version".into()),
        })
}

/// Perform an action of the closed loop. Illegal transitions are 409 naming the current status
/// and the allowed actions; a stale version is 409 (`version` field) or 412 (`If-Match`) and
/// changes nothing.
#[utoipa::path(post, path = "/api/v1/cases/{id}/actions", tag = "cases",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    request_body = ActionRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = CaseDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal transition or stale version", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn act(
    State(state): State<AppState>,
    crate::extract::CurrentUser(p): crate::extract::CurrentUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<ActionRequest>,
) -> Result<Response, ApiError> {
    let kind = CaseActionKind::parse(&req.action)?;
    let case = load(&state, id).await?;
    // A remark or a rating changes no status: it needs no version (a resident rating from a
    // notice has none to hand), but a version sent is still checked.
    let (version, via_if_match) = match expected_version(&req, &headers) {
        Err(ApiError::Unprocessable {
            code: "version_required",
            ..
        }) if matches!(kind, CaseActionKind::Rate | CaseActionKind::Comment) => {
            (case.version, false)
        }
        other => other?,
    };
    let resource = Resource {
        area: Some(case.area),
        owner: case.reporter_id,
    };
    // Someone who may not even see the case learns nothing about it (404), then the action's
    // own permission (403).
    require(&p, Action::ViewCase, &resource).map_err(as_missing_case)?;
    require(&p, policy_action(kind, p.role), &resource)?;
    let to = transition(case.status, kind).map_err(|e| {
        let mine = actions_for(&p, &case);
        ApiError::Conflict {
            code: "illegal_transition",
            detail: format!(
                "cannot {} a case that is {}; what you can do now: {}",
                e.action,
                e.from,
                if mine.is_empty() {
                    "nothing".to_owned()
                } else {
                    mine.iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        }
    })?;
    if version != case.version {
        return Err(stale(via_if_match, case.version));
    }
    if needs_assignee(kind) && case.assignee != Some(p.user_id) {
        return Err(ApiError::forbidden(
            "not_assignee",
            "only the officer the case is dispatched to can do this",
        ));
    }

    let now = now_micros();
    let calendar = state.reference.calendar(&state.db).await;
    let sla_policy = policy(&state, case.category_id, case.priority).await?;
    let due = |stage| deadline(&state, &calendar, &sla_policy, stage, now);
    let mut update = CaseUpdate::of(&case, to, now);
    let mut note = req
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let mut data = serde_json::Map::new();
    // 小事一格解决: the stationed officer accepting a report takes it; the dispatch to him is a
    // second step of the same action, recorded as its own event.
    let mut then_dispatch: Option<serde_json::Map<String, serde_json::Value>> = None;
    // A duplicate rejected into another case (合并): that case's timeline records it too.
    let mut merged_into: Option<Case> = None;
    match kind {
        CaseActionKind::Accept if p.role == Role::Officer => {
            let category = state
                .reference
                .category(&state.db, case.category_id)
                .await?;
            if !category.officer_may_take {
                return Err(ApiError::forbidden(
                    "category_needs_command_centre",
                    format!(
                        "reports of {} are accepted by the command centre; the stationed officer \
                         cannot take them himself",
                        category.code
                    ),
                ));
            }
            let dispatched = transition(to, CaseActionKind::Dispatch)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
            update.status = dispatched;
            update.assignee = Some(p.user_id);
            update.stage = Some(Stage::Sign);
            update.stage_due = Some(due(Stage::Sign));
            data.insert("taken_by_officer".into(), true.into());
            let mut d = serde_json::Map::new();
            d.insert("assignee_id".into(), p.user_id.get().into());
            d.insert("taken_by_officer".into(), true.into());
            then_dispatch = Some(d);
        }
        CaseActionKind::Accept => {
            update.stage = Some(Stage::Dispatch);
            update.stage_due = Some(due(Stage::Dispatch));
        }
        CaseActionKind::Reject => {
            let reason = req.reason.as_deref().unwrap_or_default();
            if !["invalid", "duplicate", "out_of_scope"].contains(&reason) {
                return Err(ApiError::Unprocessable {
                    code: "invalid_value",
                    detail: "reason must be invalid, duplicate or out_of_scope".into(),
                    field: Some("reason".into()),
                });
            }
            if reason == "duplicate" {
                let other = whistle_domain::case::CaseNumber::parse(
                    req.duplicate_of.as_deref().unwrap_or_default(),
                )
                .map_err(|e| ApiError::Unprocessable {
                    code: "invalid_value",
                    detail: format!("duplicate_of: {}", e.reason),
                    field: Some("duplicate_of".into()),
                })?;
                let original = cases::find_by_number(&state.db, &other)
                    .await?
                    .filter(|o| o.id != case.id)
                    .ok_or_else(|| ApiError::Unprocessable {
                        code: "unknown_case",
                        detail: format!("no other case {other}"),
                        field: Some("duplicate_of".into()),
                    })?;
                data.insert("duplicate_of".into(), original.number.as_str().into());
                merged_into = Some(original);
            }
            data.insert("reason".into(), reason.into());
            update.stage = None;
            update.stage_due = None;
        }
        CaseActionKind::Dispatch => {
            // Without an assignee the case goes to the officer routing suggested.
            let raw = req
                .assignee_id
                .or(case.suggested_officer.map(UserId::get))
                .ok_or_else(|| ApiError::Unprocessable {
                    code: "no_suggested_officer",
                    detail: "no officer is stationed in the case's community today to suggest; \
                             name one in assignee_id"
                        .into(),
                    field: Some("assignee_id".into()),
                })?;
            let assignee = UserId::new(raw)?;
            let officer = users::get_user(&state.db, assignee)
                .await
                .ok()
                .filter(|u| !u.disabled && u.role.is_enforcement());
            let Some(officer) = officer else {
                return Err(ApiError::Unprocessable {
                    code: "invalid_assignee",
                    detail: "assignee_id must be an active officer or leader".into(),
                    field: Some("assignee_id".into()),
                });
            };
            let jurisdiction = users::jurisdiction_of(&state.db, officer.id, officer.role).await?;
            if !jurisdiction.covers(&case.area) {
                return Err(ApiError::Unprocessable {
                    code: "assignee_outside_jurisdiction",
                    detail: "the officer does not act in this case's community".into(),
                    field: Some("assignee_id".into()),
                });
            }
            update.assignee = Some(assignee);
            update.stage = Some(Stage::Sign);
            update.stage_due = Some(due(Stage::Sign));
            data.insert("assignee_id".into(), raw.into());
        }
        CaseActionKind::Sign => {
            update.stage = Some(Stage::Resolve);
            update.stage_due = Some(due(Stage::Resolve));
        }
        CaseActionKind::Return => {
            note = Some(required_note(req.note.as_deref())?);
            update.assignee = None;
            update.stage = Some(Stage::Dispatch);
            update.stage_due = Some(due(Stage::Dispatch));
        }
        CaseActionKind::Resolve => {
            note = Some(required_note(req.note.as_deref())?);
            update.stage = Some(Stage::Verify);
            update.stage_due = Some(due(Stage::Verify));
        }
        CaseActionKind::Verify => {
            update.stage = None;
            update.stage_due = None;
        }
        CaseActionKind::Rework => {
            note = Some(required_note(req.note.as_deref())?);
            update.stage = Some(Stage::Resolve);
            update.stage_due = Some(due(Stage::Resolve));
        }
        CaseActionKind::Close => {
            update.closed_at = Some(now);
        }
        CaseActionKind::Escalate => {
            let to_whom = req.escalate_to.as_deref().unwrap_or_default();
            if !["leader", "street", "department"].contains(&to_whom) {
                return Err(ApiError::Unprocessable {
                    code: "invalid_value",
                    detail: "escalate_to must be leader, street or department".into(),
                    field: Some("escalate_to".into()),
                });
            }
            data.insert("escalate_to".into(), to_whom.into());
            if to_whom == "department" {
                let dept = Name::parse(req.department.as_deref().unwrap_or_default())?;
                data.insert("department".into(), dept.as_str().into());
            }
        }
        CaseActionKind::RequestExtension => {
            note = Some(required_note(req.note.as_deref())?);
            let hours = req
                .extension_hours
                .filter(|h| (1..=240).contains(h))
                .ok_or_else(|| ApiError::Unprocessable {
                    code: "invalid_value",
                    detail: "extension_hours must be 1 to 240 working hours".into(),
                    field: Some("extension_hours".into()),
                })?;
            data.insert("extension_hours".into(), hours.into());
        }
        CaseActionKind::DecideExtension => {
            let approve = req.approve.ok_or_else(|| ApiError::Unprocessable {
                code: "invalid_value",
                detail: "decide_extension needs approve: true or false".into(),
                field: Some("approve".into()),
            })?;
            let events = cases::timeline(&state.db, case.id).await?;
            let pending = events
                .iter()
                .rev()
                .take_while(|e| e.action != "decide_extension")
                .find(|e| e.action == "request_extension")
                .and_then(|e| e.data.as_ref()?.get("extension_hours")?.as_u64())
                .ok_or_else(|| ApiError::Conflict {
                    code: "no_pending_extension",
                    detail: "there is no extension request to decide".into(),
                })?;
            data.insert("approved".into(), approve.into());
            data.insert("extension_hours".into(), pending.into());
            if approve && let Some(current) = case.stage_due {
                let local = current.with_timezone(&offset(&state)).naive_local();
                let moved =
                    calendar.add_working_time(local, chrono::Duration::hours(pending as i64));
                update.stage_due = moved
                    .and_local_timezone(offset(&state))
                    .single()
                    .map(|t| t.with_timezone(&Utc))
                    .or(Some(current));
            }
        }
        CaseActionKind::Reopen | CaseActionKind::Rate | CaseActionKind::Comment => {
            let said = ReporterSays {
                note: req.note.as_deref(),
                rating: req.rating,
            };
            if let Some(n) =
                reporter_step(&state, &case, kind, said, now, &mut update, &mut data).await?
            {
                note = Some(n);
            }
        }
    }

    // The event records the stage it started and that stage's deadline, so that a notice
    // written later from it names the deadline of its own stage, not of a later one.
    let stamp = |data: &mut serde_json::Map<String, serde_json::Value>| {
        if update.stage != case.stage || update.stage_due != case.stage_due {
            data.insert("stage".into(), update.stage.map(|s| s.as_str()).into());
            data.insert(
                "stage_due".into(),
                update.stage_due.map(|d| d.to_rfc3339()).into(),
            );
        }
    };
    let mut events = Vec::with_capacity(2);
    let event = |action: CaseActionKind, from, to, note, data: serde_json::Map<_, _>| CaseEvent {
        id: 0,
        case_id: case.id,
        at: now,
        actor_id: Some(p.user_id),
        actor_role: p.role.as_str().to_owned(),
        action: action.as_str().to_owned(),
        from_status: Some(from),
        to_status: to,
        note,
        data: (!data.is_empty()).then_some(serde_json::Value::Object(data)),
    };
    match then_dispatch {
        Some(mut second) => {
            stamp(&mut second);
            events.push(event(kind, case.status, to, note, data));
            events.push(event(
                CaseActionKind::Dispatch,
                to,
                update.status,
                None,
                second,
            ));
        }
        None => {
            stamp(&mut data);
            events.push(event(kind, case.status, to, note, data));
        }
    }
    let txn = state.db.begin().await?;
    if !cases::update_if_version(&txn, case.id, version, &update).await? {
        drop(txn);
        let current = cases::get(&state.db, case.id).await?.version;
        return Err(stale(via_if_match, current));
    }
    for e in &events {
        cases::append_event(&txn, e).await?;
    }
    if let Some(original) = &merged_into {
        let mut d = serde_json::Map::new();
        d.insert("duplicate".into(), case.number.as_str().into());
        cases::append_event(&txn, &entry(original, &p, now, entries::MERGED, d)).await?;
    }
    txn.commit().await?;
    tracing::info!(
        case_id = case.id.get(),
        action = kind.as_str(),
        user_id = p.user_id.get(),
        "case action"
    );
    let updated = cases::get(&state.db, case.id).await?;
    let dto = to_dto(&state, &updated, Some(&p), None).await?;
    Ok(with_etag(StatusCode::OK, dto))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LocationRequest {
    pub lat: f64,
    pub lon: f64,
    /// `wgs84` (default) or `gcj02` (the point as read off an Amap-style basemap).
    pub crs: Option<String>,
    /// The case's `version` as last read (or send `If-Match`).
    pub version: Option<i32>,
}

/// Place a case on the map (定位): for a report that came with an address only and stands at
/// its address-book entry, the command centre (or a leader of the area) clicks where the
/// problem is. The case is routed again from the new point (grid, community, suggested
/// officer); its status, stage and deadline stay. Allowed while the case is open and before an
/// officer is dispatched to it, or after, as long as the point stays in the same community (409
/// `assignee_outside_new_area` otherwise: return the case first). A leader may only move a case
/// within his own area.
#[utoipa::path(put, path = "/api/v1/cases/{id}/location", tag = "cases",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    request_body = LocationRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = CaseDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "case_finished, assignee_outside_new_area or a stale version", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_coordinate, outside_city, version_required", body = Problem, content_type = "application/problem+json"),
    ))]
async fn relocate(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<LocationRequest>,
) -> Result<Response, ApiError> {
    let case = load(&state, id).await?;
    let from = Resource {
        area: Some(case.area),
        owner: case.reporter_id,
    };
    require(&p, Action::ViewCase, &from).map_err(as_missing_case)?;
    require(&p, Action::DispatchCase, &from)?;
    let (version, via_if_match) = version_from(req.version, &headers)?;
    if matches!(case.status, CaseStatus::Closed | CaseStatus::Rejected) {
        return Err(ApiError::Conflict {
            code: "case_finished",
            detail: format!(
                "the case is {}; its place can no longer change",
                case.status
            ),
        });
    }
    let (point, hit) = routed_point(&state, req.crs.as_deref(), req.lat, req.lon)?;
    let place = state.reference.grid(&state.db, hit.grid_id).await?;
    let area = AreaPath {
        district: place.community.district.id,
        street: place.community.street.id,
        community: hit.community_id,
    };
    require(
        &p,
        Action::DispatchCase,
        &Resource {
            area: Some(area),
            owner: case.reporter_id,
        },
    )?;
    if case.assignee.is_some() && area.community != case.area.community {
        return Err(ApiError::Conflict {
            code: "assignee_outside_new_area",
            detail: "the case is dispatched to an officer of its present community; have it \
                     returned before moving it to another community"
                .into(),
        });
    }
    if version != case.version {
        return Err(stale(via_if_match, case.version));
    }
    let now = now_micros();
    let today = now.with_timezone(&offset(&state)).date_naive();
    let suggested = if area.community == case.area.community {
        case.suggested_officer
    } else {
        cases::suggest_officer(&state.db, area.community, today).await?
    };
    let old = case.location.point();
    let mut data = serde_json::Map::new();
    data.insert("from".into(), serde_json::json!([old.lat(), old.lon()]));
    data.insert("to".into(), serde_json::json!([point.lat(), point.lon()]));
    if let Some(place) = case.location.place() {
        data.insert("place_id".into(), place.get().into());
    }
    if area.community != case.area.community {
        data.insert("from_community".into(), case.area.community.get().into());
        data.insert("to_community".into(), area.community.get().into());
    }
    let to = Relocation {
        point,
        grid: hit.grid_id,
        area,
        suggested_officer: suggested,
        now,
    };
    let txn = state.db.begin().await?;
    if !cases::relocate_if_version(&txn, case.id, version, &to).await? {
        drop(txn);
        let current = cases::get(&state.db, case.id).await?.version;
        return Err(stale(via_if_match, current));
    }
    cases::append_event(&txn, &entry(&case, &p, now, entries::LOCATED, data)).await?;
    txn.commit().await?;
    tracing::info!(
        case_id = case.id.get(),
        user_id = p.user_id.get(),
        community_id = area.community.get(),
        "case placed on the map"
    );
    let updated = cases::get(&state.db, case.id).await?;
    let dto = to_dto(&state, &updated, Some(&p), None).await?;
    Ok(with_etag(StatusCode::OK, dto))
}

/// A timeline entry that is not a lifecycle step (`lifecycle::entries`): the status stays.
fn entry(
    case: &Case,
    p: &Principal,
    at: DateTime<Utc>,
    action: &str,
    data: serde_json::Map<String, serde_json::Value>,
) -> CaseEvent {
    CaseEvent {
        id: 0,
        case_id: case.id,
        at,
        actor_id: Some(p.user_id),
        actor_role: p.role.as_str().to_owned(),
        action: action.to_owned(),
        from_status: Some(case.status),
        to_status: case.status,
        note: None,
        data: Some(serde_json::Value::Object(data)),
    }
}

/// What a reporter sends with a step of his own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReporterSays<'a> {
    pub note: Option<&'a str>,
    pub rating: Option<i64>,
}

/// The reporter's own steps on his case (comment, rate once closed, reopen within the window)
/// as they change it: one rule for the actions endpoint and the anonymous reporter's feedback
/// endpoint. Fills `update` and the event's `data`; returns the note to record, when the step
/// sets it.
pub(crate) async fn reporter_step(
    state: &AppState,
    case: &Case,
    kind: CaseActionKind,
    said: ReporterSays<'_>,
    now: DateTime<Utc>,
    update: &mut CaseUpdate,
    data: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<Option<String>, ApiError> {
    match kind {
        CaseActionKind::Reopen => {
            let window = chrono::Duration::days(state.settings.cases.reopen_days.max(0));
            if case.closed_at.is_none_or(|c| now - c > window) {
                return Err(ApiError::Conflict {
                    code: "reopen_window_passed",
                    detail: format!(
                        "a case can be reopened within {} days of closing",
                        window.num_days()
                    ),
                });
            }
            let calendar = state.reference.calendar(&state.db).await;
            let sla = policy(state, case.category_id, case.priority).await?;
            update.closed_at = None;
            update.rating = None;
            update.stage = Some(Stage::Dispatch);
            update.stage_due = Some(deadline(state, &calendar, &sla, Stage::Dispatch, now));
            Ok(None)
        }
        CaseActionKind::Rate => {
            if case.rating.is_some() {
                return Err(ApiError::Conflict {
                    code: "already_rated",
                    detail: "this case has been rated".into(),
                });
            }
            let rating = Rating::new(said.rating.unwrap_or(0), said.note)?;
            data.insert("rating".into(), rating.score().into());
            update.rating = Some(rating);
            Ok(None)
        }
        CaseActionKind::Comment => required_note(said.note).map(Some),
        _ => Err(ApiError::Internal(anyhow::anyhow!(
            "{} is not a reporter's step",
            kind.as_str()
        ))),
    }
}

/// The policy's name for what an action does; accepting is taking the case when the stationed
/// officer does it (小事一格解决).
fn policy_action(kind: CaseActionKind, role: Role) -> Action {
    match kind {
        CaseActionKind::Accept if role == Role::Officer => Action::TakeCase,
        CaseActionKind::Accept | CaseActionKind::Reject => Action::AcceptCase,
        CaseActionKind::Dispatch => Action::DispatchCase,
        CaseActionKind::Sign | CaseActionKind::Return | CaseActionKind::Resolve => {
            Action::HandleCase
        }
        CaseActionKind::Verify | CaseActionKind::Rework | CaseActionKind::Close => {
            Action::VerifyCase
        }
        CaseActionKind::Escalate => Action::EscalateCase,
        CaseActionKind::RequestExtension => Action::RequestExtension,
        CaseActionKind::DecideExtension => Action::DecideExtension,
        CaseActionKind::Reopen => Action::ReopenCase,
        CaseActionKind::Rate => Action::RateCase,
        CaseActionKind::Comment => Action::CommentCase,
    }
}

/// Handling is the assignee's alone.
fn needs_assignee(kind: CaseActionKind) -> bool {
    matches!(
        kind,
        CaseActionKind::Sign
            | CaseActionKind::Return
            | CaseActionKind::Resolve
            | CaseActionKind::RequestExtension
    )
}

/// What `p` may do to `case` now: the actions its status allows that the policy lets this
/// caller perform (for menus, and for a refusal that helps instead of listing others' moves).
pub(crate) fn actions_for(p: &Principal, case: &Case) -> Vec<CaseActionKind> {
    let resource = Resource {
        area: Some(case.area),
        owner: case.reporter_id,
    };
    whistle_domain::lifecycle::allowed_actions(case.status)
        .into_iter()
        .filter(|a| authorize(p, policy_action(*a, p.role), &resource).is_allowed())
        .filter(|a| !needs_assignee(*a) || case.assignee == Some(p.user_id))
        .filter(|a| *a != CaseActionKind::Rate || case.rating.is_none())
        .collect()
}

fn stale(via_if_match: bool, current: i32) -> ApiError {
    let detail =
        format!("the case changed meanwhile; its version is now {current}: reload and retry");
    if via_if_match {
        ApiError::PreconditionFailed { detail }
    } else {
        ApiError::Conflict {
            code: "version_conflict",
            detail,
        }
    }
}

// ---- lists ---------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// Comma-separated statuses, e.g. `accepted,dispatched`.
    pub status: Option<String>,
    /// Category code.
    pub category: Option<String>,
    pub community_id: Option<i64>,
    pub grid_id: Option<i64>,
    /// `me`, or an account id.
    pub assignee: Option<String>,
    /// `resident_app`, `open311`, `officer_patrol`, `hotline_12345`, `partner`.
    pub source: Option<String>,
    /// `true`: only cases whose running stage is past its deadline.
    pub overdue: Option<bool>,
    /// Running deadline before this instant (RFC 3339).
    pub due_before: Option<DateTime<Utc>>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub created_to: Option<DateTime<Utc>>,
    /// Text in the description or the case number.
    pub q: Option<String>,
    /// Open cases waiting for the command centre or a leader: `extension_request` (an
    /// undecided 延期申请), `escalated` (上报/督办), `placed_by_address` (no point yet: the case
    /// stands at its address-book entry until placed with `PUT /api/v1/cases/{id}/location`).
    pub attention: Option<String>,
    /// `urgency` (earliest deadline first, the default) or `newest`.
    pub sort: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

fn encode_cursor(c: CaseCursor) -> String {
    match c {
        CaseCursor::Urgency { due: Some(d), id } => format!("u{}_{id}", d.timestamp_micros()),
        CaseCursor::Urgency { due: None, id } => format!("u-_{id}"),
        CaseCursor::Newest { id } => format!("n{id}"),
    }
}

fn decode_cursor(raw: Option<&str>, order: CaseOrder) -> Result<Option<CaseCursor>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::bad_request(
            "invalid_cursor",
            "cursor is not one this API issued for this sort",
        )
    };
    let parsed = match order {
        CaseOrder::Newest => raw
            .strip_prefix('n')
            .and_then(|n| n.parse().ok())
            .map(|id| CaseCursor::Newest { id }),
        CaseOrder::Urgency => raw.strip_prefix('u').and_then(|rest| {
            let (due, id) = rest.split_once('_')?;
            let id: i64 = id.parse().ok()?;
            let due = match due {
                "-" => None,
                micros => Some(DateTime::<Utc>::from_timestamp_micros(
                    micros.parse().ok()?,
                )?),
            };
            Some(CaseCursor::Urgency { due, id })
        }),
    };
    parsed.map(Some).ok_or_else(bad)
}

fn visibility(p: &Principal) -> Result<Visibility, ApiError> {
    use whistle_domain::jurisdiction::Area;
    let mut v = Visibility {
        reporter: Some(p.user_id),
        ..Default::default()
    };
    match p.role {
        Role::Dispatcher => v.everything = true,
        Role::Admin => {
            return Err(ApiError::forbidden(
                "forbidden",
                "administrators do not read cases",
            ));
        }
        _ => {}
    }
    for area in p.jurisdiction.areas() {
        match area {
            Area::District(d) => v.districts.push(d.get()),
            Area::Street(s) => v.streets.push(s.get()),
            Area::Community(c) => v.communities.push(c.get()),
        }
    }
    Ok(v)
}

fn filter_from(q: &CaseQuery, p: &Principal) -> Result<CaseFilter, ApiError> {
    let statuses = q
        .status
        .as_deref()
        .map(|s| {
            s.split(',')
                .filter(|x| !x.trim().is_empty())
                .map(str::parse::<CaseStatus>)
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let assignee = match q.assignee.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("me") => Some(p.user_id),
        Some(raw) => Some(UserId::new(raw.parse().map_err(|_| {
            ApiError::Unprocessable {
                code: "invalid_value",
                detail: "assignee must be me or an account id".into(),
                field: Some("assignee".into()),
            }
        })?)?),
    };
    if let (Some(a), Some(b)) = (q.created_from, q.created_to)
        && a > b
    {
        return Err(ApiError::Unprocessable {
            code: "invalid_period",
            detail: "created_from is after created_to".into(),
            field: Some("created_from".into()),
        });
    }
    Ok(CaseFilter {
        statuses,
        category: None,
        community: q
            .community_id
            .map(whistle_domain::ids::CommunityId::new)
            .transpose()?,
        grid: q
            .grid_id
            .map(whistle_domain::ids::GridId::new)
            .transpose()?,
        assignee,
        source: q.source.as_deref().map(str::parse).transpose()?,
        overdue_at: q.overdue.unwrap_or(false).then(Utc::now),
        due_before: q.due_before,
        created_from: q.created_from,
        created_to: q.created_to,
        text: q.q.as_deref().map(|t| t.trim().chars().take(100).collect()),
        exclude_rejected: false,
        attention: match q.attention.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(
                Attention::parse(raw).ok_or_else(|| ApiError::Unprocessable {
                    code: "invalid_value",
                    detail: "attention must be extension_request, escalated or placed_by_address"
                        .into(),
                    field: Some("attention".into()),
                })?,
            ),
        },
    })
}

/// Cases the caller may see, filtered: an officer's queue is `?assignee=me` (most urgent first),
/// a resident's list their own reports, a leader's their area, the command centre everything.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PageOf<CaseDto>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_cases(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> Result<Json<PageOf<CaseDto>>, ApiError> {
    let vis = visibility(&p)?;
    let mut filter = filter_from(&q, &p)?;
    if let Some(code) = q.category.as_deref().filter(|c| !c.trim().is_empty()) {
        let category = state
            .reference
            .category_by_code(&state.db, code.trim())
            .await?
            .ok_or_else(|| ApiError::Unprocessable {
                code: "unknown_category",
                detail: "no such category".into(),
                field: Some("category".into()),
            })?;
        filter.category = Some(category.id);
    }
    let order = match q.sort.as_deref() {
        None | Some("urgency") => CaseOrder::Urgency,
        Some("newest") => CaseOrder::Newest,
        Some(_) => {
            return Err(ApiError::Unprocessable {
                code: "invalid_value",
                detail: "sort must be urgency or newest".into(),
                field: Some("sort".into()),
            });
        }
    };
    let after = decode_cursor(q.cursor.as_deref(), order)?;
    let (found, next) = cases::search(
        &state.db,
        &vis,
        &filter,
        order,
        after,
        paging::limit(q.limit)?,
    )
    .await?;
    let mut items = Vec::with_capacity(found.len());
    let mut seen = Lookups::default();
    seen.reporters_of(&state, &found).await?;
    for c in &found {
        items.push(to_dto_with(&state, c, Some(&p), None, &mut seen).await?);
    }
    Ok(Json(PageOf {
        items,
        next_cursor: next.map(encode_cursor),
    }))
}

/// A case on the public map: no names, no phone numbers, no description, the location rounded
/// to about 100 m.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicCaseDto {
    pub number: String,
    pub category: String,
    pub status: String,
    pub community: String,
    /// Rounded to 3 decimals (about 100 m).
    pub lat: f64,
    pub lon: f64,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicQuery {
    pub community_id: Option<i64>,
    pub category: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// The public map of reported problems, newest first. Needs no login.
#[utoipa::path(get, path = "/api/v1/public/cases", tag = "cases", params(PublicQuery),
    responses(
        (status = 200, body = PageOf<PublicCaseDto>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    ))]
async fn public_cases(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PublicQuery>,
) -> Result<Json<PageOf<PublicCaseDto>>, ApiError> {
    let mut filter = CaseFilter {
        community: q
            .community_id
            .map(whistle_domain::ids::CommunityId::new)
            .transpose()?,
        exclude_rejected: true,
        ..Default::default()
    };
    if let Some(code) = q.category.as_deref().filter(|c| !c.trim().is_empty()) {
        filter.category = state
            .reference
            .category_by_code(&state.db, code.trim())
            .await?
            .map(|c| c.id);
        if filter.category.is_none() {
            return Ok(Json(PageOf {
                items: vec![],
                next_cursor: None,
            }));
        }
    }
    let vis = Visibility {
        everything: true,
        ..Default::default()
    };
    let after = decode_cursor(q.cursor.as_deref(), CaseOrder::Newest)?;
    let (found, next) = cases::search(
        &state.db,
        &vis,
        &filter,
        CaseOrder::Newest,
        after,
        paging::limit(q.limit)?,
    )
    .await?;
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    let mut items = Vec::with_capacity(found.len());
    for c in &found {
        let category = state.reference.category(&state.db, c.category_id).await?;
        let community = state
            .reference
            .community(&state.db, c.area.community)
            .await?;
        items.push(PublicCaseDto {
            number: c.number.to_string(),
            category: category.code.to_string(),
            status: c.status.as_str().to_owned(),
            community: community.community.name.to_string(),
            lat: round(c.location.point().lat()),
            lon: round(c.location.point().lon()),
            created_at: c.created_at,
            closed_at: c.closed_at,
        });
    }
    Ok(Json(PageOf {
        items,
        next_cursor: next.map(encode_cursor),
    }))
}
