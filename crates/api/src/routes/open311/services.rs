//! Services: the active case categories, and each one's definition built from its typed extra
//! questions.

use serde::Serialize;
use utoipa::ToSchema;
use whistle_domain::case::CaseType;
use whistle_domain::category::{AttributeKind, AttributeSpec, Category};
use whistle_domain::text::BilingualName;
use whistle_persistence::repo::categories;

use super::wire::Node;
use super::{ErrorDoc, Open311Error, Params, check_jurisdiction};
use crate::i18n::Lang;
use crate::state::AppState;

/// One service (a case category).
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDoc {
    /// The category code, always a string (`noise`, `006`).
    pub service_code: String,
    /// The category's name in the client's language (`Accept-Language`; Chinese by default).
    pub service_name: String,
    pub description: String,
    /// `true` when the category asks extra questions: read its definition.
    pub metadata: bool,
    /// Always `realtime`: a POST answers with the service_request_id.
    #[serde(rename = "type")]
    pub kind: String,
    /// Comma-separated: the code and both names.
    pub keywords: String,
    /// The kind of matter: complaint, help request, consultation, suggestion.
    pub group: String,
}

impl From<ServiceDoc> for Node {
    fn from(s: ServiceDoc) -> Node {
        Node::Record(vec![
            ("service_code", Node::Text(s.service_code)),
            ("service_name", Node::Text(s.service_name)),
            ("description", Node::Text(s.description)),
            ("metadata", Node::Bool(s.metadata)),
            ("type", Node::Text(s.kind)),
            ("keywords", Node::Text(s.keywords)),
            ("group", Node::Text(s.group)),
        ])
    }
}

/// The questions of a service.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDefinitionDoc {
    pub service_code: String,
    pub attributes: Vec<AttributeDoc>,
}

/// One question.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeDoc {
    /// Always `true`: every question takes an answer.
    pub variable: bool,
    /// Send the answer as `attribute[code]=value`.
    pub code: String,
    /// `string`, `text`, `number` or `singlevaluelist` (choices and yes/no questions).
    pub datatype: String,
    pub required: bool,
    /// What a valid answer looks like (length, range).
    pub datatype_description: Option<String>,
    /// 1, 2, … in the order to ask.
    pub order: u32,
    /// The question, in the client's language.
    pub description: String,
    /// The choices of a list (`key` is what to send).
    pub values: Vec<AttributeValueDoc>,
}

/// One choice of a list question.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttributeValueDoc {
    pub key: String,
    pub name: String,
}

impl From<ServiceDefinitionDoc> for Node {
    fn from(d: ServiceDefinitionDoc) -> Node {
        Node::Record(vec![
            ("service_code", Node::Text(d.service_code)),
            (
                "attributes",
                Node::list(
                    "attribute",
                    d.attributes.into_iter().map(|a| {
                        Node::Record(vec![
                            ("variable", Node::Bool(a.variable)),
                            ("code", Node::Text(a.code)),
                            ("datatype", Node::Text(a.datatype)),
                            ("required", Node::Bool(a.required)),
                            (
                                "datatype_description",
                                Node::opt_text(a.datatype_description),
                            ),
                            ("order", Node::Int(i64::from(a.order))),
                            ("description", Node::Text(a.description)),
                            (
                                "values",
                                Node::list(
                                    "value",
                                    a.values.into_iter().map(|v| {
                                        Node::Record(vec![
                                            ("key", Node::Text(v.key)),
                                            ("name", Node::Text(v.name)),
                                        ])
                                    }),
                                ),
                            ),
                        ])
                    }),
                ),
            ),
        ])
    }
}

pub(super) fn name_in(name: &BilingualName, lang: Lang) -> String {
    lang.pick(name.zh().as_str(), name.en().as_str()).to_owned()
}

fn group(t: CaseType, lang: Lang) -> String {
    let en = match t {
        CaseType::Complaint => "Complaint",
        CaseType::HelpRequest => "Help request",
        CaseType::Consultation => "Consultation",
        CaseType::Suggestion => "Suggestion",
    };
    lang.pick(t.name_zh(), en).to_owned()
}

fn service(c: &Category, lang: Lang) -> ServiceDoc {
    ServiceDoc {
        service_code: c.code.to_string(),
        service_name: name_in(&c.name, lang),
        description: format!("{} / {}", c.name.zh(), c.name.en()),
        metadata: !c.attributes.is_empty(),
        kind: "realtime".to_owned(),
        keywords: format!("{}, {}, {}", c.code, c.name.zh(), c.name.en()),
        group: group(c.case_type, lang),
    }
}

/// Short free text is a `string` (one line, an input field); longer a `text` (a text area).
const STRING_MAX_CHARS: u32 = 200;

