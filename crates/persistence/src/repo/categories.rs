//! The case-category catalogue.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use whistle_domain::case::{CaseType, Priority};
use whistle_domain::category::{AttributeKind, AttributeSpec, Category, ChoiceOption};
use whistle_domain::ids::CategoryId;
use whistle_domain::text::{BilingualName, Code, Name};

use crate::entities::case_category;
use crate::error::{RepoError, corrupt};

impl TryFrom<case_category::Model> for Category {
    type Error = RepoError;

    fn try_from(m: case_category::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("case_category", m.id)(e);
        Ok(Category {
            id: CategoryId::new(m.id).map_err(bad)?,
            code: Code::parse(&m.code).map_err(bad)?,
            name: BilingualName::new(
                Name::parse(&m.name_zh).map_err(bad)?,
                Name::parse(&m.name_en).map_err(bad)?,
            ),
            case_type: m.case_type.parse().map_err(bad)?,
            default_priority: m.default_priority.parse().map_err(bad)?,
            active: m.active,
            attributes: m
                .attributes
                .as_deref()
                .map(specs_from_json)
                .transpose()
                .map_err(bad)?
                .unwrap_or_default(),
            officer_may_take: m.officer_may_take,
        })
    }
}

/// A category to add to the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCategory {
    pub code: Code,
    pub name: BilingualName,
    pub case_type: CaseType,
    pub default_priority: Priority,
    pub sort_order: i32,
    /// 小事一格解决: the stationed officer may take reports of it himself.
    pub officer_may_take: bool,
}

/// The catalogue in display order; retired categories only when asked.
pub async fn list_categories(
    db: &impl ConnectionTrait,
    include_inactive: bool,
) -> Result<Vec<Category>, RepoError> {
    let mut q = case_category::Entity::find()
        .order_by_asc(case_category::Column::SortOrder)
        .order_by_asc(case_category::Column::Id);
    if !include_inactive {
        q = q.filter(case_category::Column::Active.eq(true));
    }
    q.all(db)
        .await?
        .into_iter()
        .map(Category::try_from)
        .collect()
}

/// Inserts the category unless its code exists; returns the stored one either way.
pub async fn ensure_category(
    db: &impl ConnectionTrait,
    new: &NewCategory,
    now: DateTime<Utc>,
) -> Result<Category, RepoError> {
    if let Some(found) = case_category::Entity::find()
        .filter(case_category::Column::Code.eq(new.code.as_str()))
        .one(db)
        .await?
    {
        return found.try_into();
    }
    case_category::ActiveModel {
        code: Set(new.code.as_str().to_owned()),
        name_zh: Set(new.name.zh().as_str().to_owned()),
        name_en: Set(new.name.en().as_str().to_owned()),
        case_type: Set(new.case_type.as_str().to_owned()),
        default_priority: Set(new.default_priority.as_str().to_owned()),
        active: Set(true),
        sort_order: Set(new.sort_order),
        officer_may_take: Set(new.officer_may_take),
        created_at: Set(now.fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

/// The category with this code (active or not).
pub async fn get_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<Category>, RepoError> {
    case_category::Entity::find()
        .filter(case_category::Column::Code.eq(code))
        .one(db)
        .await?
        .map(Category::try_from)
        .transpose()
}

pub async fn get(db: &impl ConnectionTrait, id: CategoryId) -> Result<Category, RepoError> {
    case_category::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("category"))?
        .try_into()
}

/// Changes to a category; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CategoryChange {
    pub name: Option<BilingualName>,
    pub case_type: Option<CaseType>,
    pub default_priority: Option<Priority>,
    pub active: Option<bool>,
    pub sort_order: Option<i32>,
    pub officer_may_take: Option<bool>,
}

pub async fn update(
    db: &impl ConnectionTrait,
    id: CategoryId,
    change: &CategoryChange,
) -> Result<Category, RepoError> {
    let row = case_category::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("category"))?;
    let mut active: case_category::ActiveModel = row.into();
    if let Some(n) = &change.name {
        active.name_zh = Set(n.zh().as_str().to_owned());
        active.name_en = Set(n.en().as_str().to_owned());
    }
    if let Some(t) = change.case_type {
        active.case_type = Set(t.as_str().to_owned());
    }
    if let Some(p) = change.default_priority {
        active.default_priority = Set(p.as_str().to_owned());
    }
    if let Some(a) = change.active {
        active.active = Set(a);
    }
    if let Some(o) = change.sort_order {
        active.sort_order = Set(o);
    }
    if let Some(t) = change.officer_may_take {
        active.officer_may_take = Set(t);
    }
    active.update(db).await?.try_into()
}

