//! Cases and their append-only timeline.

mod create;
mod search;
mod timeline;

pub use create::*;
pub use search::*;
pub use timeline::*;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, TransactionTrait,
};
use whistle_domain::calendar::Stage;
use whistle_domain::case::{
    Case, CaseLocation, CaseNumber, CaseSource, CaseStatus, CaseType, Description, Priority,
    Rating, Reporter,
};
use whistle_domain::geography::CasePrefix;
use whistle_domain::ids::{
    CaseId, CategoryId, CommunityId, DistrictId, GridId, MerchantId, PlaceId, StreetId, UserId,
};
use whistle_domain::jurisdiction::AreaPath;
use whistle_domain::location::Coordinate;
use whistle_domain::people::{PhoneNumber, Role};
use whistle_domain::routing::GridHit;
use whistle_domain::text::Name;

use crate::db::Backend;
use crate::entities::{case_number_counter, cases};
use crate::error::{RepoError, corrupt};

impl TryFrom<cases::Model> for Case {
    type Error = RepoError;

    fn try_from(m: cases::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("cases", m.id)(e);
        let user = |id: Option<i64>| id.map(UserId::new).transpose();
        let reporter_id = user(m.reporter_id).map_err(bad)?;
        // A hotline entry is written by the dispatcher's account with the caller's name and
        // phone: the caller is the one who reported it.
        let caller = m.reporter_name.is_some() || m.reporter_phone.is_some();
        let reporter = match reporter_id {
            Some(id) if !caller => Reporter::Account(id),
            _ => Reporter::Anonymous {
                name: m
                    .reporter_name
                    .as_deref()
                    .map(Name::parse)
                    .transpose()
                    .map_err(bad)?,
                phone: m
                    .reporter_phone
                    .as_deref()
                    .map(PhoneNumber::parse)
                    .transpose()
                    .map_err(bad)?,
            },
        };
        let point = Coordinate::wgs84(m.lat, m.lon).map_err(bad)?;
        let hit = GridHit {
            grid_id: GridId::new(m.grid_id).map_err(bad)?,
            community_id: CommunityId::new(m.community_id).map_err(bad)?,
        };
        let mut location = CaseLocation::routed(point, hit);
        if let Some(place) = m.place_id {
            location = location.from_place(PlaceId::new(place).map_err(bad)?);
        }
        Ok(Case {
            id: CaseId::new(m.id).map_err(bad)?,
            number: CaseNumber::parse(&m.number).map_err(bad)?,
            category_id: CategoryId::new(m.category_id).map_err(bad)?,
            case_type: m.case_type.parse().map_err(bad)?,
            priority: m.priority.parse().map_err(bad)?,
            source: m.source.parse().map_err(bad)?,
            status: m.status.parse().map_err(bad)?,
            description: Description::parse(&m.description).map_err(bad)?,
            address: m.address,
            location,
            area: AreaPath {
                district: DistrictId::new(m.district_id).map_err(bad)?,
                street: StreetId::new(m.street_id).map_err(bad)?,
                community: hit.community_id,
            },
            reporter,
            reporter_id,
            suggested_officer: user(m.suggested_officer_id).map_err(bad)?,
            assignee: user(m.assignee_id).map_err(bad)?,
            stage: m
                .stage
                .as_deref()
                .map(Stage::parse)
                .transpose()
                .map_err(bad)?,
            stage_due: m.stage_due.map(|t| t.with_timezone(&Utc)),
            version: m.version,
            rating: m
                .rating
                .map(|r| Rating::new(i64::from(r), m.rating_comment.as_deref()))
                .transpose()
                .map_err(bad)?,
            created_at: m.created_at.with_timezone(&Utc),
            updated_at: m.updated_at.with_timezone(&Utc),
            closed_at: m.closed_at.map(|t| t.with_timezone(&Utc)),
            attributes: m
                .attributes
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok())
                .unwrap_or_default(),
            merchant_id: m
                .merchant_id
                .map(MerchantId::new)
                .transpose()
                .map_err(bad)?,
        })
    }
}