fn attribute(order: u32, spec: &AttributeSpec, lang: Lang) -> AttributeDoc {
    let yes_no = || {
        vec![
            AttributeValueDoc {
                key: "true".into(),
                name: lang.pick("是", "Yes").into(),
            },
            AttributeValueDoc {
                key: "false".into(),
                name: lang.pick("否", "No").into(),
            },
        ]
    };
    let (datatype, described, values) = match &spec.kind {
        AttributeKind::Text { max_chars } => (
            if *max_chars <= STRING_MAX_CHARS {
                "string"
            } else {
                "text"
            },
            Some(match lang {
                Lang::Zh => format!("不超过 {max_chars} 个字"),
                Lang::En => format!("at most {max_chars} characters"),
            }),
            vec![],
        ),
        AttributeKind::Number { min, max } => (
            "number",
            match (min, max, lang) {
                (Some(a), Some(b), Lang::Zh) => Some(format!("{a} 至 {b} 之间的数")),
                (Some(a), Some(b), Lang::En) => Some(format!("a number from {a} to {b}")),
                (Some(a), None, Lang::Zh) => Some(format!("不小于 {a} 的数")),
                (Some(a), None, Lang::En) => Some(format!("a number of at least {a}")),
                (None, Some(b), Lang::Zh) => Some(format!("不大于 {b} 的数")),
                (None, Some(b), Lang::En) => Some(format!("a number of at most {b}")),
                (None, None, _) => None,
            },
            vec![],
        ),
        AttributeKind::Boolean => (
            "singlevaluelist",
            Some(lang.pick("是或否", "yes or no").to_owned()),
            yes_no(),
        ),
        AttributeKind::Choice { options } => (
            "singlevaluelist",
            None,
            options
                .iter()
                .map(|o| AttributeValueDoc {
                    key: o.code.to_string(),
                    name: name_in(&o.label, lang),
                })
                .collect(),
        ),
    };
    AttributeDoc {
        variable: true,
        code: spec.key.to_string(),
        datatype: datatype.to_owned(),
        required: spec.required,
        datatype_description: described,
        order,
        description: name_in(&spec.label, lang),
        values,
    }
}

/// The active category with this code, or the spec's 404.
pub(super) async fn active_category(
    state: &AppState,
    code: &str,
) -> Result<Category, Open311Error> {
    categories::get_by_code(&state.db, code)
        .await?
        .filter(|c| c.active)
        .ok_or_else(|| {
            Open311Error::not_found(format!(
                "service_code {:?} not found",
                code.chars().take(40).collect::<String>()
            ))
        })
}

/// The services: every active case category. `metadata` says whether it asks extra questions.
#[utoipa::path(get, path = "/open311/v2/services.{format}", tag = "open311",
    params(
        ("format" = String, Path, description = "`xml` or `json`"),
        ("jurisdiction_id" = Option<String>, Query),
    ),
    responses(
        (status = 200, content((Vec<ServiceDoc> = "application/json"), (Vec<ServiceDoc> = "text/xml"))),
        (status = 404, description = "Unknown format or jurisdiction_id", content((Vec<ErrorDoc> = "application/json"), (Vec<ErrorDoc> = "text/xml"))),
    ))]
pub(super) async fn service_list(
    state: &AppState,
    params: &Params,
    lang: Lang,
) -> Result<Node, Open311Error> {
    check_jurisdiction(state, params)?;
    let list = categories::list_categories(state.reads(), false).await?;
    Ok(Node::list(
        "service",
        list.iter().map(|c| service(c, lang).into()),
    ))
}

/// A service's definition: its extra questions, with the datatype and choices of each.
#[utoipa::path(get, path = "/open311/v2/services/{service_code}.{format}", tag = "open311",
    params(
        ("service_code" = String, Path),
        ("format" = String, Path, description = "`xml` or `json`"),
        ("jurisdiction_id" = Option<String>, Query),
    ),
    responses(
        (status = 200, content((ServiceDefinitionDoc = "application/json"), (ServiceDefinitionDoc = "text/xml"))),
        (status = 404, description = "Unknown service_code, format or jurisdiction_id", content((Vec<ErrorDoc> = "application/json"), (Vec<ErrorDoc> = "text/xml"))),
    ))]
pub(super) async fn service_definition(
    state: &AppState,
    code: &str,
    params: &Params,
    lang: Lang,
) -> Result<Node, Open311Error> {
    check_jurisdiction(state, params)?;
    let category = active_category(state, code).await?;
    Ok(ServiceDefinitionDoc {
        service_code: category.code.to_string(),
        attributes: category
            .attributes
            .iter()
            .zip(1..)
            .map(|(spec, order)| attribute(order, spec, lang))
            .collect(),
    }
    .into())
}
