//! Writing a new case: the row, its deadline plan for the notifier, its first timeline entries
//! and the notices they call for, all or nothing.
//!
//! On PostgreSQL this is one statement (data-modifying `WITH` clauses), so an intake without
//! attachments needs no transaction of its own: one round trip instead of six (`BEGIN`, the
//! case, the plan, the entry, its notice, `COMMIT`). Elsewhere it is one statement per row
//! inside a transaction.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryTrait, Set,
    Statement, TransactionTrait, Value,
};
use whistle_domain::case::{Case, CaseNumber, CaseStatus};
use whistle_domain::ids::{CaseId, MerchantId, PlaceId, UserId};
use whistle_domain::lifecycle::{ActorRole, TimelineAction};

use super::{CaseEvent, NewCase, append_event};
use crate::entities::cases;
use crate::error::{RepoError, corrupt};

/// A timeline entry written with its case (the case's id is not known before).
#[derive(Debug, Clone, PartialEq)]
pub struct FirstEvent {
    pub actor_id: Option<UserId>,
    pub actor_role: ActorRole,
    pub action: TimelineAction,
    pub from_status: Option<CaseStatus>,
    pub to_status: CaseStatus,
    pub data: Option<serde_json::Value>,
}

/// Stores a new case (status `reported`, or `in_progress` for one its finder handles; version
/// one) under the number [`super::reserve_number`] took, its deadline plan, and `events` (at
/// the case's creation time, in order), inside the caller's transaction.
pub async fn insert(
    db: &impl ConnectionTrait,
    new: &NewCase,
    number: &CaseNumber,
    events: &[FirstEvent],
) -> Result<Case, RepoError> {
    let stored = match db.get_database_backend() {
        DbBackend::Postgres => insert_in_one_statement(db, new, number, events).await?,
        _ => insert_row_by_row(db, new, number, events).await?,
    };
    stored.try_into()
}

/// [`insert`] where nothing else is written with the case: on PostgreSQL its one statement
/// commits by itself; elsewhere a transaction is opened for it.
pub async fn insert_alone(
    db: &DatabaseConnection,
    new: &NewCase,
    number: &CaseNumber,
    events: &[FirstEvent],
) -> Result<Case, RepoError> {
    if db.get_database_backend() == DbBackend::Postgres {
        return insert(db, new, number, events).await;
    }
    let txn = db.begin().await?;
    let case = insert(&txn, new, number, events).await?;
    txn.commit().await?;
    Ok(case)
}

fn row(new: &NewCase, number: &CaseNumber) -> cases::ActiveModel {
    let now = new.now.fixed_offset();
    let point = new.location.point();
    let hit = new.location.grid();
    cases::ActiveModel {
        number: Set(number.as_str().to_owned()),
        category_id: Set(new.category_id.get()),
        case_type: Set(new.case_type.as_str().to_owned()),
        priority: Set(new.priority.as_str().to_owned()),
        source: Set(new.source.as_str().to_owned()),
        status: Set(new.starting_status().as_str().to_owned()),
        description: Set(new.description.as_str().to_owned()),
        address: Set(new.address.clone()),
        lat: Set(point.lat()),
        lon: Set(point.lon()),
        grid_id: Set(hit.grid_id.get()),
        community_id: Set(hit.community_id.get()),
        street_id: Set(new.area.street.get()),
        district_id: Set(new.area.district.get()),
        reporter_id: Set(new.reporter_id.map(UserId::get)),
        reporter_name: Set(new.reporter_name.as_ref().map(|n| n.as_str().to_owned())),
        reporter_phone: Set(new.reporter_phone.as_ref().map(|p| p.as_str().to_owned())),
        tracking_token_hash: Set(new.tracking_token_hash.clone()),
        suggested_officer_id: Set(new.suggested_officer.map(UserId::get)),
        assignee_id: Set(new.handled_by.map(UserId::get)),
        stage: Set(Some(new.starting_stage().as_str().to_owned())),
        stage_due: Set(Some(new.stage_due.fixed_offset())),
        version: Set(1),
        rating: Set(None),
        rating_comment: Set(None),
        idempotency_scope: Set(new.idempotency.as_ref().map(|i| i.scope.clone())),
        idempotency_key: Set(new.idempotency.as_ref().map(|i| i.key.clone())),
        idempotency_fingerprint: Set(new.idempotency.as_ref().map(|i| i.fingerprint.clone())),
        created_at: Set(now),
        updated_at: Set(now),
        closed_at: Set(None),
        attributes: Set(
            (!new.attributes.is_empty()).then(|| serde_json::json!(new.attributes).to_string())
        ),
        merchant_id: Set(new.merchant_id.map(MerchantId::get)),
        place_id: Set(new.location.place().map(PlaceId::get)),
        stage_started_at: Set(Some(now)),
        ..Default::default()
    }
}

