//! Leases: which notifier is the active one, and the marks it keeps.

use super::*;

/// Creates the row of lease `name` if there is none.
async fn ensure_lease_row(db: &impl ConnectionTrait, name: &str) -> Result<(), RepoError> {
    notifier_lease::Entity::insert(notifier_lease::ActiveModel {
        name: Set(name.to_owned()),
        holder: Set(None),
        until: Set(None),
        mark: Set(None),
    })
    .on_conflict(
        OnConflict::column(notifier_lease::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Takes or renews the lease `name` for `holder` until `until`, if it is free, expired or
/// already `holder`'s. On SQLite the lease `sqlite` makes one notifier the active one.
pub async fn acquire_lease(
    db: &impl ConnectionTrait,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, RepoError> {
    ensure_lease_row(db, name).await?;
    let res = notifier_lease::Entity::update_many()
        .col_expr(notifier_lease::Column::Holder, Expr::value(holder))
        .col_expr(notifier_lease::Column::Until, Expr::value(ts(until)))
        .filter(notifier_lease::Column::Name.eq(name))
        .filter(
            Condition::any()
                .add(notifier_lease::Column::Holder.is_null())
                .add(notifier_lease::Column::Holder.eq(holder))
                .add(notifier_lease::Column::Until.lt(ts(now))),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Lets go of a lease (on shutdown), so another notifier need not wait for it to expire.
pub async fn release_lease(
    db: &impl ConnectionTrait,
    name: &str,
    holder: &str,
) -> Result<(), RepoError> {
    notifier_lease::Entity::update_many()
        .col_expr(
            notifier_lease::Column::Holder,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            notifier_lease::Column::Until,
            Expr::value(Option::<sea_orm::prelude::DateTimeWithTimeZone>::None),
        )
        .filter(notifier_lease::Column::Name.eq(name))
        .filter(notifier_lease::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}

/// Sets the mark of a lease row from `expected` to `new` (compare-and-set); `false` when it was
/// not `expected` (another notifier did the work first).
pub async fn swap_mark(
    db: &impl ConnectionTrait,
    name: &str,
    expected: Option<&str>,
    new: &str,
) -> Result<bool, RepoError> {
    ensure_lease_row(db, name).await?;
    let cond = match expected {
        Some(e) => notifier_lease::Column::Mark.eq(e),
        None => notifier_lease::Column::Mark.is_null(),
    };
    let res = notifier_lease::Entity::update_many()
        .col_expr(notifier_lease::Column::Mark, Expr::value(new))
        .filter(notifier_lease::Column::Name.eq(name))
        .filter(cond)
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The mark of a lease row.
pub async fn mark_of(db: &impl ConnectionTrait, name: &str) -> Result<Option<String>, RepoError> {
    Ok(notifier_lease::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .and_then(|r| r.mark))
}
