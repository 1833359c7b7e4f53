//! A category's extra questions on the wire: what residents' apps ask and what admins define.

use serde::Serialize;
use utoipa::ToSchema;
use whistle_domain::category::{AttributeKind, AttributeSpec, ChoiceOption};
use whistle_domain::text::{BilingualName, Code, Name};

use crate::i18n::Lang;

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
