//! Administration of the case catalogue: categories, their SLA policies, the working calendar.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_domain::calendar::{SlaPolicy, Stage, TimeLimit, Window, WorkingCalendar};
use whistle_domain::case::{CaseType, Priority};
use whistle_domain::category::Category;
use whistle_domain::text::{BilingualName, Code, Name};
use whistle_persistence::repo::categories::{self, NewCategory};

use crate::app::catalogue::{self, EditCategory, PriorityPolicy};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentUser};
use crate::state::AppState;
use crate::wire::categories::AttributeDto;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_category, admin_categories))
        .routes(routes!(update_category))
        .routes(routes!(set_attributes))
        .routes(routes!(get_sla))
        .routes(routes!(set_sla))
        .routes(routes!(get_calendar, set_calendar))
}

/// A value refused under the request's own field name, so a form shows it at that field.
fn field<T>(
    name: &'static str,
    parsed: Result<T, whistle_domain::ValueError>,
) -> Result<T, whistle_domain::ValueError> {
    parsed.map_err(|e| whistle_domain::ValueError { field: name, ..e })
}

/// A category as administrators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminCategoryDto {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub case_type: String,
    pub default_priority: String,
    pub active: bool,
    /// 小事一格解决: the officer stationed in a case's community may accept it himself.
    pub officer_may_take: bool,
    pub attributes: Vec<AttributeDto>,
}

