//! Stationing officers in communities (派驻): station, end a posting, the history of a
//! community or an officer, and the directory of officers to station.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use whistle_auth::policy::{Action, may_somewhere};
use whistle_domain::ids::{CommunityId, UserId};
use whistle_domain::people::PhoneNumber;
use whistle_domain::text::clean_text;
use whistle_persistence::repo::community::{self, Stationing};

use super::require_staff;
use crate::app::community::load_community;
use crate::app::stationing::{self, Station};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::state::AppState;
use crate::wire::AreaRef;

// ---- stationing -----------------------------------------------------------------------------

/// Station an officer in a community.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewStationingRequest {
    /// The officer's account id.
    pub officer_id: i64,
    pub community_id: i64,
    /// What the officer does there (up to 1000 characters).
    pub duties: Option<String>,
    /// Which matters the officer may enforce (执法范围).
    pub enforcement_scope: Option<String>,
    /// e.g. `周一至周五 8:30–17:30`.
    pub office_hours: Option<String>,
    /// The phone printed on the contact card (the account's phone when absent).
    pub contact_phone: Option<String>,
    /// First day, `YYYY-MM-DD` (default: today).
    pub starts_on: Option<String>,
    /// Last day, inclusive (default: open-ended).
    pub ends_on: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StationingDto {
    pub id: i64,
    pub officer_id: i64,
    pub officer_name: Option<String>,
    pub badge_number: Option<String>,
    pub community_id: i64,
    pub duties: Option<String>,
    pub enforcement_scope: Option<String>,
    pub office_hours: Option<String>,
    pub contact_phone: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    /// Running today.
    pub current: bool,
    pub created_at: DateTime<Utc>,
}