/// Everything intake decided, ready to store.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub prefix: CasePrefix,
    /// The local calendar day the number is counted in.
    pub local_day: NaiveDate,
    pub category_id: CategoryId,
    pub case_type: CaseType,
    pub priority: Priority,
    pub source: CaseSource,
    pub description: Description,
    pub address: Option<String>,
    pub location: CaseLocation,
    pub area: AreaPath,
    pub reporter_id: Option<UserId>,
    pub reporter_name: Option<Name>,
    pub reporter_phone: Option<PhoneNumber>,
    pub tracking_token_hash: Option<String>,
    pub suggested_officer: Option<UserId>,
    /// 自行发现，自行处置: the officer who found the problem himself and handles it. The case
    /// starts `in_progress`, assigned to him, its clock on the resolve stage (`stage_due` is
    /// then that stage's deadline); otherwise it starts `reported` on the accept stage.
    pub handled_by: Option<UserId>,
    /// The running stage's deadline.
    pub stage_due: DateTime<Utc>,
    pub idempotency: Option<Idempotency>,
    /// Answers to the category's questions, validated.
    pub attributes: std::collections::BTreeMap<String, serde_json::Value>,
    /// The merchant the case is about.
    pub merchant_id: Option<MerchantId>,
    pub now: DateTime<Utc>,
}

impl NewCase {
    /// `reported`, or `in_progress` for a case its finder handles himself.
    pub fn starting_status(&self) -> CaseStatus {
        match self.handled_by {
            Some(_) => CaseStatus::InProgress,
            None => CaseStatus::Reported,
        }
    }

    /// The stage whose clock starts with the case.
    pub fn starting_stage(&self) -> Stage {
        match self.handled_by {
            Some(_) => Stage::Resolve,
            None => Stage::Accept,
        }
    }
}

/// The `Idempotency-Key` a case was created under: the key is unique within its scope (an
/// account, an Open311 application, or all anonymous reporters together), and the fingerprint
/// digests the request, so that a retry can be told from a different request reusing a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
}

/// Takes the next number of `prefix` on `day`, in a short transaction of its own that commits
/// before the intake's transaction begins.
///
/// Every intake of a district's day bumps one counter row, and the row stays locked until the
/// transaction that bumped it commits. Inside the intake's transaction that lock was held across
/// the case, its deadline plan, its event and the commit's flush, so intakes queued behind each
/// other on it (31 ms a number, 389 intakes a second: whistle-bench api). Here it is held for
/// one statement and a commit.
///
/// On PostgreSQL the upsert is one statement in its own implicit transaction, whose commit does
/// not wait for its WAL to reach the disk (`synchronous_commit` off for that transaction only). That is safe: a case using the
/// number commits after it, and flushing the case's commit flushes everything written before it,
/// so a case that survives a crash always finds its number counted. A crash can only lose
/// numbers no surviving case carries.
///
/// An intake that fails after taking its number leaves a gap, which is allowed; a rejected
/// report (bad category, no location, …) fails before and takes none.
pub async fn reserve_number(
    db: &DatabaseConnection,
    prefix: &CasePrefix,
    day: NaiveDate,
) -> Result<CaseNumber, RepoError> {
    if Backend::of(db) == Backend::Postgres {
        // One statement in its own implicit transaction, which the `set_config(…, true)` in it
        // makes commit without waiting for the flush: one round trip instead of four
        // (`BEGIN`, `SET LOCAL`, the upsert, `COMMIT`).
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO case_number_counter (prefix, day, last_seq) \
                 SELECT $1, $2, 1 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS s \
                 ON CONFLICT (prefix, day) DO UPDATE \
                 SET last_seq = case_number_counter.last_seq + 1 \
                 RETURNING last_seq",
                [
                    prefix.as_str().into(),
                    day.format("%Y%m%d").to_string().into(),
                ],
            ))
            .await?
            .ok_or(RepoError::NotFound("case_number_counter"))?;
        let seq: i64 = row.try_get_by_index(0)?;
        return Ok(CaseNumber::new(prefix, day, seq as u64));
    }
    let txn = db.begin().await?;
    let number = next_number(&txn, prefix, day).await?;
    txn.commit().await?;
    Ok(number)
}

