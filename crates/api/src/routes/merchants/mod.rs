//! Merchants (商户), four-responsibility pledges (门前四包责任书) and inspections against them.
//!
//! Officers register the merchants of their communities, have them sign the city's pledge, and
//! inspect them against it; a failed item can open a case against the merchant in the same
//! call (and the same transaction) as the inspection.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_domain::ids::{CaseId, CommunityId, GridId, PledgeId};
use whistle_domain::inspection::ItemResult;
use whistle_domain::merchant::{Address, LicenceNumber};
use whistle_domain::people::PhoneNumber;
use whistle_domain::pledge::{PledgeItem, PledgeStatus};
use whistle_domain::text::{BilingualName, Code, Name, clean_text};
use whistle_persistence::repo::merchants::{
    self, InspectionPhoto, InspectionRecord, MerchantFilter, MerchantRecord, PledgeRecord,
    SignedItem,
};
use whistle_persistence::repo::{PageRequest, geography};

use crate::app::merchants::inspections::{Checked, Inspect, OpenCase};
use crate::app::merchants::pledges::SignPledge;
use crate::app::merchants::{self as registry, MerchantDraft, inspections as inspecting};
use crate::app::merchants::{pledges as pledging, read_scope, readable_inspection};
use crate::app::merchants::{readable_merchant, readable_pledge};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::media_store;
use crate::signed_link::{LinkParams, PrintAccess};
use crate::state::AppState;
use crate::wire::paging::{self, Cursor, PageOf};
use crate::wire::point_from;
use whistle_domain::case::Description;

mod inspections;
mod pledges;

use inspections::*;
use pledges::*;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_merchant, list_merchants))
        .routes(routes!(repeat_offenders))
        .routes(routes!(get_merchant, update_merchant))
        .routes(routes!(get_pledge_items, put_pledge_items))
        .routes(routes!(sign_pledge, merchant_pledges))
        .routes(routes!(expiring_pledges))
        .routes(routes!(get_pledge))
        .routes(routes!(revoke_pledge))
        .routes(routes!(pledge_document))
        .routes(routes!(inspect, merchant_inspections))
        .routes(routes!(get_inspection))
        .routes(routes!(compliance))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(put_signature, get_signature))
                .routes(routes!(add_inspection_photo))
                .routes(routes!(get_inspection_photo))
                .layer(DefaultBodyLimit::disable()),
        )
}

// ---- access ---------------------------------------------------------------------------------

// ---- merchants ------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct MerchantRequest {
    pub name: String,
    /// Unified social credit code (统一社会信用代码), 18 characters with its check digit.
    pub licence_number: String,
    pub owner_name: String,
    pub owner_phone: String,
    pub address: String,
    /// e.g. 餐饮, 零售, 维修.
    pub business_type: String,
    pub lat: f64,
    pub lon: f64,
    /// `wgs84` (default), `gcj02` or `bd09`.
    pub crs: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MerchantDto {
    pub id: i64,
    pub name: String,
    pub licence_number: String,
    pub owner_name: String,
    pub owner_phone: String,
    pub address: String,
    pub business_type: String,
    /// WGS-84.
    pub lat: f64,
    pub lon: f64,
    pub grid_id: i64,
    pub community_id: i64,
    pub street_id: i64,
    pub district_id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<MerchantRecord> for MerchantDto {
    fn from(m: MerchantRecord) -> Self {
        MerchantDto {
            id: m.id.get(),
            name: m.name,
            licence_number: m.licence_number,
            owner_name: m.owner_name,
            owner_phone: m.owner_phone,
            address: m.address,
            business_type: m.business_type,
            lat: m.location.lat(),
            lon: m.location.lon(),
            grid_id: m.grid_id.get(),
            community_id: m.area.community.get(),
            street_id: m.area.street.get(),
            district_id: m.area.district.get(),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// The request as a draft: every value parsed.
fn draft_of(req: &MerchantRequest) -> Result<MerchantDraft, ApiError> {
    Ok(MerchantDraft {
        licence_number: LicenceNumber::parse(&req.licence_number).map_err(|e| {
            ApiError::Unprocessable {
                code: "invalid_licence_number",
                detail: e.to_string(),
                field: Some("licence_number".into()),
            }
        })?,
        location: point_from(req.crs.as_deref(), req.lat, req.lon)?,
        name: Name::parse(&req.name)?,
        owner_name: Name::parse(&req.owner_name).map_err(|e| rename(e, "owner_name"))?,
        owner_phone: PhoneNumber::parse(&req.owner_phone).map_err(|e| rename(e, "owner_phone"))?,
        address: Address::parse(&req.address)?,
        business_type: Name::parse(&req.business_type).map_err(|e| rename(e, "business_type"))?,
    })
}

fn rename(e: whistle_domain::ValueError, field: &'static str) -> ApiError {
    ApiError::Unprocessable {
        code: "invalid_value",
        detail: format!("{field}: {}", e.reason),
        field: Some(field.into()),
    }
}

/// Register a merchant (officers and leaders, inside their jurisdiction).
#[utoipa::path(post, path = "/api/v1/merchants", tag = "merchants",
    request_body = MerchantRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = MerchantDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Licence number already registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_merchant(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<MerchantRequest>,
) -> Result<(StatusCode, Json<MerchantDto>), ApiError> {
    let m = registry::register(&state, &p, draft_of(&req)?).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

/// Edit a merchant (its new place must also be inside the jurisdiction).
#[utoipa::path(put, path = "/api/v1/merchants/{id}", tag = "merchants",
    params(("id" = i64, Path)), request_body = MerchantRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = MerchantDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_merchant(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<MerchantRequest>,
) -> Result<Json<MerchantDto>, ApiError> {
    let draft = draft_of(&req)?;
    Ok(Json(registry::update(&state, &p, id, draft).await?.into()))
}

/// One merchant.
#[utoipa::path(get, path = "/api/v1/merchants/{id}", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = MerchantDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_merchant(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<MerchantDto>, ApiError> {
    Ok(Json(readable_merchant(&state, &p, id).await?.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MerchantQuery {
    pub community: Option<i64>,
    pub grid: Option<i64>,
    /// Part of the name, or a whole licence number.
    pub q: Option<String>,
    pub business_type: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// Search the registry by community, grid, name or licence number.
#[utoipa::path(get, path = "/api/v1/merchants", tag = "merchants",
    params(MerchantQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = PageOf<MerchantDto>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_merchants(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<MerchantQuery>,
) -> Result<Json<PageOf<MerchantDto>>, ApiError> {
    let filter = MerchantFilter {
        scope: read_scope(&p)?,
        community: q.community.map(CommunityId::new).transpose()?,
        grid: q.grid.map(GridId::new).transpose()?,
        text: q
            .q
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(100).collect()),
        business_type: q
            .business_type
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    };
    let page = merchants::search_merchants(
        &state.db,
        &filter,
        PageRequest {
            after: Cursor::decode(q.cursor.as_deref())?,
            limit: paging::limit(q.limit)?,
        },
    )
    .await?;
    Ok(Json(PageOf {
        items: page.items.into_iter().map(MerchantDto::from).collect(),
        next_cursor: page.next_after.map(Cursor::encode),
    }))
}
