//! The in-app inbox, and the admin's view of the outbox.

use super::*;

/// An account's inbox, newest first: delivered in-app notifications, `before` an id.
pub async fn inbox(
    db: &impl ConnectionTrait,
    user: UserId,
    unread_only: bool,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Notification>, RepoError> {
    let mut q = notification::Entity::find()
        .filter(notification::Column::UserId.eq(user.get()))
        .filter(notification::Column::Channel.eq(Channel::Inbox.as_str()))
        .filter(notification::Column::State.eq(DeliveryState::Sent.as_str()));
    if unread_only {
        q = q.filter(notification::Column::ReadAt.is_null());
    }
    if let Some(b) = before {
        q = q.filter(notification::Column::Id.lt(b));
    }
    q.order_by_desc(notification::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Notification::try_from)
        .collect()
}

/// How many delivered in-app notifications an account has not read.
pub async fn unread_count(db: &impl ConnectionTrait, user: UserId) -> Result<u64, RepoError> {
    Ok(notification::Entity::find()
        .filter(notification::Column::UserId.eq(user.get()))
        .filter(notification::Column::Channel.eq(Channel::Inbox.as_str()))
        .filter(notification::Column::State.eq(DeliveryState::Sent.as_str()))
        .filter(notification::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// Marks one of the account's in-app notifications read (again is harmless); `false` if the
/// account has no such notification.
pub async fn mark_read(
    db: &impl ConnectionTrait,
    user: UserId,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let mine = notification::Entity::find_by_id(id)
        .filter(notification::Column::UserId.eq(user.get()))
        .filter(notification::Column::Channel.eq(Channel::Inbox.as_str()))
        .filter(notification::Column::State.eq(DeliveryState::Sent.as_str()))
        .one(db)
        .await?;
    let Some(row) = mine else {
        return Ok(false);
    };
    if row.read_at.is_none() {
        notification::Entity::update_many()
            .col_expr(notification::Column::ReadAt, Expr::value(ts(now)))
            .filter(notification::Column::Id.eq(id))
            .filter(notification::Column::ReadAt.is_null())
            .exec(db)
            .await?;
    }
    Ok(true)
}

/// Marks every delivered in-app notification of the account read; returns how many changed.
pub async fn mark_all_read(
    db: &impl ConnectionTrait,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<u64, RepoError> {
    Ok(notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(ts(now)))
        .filter(notification::Column::UserId.eq(user.get()))
        .filter(notification::Column::Channel.eq(Channel::Inbox.as_str()))
        .filter(notification::Column::State.eq(DeliveryState::Sent.as_str()))
        .filter(notification::Column::ReadAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// Notifications in a state (all when `None`), newest first, `before` an id.
pub async fn list(
    db: &impl ConnectionTrait,
    state: Option<DeliveryState>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Notification>, RepoError> {
    let mut q = notification::Entity::find();
    if let Some(s) = state {
        q = q.filter(notification::Column::State.eq(s.as_str()));
    }
    if let Some(b) = before {
        q = q.filter(notification::Column::Id.lt(b));
    }
    q.order_by_desc(notification::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Notification::try_from)
        .collect()
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<Notification, RepoError> {
    notification::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("notification"))?
        .try_into()
}

/// Sends a dead notification again: back to `pending` now, with a fresh count of attempts.
/// `false` when it is not dead.
pub async fn retry_dead(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let res = notification::Entity::update_many()
        .col_expr(
            notification::Column::State,
            Expr::value(DeliveryState::Pending.as_str()),
        )
        .col_expr(notification::Column::Attempts, Expr::value(0))
        .col_expr(notification::Column::NextAttemptAt, Expr::value(ts(now)))
        .filter(notification::Column::Id.eq(id))
        .filter(notification::Column::State.eq(DeliveryState::Dead.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}