async fn insert_row_by_row(
    db: &impl ConnectionTrait,
    new: &NewCase,
    number: &CaseNumber,
    events: &[FirstEvent],
) -> Result<cases::Model, RepoError> {
    let stored = row(new, number).insert(db).await?;
    let case_id = CaseId::new(stored.id).map_err(corrupt("cases", stored.id))?;
    // The first stage starts now; the notifier plans its reminders on its next sweep.
    crate::repo::notifications::replan_deadline(db, case_id, Some(new.now)).await?;
    for e in events {
        let event = CaseEvent {
            id: 0,
            case_id,
            at: new.now,
            actor_id: e.actor_id,
            actor_role: e.actor_role,
            action: e.action,
            from_status: e.from_status,
            to_status: e.to_status,
            note: None,
            data: e.data.clone(),
        };
        append_event(db, &event).await?;
    }
    Ok(stored)
}

/// The same rows as [`insert_row_by_row`] in one statement: the case (`RETURNING *`), its plan,
/// its entries in their order (ids ascending, as the timeline reads them) and the queue rows of
/// the notable ones. Foreign keys and the analytics trigger are checked at the statement's end,
/// when the case exists.
async fn insert_in_one_statement(
    db: &impl ConnectionTrait,
    new: &NewCase,
    number: &CaseNumber,
    events: &[FirstEvent],
) -> Result<cases::Model, RepoError> {
    let case = cases::Entity::insert(row(new, number)).build(DbBackend::Postgres);
    let mut values: Vec<Value> = case.values.map(|v| v.0).unwrap_or_default();
    let mut param = |v: Value| {
        values.push(v);
        format!("${}", values.len())
    };
    let now = param(new.now.fixed_offset().into());
    let mut sql = format!(
        "WITH c AS ({case} RETURNING *), \
         s AS (INSERT INTO case_sla (case_id, check_at, level) SELECT id, {now}, NULL FROM c)",
        case = case.sql
    );
    if !events.is_empty() {
        let rows: Vec<String> = events
            .iter()
            .enumerate()
            .map(|(ord, e)| {
                format!(
                    "({}, {}, {}, {}, {}, {}, {})",
                    param((ord as i64).into()),
                    param(e.actor_id.map(UserId::get).into()),
                    param(e.actor_role.as_str().to_owned().into()),
                    param(e.action.as_str().to_owned().into()),
                    param(e.from_status.map(|s| s.as_str().to_owned()).into()),
                    param(e.to_status.as_str().to_owned().into()),
                    param(e.data.as_ref().map(ToString::to_string).into()),
                )
            })
            .collect();
        sql.push_str(&format!(
            ", e AS (INSERT INTO case_event \
             (case_id, at, actor_id, actor_role, action, from_status, to_status, note, data) \
             SELECT c.id, {now}, v.actor_id, v.actor_role, v.action, v.from_status, \
             v.to_status, NULL, v.data \
             FROM c CROSS JOIN (VALUES {rows}) \
             AS v (ord, actor_id, actor_role, action, from_status, to_status, data) \
             ORDER BY v.ord RETURNING id, case_id, action)",
            rows = rows.join(", ")
        ));
        let notable: Vec<String> = events
            .iter()
            .filter(|e| whistle_domain::notice::is_notable(e.action.as_str()))
            .map(|e| param(e.action.as_str().to_owned().into()))
            .collect();
        if !notable.is_empty() {
            sql.push_str(&format!(
                ", q AS (INSERT INTO notice_queue (event_id, case_id, enqueued_at) \
                 SELECT id, case_id, {now} FROM e WHERE action IN ({}))",
                notable.join(", ")
            ));
        }
    }
    sql.push_str(" SELECT * FROM c");
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    cases::Entity::find()
        .from_raw_sql(statement)
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("cases"))
}
