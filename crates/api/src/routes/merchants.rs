//! Merchants (商户), four-responsibility pledges (门前四包责任书) and inspections against them.
//!
//! Officers register the merchants of their communities, have them sign the city's pledge, and
//! inspect them against it; a failed item can open a case against the merchant in the same
//! call (and the same transaction) as the inspection.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource};
use whistle_domain::case::Case;
use whistle_domain::ids::{CaseId, CommunityId, GridId, PledgeId};
use whistle_domain::inspection::{self, InspectionError, ItemResult};
use whistle_domain::jurisdiction::AreaPath;
use whistle_domain::merchant::{Address, LicenceNumber};
use whistle_domain::people::PhoneNumber;
use whistle_domain::pledge::{Pledge, PledgeItem, PledgeStatus, Validity};
use whistle_domain::text::{BilingualName, Code, Name, clean_text};
use whistle_persistence::RepoError;
use whistle_persistence::repo::merchants::{
    self, InspectionPhoto, InspectionRecord, MerchantFields, MerchantFilter, MerchantRecord,
    NewInspection, PledgeRecord, SignedItem,
};
use whistle_persistence::repo::{PageRequest, geography};

use crate::app::AppError;
use crate::app::access::require;
use crate::app::cases::intake::{self, Channel, Report, Whereabouts};
use crate::app::merchants::{read_scope, readable_merchant, readable_pledge};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, CurrentUser};
use crate::media_store;
use crate::signed_link::{LinkParams, PrintAccess};
use crate::state::AppState;
use crate::wire::paging::{self, Cursor, PageOf};
use crate::wire::routed_point;
use whistle_domain::case::Description;
use whistle_domain::location::Crs;

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

/// Validates a merchant and routes its location to its grid.
async fn fields_of(state: &AppState, req: &MerchantRequest) -> Result<MerchantFields, ApiError> {
    let licence =
        LicenceNumber::parse(&req.licence_number).map_err(|e| ApiError::Unprocessable {
            code: "invalid_licence_number",
            detail: e.to_string(),
            field: Some("licence_number".into()),
        })?;
    let (point, hit) = routed_point(state, req.crs.as_deref(), req.lat, req.lon)?;
    let place = geography::get_grid_in_context(&state.db, hit.grid_id).await?;
    Ok(MerchantFields {
        name: Name::parse(&req.name)?.as_str().to_owned(),
        licence_number: licence.as_str().to_owned(),
        owner_name: Name::parse(&req.owner_name)
            .map_err(|e| rename(e, "owner_name"))?
            .as_str()
            .to_owned(),
        owner_phone: PhoneNumber::parse(&req.owner_phone)
            .map_err(|e| rename(e, "owner_phone"))?
            .as_str()
            .to_owned(),
        address: Address::parse(&req.address)?.as_str().to_owned(),
        business_type: Name::parse(&req.business_type)
            .map_err(|e| rename(e, "business_type"))?
            .as_str()
            .to_owned(),
        location: point,
        grid_id: hit.grid_id,
        area: AreaPath {
            district: place.community.district.id,
            street: place.community.street.id,
            community: hit.community_id,
        },
    })
}

fn rename(e: whistle_domain::ValueError, field: &'static str) -> ApiError {
    ApiError::Unprocessable {
        code: "invalid_value",
        detail: format!("{field}: {}", e.reason),
        field: Some(field.into()),
    }
}

fn licence_taken(e: RepoError) -> ApiError {
    match e {
        RepoError::Conflict(_) => ApiError::Conflict {
            code: "licence_number_taken",
            detail: "a merchant with this licence number is already registered".into(),
        },
        other => other.into(),
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
    let fields = fields_of(&state, &req).await?;
    require(&p, Action::ManageMerchants, &Resource::at(fields.area))?;
    let txn = state.db.begin().await?;
    let m = merchants::insert_merchant(&txn, &fields, p.user_id)
        .await
        .map_err(licence_taken)?;
    txn.commit().await?;
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
    let current = readable_merchant(&state, &p, id).await?;
    require(&p, Action::ManageMerchants, &Resource::at(current.area))?;
    let fields = fields_of(&state, &req).await?;
    require(&p, Action::ManageMerchants, &Resource::at(fields.area))?;
    let txn = state.db.begin().await?;
    let m = merchants::update_merchant(&txn, current.id, &fields)
        .await
        .map_err(licence_taken)?;
    txn.commit().await?;
    Ok(Json(m.into()))
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

// ---- pledge items ---------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PledgeItemDto {
    /// Stable code, e.g. `order`.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// What the merchant undertakes.
    pub text: String,
}

impl From<SignedItem> for PledgeItemDto {
    fn from(i: SignedItem) -> Self {
        PledgeItemDto {
            code: i.code,
            name_zh: i.name_zh,
            name_en: i.name_en,
            text: i.text,
        }
    }
}

/// The items a new pledge contains (the city's, or the built-in four: 市容整洁, 环境卫生,
/// 公共秩序, 绿化与设施).
#[utoipa::path(get, path = "/api/v1/pledge-items", tag = "merchants",
    responses((status = 200, body = Vec<PledgeItemDto>)))]
