//! The case-category catalogue.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use whistle_domain::case::{CaseType, Priority};
use whistle_domain::category::Category;
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
        created_at: Set(Utc::now().fixed_offset()),
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
    active.update(db).await?.try_into()
}
