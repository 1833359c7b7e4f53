//! Administering the case catalogue: categories with their questions, the SLA policy of each
//! category and priority, and the working calendar deadlines are computed on. Every change
//! refreshes the reference cache, so the next intake sees it.

use sea_orm::TransactionTrait;
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Resource};
use whistle_domain::calendar::{SlaPolicy, WorkingCalendar};
use whistle_domain::case::{CaseType, Priority};
use whistle_domain::category::{AttributeSpec, Category, check_specs};
use whistle_domain::text::{BilingualName, Name};
use whistle_persistence::repo::categories::{self, CategoryChange, NewCategory};
use whistle_persistence::repo::sla;

use crate::app::AppError;
use crate::app::access::require;
use crate::state::AppState;

/// The most holidays and make-up days a calendar holds together.
pub const MAX_SPECIAL_DAYS: usize = 2000;

/// Only those who manage the catalogue (administrators).
pub fn may_manage(p: &Principal) -> Result<(), AppError> {
    require(p, Action::ManageCatalogue, &Resource::city())
}

/// The category with this code, retired ones included.
pub async fn category(state: &AppState, code: &str) -> Result<Category, AppError> {
    categories::get_by_code(&state.db, code)
        .await?
        .ok_or_else(|| {
            AppError::not_found(
                "category_not_found",
                format!(
                    "no category {:?}",
                    code.chars().take(40).collect::<String>()
                ),
            )
        })
}

/// Adds a category; its code must be new.
pub async fn create_category(
    state: &AppState,
    p: &Principal,
    new: NewCategory,
) -> Result<Category, AppError> {
    may_manage(p)?;
    if categories::get_by_code(&state.db, new.code.as_str())
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "category_exists",
            format!("category {} exists", new.code),
        ));
    }
    let created = categories::ensure_category(&state.db, &new, state.now()).await?;
    state.reference_changed().await;
    Ok(created)
}

/// What changes in a category; what is absent stays. A name given in one language only keeps
/// the other.
#[derive(Debug, Clone, Default)]
pub struct EditCategory {
    pub name_zh: Option<Name>,
    pub name_en: Option<Name>,
    pub case_type: Option<CaseType>,
    pub default_priority: Option<Priority>,
    /// `false` retires the category: old cases keep it, new reports cannot use it.
    pub active: Option<bool>,
    pub sort_order: Option<i32>,
    pub officer_may_take: Option<bool>,
}

/// Renames, re-types, re-prioritises, retires or reactivates a category.
pub async fn update_category(
    state: &AppState,
    p: &Principal,
    code: &str,
    edit: EditCategory,
) -> Result<Category, AppError> {
    may_manage(p)?;
    let current = category(state, code).await?;
    let name = match (edit.name_zh, edit.name_en) {
        (None, None) => None,
        (zh, en) => Some(BilingualName::new(
            zh.unwrap_or_else(|| current.name.zh().clone()),
            en.unwrap_or_else(|| current.name.en().clone()),
        )),
    };
    let change = CategoryChange {
        name,
        case_type: edit.case_type,
        default_priority: edit.default_priority,
        active: edit.active,
        sort_order: edit.sort_order,
        officer_may_take: edit.officer_may_take,
    };
    let updated = categories::update(&state.db, current.id, &change).await?;
    state.reference_changed().await;
    Ok(updated)
}

/// Replaces a category's extra questions (asked at intake).
pub async fn set_attributes(
    state: &AppState,
    p: &Principal,
    code: &str,
    specs: Vec<AttributeSpec>,
) -> Result<Category, AppError> {
    may_manage(p)?;
    let c = category(state, code).await?;
    check_specs(&specs)?;
    let updated = categories::set_attributes(&state.db, c.id, &specs).await?;
    state.reference_changed().await;
    Ok(updated)
}

/// A category's policy for one priority, and whether it is stored (else the built-in default).
#[derive(Debug, Clone)]
pub struct PriorityPolicy {
    pub priority: Priority,
    pub policy: SlaPolicy,
    pub configured: bool,
}

/// The SLA policy of a category for every priority.
pub async fn sla_of(
    state: &AppState,
    p: &Principal,
    code: &str,
) -> Result<Vec<PriorityPolicy>, AppError> {
    may_manage(p)?;
    let c = category(state, code).await?;
    let mut out = Vec::new();
    for priority in Priority::ALL {
        let stored = sla::policy_for(&state.db, c.id, *priority).await?;
        out.push(PriorityPolicy {
            priority: *priority,
            configured: stored.is_some(),
            policy: stored.unwrap_or_else(|| priority.default_sla()),
        });
    }
    Ok(out)
}

/// Sets the time limits of a category × priority; they apply to stages started from now on.
pub async fn set_sla(
    state: &AppState,
    p: &Principal,
    code: &str,
    priority: Priority,
    policy: SlaPolicy,
) -> Result<PriorityPolicy, AppError> {
    may_manage(p)?;
    let c = category(state, code).await?;
    let txn = state.db.begin().await?;
    sla::set_policy(&txn, c.id, priority, &policy).await?;
    txn.commit().await?;
    state.reference_changed().await;
    Ok(PriorityPolicy {
        priority,
        policy,
        configured: true,
    })
}

/// The working calendar.
pub async fn calendar(state: &AppState, p: &Principal) -> Result<WorkingCalendar, AppError> {
    may_manage(p)?;
    Ok(sla::load_calendar(&state.db).await?)
}

/// Replaces the working calendar; it applies to stages started from now on.
pub async fn set_calendar(
    state: &AppState,
    p: &Principal,
    calendar: WorkingCalendar,
) -> Result<WorkingCalendar, AppError> {
    may_manage(p)?;
    if calendar.holidays().len() + calendar.makeup_days().len() > MAX_SPECIAL_DAYS {
        return Err(AppError::invalid(
            "invalid_value",
            "holidays",
            format!("at most {MAX_SPECIAL_DAYS} special days"),
        ));
    }
    let txn = state.db.begin().await?;
    sla::save_calendar(&txn, &calendar).await?;
    txn.commit().await?;
    state.reference_changed().await;
    Ok(calendar)
}
