//! A case's append-only timeline: one entry per step, never changed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use whistle_domain::case::CaseStatus;
use whistle_domain::ids::{CaseId, UserId};
use whistle_domain::lifecycle::{ActorRole, TimelineAction};

use whistle_domain::people::User;

use crate::entities::{case_event, users};
use crate::error::{RepoError, corrupt};

/// One entry of a case's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseEvent {
    pub id: i64,
    pub case_id: CaseId,
    pub at: DateTime<Utc>,
    pub actor_id: Option<UserId>,
    /// The actor's role at the time (anonymous for reporters without an account).
    pub actor_role: ActorRole,
    pub action: TimelineAction,
    pub from_status: Option<CaseStatus>,
    pub to_status: CaseStatus,
    pub note: Option<String>,
    /// Details of the action as JSON (assignee, reason, rating, extension…).
    pub data: Option<serde_json::Value>,
}

/// Appends an event. Events are never updated or deleted. An event someone must hear about
/// ([`whistle_domain::notice::is_notable`]) is queued for the notifier in the same transaction.
pub async fn append_event(db: &impl ConnectionTrait, e: &CaseEvent) -> Result<(), RepoError> {
    let stored = case_event::ActiveModel {
        case_id: Set(e.case_id.get()),
        at: Set(e.at.fixed_offset()),
        actor_id: Set(e.actor_id.map(UserId::get)),
        actor_role: Set(e.actor_role.as_str().to_owned()),
        action: Set(e.action.as_str().to_owned()),
        from_status: Set(e.from_status.map(|s| s.as_str().to_owned())),
        to_status: Set(e.to_status.as_str().to_owned()),
        note: Set(e.note.clone()),
        data: Set(e.data.as_ref().map(ToString::to_string)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    if whistle_domain::notice::is_notable(e.action.as_str()) {
        crate::repo::notifications::enqueue_event(db, stored.id, e.case_id, e.at).await?;
    }
    Ok(())
}

/// A case's timeline, oldest first.
pub async fn timeline(db: &impl ConnectionTrait, id: CaseId) -> Result<Vec<CaseEvent>, RepoError> {
    case_event::Entity::find()
        .filter(case_event::Column::CaseId.eq(id.get()))
        .order_by_asc(case_event::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(CaseEvent::try_from)
        .collect()
}

/// The timelines of several cases, each oldest first, in one round trip; a case without
/// events (or unknown) has no entry.
pub async fn timelines(
    db: &impl ConnectionTrait,
    ids: &[CaseId],
) -> Result<HashMap<CaseId, Vec<CaseEvent>>, RepoError> {
    let mut found: HashMap<CaseId, Vec<CaseEvent>> = HashMap::new();
    // Bounded batches keep each statement's parameters well under SQLite's limit.
    for batch in ids.chunks(500) {
        let rows = case_event::Entity::find()
            .filter(case_event::Column::CaseId.is_in(batch.iter().map(|id| id.get())))
            .order_by_asc(case_event::Column::CaseId)
            .order_by_asc(case_event::Column::Id)
            .all(db)
            .await?;
        for row in rows {
            let event = CaseEvent::try_from(row)?;
            found.entry(event.case_id).or_default().push(event);
        }
    }
    Ok(found)
}

/// A case's timeline, oldest first, each step with the account that took it (`None` when no
/// account did, or it no longer exists): one round trip, for the timeline as shown.
pub async fn timeline_with_actors(
    db: &impl ConnectionTrait,
    id: CaseId,
) -> Result<Vec<(CaseEvent, Option<User>)>, RepoError> {
    case_event::Entity::find()
        .find_also_related(users::Entity)
        .filter(case_event::Column::CaseId.eq(id.get()))
        .order_by_asc(case_event::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|(e, actor)| {
            Ok((
                CaseEvent::try_from(e)?,
                actor.map(User::try_from).transpose()?,
            ))
        })
        .collect()
}

impl TryFrom<case_event::Model> for CaseEvent {
    type Error = RepoError;

    fn try_from(m: case_event::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("case_event", m.id)(e);
        Ok(CaseEvent {
            id: m.id,
            case_id: CaseId::new(m.case_id).map_err(bad)?,
            at: m.at.with_timezone(&Utc),
            actor_id: m.actor_id.map(UserId::new).transpose().map_err(bad)?,
            actor_role: ActorRole::parse(&m.actor_role).map_err(bad)?,
            action: TimelineAction::parse(&m.action).map_err(bad)?,
            from_status: m
                .from_status
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(bad)?,
            to_status: m.to_status.parse().map_err(bad)?,
            note: m.note,
            data: m.data.and_then(|d| serde_json::from_str(&d).ok()),
        })
    }
}
