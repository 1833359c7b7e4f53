//! What the SLA sweep reads and writes: the facts of a case, due deadlines, their plans.

use super::*;

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
