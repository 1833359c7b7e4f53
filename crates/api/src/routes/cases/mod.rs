//! Cases: intake (a resident blows the whistle), reading a case and its timeline, and the actions
//! of the closed loop.
//!
//! `dto` holds the case as the API shows it (who sees which reporter and officer details);
//! `list` the queues and the public list.

mod dto;
mod list;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource, authorize};
use whistle_auth::refresh;
use whistle_domain::case::{Case, CaseNumber, Description, Rating};
use whistle_domain::ids::UserId;
use whistle_domain::lifecycle::{
    CaseActionKind, CaseCommand, EscalationTarget, ExtensionHours, Rejection,
};
use whistle_domain::location::{Coordinate, Crs};
use whistle_domain::merchant::Address;
use whistle_domain::people::{PhoneNumber, Role};
use whistle_domain::text::Name;
use whistle_persistence::repo::cases;

use crate::app::AppError;
use crate::app::access::require;
use crate::app::cases as app_cases;
use crate::app::cases::act::{self, Caller, StepCommand};
use crate::app::cases::intake::{self, Channel, IntakeExtras, Report, Whereabouts};
use crate::app::cases::locate;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentUser, MaybeUser, TRACKING_HEADER, idempotency_key};
use crate::state::AppState;
use crate::wire::{point_from, required_note};
use dto::{ActionRequest, CaseDto, EventDto, NewCaseRequest, possible_duplicates, to_dto};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_case, list::list_cases))
        .routes(routes!(list::public_cases))
        .routes(routes!(get_case))
        .routes(routes!(get_timeline))
        .routes(routes!(act))
        .routes(routes!(relocate))
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
    let events = cases::timeline_with_actors(&state.db, case.id).await?;
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
    let name_of = |u: &whistle_domain::people::User| -> String {
        let id = u.id;
        let resident = matches!(u.role, Role::Resident | Role::Partner);
        let me = viewer.as_ref().is_some_and(|p| p.user_id == id);
        if me || (staff_viewer && (!resident || sees_residents)) {
            u.display_name.to_string()
        } else {
            whistle_domain::people::public_name(
                u.display_name.as_str(),
                u.role,
                lang == crate::i18n::Lang::En,
            )
        }
    };
    Ok(Json(
        events
            .into_iter()
            .map(|(e, actor)| EventDto {
                at: e.at,
                actor_id: e.actor_id.map(UserId::get),
                actor_name: actor.as_ref().map(name_of),
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
