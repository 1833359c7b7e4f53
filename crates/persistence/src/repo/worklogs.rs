//! Officers' work logs (线上工作记录): entries with their participants, case and merchant links
//! and photos; lists by officer, community and period; the 721 mix summed in SQL.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use whistle_domain::ids::{
    CaseId, CommunityId, DistrictId, GridId, MerchantId, StreetId, UserId, WorkLogId,
};
use whistle_domain::jurisdiction::AreaPath;
use whistle_domain::location::Coordinate;
use whistle_domain::text::Name;
use whistle_domain::worklog::{
    Activity, Class721, Classification, Mix, Notes, Participant, WorkLog, WorkLogSpan,
};

use crate::entities::{
    work_log, work_log_case, work_log_merchant, work_log_participant, work_log_photo,
};
use crate::error::{RepoError, corrupt};

/// Everything the API decided about a new entry, ready to store.
#[derive(Debug, Clone)]
pub struct NewWorkLog {
    pub officer: UserId,
    pub activity: Activity,
    pub classification: Classification,
    pub span: WorkLogSpan,
    pub area: AreaPath,
    pub grid: Option<GridId>,
    pub point: Option<Coordinate>,
    pub participants: Vec<Participant>,
    pub notes: Option<Notes>,
    pub cases: Vec<CaseId>,
    pub merchants: Vec<MerchantId>,
    pub now: DateTime<Utc>,
}

/// The entry's row without its links; [`hydrate`] adds them.
fn parse_row(m: &work_log::Model) -> Result<WorkLog, RepoError> {
    let bad = |e| corrupt("work_log", m.id)(e);
    let activity: Activity = m.activity.parse().map_err(bad)?;
    let class: Class721 = m.class.parse().map_err(bad)?;
    let point = match (m.lat, m.lon) {
        (Some(lat), Some(lon)) => Some(Coordinate::wgs84(lat, lon).map_err(bad)?),
        _ => None,
    };
    Ok(WorkLog {
        id: WorkLogId::new(m.id).map_err(bad)?,
        officer: UserId::new(m.officer_id).map_err(bad)?,
        activity,
        classification: Classification {
            class,
            overridden: m.class_overridden,
        },
        span: WorkLogSpan::stored(
            m.started_at.with_timezone(&Utc),
            m.ended_at.with_timezone(&Utc),
        )
        .map_err(bad)?,
        area: AreaPath {
            district: DistrictId::new(m.district_id).map_err(bad)?,
            street: StreetId::new(m.street_id).map_err(bad)?,
            community: CommunityId::new(m.community_id).map_err(bad)?,
        },
        grid: m.grid_id.map(GridId::new).transpose().map_err(bad)?,
        point,
        participants: Vec::new(),
        notes: m
            .notes
            .as_deref()
            .map(Notes::parse)
            .transpose()
            .map_err(bad)?,
        cases: Vec::new(),
        merchants: Vec::new(),
        created_at: m.created_at.with_timezone(&Utc),
    })
}

