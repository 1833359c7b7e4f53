//! Cases: intake (a resident blows the whistle), reading a case and its timeline, and the actions
//! of the closed loop.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Decision, Resource, authorize};
use whistle_auth::refresh;
use whistle_domain::case::{Case, CaseNumber, CaseStatus, Description, Rating, Reporter};
use whistle_domain::ids::{MerchantId, PlaceId, UserId};
use whistle_domain::lifecycle::{
    CaseActionKind, CaseCommand, EscalationTarget, ExtensionHours, Rejection,
};
use whistle_domain::location::{Coordinate, Crs};
use whistle_domain::merchant::Address;
use whistle_domain::people::{PhoneNumber, Role};
use whistle_domain::text::Name;
use whistle_persistence::RepoError;
use whistle_persistence::repo::cases::{
    self, Attention, CaseCursor, CaseFilter, CaseOrder, Visibility,
};
use whistle_persistence::repo::users;

use crate::app::AppError;
use crate::app::access::require;
use crate::app::cases::act::{self, Caller, StepCommand};
use crate::app::cases::intake::{self, Channel, IntakeExtras, Report, Whereabouts};
use crate::app::cases::locate;
use crate::app::cases::{self as app_cases, actions_for};
use crate::error::{ApiError, Problem};
use crate::extract::{
    ApiJson, ApiPath, ApiQuery, CurrentUser, MaybeUser, TRACKING_HEADER, idempotency_key,
};
use crate::state::AppState;
use crate::wire::paging::{self, PageOf};
use crate::wire::{AreaRef, point_from, required_note};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_case, list_cases))
        .routes(routes!(public_cases))
        .routes(routes!(get_case))
        .routes(routes!(get_timeline))
        .routes(routes!(act))
        .routes(routes!(relocate))
}

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
        Some(p) => Ok(require(p, Action::ViewCase, &resource).map_err(app_cases::as_missing_case)?),
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

// ---- handlers ------------------------------------------------------------------------------

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
    let report = report_from(&req)?;
    let done = intake::intake(
        &state,
        viewer.as_ref(),
        &report,
        Channel::Native,
        key.map(|k| (scope, k)),
        IntakeExtras::default(),
    )
    .await?;
    let mut dto = to_dto(&state, &done.case, viewer.as_ref(), done.token).await?;
    dto.possible_duplicates = Some(possible_duplicates(&state, &done.case).await?);
    Ok(with_etag(StatusCode::CREATED, dto))
}

/// The report a native request describes. Values only some reporters may set are parsed here
/// and refused by intake only when they apply.
pub(crate) fn report_from(req: &NewCaseRequest) -> Result<Report, ApiError> {
    let description = Description::parse(&req.description)?;
    let crs: Crs = req
        .crs
        .as_deref()
        .map(str::parse)
        .transpose()?
        .unwrap_or_default();
    let whereabouts = match (req.lat, req.lon) {
        (Some(lat), Some(lon)) => Whereabouts::Point {
            point: Coordinate::from_crs(crs, lat, lon).map_err(|e| ApiError::Unprocessable {
                code: "invalid_coordinate",
                detail: e.to_string(),
                field: Some(e.field.to_owned()),
            })?,
            crs,
        },
        (Some(_), None) | (None, Some(_)) => {
            return Err(ApiError::Unprocessable {
                code: "incomplete_coordinate",
                detail: "send both lat and lon, or neither".into(),
                field: Some(if req.lat.is_some() { "lon" } else { "lat" }.into()),
            });
        }
        (None, None) => Whereabouts::AddressBook {
            place_id: req.place_id,
        },
    };
    let given = |v: &Option<String>| {
        v.as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
    };
    Ok(Report {
        category: req.category.clone(),
        description,
        whereabouts,
        address: given(&req.address)
            .map(|a| Address::parse(&a))
            .transpose()?,
        address_text: req.address.clone(),
        priority: req.priority.as_deref().map(str::parse),
        case_type: req.case_type.as_deref().map(str::parse),
        reporter_name: given(&req.reporter_name).map(|n| Name::parse(&n)),
        reporter_phone: given(&req.reporter_phone).map(|n| PhoneNumber::parse(&n)),
        attributes: req.attributes.clone(),
    })
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
        Ok(id) => app_cases::load(&state, id).await?,
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
    let case = app_cases::load(&state, id).await?;
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
                actor_role: e.actor_role.as_str().to_owned(),
                action: e.action.as_str().to_owned(),
                from_status: e.from_status.map(|s| s.as_str().to_owned()),
                to_status: e.to_status.as_str().to_owned(),
                note: e.note,
                data: e.data,
            })
            .collect(),
    ))
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
    let case = app_cases::load(&state, id).await?;
    let (version, via_if_match) = match expected_version(&req, &headers) {
        Ok((v, via)) => (Some(v), via),
        // A remark or a rating needs no version; the use case says which may go without.
        Err(ApiError::Unprocessable {
            code: "version_required",
            ..
        }) => (None, false),
        Err(e) => return Err(e),
    };
    let step = StepCommand {
        command: command_from(kind, &req)?,
        remark: req.note.clone(),
        version,
    };
    let updated = act::act(&state, Caller::Account(&p), &case, step)
        .await
        .map_err(|e| match e {
            AppError::Stale { current } => ApiError::stale(via_if_match, current),
            other => other.into(),
        })?;
    let dto = to_dto(&state, &updated, Some(&p), None).await?;
    Ok(with_etag(StatusCode::OK, dto))
}

