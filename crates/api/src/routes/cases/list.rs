//! The case lists: queues and work lists for staff, a resident's own reports, and the public
//! list of recent cases.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use whistle_auth::Principal;
use whistle_domain::case::CaseStatus;
use whistle_domain::ids::UserId;
use whistle_domain::people::Role;
use whistle_persistence::repo::cases::{
    self, Attention, CaseCursor, CaseFilter, CaseOrder, Visibility,
};

use super::dto::{CaseDto, Lookups, to_dto_with};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiQuery, CurrentUser};
use crate::state::AppState;
use crate::wire::paging::{self, PageOf};

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
pub(super) async fn list_cases(
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
    seen.people_of(&state, &found).await?;
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
pub(super) async fn public_cases(
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
            .category_by_code(state.reads(), code.trim())
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
        state.reads(),
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
        let category = state
            .reference
            .category(state.reads(), c.category_id)
            .await?;
        let community = state
            .reference
            .community(state.reads(), c.area.community)
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
