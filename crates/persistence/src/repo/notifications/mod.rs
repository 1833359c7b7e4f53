//! The notification outbox (here: writing, claiming, finishing notifications), and beside it
//! in files of their own the queue of case events to fan out (`events`), the deadlines the
//! SLA sweep plans (`deadlines`), the recipients' lookups (`recipients`), expiring pledges
//! (`pledges`), the notifiers' leases (`leases`) and the inbox (`inbox`).
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

mod deadlines;
mod events;
mod inbox;
mod leases;
mod pledges;
mod recipients;

pub use deadlines::*;
pub use events::*;
pub use inbox::*;
pub use leases::*;
pub use pledges::*;
pub use recipients::*;

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