/// The next number of `prefix` on `day`. One upsert (`INSERT … ON CONFLICT DO UPDATE …
/// RETURNING`): the first intake of a day creates the counter row, later ones bump it, and the
/// row stays locked until the transaction commits, so concurrent intakes never share a number —
/// not even the first two of a day, which an update-then-insert let collide on the primary key.
async fn next_number(
    db: &impl ConnectionTrait,
    prefix: &CasePrefix,
    day: NaiveDate,
) -> Result<CaseNumber, RepoError> {
    let counter = case_number_counter::Entity::insert(case_number_counter::ActiveModel {
        prefix: Set(prefix.as_str().to_owned()),
        day: Set(day.format("%Y%m%d").to_string()),
        last_seq: Set(1),
    })
    .on_conflict(
        OnConflict::columns([
            case_number_counter::Column::Prefix,
            case_number_counter::Column::Day,
        ])
        .value(
            case_number_counter::Column::LastSeq,
            Expr::col((
                case_number_counter::Entity,
                case_number_counter::Column::LastSeq,
            ))
            .add(1),
        )
        .to_owned(),
    )
    .exec_with_returning(db)
    .await?;
    Ok(CaseNumber::new(prefix, day, counter.last_seq as u64))
}

pub async fn get(db: &impl ConnectionTrait, id: CaseId) -> Result<Case, RepoError> {
    cases::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("case"))?
        .try_into()
}

/// The case an earlier request with this scope and key created, if any, with that request's
/// fingerprint (`None` for a case stored before fingerprints were kept).
pub async fn find_by_idempotency(
    db: &impl ConnectionTrait,
    scope: &str,
    key: &str,
) -> Result<Option<(Case, Option<String>)>, RepoError> {
    let Some(row) = cases::Entity::find()
        .filter(cases::Column::IdempotencyScope.eq(scope))
        .filter(cases::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let fingerprint = row.idempotency_fingerprint.clone();
    Ok(Some((Case::try_from(row)?, fingerprint)))
}

/// The anonymous reporter's tracking-token hash of a case.
pub async fn tracking_hash(
    db: &impl ConnectionTrait,
    id: CaseId,
) -> Result<Option<String>, RepoError> {
    Ok(cases::Entity::find_by_id(id.get())
        .select_only()
        .column(cases::Column::TrackingTokenHash)
        .into_tuple::<Option<String>>()
        .one(db)
        .await?
        .flatten())
}

/// Who a new case in `community` is suggested to: among the officers stationed there on `today`
/// (enabled officer accounts only), the one with the fewest open cases assigned (not closed, not
/// rejected); ties go to the longest-stationed, then the lowest account id. `None` when nobody is
/// stationed there: the command centre dispatches by hand.
///
/// One query whatever the number of officers. Each load is counted from the partial index of
/// open cases (`idx_case_open_assignee`, whose condition the query repeats word for word so
/// that every plan may use it): an index-only scan, 0.6 ms instead of 5 ms for an officer with
/// 6,000 open cases (whistle-bench api).
pub async fn suggest_officer(
    db: &impl ConnectionTrait,
    community: CommunityId,
    today: NaiveDate,
) -> Result<Option<UserId>, RepoError> {
    let backend = db.get_database_backend();
    let p = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    debug_assert_eq!(
        (CaseStatus::Closed.as_str(), CaseStatus::Rejected.as_str()),
        ("closed", "rejected")
    );
    let sql = format!(
        "SELECT s.officer_id FROM stationing s JOIN users u ON u.id = s.officer_id \
         WHERE s.community_id = {} AND s.starts_on <= {} AND (s.ends_on IS NULL OR s.ends_on >= {}) \
         AND u.role = {} AND u.disabled = {} \
         ORDER BY (SELECT COUNT(c.assignee_id) FROM cases c WHERE c.assignee_id = s.officer_id \
         AND c.status NOT IN ('closed', 'rejected')), s.starts_on, s.officer_id \
         LIMIT 1",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5)
    );
    let day = today.format("%Y-%m-%d").to_string();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                community.get().into(),
                day.clone().into(),
                day.into(),
                Role::Officer.as_str().into(),
                false.into(),
            ],
        ))
        .await?;
    row.map(|row| {
        let id: i64 = row.try_get_by_index(0)?;
        UserId::new(id).map_err(corrupt("users", id))
    })
    .transpose()
}

