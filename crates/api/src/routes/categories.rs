//! The case-category catalogue, as residents' apps show it.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_domain::category::{AttributeKind, AttributeSpec, Category, ChoiceOption};
use whistle_domain::text::{BilingualName, Code, Name};
use whistle_persistence::repo::categories;

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::state::AppState;

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

/// An extra question of a category.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct AttributeDto {
    /// The answer's key in `attributes`.
    pub key: String,
    /// The question in the language asked for (only in answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub label_zh: String,
    pub label_en: String,
    /// `text`, `number`, `boolean` or `choice`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    /// text: the longest answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<u32>,
    /// number: bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// choice: the option codes (the answer is one of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    /// choice: the options with their words, in the order to show them. When defining a
    /// question, send either `choices` (with labels) or bare `options`; a bare code is its own
    /// label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<ChoiceDto>>,
}

/// One option of a choice question.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ChoiceDto {
    /// The answer's value, e.g. `night`.
    pub code: String,
    /// The words in the language asked for (only in answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub label_zh: String,
    pub label_en: String,
}

impl AttributeDto {
    pub fn new(s: &AttributeSpec, lang: Option<Lang>) -> Self {
        let (mut max_chars, mut min, mut max, mut options, mut choices) =
            (None, None, None, None, None);
        let kind = match &s.kind {
            AttributeKind::Text { max_chars: m } => {
                max_chars = Some(*m);
                "text"
            }
            AttributeKind::Number { min: a, max: b } => {
                min = *a;
                max = *b;
                "number"
            }
            AttributeKind::Boolean => "boolean",
            AttributeKind::Choice { options: o } => {
                options = Some(o.iter().map(|c| c.code.to_string()).collect());
                choices = Some(
                    o.iter()
                        .map(|c| ChoiceDto {
                            code: c.code.to_string(),
                            label: lang.map(|l| {
                                l.pick(c.label.zh().as_str(), c.label.en().as_str())
                                    .to_owned()
                            }),
                            label_zh: c.label.zh().to_string(),
                            label_en: c.label.en().to_string(),
                        })
                        .collect(),
                );
                "choice"
            }
        };
        AttributeDto {
            key: s.key.to_string(),
            label: lang.map(|l| {
                l.pick(s.label.zh().as_str(), s.label.en().as_str())
                    .to_owned()
            }),
            label_zh: s.label.zh().to_string(),
            label_en: s.label.en().to_string(),
            kind: kind.to_owned(),
            required: s.required,
            max_chars,
            min,
            max,
            options,
            choices,
        }
    }

    /// The domain question this wire form describes.
    pub fn to_spec(&self) -> Result<AttributeSpec, whistle_domain::ValueError> {
        use whistle_domain::ValueError;
        let kind = match self.kind.as_str() {
            "text" => AttributeKind::Text {
                max_chars: self.max_chars.unwrap_or(200),
            },
            "number" => AttributeKind::Number {
                min: self.min,
                max: self.max,
            },
            "boolean" => AttributeKind::Boolean,
            "choice" => AttributeKind::Choice {
                options: match &self.choices {
                    Some(choices) => choices
                        .iter()
                        .map(|c| {
                            Ok(ChoiceOption::new(
                                Code::parse(&c.code)?,
                                BilingualName::new(
                                    Name::parse(&c.label_zh)?,
                                    Name::parse(&c.label_en)?,
                                ),
                            ))
                        })
                        .collect::<Result<Vec<_>, ValueError>>()?,
                    None => self
                        .options
                        .as_deref()
                        .unwrap_or_default()
                        .iter()
                        .map(|o| Code::parse(o).map(ChoiceOption::unlabelled))
                        .collect::<Result<Vec<_>, _>>()?,
                },
            },
            _ => {
                return Err(ValueError::new(
                    "attributes",
                    "type must be text, number, boolean or choice",
                ));
            }
        };
        AttributeSpec::new(
            Code::parse(&self.key)?,
            BilingualName::new(Name::parse(&self.label_zh)?, Name::parse(&self.label_en)?),
            kind,
            self.required,
        )
    }
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