async fn get_pledge_items(
    State(state): State<AppState>,
) -> Result<Json<Vec<PledgeItemDto>>, ApiError> {
    let items = merchants::pledge_items(&state.db).await?;
    Ok(Json(
        items.iter().map(|i| SignedItem::from(i).into()).collect(),
    ))
}

/// Replace the city's pledge items (administrators). Pledges already signed keep their items.
#[utoipa::path(put, path = "/api/v1/pledge-items", tag = "merchants",
    request_body = Vec<PledgeItemDto>, security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<PledgeItemDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_pledge_items(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<Vec<PledgeItemDto>>,
) -> Result<Json<Vec<PledgeItemDto>>, ApiError> {
    require(&p, Action::ManageCatalogue, &Resource::city())?;
    if req.is_empty() || req.len() > 10 {
        return Err(ApiError::Unprocessable {
            code: "invalid_value",
            detail: "a pledge has 1 to 10 items".into(),
            field: None,
        });
    }
    let mut items: Vec<PledgeItem> = Vec::new();
    for i in &req {
        let code = Code::parse(&i.code)?;
        if items.iter().any(|x| x.code == code) {
            return Err(ApiError::Unprocessable {
                code: "duplicate_item",
                detail: format!("item {:?} is given twice", code.as_str()),
                field: Some("code".into()),
            });
        }
        items.push(PledgeItem {
            code,
            name: BilingualName::new(Name::parse(&i.name_zh)?, Name::parse(&i.name_en)?),
            text: clean_text("text", &i.text, 1_000, true)?,
        });
    }
    let txn = state.db.begin().await?;
    merchants::replace_pledge_items(&txn, &items).await?;
    txn.commit().await?;
    Ok(Json(
        items.iter().map(|i| SignedItem::from(i).into()).collect(),
    ))
}

// ---- pledges --------------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignPledgeRequest {
    /// The stretch the merchant is responsible for, e.g. "门前至人行道边缘，东西各 5 米".
    pub frontage: String,
    /// `YYYY-MM-DD`, default today.
    pub signed_on: Option<String>,
    /// First day of validity, default the signing day.
    pub valid_from: Option<String>,
    /// Last day of validity (inclusive), default one year after `valid_from` minus a day.
    pub valid_until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PledgeDto {
    pub id: i64,
    /// The pledge's printed number (责任书编号), e.g. `MQ-2026-000001`.
    pub number: String,
    pub merchant_id: i64,
    /// The signing officer's account.
    pub officer_id: i64,
    pub frontage: String,
    pub signed_on: NaiveDate,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// `pending`, `active`, `expired` or `revoked` — computed for today.
    pub status: String,
    pub revoked_on: Option<NaiveDate>,
    pub revoked_reason: Option<String>,
    /// The items as signed.
    pub items: Vec<PledgeItemDto>,
    pub signature_url: Option<String>,
    pub document_url: String,
    pub created_at: DateTime<Utc>,
}

fn pledge_dto(r: PledgeRecord, today: NaiveDate) -> PledgeDto {
    let p = &r.pledge;
    PledgeDto {
        id: p.id.get(),
        number: r.number.as_str().to_owned(),
        merchant_id: p.merchant_id.get(),
        officer_id: p.signing_officer.get(),
        frontage: p.frontage.clone(),
        signed_on: p.signed_on,
        valid_from: p.validity.from(),
        valid_until: p.validity.until(),
        status: p.status_on(today).as_str().to_owned(),
        revoked_on: p.revoked_on,
        revoked_reason: r.revoked_reason.clone(),
        items: r.items.into_iter().map(PledgeItemDto::from).collect(),
        signature_url: r
            .signature
            .as_ref()
            .map(|_| format!("/api/v1/pledges/{}/signature", p.id)),
        document_url: format!("/api/v1/pledges/{}/document", p.id),
        created_at: r.created_at,
    }
}

fn date(field: &'static str, raw: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|_| ApiError::Unprocessable {
                code: "invalid_date",
                detail: format!("{field} must be a date YYYY-MM-DD"),
                field: Some(field.into()),
            })
        })
        .transpose()
}

