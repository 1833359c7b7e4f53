//! The notification outbox, the queue of case events to fan out, the notifier's leases, and
//! the lookups the notifier makes to find recipients.
//!
//! States of a notification: `pending` (waiting for `next_attempt_at`) → `sending` (claimed by
//! one notifier until `claimed_until`) → `sent` | `pending` again (retry) | `dead` (gave up, with
//! `last_error`) | `moot` (a reminder whose stage ended before it went out). Every change after
//! the claim is fenced by `claimed_by`, so a notifier whose claim expired and was taken over
//! cannot overwrite the new holder's outcome.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    TransactionTrait,
    sea_query::{LockBehavior, LockType},
};
use whistle_domain::calendar::Stage;
use whistle_domain::ids::{CaseId, CategoryId, CommunityId, UserId};
use whistle_domain::jurisdiction::AreaPath;
use whistle_domain::lifecycle::TimelineAction;
use whistle_domain::notice::{Channel, DeliveryState, Locale, NoticeKind, SlaLevel, Template};
use whistle_domain::people::Role;

use crate::entities::{
    case_category, case_event, case_sla, cases, merchant, notice_queue, notification,
    notifier_lease, organisation, organisation_member, pledge, stationing, user_area, users,
};
use crate::error::{RepoError, corrupt};

/// A notification about to be written.
#[derive(Debug, Clone)]
pub struct NewNotification {
    /// Unique over the whole outbox: the same key is written once, whoever tries again.
    pub dedupe_key: String,
    pub template: Template,
    pub case_id: Option<CaseId>,
    pub user_id: Option<UserId>,
    pub channel: Channel,
    /// E-mail address, phone number or webhook name.
    pub address: Option<String>,
    pub locale: Locale,
    pub title: String,
    pub body: String,
    pub payload: serde_json::Value,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub kind: NoticeKind,
    pub template: Template,
    pub case_id: Option<CaseId>,
    pub user_id: Option<UserId>,
    pub channel: Channel,
    pub address: Option<String>,
    pub locale: Locale,
    pub title: String,
    pub body: String,
    pub payload: serde_json::Value,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
}

impl TryFrom<notification::Model> for Notification {
    type Error = RepoError;

    fn try_from(m: notification::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("notification", m.id)(e);
        let template = Template::parse(&m.template).map_err(bad)?;
        Ok(Notification {
            id: m.id,
            kind: template.kind(),
            template,
            case_id: m.case_id.map(CaseId::new).transpose().map_err(bad)?,
            user_id: m.user_id.map(UserId::new).transpose().map_err(bad)?,
            channel: Channel::parse(&m.channel).map_err(bad)?,
            address: m.address,
            locale: Locale::parse(&m.locale).map_err(bad)?,
            title: m.title,
            body: m.body,
            payload: serde_json::from_str(&m.payload).unwrap_or(serde_json::Value::Null),
            state: DeliveryState::parse(&m.state).map_err(bad)?,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at.with_timezone(&Utc),
            last_error: m.last_error,
            created_at: m.created_at.with_timezone(&Utc),
            sent_at: m.sent_at.map(|t| t.with_timezone(&Utc)),
            read_at: m.read_at.map(|t| t.with_timezone(&Utc)),
        })
    }
}

fn ts(t: DateTime<Utc>) -> sea_orm::prelude::DateTimeWithTimeZone {
    t.fixed_offset()
}

