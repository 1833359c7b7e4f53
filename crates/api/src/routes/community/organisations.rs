//! Partner organisations (城管+物业): property managers and others who work a community with
//! the officers, and their member accounts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use whistle_domain::ids::{CommunityId, UserId};
use whistle_domain::people::PhoneNumber;
use whistle_domain::stationing::OrganisationKind;
use whistle_domain::text::Name;
use whistle_persistence::repo::community::{self, Organisation};

use super::require_staff;
use crate::app::organisations::{self, NewOrganisation};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::state::AppState;

// ---- partner organisations ------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewOrganisationRequest {
    /// `property_company` (物业公司) or `homeowners_committee` (业委会).
    pub kind: String,
    pub name: String,
    pub community_id: i64,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationDto {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub community_id: i64,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    /// Partner accounts of the organisation.
    pub member_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
}

pub(super) async fn organisation_dto(
    state: &AppState,
    o: Organisation,
) -> Result<OrganisationDto, ApiError> {
    let members = community::members(&state.db, o.id).await?;
    Ok(OrganisationDto {
        id: o.id,
        kind: o.kind.as_str().to_owned(),
        name: o.name,
        community_id: o.community_id.get(),
        contact_name: o.contact_name,
        contact_phone: o.contact_phone,
        member_ids: members.into_iter().map(UserId::get).collect(),
        created_at: o.created_at,
    })
}

/// Register a property company or homeowners' committee serving a community (administrators).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "community",
    request_body = NewOrganisationRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = OrganisationDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn create_organisation(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<NewOrganisationRequest>,
) -> Result<(StatusCode, Json<OrganisationDto>), ApiError> {
    let kind = OrganisationKind::parse(req.kind.trim()).map_err(|_| ApiError::Unprocessable {
        code: "invalid_value",
        detail: "kind must be property_company or homeowners_committee".into(),
        field: Some("kind".into()),
    })?;
    let new = NewOrganisation {
        kind,
        name: Name::parse(&req.name)?,
        community_id: req.community_id,
        contact_name: req
            .contact_name
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(Name::parse)
            .transpose()?,
        contact_phone: req
            .contact_phone
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(PhoneNumber::parse)
            .transpose()?,
    };
    let org = organisations::register(&state, &p, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(organisation_dto(&state, org).await?),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrganisationQuery {
    pub community: Option<i64>,
}

/// Partner organisations, optionally of one community (staff).
#[utoipa::path(get, path = "/api/v1/organisations", tag = "community",
    params(OrganisationQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<OrganisationDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn list_organisations(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<OrganisationQuery>,
) -> Result<Json<Vec<OrganisationDto>>, ApiError> {
    require_staff(&p)?;
    let community = q.community.map(CommunityId::new).transpose()?;
    let list = community::list_organisations(&state.db, community).await?;
    let mut out = Vec::with_capacity(list.len());
    for o in list {
        out.push(organisation_dto(&state, o).await?);
    }
    Ok(Json(out))
}

/// One organisation: staff, and the organisation's own members.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", tag = "community",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = OrganisationDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_organisation(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<OrganisationDto>, ApiError> {
    let not_found = || ApiError::not_found("organisation_not_found", "no such organisation");
    let org = community::get_organisation(&state.db, id)
        .await
        .map_err(ApiError::when_missing(not_found()))?;
    let dto = organisation_dto(&state, org).await?;
    let member = dto.member_ids.contains(&p.user_id.get());
    if require_staff(&p).is_err() && !member {
        return Err(not_found());
    }
    Ok(Json(dto))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddMemberRequest {
    /// A partner account.
    pub user_id: i64,
}

/// Attach a partner account to an organisation (administrators). The account's jurisdiction
/// becomes the organisation's community: partners report and follow cases in their compound.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/members", tag = "community",
    params(("id" = i64, Path)), request_body = AddMemberRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = OrganisationDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn add_member(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<AddMemberRequest>,
) -> Result<Json<OrganisationDto>, ApiError> {
    let org = organisations::add_member(&state, &p, id, req.user_id).await?;
    Ok(Json(organisation_dto(&state, org).await?))
}