impl From<Category> for AdminCategoryDto {
    fn from(c: Category) -> Self {
        AdminCategoryDto {
            id: c.id.get(),
            code: c.code.to_string(),
            name_zh: c.name.zh().to_string(),
            name_en: c.name.en().to_string(),
            case_type: c.case_type.as_str().to_owned(),
            default_priority: c.default_priority.as_str().to_owned(),
            active: c.active,
            officer_may_take: c.officer_may_take,
            attributes: c
                .attributes
                .iter()
                .map(|a| AttributeDto::new(a, None))
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCategoryRequest {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub case_type: String,
    pub default_priority: String,
    #[serde(default)]
    pub sort_order: i32,
    /// 小事一格解决: may the officer stationed in a case's community accept reports of this
    /// category himself (dispatched to him in the same step)? Default `true`; switch it off
    /// for matters the command centre must weigh first.
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub officer_may_take: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CategoryChangeRequest {
    pub name_zh: Option<String>,
    pub name_en: Option<String>,
    pub case_type: Option<String>,
    pub default_priority: Option<String>,
    /// `false` retires the category: old cases keep it, new reports cannot use it.
    pub active: Option<bool>,
    pub sort_order: Option<i32>,
    /// 小事一格解决 on or off for this category.
    pub officer_may_take: Option<bool>,
}

/// Time limits of one priority: `4h` natural hours, `8wh` working hours, `3wd` working days.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SlaDto {
    pub priority: String,
    pub accept: String,
    pub dispatch: String,
    pub sign: String,
    pub resolve: String,
    pub verify: String,
    /// False when no policy is stored and the built-in default applies.
    #[serde(default)]
    pub configured: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SlaRequest {
    pub accept: String,
    pub dispatch: String,
    pub sign: String,
    pub resolve: String,
    pub verify: String,
}

/// The working calendar.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CalendarDto {
    /// Daily working windows, e.g. `["08:30-12:00", "13:30-17:30"]`.
    pub windows: Vec<String>,
    /// Weekend days, e.g. `["sat", "sun"]`.
    pub weekend: Vec<String>,
    /// Public holidays (`YYYY-MM-DD`).
    pub holidays: Vec<NaiveDate>,
    /// Make-up working days (调休), usually weekend days.
    pub makeup_days: Vec<NaiveDate>,
}

fn sla_dto(p: &PriorityPolicy) -> SlaDto {
    let l = |s| p.policy.limit(s).to_string();
    SlaDto {
        priority: p.priority.as_str().to_owned(),
        accept: l(Stage::Accept),
        dispatch: l(Stage::Dispatch),
        sign: l(Stage::Sign),
        resolve: l(Stage::Resolve),
        verify: l(Stage::Verify),
        configured: p.configured,
    }
}

/// Every category in display order, retired ones included, with their questions.
#[utoipa::path(get, path = "/api/v1/admin/categories", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<AdminCategoryDto>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn admin_categories(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<Vec<AdminCategoryDto>>, ApiError> {
    catalogue::may_manage(&p)?;
    let list = categories::list_categories(&state.db, true).await?;
    Ok(Json(list.into_iter().map(AdminCategoryDto::from).collect()))
}

/// Add a category.
#[utoipa::path(post, path = "/api/v1/admin/categories", tag = "admin", request_body = NewCategoryRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AdminCategoryDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_category(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<NewCategoryRequest>,
) -> Result<(StatusCode, Json<AdminCategoryDto>), ApiError> {
    let new = NewCategory {
        code: Code::parse(&req.code)?,
        name: BilingualName::new(
            field("name_zh", Name::parse(&req.name_zh))?,
            field("name_en", Name::parse(&req.name_en))?,
        ),
        case_type: req.case_type.parse()?,
        default_priority: req.default_priority.parse()?,
        sort_order: req.sort_order,
        officer_may_take: req.officer_may_take,
    };
    let created = catalogue::create_category(&state, &p, new).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Rename, re-type, re-prioritise, retire or reactivate a category.
#[utoipa::path(put, path = "/api/v1/admin/categories/{code}", tag = "admin",
    params(("code" = String, Path)), request_body = CategoryChangeRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = AdminCategoryDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_category(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiJson(req): ApiJson<CategoryChangeRequest>,
) -> Result<Json<AdminCategoryDto>, ApiError> {
    let edit = EditCategory {
        name_zh: req
            .name_zh
            .as_deref()
            .map(|n| field("name_zh", Name::parse(n)))
            .transpose()?,
        name_en: req
            .name_en
            .as_deref()
            .map(|n| field("name_en", Name::parse(n)))
            .transpose()?,
        case_type: req
            .case_type
            .as_deref()
            .map(str::parse::<CaseType>)
            .transpose()?,
        default_priority: req
            .default_priority
            .as_deref()
            .map(str::parse::<Priority>)
            .transpose()?,
        active: req.active,
        sort_order: req.sort_order,
        officer_may_take: req.officer_may_take,
    };
    let updated = catalogue::update_category(&state, &p, &code, edit).await?;
    Ok(Json(updated.into()))
}

/// Replace a category's extra questions (asked at intake, answered in `attributes`).
#[utoipa::path(put, path = "/api/v1/admin/categories/{code}/attributes", tag = "admin",
    params(("code" = String, Path)), request_body = Vec<AttributeDto>, security(("bearer" = [])),
    responses(
        (status = 200, body = AdminCategoryDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_attributes(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(code): ApiPath<String>,
    ApiJson(req): ApiJson<Vec<AttributeDto>>,
) -> Result<Json<AdminCategoryDto>, ApiError> {
    let specs = req
        .iter()
        .map(AttributeDto::to_spec)
        .collect::<Result<Vec<_>, _>>()?;
    let updated = catalogue::set_attributes(&state, &p, &code, specs).await?;
    Ok(Json(updated.into()))
}

/// The SLA policy of a category, for every priority.
#[utoipa::path(get, path = "/api/v1/admin/categories/{code}/sla", tag = "admin",
    params(("code" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<SlaDto>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_sla(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<Vec<SlaDto>>, ApiError> {
    let policies = catalogue::sla_of(&state, &p, &code).await?;
    Ok(Json(policies.iter().map(sla_dto).collect()))
}

/// Set the time limits of a category × priority. Applies to stages started from now on.
#[utoipa::path(put, path = "/api/v1/admin/categories/{code}/sla/{priority}", tag = "admin",
    params(("code" = String, Path), ("priority" = String, Path)), request_body = SlaRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SlaDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_sla(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath((code, priority)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<SlaRequest>,
) -> Result<Json<SlaDto>, ApiError> {
    let priority: Priority = priority.parse()?;
    // A limit that cannot be read is named by its stage, the request's own field.
    let limit = |name: &'static str, raw: &str| field(name, TimeLimit::parse(raw));
    let policy = SlaPolicy::new([
        limit("accept", &req.accept)?,
        limit("dispatch", &req.dispatch)?,
        limit("sign", &req.sign)?,
        limit("resolve", &req.resolve)?,
        limit("verify", &req.verify)?,
    ]);
    let set = catalogue::set_sla(&state, &p, &code, priority, policy).await?;
    Ok(Json(sla_dto(&set)))
}

fn calendar_dto(c: &WorkingCalendar) -> CalendarDto {
    CalendarDto {
        windows: c.windows().iter().map(ToString::to_string).collect(),
        weekend: c
            .weekend()
            .iter()
            .map(|d| d.to_string().to_lowercase())
            .collect(),
        holidays: c.holidays().iter().copied().collect(),
        makeup_days: c.makeup_days().iter().copied().collect(),
    }
}

/// The working calendar deadlines are computed on.
#[utoipa::path(get, path = "/api/v1/admin/calendar", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = CalendarDto)))]
async fn get_calendar(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<CalendarDto>, ApiError> {
    Ok(Json(calendar_dto(&catalogue::calendar(&state, &p).await?)))
}

/// Replace the working calendar (windows, weekend, holidays, make-up days). Applies to stages
/// started from now on.
#[utoipa::path(put, path = "/api/v1/admin/calendar", tag = "admin", request_body = CalendarDto,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CalendarDto),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_calendar(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<CalendarDto>,
) -> Result<Json<CalendarDto>, ApiError> {
    let windows = req
        .windows
        .iter()
        .map(|w| Window::parse(w))
        .collect::<Result<Vec<_>, _>>()?;
    let weekend = req
        .weekend
        .iter()
        .map(|d| {
            d.parse::<chrono::Weekday>()
                .map_err(|_| ApiError::Unprocessable {
                    code: "invalid_value",
                    detail: format!("{d:?} is not a weekday"),
                    field: Some("weekend".into()),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let calendar = WorkingCalendar::new(
        windows,
        weekend,
        req.holidays.iter().copied().collect::<BTreeSet<_>>(),
        req.makeup_days.iter().copied().collect::<BTreeSet<_>>(),
    )?;
    let calendar = catalogue::set_calendar(&state, &p, calendar).await?;
    Ok(Json(calendar_dto(&calendar)))
}
