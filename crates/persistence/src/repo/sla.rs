//! SLA policies (category × priority) and the working calendar.

use std::collections::BTreeSet;

use chrono::{NaiveDate, Weekday};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use whistle_domain::calendar::{SlaPolicy, TimeLimit, Window, WorkingCalendar};
use whistle_domain::case::Priority;
use whistle_domain::ids::CategoryId;

use crate::entities::{calendar_day, sla_policy, work_calendar};
use crate::error::{RepoError, corrupt};

fn weekday(raw: &str) -> Option<Weekday> {
    raw.trim().parse().ok()
}

fn weekday_str(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// The city's calendar; the standard mainland one until an admin configures it.
pub async fn load_calendar(db: &impl ConnectionTrait) -> Result<WorkingCalendar, RepoError> {
    let Some(row) = work_calendar::Entity::find_by_id(1).one(db).await? else {
        let mut cal = WorkingCalendar::standard();
        let days = calendar_day::Entity::find().all(db).await?;
        if !days.is_empty() {
            cal = with_days(cal.windows().to_vec(), cal.weekend().to_vec(), days)?;
        }
        return Ok(cal);
    };
    let windows = row
        .windows
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Window::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt("work_calendar", 1))?;
    let weekend = row.weekend.split(',').filter_map(weekday).collect();
    let days = calendar_day::Entity::find().all(db).await?;
    with_days(windows, weekend, days)
}

fn with_days(
    windows: Vec<Window>,
    weekend: Vec<Weekday>,
    days: Vec<calendar_day::Model>,
) -> Result<WorkingCalendar, RepoError> {
    let mut holidays = BTreeSet::new();
    let mut makeup = BTreeSet::new();
    for d in days {
        let date: NaiveDate = d.day.parse().map_err(|_| {
            corrupt("calendar_day", 0)(whistle_domain::ValueError::new("day", "not a date"))
        })?;
        if d.kind == "makeup" {
            makeup.insert(date);
        } else {
            holidays.insert(date);
        }
    }
    WorkingCalendar::new(windows, weekend, holidays, makeup).map_err(corrupt("work_calendar", 1))
}

/// Stores the whole calendar (windows, weekend, and every holiday and make-up day), replacing
/// what was there. Run in a transaction.
pub async fn save_calendar(
    db: &impl ConnectionTrait,
    calendar: &WorkingCalendar,
) -> Result<(), RepoError> {
    let windows: Vec<String> = calendar.windows().iter().map(ToString::to_string).collect();
    let weekend: Vec<&str> = calendar.weekend().iter().map(|d| weekday_str(*d)).collect();
    work_calendar::Entity::insert(work_calendar::ActiveModel {
        id: Set(1),
        windows: Set(windows.join(",")),
        weekend: Set(weekend.join(",")),
    })
    .on_conflict(
        OnConflict::column(work_calendar::Column::Id)
            .update_columns([
                work_calendar::Column::Windows,
                work_calendar::Column::Weekend,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    calendar_day::Entity::delete_many().exec(db).await?;
    let rows = calendar
        .holidays()
        .iter()
        .map(|d| (d, "holiday"))
        .chain(calendar.makeup_days().iter().map(|d| (d, "makeup")))
        .map(|(d, kind)| calendar_day::ActiveModel {
            day: Set(d.to_string()),
            kind: Set(kind.to_owned()),
            name: Set(None),
        })
        .collect::<Vec<_>>();
    if !rows.is_empty() {
        calendar_day::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}

/// The policy of a category × priority, if configured.
pub async fn policy_for(
    db: &impl ConnectionTrait,
    category: CategoryId,
    priority: Priority,
) -> Result<Option<SlaPolicy>, RepoError> {
    let Some(row) = sla_policy::Entity::find()
        .filter(sla_policy::Column::CategoryId.eq(category.get()))
        .filter(sla_policy::Column::Priority.eq(priority.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    policy_of(&row).map(Some)
}

/// Every configured policy, by category and priority.
pub async fn all_policies(
    db: &impl ConnectionTrait,
) -> Result<Vec<(CategoryId, Priority, SlaPolicy)>, RepoError> {
    sla_policy::Entity::find()
        .all(db)
        .await?
        .iter()
        .map(|row| {
            let category =
                CategoryId::new(row.category_id).map_err(corrupt("sla_policy", row.id))?;
            let priority = row
                .priority
                .parse::<Priority>()
                .map_err(corrupt("sla_policy", row.id))?;
            Ok((category, priority, policy_of(row)?))
        })
        .collect()
}

fn policy_of(row: &sla_policy::Model) -> Result<SlaPolicy, RepoError> {
    let parse = |raw: &str| TimeLimit::parse(raw).map_err(corrupt("sla_policy", row.id));
    Ok(SlaPolicy::new([
        parse(&row.accept_limit)?,
        parse(&row.dispatch_limit)?,
        parse(&row.sign_limit)?,
        parse(&row.resolve_limit)?,
        parse(&row.verify_limit)?,
    ]))
}

/// Sets the policy of a category × priority (insert or replace).
pub async fn set_policy(
    db: &impl ConnectionTrait,
    category: CategoryId,
    priority: Priority,
    policy: &SlaPolicy,
) -> Result<(), RepoError> {
    use whistle_domain::calendar::Stage;
    let l = |s: Stage| policy.limit(s).to_string();
    sla_policy::Entity::delete_many()
        .filter(sla_policy::Column::CategoryId.eq(category.get()))
        .filter(sla_policy::Column::Priority.eq(priority.as_str()))
        .exec(db)
        .await?;
    sla_policy::Entity::insert(sla_policy::ActiveModel {
        category_id: Set(category.get()),
        priority: Set(priority.as_str().to_owned()),
        accept_limit: Set(l(Stage::Accept)),
        dispatch_limit: Set(l(Stage::Dispatch)),
        sign_limit: Set(l(Stage::Sign)),
        resolve_limit: Set(l(Stage::Resolve)),
        verify_limit: Set(l(Stage::Verify)),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Whether an admin (or the demo) has stored a calendar.
pub async fn calendar_is_configured(db: &impl ConnectionTrait) -> Result<bool, RepoError> {
    Ok(work_calendar::Entity::find_by_id(1)
        .one(db)
        .await?
        .is_some())
}