/// A merchant signs the four-responsibility pledge before the calling officer. The pledge
/// contains the city's current items. A merchant has one pledge at a time: validity may not
/// overlap another unrevoked pledge of the merchant (409 `pledge_overlaps`; renewals start after
/// the current one ends).
#[utoipa::path(post, path = "/api/v1/merchants/{id}/pledges", tag = "merchants",
    params(("id" = i64, Path)), request_body = SignPledgeRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = PledgeDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn sign_pledge(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<SignPledgeRequest>,
) -> Result<(StatusCode, Json<PledgeDto>), ApiError> {
    let m = readable_merchant(&state, &p, id).await?;
    require(&p, Action::SignPledge, &Resource::at(m.area))?;
    let today = state.today();
    let signed_on = date("signed_on", req.signed_on.as_deref())?.unwrap_or(today);
    if signed_on > today {
        return Err(ApiError::Unprocessable {
            code: "invalid_date",
            detail: "signed_on must not be in the future".into(),
            field: Some("signed_on".into()),
        });
    }
    let from = date("valid_from", req.valid_from.as_deref())?.unwrap_or(signed_on);
    let until = match date("valid_until", req.valid_until.as_deref())? {
        Some(d) => d,
        None => from
            .checked_add_months(Months::new(12))
            .and_then(|d| d.pred_opt())
            .unwrap_or(from),
    };
    let validity = Validity::new(from, until)?;
    if (until - from).num_days() > 366 * 5 {
        return Err(ApiError::Unprocessable {
            code: "invalid_value",
            detail: "a pledge is valid for at most five years".into(),
            field: Some("valid_until".into()),
        });
    }
    // The id is the database's to assign; `Pledge::new` checks the invariants.
    let pledge = Pledge::new(
        PledgeId::new(1)?,
        m.id,
        p.user_id,
        &req.frontage,
        signed_on,
        validity,
    )?;
    let items: Vec<SignedItem> = merchants::pledge_items(&state.db)
        .await?
        .iter()
        .map(SignedItem::from)
        .collect();
    let txn = state.db.begin().await?;
    merchants::lock_merchant(&txn, m.id).await?;
    let existing = merchants::pledges_of(&txn, m.id).await?;
    if let Some(other) = existing
        .iter()
        .find(|r| r.pledge.revoked_on.is_none() && r.pledge.validity.overlaps(validity))
    {
        return Err(ApiError::Conflict {
            code: "pledge_overlaps",
            detail: format!(
                "pledge {} of this merchant is valid from {} to {}; revoke it or start after it ends",
                other.pledge.id,
                other.pledge.validity.from(),
                other.pledge.validity.until()
            ),
        });
    }
    let stored = merchants::insert_pledge(&txn, &pledge, &items).await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(pledge_dto(stored, today))))
}

/// A merchant's pledges, newest first.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/pledges", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<PledgeDto>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn merchant_pledges(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<PledgeDto>>, ApiError> {
    let m = readable_merchant(&state, &p, id).await?;
    let today = state.today();
    let list = merchants::pledges_of(&state.db, m.id).await?;
    Ok(Json(
        list.into_iter().map(|r| pledge_dto(r, today)).collect(),
    ))
}