/// Rows to entries with their participants and links: three queries for the whole list, not
/// three per entry.
async fn hydrate(
    db: &impl ConnectionTrait,
    rows: Vec<work_log::Model>,
) -> Result<Vec<WorkLog>, RepoError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut participants: HashMap<i64, Vec<Participant>> = HashMap::new();
    for p in work_log_participant::Entity::find()
        .filter(work_log_participant::Column::WorkLogId.is_in(ids.clone()))
        .order_by_asc(work_log_participant::Column::Id)
        .all(db)
        .await?
    {
        let bad = |e| corrupt("work_log_participant", p.id)(e);
        let participant = match (p.user_id, p.name.as_deref()) {
            (Some(user), _) => Participant::Staff(UserId::new(user).map_err(bad)?),
            (None, Some(name)) => Participant::Named(Name::parse(name).map_err(bad)?),
            (None, None) => {
                return Err(bad(whistle_domain::ValueError::new(
                    "participant",
                    "neither an account nor a name",
                )));
            }
        };
        participants
            .entry(p.work_log_id)
            .or_default()
            .push(participant);
    }
    let mut cases: HashMap<i64, Vec<CaseId>> = HashMap::new();
    for l in work_log_case::Entity::find()
        .filter(work_log_case::Column::WorkLogId.is_in(ids.clone()))
        .order_by_asc(work_log_case::Column::CaseId)
        .all(db)
        .await?
    {
        let id = CaseId::new(l.case_id).map_err(corrupt("work_log_case", l.work_log_id))?;
        cases.entry(l.work_log_id).or_default().push(id);
    }
    let mut merchants: HashMap<i64, Vec<MerchantId>> = HashMap::new();
    for l in work_log_merchant::Entity::find()
        .filter(work_log_merchant::Column::WorkLogId.is_in(ids))
        .order_by_asc(work_log_merchant::Column::MerchantId)
        .all(db)
        .await?
    {
        let id =
            MerchantId::new(l.merchant_id).map_err(corrupt("work_log_merchant", l.work_log_id))?;
        merchants.entry(l.work_log_id).or_default().push(id);
    }
    rows.iter()
        .map(|row| {
            let mut log = parse_row(row)?;
            log.participants = participants.remove(&row.id).unwrap_or_default();
            log.cases = cases.remove(&row.id).unwrap_or_default();
            log.merchants = merchants.remove(&row.id).unwrap_or_default();
            Ok(log)
        })
        .collect()
}