pub(super) async fn stationing_dtos(
    state: &AppState,
    list: Vec<Stationing>,
) -> Result<Vec<StationingDto>, ApiError> {
    let ids: Vec<UserId> = list.iter().map(|s| s.officer_id).collect();
    let officers = community::card_officers(&state.db, &ids).await?;
    let today = state.today();
    Ok(list
        .into_iter()
        .map(|s| {
            let o = officers.iter().find(|o| o.user_id == s.officer_id);
            StationingDto {
                id: s.id,
                officer_id: s.officer_id.get(),
                officer_name: o.map(|o| o.name.clone()),
                badge_number: o.map(|o| o.badge_number.clone()),
                community_id: s.community_id.get(),
                duties: s.duties,
                enforcement_scope: s.enforcement_scope,
                office_hours: s.office_hours,
                contact_phone: s.contact_phone,
                starts_on: s.period.starts_on(),
                ends_on: s.period.ends_on(),
                current: s.period.contains(today),
                created_at: s.created_at,
            }
        })
        .collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OfficerQuery {
    /// Text in the officer's name or badge number.
    pub q: Option<String>,
    /// At most this many (default 50, at most 200).
    pub limit: Option<u64>,
}

/// An enabled officer, for choosing whom to station or dispatch.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryOfficerDto {
    pub id: i64,
    pub name: String,
    pub badge_number: String,
    pub squad: Option<String>,
    /// The community he is stationed in today, if any.
    pub stationed_in: Option<AreaRef>,
}

/// The bureau's enabled officers by badge number (names and badges only; no phone numbers), for
/// those who station or dispatch them: leaders and the command centre.
#[utoipa::path(get, path = "/api/v1/officers", tag = "community",
    params(OfficerQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<DirectoryOfficerDto>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn officer_directory(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<OfficerQuery>,
) -> Result<Json<Vec<DirectoryOfficerDto>>, ApiError> {
    if !(may_somewhere(p.role, Action::ManageStationing)
        || may_somewhere(p.role, Action::DispatchCase))
    {
        return Err(ApiError::forbidden(
            "forbidden",
            "only those who station or dispatch officers may list them",
        ));
    }
    let limit = match q.limit {
        None => 50,
        Some(n @ 1..=200) => n,
        Some(_) => {
            return Err(ApiError::Unprocessable {
                code: "invalid_value",
                detail: "limit must be 1 to 200".into(),
                field: Some("limit".into()),
            });
        }
    };
    let text: Option<String> = q.q.as_deref().map(|t| t.trim().chars().take(50).collect());
    let found =
        community::officer_directory(&state.db, text.as_deref(), state.today(), limit).await?;
    let mut out = Vec::with_capacity(found.len());
    let mut names: std::collections::HashMap<CommunityId, AreaRef> = Default::default();
    for o in found {
        let stationed_in = match o.stationed_in {
            Some(c) => match names.entry(c) {
                std::collections::hash_map::Entry::Occupied(known) => Some(known.get().clone()),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    let place = load_community(&state, c.get()).await?;
                    Some(slot.insert(AreaRef::from(&place.community)).clone())
                }
            },
            None => None,
        };
        out.push(DirectoryOfficerDto {
            id: o.user_id.get(),
            name: o.name,
            badge_number: o.badge_number,
            squad: o.squad,
            stationed_in,
        });
    }
    Ok(Json(out))
}

/// Station an officer in a community (派驻). An officer serves one community at a time:
/// periods of one officer may not overlap (409 `stationing_overlaps`). The community is added to
/// the officer's jurisdiction if it is not already covered, so the officer can handle its cases.
#[utoipa::path(post, path = "/api/v1/stationings", tag = "community",
    request_body = NewStationingRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = StationingDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Overlaps another stationing of the officer", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn create_stationing(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<NewStationingRequest>,
) -> Result<(StatusCode, Json<StationingDto>), ApiError> {
    let command = Station {
        officer_id: req.officer_id,
        community_id: req.community_id,
        duties: optional_text("duties", req.duties.as_deref(), 1_000)?,
        enforcement_scope: optional_text(
            "enforcement_scope",
            req.enforcement_scope.as_deref(),
            1_000,
        )?,
        office_hours: optional_text("office_hours", req.office_hours.as_deref(), 200)?,
        contact_phone: req
            .contact_phone
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                // Named as the request names it, so the form shows it at its field.
                PhoneNumber::parse(s).map_err(|e| whistle_domain::ValueError {
                    field: "contact_phone",
                    ..e
                })
            })
            .transpose()?,
        starts_on: req
            .starts_on
            .as_deref()
            .map(|s| parse_date("starts_on", s))
            .transpose()?,
        ends_on: req
            .ends_on
            .as_deref()
            .map(|s| parse_date("ends_on", s))
            .transpose()?,
    };
    let stored = stationing::station(&state, &p, command).await?;
    let mut dto = stationing_dtos(&state, vec![stored]).await?;
    let dto = dto
        .pop()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stationing vanished")))?;
    Ok((StatusCode::CREATED, Json(dto)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EndStationingRequest {
    /// Last day, inclusive, `YYYY-MM-DD` (default: today).
    pub ends_on: Option<String>,
}

/// End a stationing (the history is kept).
#[utoipa::path(post, path = "/api/v1/stationings/{id}/end", tag = "community",
    params(("id" = i64, Path)), request_body = EndStationingRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = StationingDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn end_stationing(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<EndStationingRequest>,
) -> Result<Json<StationingDto>, ApiError> {
    let ends_on = req
        .ends_on
        .as_deref()
        .map(|d| parse_date("ends_on", d))
        .transpose()?;
    let stored = stationing::end(&state, &p, id, ends_on).await?;
    let mut dto = stationing_dtos(&state, vec![stored]).await?;
    dto.pop()
        .map(Json)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stationing vanished")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StationingQuery {
    /// `true`: the whole history, newest first; default: who is stationed today.
    pub history: Option<bool>,
}

/// A community's stationed officers (today), or its stationing history.
#[utoipa::path(get, path = "/api/v1/communities/{id}/stationings", tag = "community",
    params(("id" = i64, Path), StationingQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<StationingDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn community_stationings(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<StationingQuery>,
) -> Result<Json<Vec<StationingDto>>, ApiError> {
    require_staff(&p)?;
    let place = load_community(&state, id).await?;
    let on = (!q.history.unwrap_or(false)).then(|| state.today());
    let list = community::of_community(&state.db, place.community.id, on).await?;
    Ok(Json(stationing_dtos(&state, list).await?))
}

/// An officer's stationing history, oldest first.
#[utoipa::path(get, path = "/api/v1/officers/{id}/stationings", tag = "community",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<StationingDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn officer_stationings(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<StationingDto>>, ApiError> {
    require_staff(&p)?;
    let Ok(officer) = UserId::new(id) else {
        return Ok(Json(Vec::new()));
    };
    let list = community::of_officer(&state.db, officer).await?;
    Ok(Json(stationing_dtos(&state, list).await?))
}

fn optional_text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    Ok(raw
        .filter(|s| !s.trim().is_empty())
        .map(|s| clean_text(field, s, max, true))
        .transpose()?)
}

fn parse_date(field: &'static str, raw: &str) -> Result<NaiveDate, ApiError> {
    raw.trim().parse().map_err(|_| ApiError::Unprocessable {
        code: "invalid_date",
        detail: format!("{field} must be a date YYYY-MM-DD"),
        field: Some(field.into()),
    })
}