/// One pledge.
#[utoipa::path(get, path = "/api/v1/pledges/{id}", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = PledgeDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_pledge(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PledgeDto>, ApiError> {
    let (r, _) = readable_pledge(&state, &p, id).await?;
    Ok(Json(pledge_dto(r, state.today())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// Why (required).
    pub reason: String,
}

/// Revoke a pledge from today (e.g. the shop closed or changed hands).
#[utoipa::path(post, path = "/api/v1/pledges/{id}/revoke", tag = "merchants",
    params(("id" = i64, Path)), request_body = RevokeRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = PledgeDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_pledge(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> Result<Json<PledgeDto>, ApiError> {
    let (r, m) = readable_pledge(&state, &p, id).await?;
    require(&p, Action::SignPledge, &Resource::at(m.area))?;
    let reason = clean_text("reason", &req.reason, 1_000, true)?;
    let today = state.today();
    let status = r.pledge.status_on(today);
    if matches!(status, PledgeStatus::Revoked | PledgeStatus::Expired) {
        return Err(ApiError::Conflict {
            code: "pledge_not_revocable",
            detail: format!("the pledge is already {}", status.as_str()),
        });
    }
    let txn = state.db.begin().await?;
    let stored = merchants::revoke_pledge(&txn, r.pledge.id, today, &reason).await?;
    txn.commit().await?;
    Ok(Json(pledge_dto(stored, today)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpiringQuery {
    /// Pledges whose validity ends within this many days from today (1–365, default 30).
    pub within_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiringPledgeDto {
    pub pledge: PledgeDto,
    pub merchant: MerchantDto,
    pub days_left: i64,
}

/// Pledges expiring soon, soonest first, in the caller's jurisdiction (renewal work list; the
/// notifier reminds the stationed officer from the same query).
#[utoipa::path(get, path = "/api/v1/pledges/expiring", tag = "merchants",
    params(ExpiringQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ExpiringPledgeDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn expiring_pledges(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<ExpiringQuery>,
) -> Result<Json<Vec<ExpiringPledgeDto>>, ApiError> {
    let scope = read_scope(&p)?;
    let days = q.within_days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::Unprocessable {
            code: "invalid_value",
            detail: "within_days must be between 1 and 365".into(),
            field: Some("within_days".into()),
        });
    }
    let today = state.today();
    let until = today + Duration::days(i64::from(days));
    let list = merchants::pledges_expiring(&state.db, today, until, scope.as_ref()).await?;
    Ok(Json(
        list.into_iter()
            .map(|(r, m)| ExpiringPledgeDto {
                days_left: (r.pledge.validity.until() - today).num_days(),
                pledge: pledge_dto(r, today),
                merchant: m.into(),
            })
            .collect(),
    ))
}

/// Upload the scanned signature page of a pledge (JPEG/PNG/WebP).
#[utoipa::path(put, path = "/api/v1/pledges/{id}/signature", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    request_body(content = crate::wire::PhotoForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = PledgeDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Over the pixel limit (`image_too_large`) or not decodable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_signature(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    form: Multipart,
) -> Result<Json<PledgeDto>, ApiError> {
    let (r, m) = readable_pledge(&state, &p, id).await?;
    require(&p, Action::SignPledge, &Resource::at(m.area))?;
    let mut upload = media_store::read_upload(form, state.settings.attachments.max_bytes).await?;
    let image = media_store::store_image(&state, upload.take_file()?).await?;
    let txn = state.db.begin().await?;
    let stored = merchants::set_signature(&txn, r.pledge.id, &image.sha256, image.mime).await?;
    txn.commit().await?;
    Ok(Json(pledge_dto(stored, state.today())))
}

/// The scanned signature page.
#[utoipa::path(get, path = "/api/v1/pledges/{id}/signature", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_signature(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let (r, _) = readable_pledge(&state, &p, id).await?;
    let (sha, mime) = r
        .signature
        .ok_or_else(|| ApiError::not_found("signature_not_found", "no signature was uploaded"))?;
    media_store::image_response(&state, &sha, &mime, "private, max-age=86400").await
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `name` without a leading list number such as "1.", "2、", "（三）" or "④", which would
/// print twice inside a numbered list ("1. 1、市容整洁").
fn strip_enumerator(name: &str) -> &str {
    let t = name.trim_start();
    let numeral = |c: char| c.is_ascii_digit() || "一二三四五六七八九十".contains(c);
    let mut rest = t.trim_start_matches(['(', '（']);
    let had_open = rest.len() != t.len();
    let after = rest.trim_start_matches(numeral);
    if after.len() != rest.len() {
        rest = after;
        let closed = rest
            .strip_prefix(['、', '.', '．', ')', '）', ' '])
            .or_else(|| had_open.then_some(rest).filter(|r| r.is_empty()));
        if let Some(r) = closed {
            let r = r.trim_start();
            if !r.is_empty() {
                return r;
            }
        }
        return t;
    }
    if had_open {
        return t;
    }
    let mut chars = t.chars();
    match chars.next() {
        Some('\u{2460}'..='\u{2473}') => {
            let r = chars.as_str().trim_start();
            if r.is_empty() { t } else { r }
        }
        _ => t,
    }
}

/// The pledge as a printable page (HTML with print styles; "print to PDF" in any browser).
/// Opens with a Bearer token, or without one through a signed link from
/// `POST /api/v1/print-links` (a browser cannot send the header when a link is clicked).
#[utoipa::path(get, path = "/api/v1/pledges/{id}/document", tag = "merchants",
    params(("id" = i64, Path), LinkParams), security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Printable HTML", content_type = "text/html"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn pledge_document(
    State(state): State<AppState>,
    access: PrintAccess,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let (r, m) = match access {
        PrintAccess::User(p) => readable_pledge(&state, &p, id).await?,
        // The link was signed for exactly this path, for someone who could read it.
        PrintAccess::Link => {
            let not_found = || ApiError::not_found("pledge_not_found", "no such pledge");
            let pid = PledgeId::new(id).map_err(|_| not_found())?;
            let r = merchants::get_pledge(&state.db, pid)
                .await
                .map_err(ApiError::when_missing(not_found()))?;
            let m = merchants::get_merchant(&state.db, r.pledge.merchant_id)
                .await
                .map_err(ApiError::when_missing(not_found()))?;
            (r, m)
        }
        PrintAccess::Anonymous => {
            return Err(ApiError::unauthorized(
                "unauthenticated",
                "this document needs a bearer access token or a signed print link",
            ));
        }
    };
    let officer =
        whistle_persistence::repo::users::get_user(&state.db, r.pledge.signing_officer).await?;
    let place = geography::get_community(&state.db, m.area.community).await?;
    let mut items = String::new();
    // The <ol> numbers the items, so a number a city typed into an item's name is left out.
    for item in &r.items {
        items.push_str(&format!(
            "<li><strong>{}</strong>：{}</li>\n",
            escape_html(strip_enumerator(&item.name_zh)),
            escape_html(&item.text)
        ));
    }
    let e = escape_html;
    let html = format!(
        r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>门前四包责任书 · {name}</title>
<style>
@page {{ size: A4; margin: 20mm; }}
body {{ font-family: "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; line-height: 1.8; max-width: 170mm; margin: auto; }}
h1 {{ text-align: center; letter-spacing: .3em; }}
table {{ width: 100%; border-collapse: collapse; }} td {{ padding: 4px 0; vertical-align: top; }}
.sign {{ display: flex; justify-content: space-between; margin-top: 24mm; }}
</style></head>
<body>
<h1>门前四包责任书</h1>
<p>编号：{id}</p>
<table>
<tr><td>责任单位（商户）：</td><td>{name}</td></tr>
<tr><td>统一社会信用代码：</td><td>{licence}</td></tr>
<tr><td>负责人：</td><td>{owner}</td></tr>
<tr><td>地址：</td><td>{address}</td></tr>
<tr><td>所在社区：</td><td>{district}{street}{community}</td></tr>
<tr><td>责任区域：</td><td>{frontage}</td></tr>
<tr><td>有效期：</td><td>{from} 至 {until}</td></tr>
</table>
<p>责任单位承诺在责任区域内做到：</p>
<ol>
{items}</ol>
<div class="sign">
<div>责任单位（签章）：<br><br>负责人签字：</div>
<div>{bureau}<br>经办队员：{officer}<br>签订日期：{signed}</div>
</div>
</body></html>
"#,
        id = e(r.number.as_str()),
        name = e(&m.name),
        licence = e(&m.licence_number),
        owner = e(&m.owner_name),
        address = e(&m.address),
        district = e(place.district.name.as_str()),
        street = e(place.street.name.as_str()),
        community = e(place.community.name.as_str()),
        frontage = e(&r.pledge.frontage),
        from = r.pledge.validity.from(),
        until = r.pledge.validity.until(),
        items = items,
        bureau = e(&format!(
            "{}{}",
            place.district.name.as_str(),
            state.settings.app.bureau_suffix
        )),
        officer = e(officer.display_name.as_str()),
        signed = r.pledge.signed_on,
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    Ok((StatusCode::OK, headers, html).into_response())
}

// ---- inspections ----------------------------------------------------------------------------

/// Open a case for a failed item, in the same call.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OpenCaseRequest {
    /// Category code, e.g. `noise` or `street_occupation`.
    pub category: String,
    /// Default: the item's name and the inspection note.
    pub description: Option<String>,
    /// `urgent`, `high`, `normal`, `low` (default: the category's).
    pub priority: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ItemResultRequest {
    /// The pledge item's code, e.g. `order`.
    pub item: String,
    pub passed: bool,
    pub note: Option<String>,
    /// Only for a failed item: open a case against the merchant.
    pub open_case: Option<OpenCaseRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InspectionRequest {
    /// Default: the merchant's pledge active today.
    pub pledge_id: Option<i64>,
    pub note: Option<String>,
    pub results: Vec<ItemResultRequest>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultDto {
    pub item: String,
    pub passed: bool,
    pub note: Option<String>,
    pub case_id: Option<i64>,
    pub case_number: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionDto {
    pub id: i64,
    pub merchant_id: i64,
    pub pledge_id: i64,
    pub officer_id: i64,
    pub inspected_at: DateTime<Utc>,
    /// Every checked item passed.
    pub passed: bool,
    pub note: Option<String>,
    pub results: Vec<ResultDto>,
    pub photos: Vec<InspectionPhotoDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionPhotoDto {
    pub id: i64,
    pub item: Option<String>,
    pub mime: String,
    pub size: i64,
    pub url: String,
}

impl From<InspectionPhoto> for InspectionPhotoDto {
    fn from(p: InspectionPhoto) -> Self {
        InspectionPhotoDto {
            url: format!("/api/v1/inspection-photos/{}", p.id),
            id: p.id,
            item: p.item,
            mime: p.mime,
            size: p.size,
        }
    }
}

fn inspection_dto(
    i: InspectionRecord,
    numbers: &[(CaseId, String)],
    photos: Vec<InspectionPhoto>,
) -> InspectionDto {
    InspectionDto {
        id: i.id,
        merchant_id: i.merchant_id.get(),
        pledge_id: i.pledge_id.get(),
        officer_id: i.officer_id.get(),
        inspected_at: i.inspected_at,
        passed: i.passed,
        note: i.note,
        results: i
            .results
            .into_iter()
            .map(|r| ResultDto {
                case_number: r.case_id.and_then(|c| {
                    numbers
                        .iter()
                        .find(|(id, _)| *id == c)
                        .map(|(_, n)| n.clone())
                }),
                case_id: r.case_id.map(CaseId::get),
                item: r.item,
                passed: r.passed,
                note: r.note,
            })
            .collect(),
        photos: photos.into_iter().map(InspectionPhotoDto::from).collect(),
    }
}

async fn case_numbers(
    state: &AppState,
    i: &InspectionRecord,
) -> Result<Vec<(CaseId, String)>, ApiError> {
    let mut out = Vec::new();
    for c in i.results.iter().filter_map(|r| r.case_id) {
        let case = whistle_persistence::repo::cases::get(&state.db, c).await?;
        out.push((c, case.number.as_str().to_owned()));
    }
    Ok(out)
}

fn inspection_error(e: InspectionError) -> ApiError {
    match e {
        InspectionError::PledgeNotActive(_) => ApiError::Conflict {
            code: "pledge_not_active",
            detail: e.to_string(),
        },
        InspectionError::UnknownItem(_) => ApiError::Unprocessable {
            code: "unknown_pledge_item",
            detail: e.to_string(),
            field: Some("results".into()),
        },
        InspectionError::DuplicateItem(_) | InspectionError::Empty => ApiError::Unprocessable {
            code: "invalid_results",
            detail: e.to_string(),
            field: Some("results".into()),
        },
    }
}

/// Inspect a merchant against its pledge (门前四包检查): per item pass or fail with a note. A
/// failed item with `open_case` opens a case against the merchant (at the merchant's place,
/// linked to it) in the same transaction: the inspection and its cases are written together or
/// not at all.
#[utoipa::path(post, path = "/api/v1/merchants/{id}/inspections", tag = "merchants",
    params(("id" = i64, Path)), request_body = InspectionRequest, security(("bearer" = [])),
    responses(
        (status = 201, body = InspectionDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No active pledge", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn inspect(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<InspectionRequest>,
) -> Result<(StatusCode, Json<InspectionDto>), ApiError> {
    let m = readable_merchant(&state, &p, id).await?;
    require(&p, Action::InspectMerchant, &Resource::at(m.area))?;
    let today = state.today();
    let pledges = merchants::pledges_of(&state.db, m.id).await?;
    let pledge = match req.pledge_id {
        Some(pid) => pledges
            .iter()
            .find(|r| r.pledge.id.get() == pid)
            .ok_or_else(|| ApiError::Unprocessable {
                code: "unknown_pledge",
                detail: "the merchant has no such pledge".into(),
                field: Some("pledge_id".into()),
            })?,
        None => pledges
            .iter()
            .find(|r| r.pledge.status_on(today) == PledgeStatus::Active)
            .ok_or_else(|| ApiError::Conflict {
                code: "pledge_not_active",
                detail: "the merchant has no active pledge to inspect against".into(),
            })?,
    };
    if req.results.len() > 50 {
        return Err(ApiError::Unprocessable {
            code: "invalid_results",
            detail: "too many results".into(),
            field: Some("results".into()),
        });
    }
    let results = req
        .results
        .iter()
        .map(|r| ItemResult::new(&r.item, r.passed, r.note.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let codes: Vec<&str> = pledge.items.iter().map(|i| i.code.as_str()).collect();
    inspection::check(pledge.pledge.status_on(today), &codes, &results)
        .map_err(inspection_error)?;
    let note = req
        .note
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| clean_text("note", s, 2_000, true))
        .transpose()?;

    // Prepare every case before the transaction (validation, routing, SLA), as intake does.
    let mut prepared = Vec::new();
    for (r, raw) in results.iter().zip(&req.results) {
        let Some(open) = &raw.open_case else { continue };
        if r.passed {
            return Err(ApiError::Unprocessable {
                code: "invalid_results",
                detail: format!(
                    "item {:?} passed; only a failed item opens a case",
                    r.item.as_str()
                ),
                field: Some("open_case".into()),
            });
        }
        let item = pledge
            .items
            .iter()
            .find(|i| i.code == r.item.as_str())
            .map(|i| i.name_zh.clone())
            .unwrap_or_default();
        let description = match open.description.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(d) => d.to_owned(),
            None => format!(
                "门前四包检查未通过：{}（{}）。{}",
                item,
                m.name,
                r.note.as_deref().unwrap_or_default()
            ),
        };
        let report = Report {
            category: open.category.clone(),
            description: Description::parse(&description)?,
            whereabouts: Whereabouts::Point {
                point: m.location,
                crs: Crs::Wgs84,
            },
            address: Some(m.address.as_str())
                .filter(|a| !a.trim().is_empty())
                .map(Address::parse)
                .transpose()?,
            address_text: Some(m.address.clone()),
            priority: open.priority.as_deref().map(str::parse),
            case_type: None,
            reporter_name: None,
            reporter_phone: None,
            attributes: Default::default(),
        };
        let mut case =
            intake::prepare(&state, Some(&p), &report, Channel::Native, None, None).await?;
        case.new.merchant_id = Some(m.id);
        prepared.push((r.item.as_str().to_owned(), case));
    }

    let mut numbers = Vec::with_capacity(prepared.len());
    for (_, case) in &prepared {
        numbers.push(intake::reserve_number(&state, case).await?);
    }
    let txn = state.db.begin().await?;
    let mut opened: Vec<(String, Case)> = Vec::new();
    for ((item, case), number) in prepared.iter().zip(&numbers) {
        opened.push((
            item.clone(),
            intake::insert(&txn, case, number, Some(&p)).await?,
        ));
    }
    let links: Vec<(String, CaseId)> = opened.iter().map(|(i, c)| (i.clone(), c.id)).collect();
    let stored = merchants::insert_inspection(
        &txn,
        &NewInspection {
            merchant: m.id,
            pledge: pledge.pledge.id,
            officer: p.user_id,
            at: state.now(),
            note: note.as_deref(),
            results: &results,
            cases: &links,
        },
    )
    .await?;
    txn.commit().await?;
    for (_, c) in &opened {
        tracing::info!(
            case_id = c.id.get(),
            merchant_id = m.id.get(),
            "case opened by inspection"
        );
    }
    let numbers: Vec<(CaseId, String)> = opened
        .iter()
        .map(|(_, c)| (c.id, c.number.as_str().to_owned()))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(inspection_dto(stored, &numbers, Vec::new())),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LastQuery {
    /// How many of the latest inspections (1–100, default 10).
    pub last: Option<u64>,
}

fn last_n(raw: Option<u64>) -> Result<u64, ApiError> {
    let n = raw.unwrap_or(10);
    if (1..=100).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::Unprocessable {
            code: "invalid_value",
            detail: "last must be between 1 and 100".into(),
            field: Some("last".into()),
        })
    }
}

/// A merchant's inspections, newest first.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/inspections", tag = "merchants",
    params(("id" = i64, Path), LastQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<InspectionDto>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn merchant_inspections(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<LastQuery>,
) -> Result<Json<Vec<InspectionDto>>, ApiError> {
    let m = readable_merchant(&state, &p, id).await?;
    let list = merchants::inspections_of(&state.db, m.id, last_n(q.last)?).await?;
    let mut out = Vec::with_capacity(list.len());
    for i in list {
        let numbers = case_numbers(&state, &i).await?;
        let photos = merchants::inspection_photos(&state.db, i.id).await?;
        out.push(inspection_dto(i, &numbers, photos));
    }
    Ok(Json(out))
}

async fn readable_inspection(
    state: &AppState,
    p: &Principal,
    id: i64,
) -> Result<(InspectionRecord, MerchantRecord), ApiError> {
    let not_found = || ApiError::not_found("inspection_not_found", "no such inspection");
    let i = merchants::get_inspection(&state.db, id)
        .await
        .map_err(ApiError::when_missing(not_found()))?;
    let m = readable_merchant(state, p, i.merchant_id.get())
        .await
        .map_err(|e| match e {
            AppError::NotFound { .. } => not_found(),
            other => other.into(),
        })?;
    Ok((i, m))
}

/// One inspection.
#[utoipa::path(get, path = "/api/v1/inspections/{id}", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = InspectionDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_inspection(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<InspectionDto>, ApiError> {
    let (i, _) = readable_inspection(&state, &p, id).await?;
    let numbers = case_numbers(&state, &i).await?;
    let photos = merchants::inspection_photos(&state.db, i.id).await?;
    Ok(Json(inspection_dto(i, &numbers, photos)))
}

/// Multipart form of an inspection photo.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct InspectionPhotoForm {
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The item the photo shows (optional).
    pub item: Option<String>,
}

/// Attach a photo to an inspection (the inspecting officer), optionally for one item.
#[utoipa::path(post, path = "/api/v1/inspections/{id}/photos", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    request_body(content = InspectionPhotoForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = InspectionPhotoDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_inspection_photo(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    form: Multipart,
) -> Result<(StatusCode, Json<InspectionPhotoDto>), ApiError> {
    let (i, _) = readable_inspection(&state, &p, id).await?;
    if i.officer_id != p.user_id {
        return Err(ApiError::forbidden(
            "not_owner",
            "only the inspecting officer adds photos",
        ));
    }
    let mut upload = media_store::read_upload(form, state.settings.attachments.max_bytes).await?;
    let item = upload.field("item").map(str::to_owned);
    if let Some(item) = &item
        && !i.results.iter().any(|r| &r.item == item)
    {
        return Err(ApiError::Unprocessable {
            code: "unknown_pledge_item",
            detail: format!("the inspection did not check item {item:?}"),
            field: Some("item".into()),
        });
    }
    if merchants::inspection_photos(&state.db, i.id).await?.len() as u64
        >= state.settings.attachments.max_per_case
    {
        return Err(ApiError::Conflict {
            code: "too_many_attachments",
            detail: "the inspection holds no more photos".into(),
        });
    }
    let image = media_store::store_image(&state, upload.take_file()?).await?;
    let txn = state.db.begin().await?;
    let photo = merchants::insert_inspection_photo(
        &txn,
        i.id,
        item.as_deref(),
        &image.sha256,
        image.mime,
        image.size,
    )
    .await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(photo.into())))
}

/// Download an inspection photo.
#[utoipa::path(get, path = "/api/v1/inspection-photos/{id}", tag = "merchants",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_inspection_photo(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found("photo_not_found", "no such photo");
    let photo = merchants::get_inspection_photo(&state.db, id)
        .await
        .map_err(ApiError::when_missing(not_found()))?;
    readable_inspection(&state, &p, photo.inspection_id)
        .await
        .map_err(|_| not_found())?;
    media_store::image_response(&state, &photo.sha256, &photo.mime, "private, max-age=86400").await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceDto {
    pub merchant_id: i64,
    /// Inspections considered (the latest `last`).
    pub inspections: u32,
    pub passed_inspections: u32,
    pub items_checked: u32,
    pub items_passed: u32,
    /// Share of inspections passed in full, 0–1; null before the first inspection.
    pub score: Option<f64>,
    /// Share of checked items passed, 0–1.
    pub item_pass_rate: Option<f64>,
    /// The pledge active today, if any.
    pub active_pledge_id: Option<i64>,
    /// Cases opened against the merchant by these inspections.
    pub cases_opened: u32,
}

/// A merchant's compliance over its last N inspections.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/compliance", tag = "merchants",
    params(("id" = i64, Path), LastQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = ComplianceDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn compliance(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<LastQuery>,
) -> Result<Json<ComplianceDto>, ApiError> {
    let m = readable_merchant(&state, &p, id).await?;
    let list = merchants::inspections_of(&state.db, m.id, last_n(q.last)?).await?;
    let c = merchants::compliance(&list);
    let today = state.today();
    let active = merchants::pledges_of(&state.db, m.id)
        .await?
        .into_iter()
        .find(|r| r.pledge.status_on(today) == PledgeStatus::Active)
        .map(|r| r.pledge.id.get());
    Ok(Json(ComplianceDto {
        merchant_id: m.id.get(),
        inspections: c.inspections,
        passed_inspections: c.passed_inspections,
        items_checked: c.items_checked,
        items_passed: c.items_passed,
        score: c.score(),
        item_pass_rate: c.item_pass_rate(),
        active_pledge_id: active,
        cases_opened: list
            .iter()
            .flat_map(|i| &i.results)
            .filter(|r| r.case_id.is_some())
            .count() as u32,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OffenderQuery {
    pub community: Option<i64>,
    pub grid: Option<i64>,
    /// Look back this many days (1–366, default 90).
    pub days: Option<u32>,
    /// At least this many failed inspections (default 2).
    pub min_failures: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OffenderDto {
    pub merchant: MerchantDto,
    pub failed_inspections: i64,
    pub last_failed_at: DateTime<Utc>,
}

/// Repeat offenders: merchants with several failed inspections in the period, most failures
/// first, per community or grid.
#[utoipa::path(get, path = "/api/v1/merchants/repeat-offenders", tag = "merchants",
    params(OffenderQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<OffenderDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn repeat_offenders(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<OffenderQuery>,
) -> Result<Json<Vec<OffenderDto>>, ApiError> {
    let days = q.days.unwrap_or(90);
    if !(1..=366).contains(&days) {
        return Err(ApiError::Unprocessable {
            code: "invalid_value",
            detail: "days must be between 1 and 366".into(),
            field: Some("days".into()),
        });
    }
    let min = q.min_failures.unwrap_or(2).clamp(1, 1_000);
    let filter = MerchantFilter {
        scope: read_scope(&p)?,
        community: q.community.map(CommunityId::new).transpose()?,
        grid: q.grid.map(GridId::new).transpose()?,
        ..Default::default()
    };
    let since = state.now() - Duration::days(i64::from(days));
    let list = merchants::repeat_offenders(&state.db, since, i64::from(min), &filter).await?;
    Ok(Json(
        list.into_iter()
            .map(|o| OffenderDto {
                merchant: o.merchant.into(),
                failed_inspections: o.failed_inspections,
                last_failed_at: o.last_failed_at,
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::strip_enumerator;

    #[test]
    fn list_numbers_typed_into_item_names_are_left_to_the_list() {
        for (name, shown) in [
            ("市容整洁", "市容整洁"),
            ("1、市容整洁", "市容整洁"),
            ("2. 环境卫生", "环境卫生"),
            ("（三）绿化", "绿化"),
            ("(4) 秩序", "秩序"),
            ("④设施", "设施"),
            ("十、其他", "其他"),
            // Not list numbers.
            ("3号门面", "3号门面"),
            ("一次性餐具", "一次性餐具"),
            ("1、", "1、"),
            ("12345", "12345"),
        ] {
            assert_eq!(strip_enumerator(name), shown, "{name}");
        }
    }
}