/// The command an action request describes.
fn command_from(kind: CaseActionKind, req: &ActionRequest) -> Result<CaseCommand, ApiError> {
    let note = || required_note(req.note.as_deref());
    let invalid = |field: &str, detail: &str| ApiError::Unprocessable {
        code: "invalid_value",
        detail: detail.to_owned(),
        field: Some(field.to_owned()),
    };
    use CaseActionKind as A;
    Ok(match kind {
        A::Accept => CaseCommand::Accept,
        A::Reject => CaseCommand::Reject(
            Rejection::parse(
                req.reason.as_deref().unwrap_or_default(),
                req.duplicate_of.as_deref(),
            )
            .map_err(|e| match e.field {
                "reason" => invalid(
                    "reason",
                    "reason must be invalid, duplicate or out_of_scope",
                ),
                _ => invalid("duplicate_of", &format!("duplicate_of: {}", e.reason)),
            })?,
        ),
        A::Dispatch => CaseCommand::Dispatch {
            assignee: req.assignee_id.map(UserId::new).transpose()?,
        },
        A::Sign => CaseCommand::Sign,
        A::Return => CaseCommand::Return(note()?),
        A::Resolve => CaseCommand::Resolve(note()?),
        A::Verify => CaseCommand::Verify,
        A::Rework => CaseCommand::Rework(note()?),
        A::Close => CaseCommand::Close,
        A::Escalate => CaseCommand::Escalate(
            EscalationTarget::parse(
                req.escalate_to.as_deref().unwrap_or_default(),
                req.department.as_deref(),
            )
            .map_err(|e| match e.field {
                "escalate_to" => invalid(
                    "escalate_to",
                    "escalate_to must be leader, street or department",
                ),
                _ => e.into(),
            })?,
        ),
        A::RequestExtension => CaseCommand::RequestExtension {
            note: note()?,
            hours: req
                .extension_hours
                .ok_or(())
                .and_then(|h| ExtensionHours::new(h).map_err(|_| ()))
                .map_err(|()| {
                    invalid(
                        "extension_hours",
                        "extension_hours must be 1 to 240 working hours",
                    )
                })?,
        },
        A::DecideExtension => CaseCommand::DecideExtension {
            approve: req.approve.ok_or_else(|| {
                invalid("approve", "decide_extension needs approve: true or false")
            })?,
        },
        A::Reopen => CaseCommand::Reopen,
        A::Rate => CaseCommand::Rate(Rating::new(req.rating.unwrap_or(0), req.note.as_deref())?),
        A::Comment => CaseCommand::Comment(note()?),
    })
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
    let case = app_cases::load(&state, id).await?;
    let (version, via_if_match) = version_from(req.version, &headers)?;
    let point = point_from(req.crs.as_deref(), req.lat, req.lon)?;
    let updated = locate::relocate(&state, &p, &case, point, version)
        .await
        .map_err(|e| match e {
            AppError::Stale { current } => ApiError::stale(via_if_match, current),
            other => other.into(),
        })?;
    let dto = to_dto(&state, &updated, Some(&p), None).await?;
    Ok(with_etag(StatusCode::OK, dto))
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