/// The stored form of a category's questions.
pub fn specs_to_json(specs: &[AttributeSpec]) -> String {
    let list: Vec<serde_json::Value> = specs
        .iter()
        .map(|s| {
            let mut v = serde_json::json!({
                "key": s.key.as_str(),
                "label_zh": s.label.zh().as_str(),
                "label_en": s.label.en().as_str(),
                "required": s.required,
            });
            match &s.kind {
                AttributeKind::Text { max_chars } => {
                    v["type"] = "text".into();
                    v["max_chars"] = (*max_chars).into();
                }
                AttributeKind::Number { min, max } => {
                    v["type"] = "number".into();
                    v["min"] = serde_json::json!(min);
                    v["max"] = serde_json::json!(max);
                }
                AttributeKind::Boolean => v["type"] = "boolean".into(),
                AttributeKind::Choice { options } => {
                    v["type"] = "choice".into();
                    v["options"] = options
                        .iter()
                        .map(|o| {
                            serde_json::json!({
                                "code": o.code.as_str(),
                                "label_zh": o.label.zh().as_str(),
                                "label_en": o.label.en().as_str(),
                            })
                        })
                        .collect::<Vec<_>>()
                        .into();
                }
            }
            v
        })
        .collect();
    serde_json::Value::Array(list).to_string()
}

/// Parses the stored form back.
pub fn specs_from_json(raw: &str) -> Result<Vec<AttributeSpec>, whistle_domain::ValueError> {
    use whistle_domain::ValueError;
    let bad = |why: &str| ValueError::new("attributes", why);
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|_| bad("not JSON"))?;
    let list = value.as_array().ok_or_else(|| bad("must be a list"))?;
    let specs = list
        .iter()
        .map(spec_from_value)
        .collect::<Result<Vec<_>, _>>()?;
    whistle_domain::category::check_specs(&specs)?;
    Ok(specs)
}

/// One question from its JSON form.
fn spec_from_value(v: &serde_json::Value) -> Result<AttributeSpec, whistle_domain::ValueError> {
    use whistle_domain::ValueError;
    let bad = |why: &str| ValueError::new("attributes", why);
    let text = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .ok_or_else(|| bad("a question needs key, label_zh, label_en, type"))
    };
    let kind = match text("type")? {
        "text" => AttributeKind::Text {
            max_chars: v
                .get("max_chars")
                .and_then(|x| x.as_u64())
                .unwrap_or(200)
                .min(u64::from(u32::MAX)) as u32,
        },
        "number" => AttributeKind::Number {
            min: v.get("min").and_then(|x| x.as_f64()),
            max: v.get("max").and_then(|x| x.as_f64()),
        },
        "boolean" => AttributeKind::Boolean,
        "choice" => AttributeKind::Choice {
            options: v
                .get("options")
                .and_then(|x| x.as_array())
                .ok_or_else(|| bad("a choice needs options"))?
                .iter()
                .map(option_from_value)
                .collect::<Result<Vec<_>, _>>()?,
        },
        _ => return Err(bad("type must be text, number, boolean or choice")),
    };
    AttributeSpec::new(
        Code::parse(text("key")?)?,
        BilingualName::new(
            Name::parse(text("label_zh")?)?,
            Name::parse(text("label_en")?)?,
        ),
        kind,
        v.get("required").and_then(|x| x.as_bool()).unwrap_or(false),
    )
}

/// One option of a choice: `{"code", "label_zh", "label_en"}`, or a bare code as catalogues
/// stored it before options had labels.
fn option_from_value(v: &serde_json::Value) -> Result<ChoiceOption, whistle_domain::ValueError> {
    use whistle_domain::ValueError;
    let bad = || {
        ValueError::new(
            "attributes",
            "an option is a code with label_zh and label_en",
        )
    };
    if let Some(code) = v.as_str() {
        return Ok(ChoiceOption::unlabelled(Code::parse(code)?));
    }
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).ok_or_else(bad);
    Ok(ChoiceOption::new(
        Code::parse(text("code")?)?,
        BilingualName::new(
            Name::parse(text("label_zh")?)?,
            Name::parse(text("label_en")?)?,
        ),
    ))
}

/// Replaces a category's questions.
pub async fn set_attributes(
    db: &impl ConnectionTrait,
    id: CategoryId,
    specs: &[AttributeSpec],
) -> Result<Category, RepoError> {
    let row = case_category::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("category"))?;
    let mut active: case_category::ActiveModel = row.into();
    active.attributes = Set(Some(specs_to_json(specs)));
    active.update(db).await?.try_into()
}
