//! The case as the API shows it: the wire types of intake, reading and actions, and the
//! reporter, officer and duplicate details each viewer may see.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Decision, Resource, authorize};
use whistle_domain::case::{Case, Rating, Reporter};
use whistle_domain::ids::{MerchantId, PlaceId, UserId};
use whistle_domain::people::Role;
use whistle_persistence::repo::cases;
use whistle_persistence::repo::users;

use crate::app::cases::actions_for;
use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::AreaRef;

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
pub(super) async fn to_dto(
    state: &AppState,
    case: &Case,
    viewer: Option<&Principal>,
    tracking: Option<String>,
) -> Result<CaseDto, ApiError> {
    to_dto_with(state, case, viewer, tracking, &mut Lookups::default()).await
}

/// The people `to_dto` names (reporters with an account, suggested and assigned officers) and
/// the officers' stationings, remembered across the cases of one page and read for the whole
/// page at once ([`Lookups::people_of`]): looking each up once per case made the queue ~300
/// queries a page (whistle-bench api), and reporters and officers are one query, not two.
/// Grids and categories come from the reference cache.
#[derive(Default)]
pub(super) struct Lookups {
    /// By account id; `None` for an account that no longer exists.
    people: HashMap<i64, Option<whistle_domain::people::User>>,
    /// An officer's stationings, for the contact number a reporter sees.
    postings: HashMap<i64, Vec<whistle_persistence::repo::community::Stationing>>,
}

impl Lookups {
    /// Reads the reporters and officers of these cases not yet known, in one query.
    pub(super) async fn people_of(
        &mut self,
        state: &AppState,
        cases: &[Case],
    ) -> Result<(), ApiError> {
        let mut wanted: Vec<UserId> = cases
            .iter()
            .flat_map(|c| {
                let reporter = match c.reporter {
                    Reporter::Account(id) => Some(id),
                    Reporter::Anonymous { .. } => None,
                };
                [reporter, c.suggested_officer, c.assignee]
            })
            .flatten()
            .filter(|id| !self.people.contains_key(&id.get()))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        for id in &wanted {
            self.people.insert(id.get(), None);
        }
        for u in users::get_users(&state.db, &wanted).await? {
            self.people.insert(u.id.get(), Some(u));
        }
        Ok(())
    }

    fn person(&self, id: UserId) -> Option<&whistle_domain::people::User> {
        self.people.get(&id.get()).and_then(Option::as_ref)
    }

    /// The officer's stationings, read once per officer.
    async fn postings_of(
        &mut self,
        state: &AppState,
        officer: UserId,
    ) -> Result<&[whistle_persistence::repo::community::Stationing], ApiError> {
        let found = match self.postings.entry(officer.get()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(
                whistle_persistence::repo::community::of_officer(&state.db, officer).await?,
            ),
        };
        Ok(found)
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

/// The officer as `view` shows them, `None` when there is none or the account is gone; the
/// reporter's number is the one on the contact card of the case's community (the stationing's
/// contact phone, else the account's).
async fn officer_ref(
    state: &AppState,
    seen: &mut Lookups,
    officer: Option<UserId>,
    case: &Case,
    view: OfficerView,
) -> Result<Option<OfficerRef>, ApiError> {
    let Some(user) = officer.and_then(|id| seen.person(id)).cloned() else {
        return Ok(None);
    };
    let (name, phone) = match view {
        OfficerView::Staff => (
            user.display_name.to_string(),
            user.phone.as_ref().map(|p| p.as_str().to_owned()),
        ),
        OfficerView::Reporter => {
            let posted = seen
                .postings_of(state, user.id)
                .await?
                .iter()
                .rev()
                .find(|s| s.community_id == case.area.community)
                .and_then(|s| s.contact_phone.clone());
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
    Ok(Some(OfficerRef {
        id: user.id.get(),
        name,
        phone,
    }))
}

pub(super) async fn to_dto_with(
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
    seen.people_of(state, std::slice::from_ref(case)).await?;
    let resource = Resource {
        area: Some(case.area),
        owner: case.reporter_id,
    };
    let full_contact = viewer
        .is_some_and(|p| authorize(p, Action::ViewReporterContact, &resource) == Decision::Allow)
        || tracking.is_some();
    let (name, phone) = match &case.reporter {
        Reporter::Account(id) => match seen.person(*id) {
            Some(u) => (Some(u.display_name.to_string()), u.phone.clone()),
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
    let view = OfficerView::of(viewer, case);
    let suggested_officer = officer_ref(state, seen, case.suggested_officer, case, view).await?;
    let assignee = officer_ref(state, seen, case.assignee, case, view).await?;
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
pub(super) async fn possible_duplicates(
    state: &AppState,
    case: &Case,
) -> Result<Vec<DuplicateDto>, ApiError> {
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