/// Stores an entry with its participants and links. It takes a transaction, not any connection:
/// an entry is never visible without its links.
pub async fn insert(txn: &DatabaseTransaction, new: &NewWorkLog) -> Result<WorkLog, RepoError> {
    let row = work_log::ActiveModel {
        officer_id: Set(new.officer.get()),
        activity: Set(new.activity.as_str().to_owned()),
        class: Set(new.classification.class.as_str().to_owned()),
        class_overridden: Set(new.classification.overridden),
        started_at: Set(new.span.started_at().fixed_offset()),
        ended_at: Set(new.span.ended_at().fixed_offset()),
        minutes: Set(i32::try_from(new.span.minutes()).unwrap_or(i32::MAX)),
        community_id: Set(new.area.community.get()),
        street_id: Set(new.area.street.get()),
        district_id: Set(new.area.district.get()),
        grid_id: Set(new.grid.map(GridId::get)),
        lat: Set(new.point.map(Coordinate::lat)),
        lon: Set(new.point.map(Coordinate::lon)),
        notes: Set(new.notes.as_ref().map(|n| n.as_str().to_owned())),
        created_at: Set(new.now.fixed_offset()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    for p in &new.participants {
        let (user_id, name) = match p {
            Participant::Staff(u) => (Some(u.get()), None),
            Participant::Named(n) => (None, Some(n.as_str().to_owned())),
        };
        work_log_participant::ActiveModel {
            work_log_id: Set(row.id),
            user_id: Set(user_id),
            name: Set(name),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    if !new.cases.is_empty() {
        work_log_case::Entity::insert_many(new.cases.iter().map(|c| work_log_case::ActiveModel {
            work_log_id: Set(row.id),
            case_id: Set(c.get()),
        }))
        .exec_without_returning(txn)
        .await?;
    }
    if !new.merchants.is_empty() {
        work_log_merchant::Entity::insert_many(new.merchants.iter().map(|m| {
            work_log_merchant::ActiveModel {
                work_log_id: Set(row.id),
                merchant_id: Set(m.get()),
            }
        }))
        .exec_without_returning(txn)
        .await?;
    }
    hydrate(txn, vec![row])
        .await?
        .pop()
        .ok_or(RepoError::NotFound("work log"))
}

pub async fn get(db: &impl ConnectionTrait, id: WorkLogId) -> Result<WorkLog, RepoError> {
    let row = work_log::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("work log"))?;
    hydrate(db, vec![row])
        .await?
        .pop()
        .ok_or(RepoError::NotFound("work log"))
}

/// Whose entries a caller may read at all (before filters): those in the listed areas, and their
/// own wherever they are. Empty areas and no author match nothing.
#[derive(Debug, Clone, Default)]
pub struct WorkLogVisibility {
    pub districts: Vec<i64>,
    pub streets: Vec<i64>,
    pub communities: Vec<i64>,
    pub author: Option<UserId>,
}

/// Filters of the list and the mix. The period is half-open on `started_at`: `[from, to)`.
#[derive(Debug, Clone)]
pub struct WorkLogFilter {
    pub officer: Option<UserId>,
    pub community: Option<CommunityId>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub activity: Option<Activity>,
    pub class: Option<Class721>,
}

/// Where the previous page ended, in the list's order (newest `started_at` first, then id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkLogCursor {
    pub started_at: DateTime<Utc>,
    pub id: i64,
}

fn condition(vis: &WorkLogVisibility, filter: &WorkLogFilter) -> Condition {
    let mut scope = Condition::any();
    if !vis.districts.is_empty() {
        scope = scope.add(work_log::Column::DistrictId.is_in(vis.districts.clone()));
    }
    if !vis.streets.is_empty() {
        scope = scope.add(work_log::Column::StreetId.is_in(vis.streets.clone()));
    }
    if !vis.communities.is_empty() {
        scope = scope.add(work_log::Column::CommunityId.is_in(vis.communities.clone()));
    }
    if let Some(a) = vis.author {
        scope = scope.add(work_log::Column::OfficerId.eq(a.get()));
    }
    // An empty scope matches nothing, not everything.
    scope = scope.add(Expr::value(false));
    let mut all = Condition::all()
        .add(scope)
        .add(work_log::Column::StartedAt.gte(filter.from.fixed_offset()))
        .add(work_log::Column::StartedAt.lt(filter.to.fixed_offset()));
    if let Some(o) = filter.officer {
        all = all.add(work_log::Column::OfficerId.eq(o.get()));
    }
    if let Some(c) = filter.community {
        all = all.add(work_log::Column::CommunityId.eq(c.get()));
    }
    if let Some(a) = filter.activity {
        all = all.add(work_log::Column::Activity.eq(a.as_str()));
    }
    if let Some(c) = filter.class {
        all = all.add(work_log::Column::Class.eq(c.as_str()));
    }
    all
}

/// A page of entries, newest first, and the cursor of the next page. Keyset pagination on
/// `(started_at, id)`: entries recorded meanwhile never shift what was already seen.
pub async fn list(
    db: &impl ConnectionTrait,
    vis: &WorkLogVisibility,
    filter: &WorkLogFilter,
    after: Option<WorkLogCursor>,
    limit: u64,
) -> Result<(Vec<WorkLog>, Option<WorkLogCursor>), RepoError> {
    let mut q = work_log::Entity::find().filter(condition(vis, filter));
    if let Some(c) = after {
        let at = c.started_at.fixed_offset();
        q = q.filter(
            Condition::any()
                .add(work_log::Column::StartedAt.lt(at))
                .add(
                    work_log::Column::StartedAt
                        .eq(at)
                        .and(work_log::Column::Id.lt(c.id)),
                ),
        );
    }
    let mut rows = q
        .order_by_desc(work_log::Column::StartedAt)
        .order_by_desc(work_log::Column::Id)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let list = hydrate(db, rows).await?;
    let next = if more {
        list.last().map(|l| WorkLogCursor {
            started_at: l.span.started_at(),
            id: l.id.get(),
        })
    } else {
        None
    };
    Ok((list, next))
}

/// The 721 mix of the entries matching `filter`: one `GROUP BY class` query summing counts and
/// minutes. The sum is cast to BIGINT so both databases hand back a 64-bit integer (PostgreSQL
/// would otherwise widen some sums to NUMERIC).
pub async fn mix(
    db: &impl ConnectionTrait,
    vis: &WorkLogVisibility,
    filter: &WorkLogFilter,
) -> Result<Mix, RepoError> {
    let rows: Vec<(String, i64, Option<i64>)> = work_log::Entity::find()
        .select_only()
        .column(work_log::Column::Class)
        .column_as(Expr::col(work_log::Column::Id).count(), "n")
        .column_as(
            Expr::expr(Func::cast_as(
                Func::sum(Expr::col(work_log::Column::Minutes)),
                "BIGINT",
            )),
            "minutes",
        )
        .filter(condition(vis, filter))
        .group_by(work_log::Column::Class)
        .into_tuple()
        .all(db)
        .await?;
    let parsed = rows
        .into_iter()
        .map(|(class, n, minutes)| {
            let class: Class721 = class.parse().map_err(corrupt("work_log", 0))?;
            Ok((
                class,
                u64::try_from(n).unwrap_or(0),
                u64::try_from(minutes.unwrap_or(0)).unwrap_or(0),
            ))
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    Ok(Mix::from_rows(parsed))
}

/// How many entries an officer has (the demo seeds only an officer without any).
pub async fn count_of_officer(
    db: &impl ConnectionTrait,
    officer: UserId,
) -> Result<u64, RepoError> {
    Ok(work_log::Entity::find()
        .filter(work_log::Column::OfficerId.eq(officer.get()))
        .count(db)
        .await?)
}

/// A photo of an entry (the bytes are a file named by its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkLogPhoto {
    pub id: i64,
    pub work_log_id: WorkLogId,
    pub sha256: String,
    pub mime: String,
    pub size: i64,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<work_log_photo::Model> for WorkLogPhoto {
    type Error = RepoError;

    fn try_from(m: work_log_photo::Model) -> Result<Self, RepoError> {
        Ok(WorkLogPhoto {
            id: m.id,
            work_log_id: WorkLogId::new(m.work_log_id).map_err(corrupt("work_log_photo", m.id))?,
            sha256: m.sha256,
            mime: m.mime,
            size: m.size,
            created_at: m.created_at.with_timezone(&Utc),
        })
    }
}

pub async fn add_photo(
    db: &impl ConnectionTrait,
    log: WorkLogId,
    sha256: &str,
    mime: &str,
    size: i64,
    now: DateTime<Utc>,
) -> Result<WorkLogPhoto, RepoError> {
    work_log_photo::ActiveModel {
        work_log_id: Set(log.get()),
        sha256: Set(sha256.to_owned()),
        mime: Set(mime.to_owned()),
        size: Set(size),
        created_at: Set(now.fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

pub async fn count_photos(db: &impl ConnectionTrait, log: WorkLogId) -> Result<u64, RepoError> {
    Ok(work_log_photo::Entity::find()
        .filter(work_log_photo::Column::WorkLogId.eq(log.get()))
        .count(db)
        .await?)
}

/// The photo `id` of entry `log`; `NotFound` when it belongs to another entry.
pub async fn get_photo(
    db: &impl ConnectionTrait,
    log: WorkLogId,
    id: i64,
) -> Result<WorkLogPhoto, RepoError> {
    work_log_photo::Entity::find_by_id(id)
        .filter(work_log_photo::Column::WorkLogId.eq(log.get()))
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("work log photo"))?
        .try_into()
}

/// The photos of several entries, oldest first, in one query.
pub async fn photos_of(
    db: &impl ConnectionTrait,
    logs: &[WorkLogId],
) -> Result<Vec<WorkLogPhoto>, RepoError> {
    if logs.is_empty() {
        return Ok(Vec::new());
    }
    work_log_photo::Entity::find()
        .filter(work_log_photo::Column::WorkLogId.is_in(logs.iter().map(|l| l.get())))
        .order_by_asc(work_log_photo::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(WorkLogPhoto::try_from)
        .collect()
}