/// A time as text for PostgreSQL to read, cut (not rounded) to the microseconds it keeps, as
/// bound parameters are: rounding up would put "due now" a moment after now.
fn micros(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Writes notifications, skipping any whose dedupe key is already there; returns how many were
/// new.
pub async fn insert_new(
    db: &impl ConnectionTrait,
    rows: &[NewNotification],
) -> Result<u64, RepoError> {
    if db.get_database_backend() == DbBackend::Postgres {
        return insert_new_pg(db, rows).await;
    }
    let mut written = 0;
    // 1,000 rows × 20 columns stay under both databases' limits on bound parameters.
    for chunk in rows.chunks(1000) {
        let models = chunk.iter().map(|n| notification::ActiveModel {
            dedupe_key: Set(n.dedupe_key.clone()),
            kind: Set(n.template.kind().as_str().to_owned()),
            template: Set(n.template.as_str().to_owned()),
            case_id: Set(n.case_id.map(CaseId::get)),
            user_id: Set(n.user_id.map(UserId::get)),
            channel: Set(n.channel.as_str().to_owned()),
            address: Set(n.address.clone()),
            locale: Set(n.locale.as_str().to_owned()),
            title: Set(n.title.clone()),
            body: Set(n.body.clone()),
            payload: Set(n.payload.to_string()),
            state: Set(DeliveryState::Pending.as_str().to_owned()),
            attempts: Set(0),
            next_attempt_at: Set(ts(n.next_attempt_at)),
            claimed_by: Set(None),
            claimed_until: Set(None),
            last_error: Set(None),
            created_at: Set(ts(n.created_at)),
            sent_at: Set(None),
            read_at: Set(None),
            ..Default::default()
        });
        written += notification::Entity::insert_many(models)
            .on_conflict(
                OnConflict::column(notification::Column::DedupeKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(written)
}

/// PostgreSQL: the rows travel as one array parameter per column, unpacked by `unnest`, in 5,000
/// rows a statement.
///
/// - A multi-row `VALUES` list of 20,000 bound parameters spent most of its time binding and
///   parsing them (1,000 reminders: ~120 ms).
/// - One JSON parameter unpacked by `json_to_recordset` took ~30 ms for 2,000 reminders, more than
///   half of it PostgreSQL parsing 1.4 MB of JSON.
/// - Arrays travel in PostgreSQL's binary format, which needs no parsing.
///
/// The driver binds arrays without NULL elements, so an absent id travels as 0 and an absent
/// address as "" and both become NULL again in the statement (no id is 0, no address is empty).
async fn insert_new_pg(
    db: &impl ConnectionTrait,
    rows: &[NewNotification],
) -> Result<u64, RepoError> {
    use sea_orm::sea_query::ArrayType;
    fn texts(values: impl Iterator<Item = String>) -> sea_orm::Value {
        sea_orm::Value::Array(
            ArrayType::String,
            Some(Box::new(
                values.map(|v| sea_orm::Value::String(Some(v))).collect(),
            )),
        )
    }
    fn ids(values: impl Iterator<Item = i64>) -> sea_orm::Value {
        sea_orm::Value::Array(
            ArrayType::BigInt,
            Some(Box::new(
                values.map(|v| sea_orm::Value::BigInt(Some(v))).collect(),
            )),
        )
    }
    let sql = format!(
        "INSERT INTO notification (dedupe_key, kind, template, case_id, user_id, \
               channel, address, locale, title, body, payload, state, attempts, \
               next_attempt_at, created_at) \
               SELECT dedupe_key, kind, template, NULLIF(case_id, 0), NULLIF(user_id, 0), \
               channel, NULLIF(address, ''), locale, title, body, payload, '{pending}', 0, \
               next_attempt_at::timestamptz, created_at::timestamptz \
               FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], \
               $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
               $12::text[], $13::text[]) AS r(dedupe_key, kind, template, case_id, user_id, \
               channel, address, locale, title, body, payload, next_attempt_at, created_at) \
               ON CONFLICT (dedupe_key) DO NOTHING",
        pending = DeliveryState::Pending.as_str()
    );
    let mut written = 0;
    for chunk in rows.chunks(5000) {
        let column = |f: &dyn Fn(&NewNotification) -> String| texts(chunk.iter().map(f));
        let values = vec![
            column(&|n| n.dedupe_key.clone()),
            column(&|n| n.template.kind().as_str().to_owned()),
            column(&|n| n.template.as_str().to_owned()),
            ids(chunk.iter().map(|n| n.case_id.map_or(0, CaseId::get))),
            ids(chunk.iter().map(|n| n.user_id.map_or(0, UserId::get))),
            column(&|n| n.channel.as_str().to_owned()),
            column(&|n| n.address.clone().unwrap_or_default()),
            column(&|n| n.locale.as_str().to_owned()),
            column(&|n| n.title.clone()),
            column(&|n| n.body.clone()),
            column(&|n| n.payload.to_string()),
            column(&|n| micros(n.next_attempt_at)),
            column(&|n| micros(n.created_at)),
        ];
        written += db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql.as_str(),
                values,
            ))
            .await?
            .rows_affected();
    }
    Ok(written)
}

/// Begins a transaction that will write. On SQLite it takes the write lock first (a no-op
/// update), so that a read followed by a write never fails with "database is locked" halfway.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, RepoError> {
    let txn = db.begin().await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        txn.execute_unprepared("UPDATE notifier_lease SET name = name WHERE name = ''")
            .await?;
    }
    Ok(txn)
}

fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(notification::Column::State.eq(DeliveryState::Pending.as_str()))
                .add(notification::Column::NextAttemptAt.lte(ts(now))),
        )
        .add(
            // A notifier that died mid-delivery: its claim runs out and the work is taken over.
            Condition::all()
                .add(notification::Column::State.eq(DeliveryState::Sending.as_str()))
                .add(notification::Column::ClaimedUntil.lt(ts(now))),
        )
}

/// Claims up to `limit` notifications that are due, for `worker` until `until`, counting an
/// attempt on each. On PostgreSQL rows another notifier is claiming are skipped (`FOR UPDATE
/// SKIP LOCKED`), so several notifiers share the work without sending anything twice; on
/// SQLite one notifier is active at a time (the lease) and the write lock does the rest.
pub async fn claim(
    db: &DatabaseConnection,
    worker: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Notification>, RepoError> {
    let txn = begin_write(db).await?;
    let ids: Vec<i64> = notification::Entity::find()
        .select_only()
        .column(notification::Column::Id)
        .filter(claimable(now))
        .order_by_asc(notification::Column::NextAttemptAt)
        .order_by_asc(notification::Column::Id)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_tuple()
        .all(&txn)
        .await?;
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    notification::Entity::update_many()
        .col_expr(
            notification::Column::State,
            Expr::value(DeliveryState::Sending.as_str()),
        )
        .col_expr(notification::Column::ClaimedBy, Expr::value(worker))
        .col_expr(notification::Column::ClaimedUntil, Expr::value(ts(until)))
        .col_expr(
            notification::Column::Attempts,
            Expr::col(notification::Column::Attempts).add(1),
        )
        .filter(notification::Column::Id.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    let rows = notification::Entity::find()
        .filter(notification::Column::Id.is_in(ids))
        .order_by_asc(notification::Column::Id)
        .all(&txn)
        .await?;
    txn.commit().await?;
    rows.into_iter().map(Notification::try_from).collect()
}

fn held_by(id: i64, worker: &str) -> Condition {
    Condition::all()
        .add(notification::Column::Id.eq(id))
        .add(notification::Column::State.eq(DeliveryState::Sending.as_str()))
        .add(notification::Column::ClaimedBy.eq(worker))
}

/// The end of a claim.
#[derive(Default)]
struct Finish<'a> {
    state: DeliveryState,
    error: Option<&'a str>,
    next: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    /// The claim did not count as an attempt.
    refund_attempt: bool,
}

async fn finish(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    f: Finish<'_>,
) -> Result<bool, RepoError> {
    let Finish {
        state,
        error,
        next,
        sent_at,
        refund_attempt,
    } = f;
    let mut q = notification::Entity::update_many()
        .col_expr(notification::Column::State, Expr::value(state.as_str()))
        .col_expr(
            notification::Column::ClaimedBy,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            notification::Column::ClaimedUntil,
            Expr::value(Option::<sea_orm::prelude::DateTimeWithTimeZone>::None),
        );
    if let Some(e) = error {
        // Errors are for people to read; a receiver's whole page is not.
        let e: String = e.chars().take(1000).collect();
        q = q.col_expr(notification::Column::LastError, Expr::value(e));
    }
    if let Some(n) = next {
        q = q.col_expr(notification::Column::NextAttemptAt, Expr::value(ts(n)));
    }
    if let Some(s) = sent_at {
        q = q.col_expr(notification::Column::SentAt, Expr::value(ts(s)));
    }
    if refund_attempt {
        q = q.col_expr(
            notification::Column::Attempts,
            Expr::col(notification::Column::Attempts).sub(1),
        );
    }
    let res = q.filter(held_by(id, worker)).exec(db).await?;
    Ok(res.rows_affected == 1)
}

/// Delivered. `false` when the claim was lost meanwhile (another notifier took it over).
pub async fn mark_sent(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let f = Finish {
        state: DeliveryState::Sent,
        sent_at: Some(now),
        ..Finish::default()
    };
    finish(db, id, worker, f).await
}

/// Failed, to be tried again at `next`.
pub async fn reschedule(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    error: &str,
    next: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let f = Finish {
        state: DeliveryState::Pending,
        error: Some(error),
        next: Some(next),
        ..Finish::default()
    };
    finish(db, id, worker, f).await
}

/// Given up: the error is kept for the admin who retries it.
pub async fn mark_dead(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    error: &str,
) -> Result<bool, RepoError> {
    let f = Finish {
        state: DeliveryState::Dead,
        error: Some(error),
        ..Finish::default()
    };
    finish(db, id, worker, f).await
}

/// Not to be sent any more (a reminder whose stage is over).
pub async fn mark_moot(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    why: &str,
) -> Result<bool, RepoError> {
    let f = Finish {
        state: DeliveryState::Moot,
        error: Some(why),
        ..Finish::default()
    };
    finish(db, id, worker, f).await
}

/// Put back untried until `until` (quiet hours): the claim did not count as an attempt.
pub async fn defer(
    db: &impl ConnectionTrait,
    id: i64,
    worker: &str,
    until: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let f = Finish {
        state: DeliveryState::Pending,
        next: Some(until),
        refund_attempt: true,
        ..Finish::default()
    };
    finish(db, id, worker, f).await
}

/// Makes a case's waiting deadline reminders moot; run in the transaction that changes its
/// deadline.
pub async fn moot_sla_reminders(db: &impl ConnectionTrait, case: CaseId) -> Result<(), RepoError> {
    notification::Entity::update_many()
        .col_expr(
            notification::Column::State,
            Expr::value(DeliveryState::Moot.as_str()),
        )
        .col_expr(
            notification::Column::LastError,
            Expr::value("the stage changed before the reminder went out"),
        )
        .filter(notification::Column::CaseId.eq(case.get()))
        .filter(notification::Column::Kind.eq(NoticeKind::Sla.as_str()))
        .filter(notification::Column::State.eq(DeliveryState::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// Notifications waiting or being sent: the queue depth. Counted through the index on
/// `(state, next_attempt_at)`, so its cost follows the queue, not the history of sent ones.
pub async fn queue_depth(db: &impl ConnectionTrait) -> Result<u64, RepoError> {
    Ok(notification::Entity::find()
        .filter(notification::Column::State.is_in([
            DeliveryState::Pending.as_str(),
            DeliveryState::Sending.as_str(),
        ]))
        .count(db)
        .await?)
}

// ---- the queue of case events ------------------------------------------------------------------

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

// ---- deadlines ---------------------------------------------------------------------------------

/// A case as the notifier sees it: who handles it, where it is, what deadline runs.
#[derive(Debug, Clone)]
pub struct CaseFacts {
    pub case_id: CaseId,
    pub number: String,
    pub category_id: CategoryId,
    pub area: AreaPath,
    pub reporter_id: Option<UserId>,
    pub reporter_phone: Option<String>,
    pub assignee: Option<UserId>,
    pub stage: Option<Stage>,
    pub stage_due: Option<DateTime<Utc>>,
    pub stage_started_at: Option<DateTime<Utc>>,
}

impl TryFrom<cases::Model> for CaseFacts {
    type Error = RepoError;

    fn try_from(m: cases::Model) -> Result<Self, RepoError> {
        use whistle_domain::ids::{DistrictId, StreetId};
        let bad = |e| corrupt("cases", m.id)(e);
        Ok(CaseFacts {
            case_id: CaseId::new(m.id).map_err(bad)?,
            number: m.number,
            category_id: CategoryId::new(m.category_id).map_err(bad)?,
            area: AreaPath {
                district: DistrictId::new(m.district_id).map_err(bad)?,
                street: StreetId::new(m.street_id).map_err(bad)?,
                community: CommunityId::new(m.community_id).map_err(bad)?,
            },
            reporter_id: m.reporter_id.map(UserId::new).transpose().map_err(bad)?,
            reporter_phone: m.reporter_phone,
            assignee: m.assignee_id.map(UserId::new).transpose().map_err(bad)?,
            stage: m
                .stage
                .as_deref()
                .map(Stage::parse)
                .transpose()
                .map_err(bad)?,
            stage_due: m.stage_due.map(|t| t.with_timezone(&Utc)),
            stage_started_at: m.stage_started_at.map(|t| t.with_timezone(&Utc)),
        })
    }
}

/// The case, as the notifier sees it.
pub async fn case_facts(db: &impl ConnectionTrait, id: CaseId) -> Result<CaseFacts, RepoError> {
    cases::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("case"))?
        .try_into()
}

/// A case whose running deadline is due a look, with the highest reminder already sent for it.
#[derive(Debug, Clone)]
pub struct DueDeadline {
    pub case: CaseFacts,
    pub level: Option<SlaLevel>,
}

/// Cases whose deadline must be looked at by `now`, oldest first, their plans locked for this
/// transaction (skipping those locked elsewhere, on PostgreSQL). Read through
/// `idx_case_sla_check`: the range `check_at <= now` holds only what is due, whatever the number
/// of open cases.
pub async fn due_deadlines(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<DueDeadline>, RepoError> {
    let plans = case_sla::Entity::find()
        .filter(case_sla::Column::CheckAt.lte(ts(now)))
        .order_by_asc(case_sla::Column::CheckAt)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .all(txn)
        .await?;
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    let mut cases: std::collections::HashMap<i64, cases::Model> = cases::Entity::find()
        .filter(cases::Column::Id.is_in(plans.iter().map(|p| p.case_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    plans
        .into_iter()
        .filter_map(|p| cases.remove(&p.case_id).map(|c| (p, c)))
        .map(|(p, c)| {
            Ok(DueDeadline {
                level: p
                    .level
                    .as_deref()
                    .map(SlaLevel::parse)
                    .transpose()
                    .map_err(corrupt("case_sla", p.case_id))?,
                case: c.try_into()?,
            })
        })
        .collect()
}

/// Tells the notifier to plan a case's deadline afresh at `check_at` (`None`: no deadline
/// runs), forgetting the reminders sent for the previous one. Run in the transaction that
/// changes the deadline.
pub async fn replan_deadline(
    db: &impl ConnectionTrait,
    case: CaseId,
    check_at: Option<DateTime<Utc>>,
) -> Result<(), RepoError> {
    case_sla::Entity::insert(case_sla::ActiveModel {
        case_id: Set(case.get()),
        check_at: Set(check_at.map(ts)),
        level: Set(None),
    })
    .on_conflict(
        OnConflict::column(case_sla::Column::CaseId)
            .update_columns([case_sla::Column::CheckAt, case_sla::Column::Level])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The sweep's step on one case: the level reached for the running deadline and when to look
/// again (`None`: never, until the deadline changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlinePlan {
    pub case: CaseId,
    pub level: Option<SlaLevel>,
    pub next_check: Option<DateTime<Utc>>,
}

/// Records the sweep's steps: on PostgreSQL one statement for the batch (the plans as one JSON
/// parameter), elsewhere one per 300 cases.
pub async fn set_deadline_plans(
    db: &impl ConnectionTrait,
    plans: &[DeadlinePlan],
) -> Result<(), RepoError> {
    if plans.is_empty() {
        return Ok(());
    }
    if db.get_database_backend() == DbBackend::Postgres {
        let records: Vec<serde_json::Value> = plans
            .iter()
            .map(|p| {
                serde_json::json!({
                    "id": p.case.get(),
                    "level": p.level.map(SlaLevel::as_str),
                    "next_check": p.next_check.map(micros),
                })
            })
            .collect();
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE case_sla AS s SET level = p.level, check_at = p.next_check \
             FROM json_to_recordset($1::json) AS p(id bigint, level text, next_check timestamptz) \
             WHERE s.case_id = p.id",
            [serde_json::Value::Array(records).to_string().into()],
        ))
        .await?;
        return Ok(());
    }
    // A CASE per column: one statement per 300 cases, without the PostgreSQL-only functions.
    for chunk in plans.chunks(300) {
        let mut level: Option<sea_orm::sea_query::CaseStatement> = None;
        let mut next: Option<sea_orm::sea_query::CaseStatement> = None;
        for DeadlinePlan {
            case: id,
            level: l,
            next_check: n,
        } in chunk
        {
            let this = || case_sla::Column::CaseId.eq(id.get());
            let l = Expr::value(l.map(|l| l.as_str().to_owned()));
            let n = Expr::value(n.map(ts));
            level = Some(match level {
                None => Expr::case(this(), l),
                Some(c) => c.case(this(), l),
            });
            next = Some(match next {
                None => Expr::case(this(), n),
                Some(c) => c.case(this(), n),
            });
        }
        let (Some(level), Some(next)) = (level, next) else {
            continue;
        };
        case_sla::Entity::update_many()
            .col_expr(
                case_sla::Column::Level,
                level.finally(Expr::col(case_sla::Column::Level)).into(),
            )
            .col_expr(
                case_sla::Column::CheckAt,
                next.finally(Expr::col(case_sla::Column::CheckAt)).into(),
            )
            .filter(case_sla::Column::CaseId.is_in(chunk.iter().map(|p| p.case.get())))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Whether the case still runs this stage with this deadline (a reminder about it is current).
pub async fn deadline_is_current(
    db: &impl ConnectionTrait,
    case: CaseId,
    stage: &str,
    due: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let row: Option<(
        Option<String>,
        Option<sea_orm::prelude::DateTimeWithTimeZone>,
    )> = cases::Entity::find_by_id(case.get())
        .select_only()
        .column(cases::Column::Stage)
        .column(cases::Column::StageDue)
        .into_tuple()
        .one(db)
        .await?;
    Ok(row.is_some_and(|(s, d)| {
        s.as_deref() == Some(stage) && d.is_some_and(|d| d.with_timezone(&Utc) == due)
    }))
}

/// A category's names (zh, en).
pub async fn category_names(
    db: &impl ConnectionTrait,
    id: CategoryId,
) -> Result<(String, String), RepoError> {
    let c = case_category::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("category"))?;
    Ok((c.name_zh, c.name_en))
}

// ---- recipients --------------------------------------------------------------------------------

/// How to reach an account.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub user_id: UserId,
    pub role: Role,
    /// The account's display name (notices name the officer to the reporter).
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub locale: Locale,
}

fn contact(m: users::Model) -> Result<Contact, RepoError> {
    let bad = |e| corrupt("users", m.id)(e);
    Ok(Contact {
        user_id: UserId::new(m.id).map_err(bad)?,
        role: m.role.parse().map_err(bad)?,
        name: m.display_name,
        phone: m.phone,
        email: m.email,
        locale: Locale::parse(&m.locale).unwrap_or_default(),
    })
}

async fn active_users(
    db: &impl ConnectionTrait,
    filter: Condition,
) -> Result<Vec<Contact>, RepoError> {
    users::Entity::find()
        .filter(users::Column::Disabled.eq(false))
        .filter(filter)
        .order_by_asc(users::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(contact)
        .collect()
}

/// The active accounts among `ids`.
pub async fn contacts(
    db: &impl ConnectionTrait,
    ids: &[UserId],
) -> Result<Vec<Contact>, RepoError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<i64> = ids.iter().map(|u| u.get()).collect();
    active_users(db, Condition::all().add(users::Column::Id.is_in(raw))).await
}

/// The command centre: every active dispatcher.
pub async fn dispatchers(db: &impl ConnectionTrait) -> Result<Vec<Contact>, RepoError> {
    active_users(
        db,
        Condition::all().add(users::Column::Role.eq(Role::Dispatcher.as_str())),
    )
    .await
}

/// Active leaders whose jurisdiction covers `area` (its community, street or district).
pub async fn leaders_over(
    db: &impl ConnectionTrait,
    area: &AreaPath,
) -> Result<Vec<Contact>, RepoError> {
    let covering = Condition::any()
        .add(
            Condition::all()
                .add(user_area::Column::Level.eq("community"))
                .add(user_area::Column::AreaId.eq(area.community.get())),
        )
        .add(
            Condition::all()
                .add(user_area::Column::Level.eq("street"))
                .add(user_area::Column::AreaId.eq(area.street.get())),
        )
        .add(
            Condition::all()
                .add(user_area::Column::Level.eq("district"))
                .add(user_area::Column::AreaId.eq(area.district.get())),
        );
    let ids: Vec<i64> = user_area::Entity::find()
        .select_only()
        .column(user_area::Column::UserId)
        .filter(covering)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    active_users(
        db,
        Condition::all()
            .add(users::Column::Id.is_in(ids))
            .add(users::Column::Role.eq(Role::Leader.as_str())),
    )
    .await
}

/// Partner accounts (property company, owners' committee) of a community's organisations.
pub async fn partners_of(
    db: &impl ConnectionTrait,
    community: CommunityId,
) -> Result<Vec<Contact>, RepoError> {
    let orgs: Vec<i64> = organisation::Entity::find()
        .select_only()
        .column(organisation::Column::Id)
        .filter(organisation::Column::CommunityId.eq(community.get()))
        .into_tuple()
        .all(db)
        .await?;
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = organisation_member::Entity::find()
        .select_only()
        .column(organisation_member::Column::UserId)
        .filter(organisation_member::Column::OrganisationId.is_in(orgs))
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    active_users(
        db,
        Condition::all()
            .add(users::Column::Id.is_in(ids))
            .add(users::Column::Role.eq(Role::Partner.as_str())),
    )
    .await
}

/// The officers stationed in a community on `day`.
pub async fn stationed_officers(
    db: &impl ConnectionTrait,
    community: CommunityId,
    day: NaiveDate,
) -> Result<Vec<Contact>, RepoError> {
    let d = day.format("%Y-%m-%d").to_string();
    let ids: Vec<i64> = stationing::Entity::find()
        .select_only()
        .column(stationing::Column::OfficerId)
        .filter(stationing::Column::CommunityId.eq(community.get()))
        .filter(stationing::Column::StartsOn.lte(d.as_str()))
        .filter(
            Condition::any()
                .add(stationing::Column::EndsOn.is_null())
                .add(stationing::Column::EndsOn.gte(d.as_str())),
        )
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<UserId> = ids
        .into_iter()
        .map(|i| UserId::new(i).map_err(corrupt("stationing", i)))
        .collect::<Result<_, _>>()?;
    contacts(db, &ids).await
}

/// Sets how an account is reached: e-mail (or none) and language.
pub async fn set_contact(
    db: &impl ConnectionTrait,
    user: UserId,
    email: Option<&str>,
    locale: Locale,
) -> Result<(), RepoError> {
    users::Entity::update_many()
        .col_expr(users::Column::Email, Expr::value(email.map(str::to_owned)))
        .col_expr(users::Column::Locale, Expr::value(locale.as_str()))
        .filter(users::Column::Id.eq(user.get()))
        .exec(db)
        .await?;
    Ok(())
}

/// An account's e-mail and language.
pub async fn contact_of(db: &impl ConnectionTrait, user: UserId) -> Result<Contact, RepoError> {
    users::Entity::find_by_id(user.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("user"))
        .and_then(contact)
}

// ---- pledges -----------------------------------------------------------------------------------

/// A pledge that runs out soon and has not been renewed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpiringPledge {
    pub pledge_id: i64,
    pub merchant_id: i64,
    pub merchant_name: String,
    pub community_id: CommunityId,
    pub valid_until: NaiveDate,
}

/// Pledges running out between `from` and `to` (inclusive), not revoked, and not followed by a
/// later pledge of the same merchant (a renewal). Read through `idx_pledge_valid_until`.
pub async fn expiring_pledges(
    db: &impl ConnectionTrait,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ExpiringPledge>, RepoError> {
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let rows = pledge::Entity::find()
        .filter(pledge::Column::ValidUntil.gte(day(from)))
        .filter(pledge::Column::ValidUntil.lte(day(to)))
        .filter(pledge::Column::RevokedOn.is_null())
        .order_by_asc(pledge::Column::ValidUntil)
        .order_by_asc(pledge::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::new();
    for p in rows {
        let renewed = pledge::Entity::find()
            .filter(pledge::Column::MerchantId.eq(p.merchant_id))
            .filter(pledge::Column::ValidUntil.gt(p.valid_until.as_str()))
            .filter(pledge::Column::RevokedOn.is_null())
            .count(db)
            .await?
            > 0;
        if renewed {
            continue;
        }
        let Some(m) = merchant::Entity::find_by_id(p.merchant_id).one(db).await? else {
            continue;
        };
        out.push(ExpiringPledge {
            pledge_id: p.id,
            merchant_id: m.id,
            merchant_name: m.name,
            community_id: CommunityId::new(m.community_id).map_err(corrupt("merchant", m.id))?,
            valid_until: p.valid_until.parse().map_err(|_| {
                corrupt("pledge", p.id)(whistle_domain::ValueError::new(
                    "valid_until",
                    "not a date",
                ))
            })?,
        });
    }
    Ok(out)
}

// ---- leases ------------------------------------------------------------------------------------

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

// ---- the inbox and the admin's view -------------------------------------------------------------

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
