//! The case-category catalogue, as residents' apps show it.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_domain::category::Category;
use whistle_persistence::repo::categories;

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::state::AppState;
use crate::wire::categories::AttributeDto;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_categories))
}

/// A kind of problem residents can report.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDto {
    pub id: i64,
    /// Stable code, e.g. `noise`; also the Open311 `service_code`.
    pub code: String,
    /// The name in the language asked for with `Accept-Language` (Chinese by default).
    pub name: String,
    pub name_zh: String,
    pub name_en: String,
    /// `complaint`, `help_request`, `consultation` or `suggestion`.
    pub case_type: String,
    /// `urgent`, `high`, `normal` or `low`.
    pub default_priority: String,
    /// Extra questions to ask; answers go in the report's `attributes`.
    pub attributes: Vec<AttributeDto>,
}

impl CategoryDto {
    fn new(c: Category, lang: Lang) -> Self {
        CategoryDto {
            id: c.id.get(),
            code: c.code.to_string(),
            name: lang
                .pick(c.name.zh().as_str(), c.name.en().as_str())
                .to_owned(),
            name_zh: c.name.zh().to_string(),
            name_en: c.name.en().to_string(),
            case_type: c.case_type.as_str().to_owned(),
            default_priority: c.default_priority.as_str().to_owned(),
            attributes: c
                .attributes
                .iter()
                .map(|a| AttributeDto::new(a, Some(lang)))
                .collect(),
        }
    }
}

/// The active categories, in display order.
#[utoipa::path(get, path = "/api/v1/categories", tag = "catalogue",
    params(("Accept-Language" = Option<String>, Header, description = "zh (default) or en")),
    responses((status = 200, body = Vec<CategoryDto>)))]
async fn list_categories(
    State(state): State<AppState>,
    lang: Lang,
) -> Result<Json<Vec<CategoryDto>>, ApiError> {
    let list = categories::list_categories(&state.db, false).await?;
    Ok(Json(
        list.into_iter()
            .map(|c| CategoryDto::new(c, lang))
            .collect(),
    ))
}
