//! The queue of case events the notifier fans out into notices.

use super::*;

/// Queues a case event for the notifier; run in the event's own transaction.
pub async fn enqueue_event(
    db: &impl ConnectionTrait,
    event_id: i64,
    case: CaseId,
    at: DateTime<Utc>,
) -> Result<(), RepoError> {
    notice_queue::Entity::insert(notice_queue::ActiveModel {
        event_id: Set(event_id),
        case_id: Set(case.get()),
        enqueued_at: Set(ts(at)),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// A queued case event with what the notices need to know of it.
#[derive(Debug, Clone)]
pub struct QueuedEvent {
    pub event_id: i64,
    pub case_id: CaseId,
    pub action: TimelineAction,
    pub actor_id: Option<UserId>,
    pub at: DateTime<Utc>,
    pub data: Option<serde_json::Value>,
}

/// The oldest queued events, locked for this transaction (skipping those another notifier
/// holds, on PostgreSQL).
pub async fn take_events(
    txn: &DatabaseTransaction,
    limit: u64,
) -> Result<Vec<QueuedEvent>, RepoError> {
    let ids: Vec<i64> = notice_queue::Entity::find()
        .select_only()
        .column(notice_queue::Column::EventId)
        .order_by_asc(notice_queue::Column::EventId)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_tuple()
        .all(txn)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let events = case_event::Entity::find()
        .filter(case_event::Column::Id.is_in(ids.clone()))
        .order_by_asc(case_event::Column::Id)
        .all(txn)
        .await?;
    notice_queue::Entity::delete_many()
        .filter(notice_queue::Column::EventId.is_in(ids))
        .exec(txn)
        .await?;
    events
        .into_iter()
        .map(|e| {
            Ok(QueuedEvent {
                event_id: e.id,
                case_id: CaseId::new(e.case_id).map_err(corrupt("case_event", e.id))?,
                action: TimelineAction::parse(&e.action).map_err(corrupt("case_event", e.id))?,
                actor_id: e.actor_id.and_then(|a| UserId::new(a).ok()),
                at: e.at.with_timezone(&Utc),
                data: e.data.as_deref().and_then(|d| serde_json::from_str(d).ok()),
            })
        })
        .collect()
}

/// How many case events wait to be fanned out.
pub async fn queued_events(db: &impl ConnectionTrait) -> Result<u64, RepoError> {
    Ok(notice_queue::Entity::find().count(db).await?)
}