/// The new state of a case after an action.
#[derive(Debug, Clone)]
pub struct CaseUpdate {
    pub status: CaseStatus,
    pub assignee: Option<UserId>,
    pub stage: Option<Stage>,
    pub stage_due: Option<DateTime<Utc>>,
    pub rating: Option<Rating>,
    pub closed_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    /// The running stage and deadline before the action, to tell whether its clock changed.
    pub previous: (Option<Stage>, Option<DateTime<Utc>>),
}

impl CaseUpdate {
    /// The state of `case` as it is, to be changed by an action at `now`.
    pub fn of(case: &Case, status: CaseStatus, now: DateTime<Utc>) -> Self {
        Self {
            status,
            assignee: case.assignee,
            stage: case.stage,
            stage_due: case.stage_due,
            rating: case.rating.clone(),
            closed_at: case.closed_at,
            now,
            previous: (case.stage, case.stage_due),
        }
    }
}

/// Writes `update` only if the case is still at `expected_version`; `Ok(false)` when someone
/// else changed it first (nothing written).
///
/// When the running deadline changes (a new stage, an approved extension, none any more), the
/// notifier is told to plan it afresh (`case_sla.check_at`), and the reminders still waiting for
/// the old deadline become moot, in this same transaction: a reminder for a stage that is over
/// is never sent.
pub async fn update_if_version(
    db: &impl ConnectionTrait,
    id: CaseId,
    expected_version: i32,
    update: &CaseUpdate,
) -> Result<bool, RepoError> {
    let (old_stage, old_due) = update.previous;
    let stage_changed = old_stage != update.stage;
    let clock_changed = stage_changed || old_due != update.stage_due;
    let now = update.now.fixed_offset();
    let mut q = cases::Entity::update_many();
    if stage_changed {
        q = q.col_expr(
            cases::Column::StageStartedAt,
            Expr::value(update.stage.map(|_| now)),
        );
    }
    let res = q
        .col_expr(cases::Column::Status, Expr::value(update.status.as_str()))
        .col_expr(
            cases::Column::AssigneeId,
            Expr::value(update.assignee.map(UserId::get)),
        )
        .col_expr(
            cases::Column::Stage,
            Expr::value(update.stage.map(|s| s.as_str().to_owned())),
        )
        .col_expr(
            cases::Column::StageDue,
            Expr::value(update.stage_due.map(|t| t.fixed_offset())),
        )
        .col_expr(
            cases::Column::Rating,
            Expr::value(update.rating.as_ref().map(|r| i32::from(r.score()))),
        )
        .col_expr(
            cases::Column::RatingComment,
            Expr::value(
                update
                    .rating
                    .as_ref()
                    .and_then(|r| r.comment().map(str::to_owned)),
            ),
        )
        .col_expr(
            cases::Column::ClosedAt,
            Expr::value(update.closed_at.map(|t| t.fixed_offset())),
        )
        .col_expr(
            cases::Column::UpdatedAt,
            Expr::value(update.now.fixed_offset()),
        )
        .col_expr(
            cases::Column::Version,
            Expr::col(cases::Column::Version).add(1),
        )
        .filter(cases::Column::Id.eq(id.get()))
        .filter(cases::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    let updated = res.rows_affected == 1;
    if updated && clock_changed {
        // First the plan (on PostgreSQL this waits for a sweep holding the case's plan), then
        // the reminders such a sweep may just have written become moot.
        let replan = update.stage_due.map(|_| update.now);
        crate::repo::notifications::replan_deadline(db, id, replan).await?;
        crate::repo::notifications::moot_sla_reminders(db, id).await?;
    }
    Ok(updated)
}

/// Where a case is moved when someone places it on the map: the point, the grid it falls in,
/// the area above that grid and the officer routing now suggests.
#[derive(Debug, Clone, PartialEq)]
pub struct Relocation {
    pub point: Coordinate,
    pub grid: GridId,
    pub area: AreaPath,
    pub suggested_officer: Option<UserId>,
    pub now: DateTime<Utc>,
}

/// Moves the case to `to` only if it is still at `expected_version` (`Ok(false)` otherwise,
/// nothing written). The case no longer stands at an address-book entry: `place_id` is cleared.
pub async fn relocate_if_version(
    db: &impl ConnectionTrait,
    id: CaseId,
    expected_version: i32,
    to: &Relocation,
) -> Result<bool, RepoError> {
    let res = cases::Entity::update_many()
        .col_expr(cases::Column::Lat, Expr::value(to.point.lat()))
        .col_expr(cases::Column::Lon, Expr::value(to.point.lon()))
        .col_expr(cases::Column::GridId, Expr::value(to.grid.get()))
        .col_expr(
            cases::Column::CommunityId,
            Expr::value(to.area.community.get()),
        )
        .col_expr(cases::Column::StreetId, Expr::value(to.area.street.get()))
        .col_expr(
            cases::Column::DistrictId,
            Expr::value(to.area.district.get()),
        )
        .col_expr(cases::Column::PlaceId, Expr::value(Option::<i64>::None))
        .col_expr(
            cases::Column::SuggestedOfficerId,
            Expr::value(to.suggested_officer.map(UserId::get)),
        )
        .col_expr(cases::Column::UpdatedAt, Expr::value(to.now.fixed_offset()))
        .col_expr(
            cases::Column::Version,
            Expr::col(cases::Column::Version).add(1),
        )
        .filter(cases::Column::Id.eq(id.get()))
        .filter(cases::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Open cases of `category` created since `since` whose point lies within the box
/// `[min_lat, max_lat] × [min_lon, max_lon]`; the caller measures exact distances.
pub async fn open_near(
    db: &impl ConnectionTrait,
    category: CategoryId,
    since: DateTime<Utc>,
    bbox: [f64; 4],
    limit: u64,
) -> Result<Vec<Case>, RepoError> {
    let [min_lat, min_lon, max_lat, max_lon] = bbox;
    let rows = cases::Entity::find()
        .filter(cases::Column::CategoryId.eq(category.get()))
        .filter(cases::Column::CreatedAt.gte(since.fixed_offset()))
        .filter(
            cases::Column::Status
                .is_not_in([CaseStatus::Closed.as_str(), CaseStatus::Rejected.as_str()]),
        )
        .filter(cases::Column::Lat.between(min_lat, max_lat))
        .filter(cases::Column::Lon.between(min_lon, max_lon))
        .order_by_desc(cases::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    rows.into_iter().map(Case::try_from).collect()
}

pub async fn find_by_number(
    db: &impl ConnectionTrait,
    number: &CaseNumber,
) -> Result<Option<Case>, RepoError> {
    cases::Entity::find()
        .filter(cases::Column::Number.eq(number.as_str()))
        .one(db)
        .await?
        .map(Case::try_from)
        .transpose()
}
