//! Stationing (派驻), partner organisations (物业公司, 业委会) and officers' portraits.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use whistle_domain::ValueError;
use whistle_domain::ids::{CommunityId, UserId};
use whistle_domain::stationing::{OrganisationKind, Period};

use crate::entities::{officer, organisation, organisation_member, stationing, users};
use crate::error::{RepoError, corrupt};

pub(crate) fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_day(raw: &str) -> Result<NaiveDate, ValueError> {
    raw.parse()
        .map_err(|_| ValueError::new("date", "must be YYYY-MM-DD"))
}

/// An officer's posting to a community.
#[derive(Debug, Clone, PartialEq)]
pub struct Stationing {
    pub id: i64,
    pub officer_id: UserId,
    pub community_id: CommunityId,
    /// What the officer does there (e.g. 巡查、宣传、受理居民诉求).
    pub duties: Option<String>,
    /// Which matters the officer may enforce (执法范围).
    pub enforcement_scope: Option<String>,
    pub office_hours: Option<String>,
    /// The number printed on the contact card; the account's phone when absent.
    pub contact_phone: Option<String>,
    pub period: Period,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<stationing::Model> for Stationing {
    type Error = RepoError;

    fn try_from(m: stationing::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("stationing", m.id)(e);
        let starts = parse_day(&m.starts_on).map_err(bad)?;
        let ends = m
            .ends_on
            .as_deref()
            .map(parse_day)
            .transpose()
            .map_err(bad)?;
        Ok(Stationing {
            id: m.id,
            officer_id: UserId::new(m.officer_id).map_err(bad)?,
            community_id: CommunityId::new(m.community_id).map_err(bad)?,
            duties: m.duties,
            enforcement_scope: m.enforcement_scope,
            office_hours: m.office_hours,
            contact_phone: m.contact_phone,
            period: Period::new(starts, ends).map_err(bad)?,
            created_at: m.created_at.with_timezone(&Utc),
        })
    }
}

/// A stationing to record.
#[derive(Debug, Clone)]
pub struct NewStationing {
    pub officer_id: UserId,
    pub community_id: CommunityId,
    pub duties: Option<String>,
    pub enforcement_scope: Option<String>,
    pub office_hours: Option<String>,
    pub contact_phone: Option<String>,
    pub period: Period,
    pub created_by: Option<UserId>,
}

/// Takes the officer's row lock for the rest of the transaction (a no-op update): concurrent
/// stationings of one officer serialise here, so the overlap check that follows cannot race.
/// On SQLite the write also starts the transaction as a writer.
pub async fn lock_officer(db: &impl ConnectionTrait, officer_id: UserId) -> Result<(), RepoError> {
    let res = officer::Entity::update_many()
        .col_expr(
            officer::Column::BadgeNumber,
            Expr::col(officer::Column::BadgeNumber),
        )
        .filter(officer::Column::UserId.eq(officer_id.get()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(RepoError::NotFound("officer"));
    }
    Ok(())
}

/// Every stationing of one officer, oldest first.
pub async fn of_officer(
    db: &impl ConnectionTrait,
    officer_id: UserId,
) -> Result<Vec<Stationing>, RepoError> {
    stationing::Entity::find()
        .filter(stationing::Column::OfficerId.eq(officer_id.get()))
        .order_by_asc(stationing::Column::StartsOn)
        .order_by_asc(stationing::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Stationing::try_from)
        .collect()
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: &NewStationing,
    now: DateTime<Utc>,
) -> Result<Stationing, RepoError> {
    let now = now.fixed_offset();
    stationing::ActiveModel {
        officer_id: Set(new.officer_id.get()),
        community_id: Set(new.community_id.get()),
        duties: Set(new.duties.clone()),
        enforcement_scope: Set(new.enforcement_scope.clone()),
        office_hours: Set(new.office_hours.clone()),
        contact_phone: Set(new.contact_phone.clone()),
        starts_on: Set(day(new.period.starts_on())),
        ends_on: Set(new.period.ends_on().map(day)),
        created_by: Set(new.created_by.map(UserId::get)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<Stationing, RepoError> {
    stationing::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("stationing"))?
        .try_into()
}

/// Sets the last day of a stationing.
pub async fn set_period(
    db: &impl ConnectionTrait,
    id: i64,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Stationing, RepoError> {
    stationing::ActiveModel {
        id: Set(id),
        ends_on: Set(period.ends_on().map(day)),
        updated_at: Set(now.fixed_offset()),
        ..Default::default()
    }
    .update(db)
    .await?
    .try_into()
}

/// A community's stationings: those running on `on` when given, else the whole history (newest
/// first).
pub async fn of_community(
    db: &impl ConnectionTrait,
    community: CommunityId,
    on: Option<NaiveDate>,
) -> Result<Vec<Stationing>, RepoError> {
    let mut q =
        stationing::Entity::find().filter(stationing::Column::CommunityId.eq(community.get()));
    if let Some(on) = on {
        let d = day(on);
        q = q
            .filter(stationing::Column::StartsOn.lte(d.as_str()))
            .filter(
                Condition::any()
                    .add(stationing::Column::EndsOn.is_null())
                    .add(stationing::Column::EndsOn.gte(d.as_str())),
            )
            .order_by_asc(stationing::Column::StartsOn);
    } else {
        q = q.order_by_desc(stationing::Column::StartsOn);
    }
    q.order_by_asc(stationing::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Stationing::try_from)
        .collect()
}

/// An officer as shown on a contact card.
#[derive(Debug, Clone, PartialEq)]
pub struct CardOfficer {
    pub user_id: UserId,
    pub name: String,
    pub badge_number: String,
    pub phone: Option<String>,
    pub has_photo: bool,
    pub disabled: bool,
}

/// The account and officer record of each stationed officer (in the order given).
pub async fn card_officers(
    db: &impl ConnectionTrait,
    ids: &[UserId],
) -> Result<Vec<CardOfficer>, RepoError> {
    let raw: Vec<i64> = ids.iter().map(|i| i.get()).collect();
    let accounts = users::Entity::find()
        .filter(users::Column::Id.is_in(raw.clone()))
        .all(db)
        .await?;
    let officers = officer::Entity::find()
        .filter(officer::Column::UserId.is_in(raw))
        .all(db)
        .await?;
    let mut out = Vec::new();
    for id in ids {
        let Some(a) = accounts.iter().find(|a| a.id == id.get()) else {
            continue;
        };
        let o = officers.iter().find(|o| o.user_id == id.get());
        out.push(CardOfficer {
            user_id: *id,
            name: a.display_name.clone(),
            badge_number: o.map(|o| o.badge_number.clone()).unwrap_or_default(),
            phone: a.phone.clone(),
            has_photo: o.is_some_and(|o| o.photo_sha256.is_some()),
            disabled: a.disabled,
        });
    }
    Ok(out)
}

/// Sets an officer's portrait.
pub async fn set_officer_photo(
    db: &impl ConnectionTrait,
    officer_id: UserId,
    sha256: &str,
    mime: &str,
) -> Result<(), RepoError> {
    let res = officer::Entity::update_many()
        .col_expr(officer::Column::PhotoSha256, Expr::value(sha256))
        .col_expr(officer::Column::PhotoMime, Expr::value(mime))
        .filter(officer::Column::UserId.eq(officer_id.get()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(RepoError::NotFound("officer"));
    }
    Ok(())
}

/// The portrait's SHA-256 and MIME type, if there is one.
pub async fn officer_photo(
    db: &impl ConnectionTrait,
    officer_id: UserId,
) -> Result<Option<(String, String)>, RepoError> {
    let o = officer::Entity::find()
        .filter(officer::Column::UserId.eq(officer_id.get()))
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("officer"))?;
    Ok(o.photo_sha256.zip(o.photo_mime))
}

// ---- partner organisations ------------------------------------------------------------------

/// A property company (物业公司) or homeowners' committee (业委会) serving a community.
#[derive(Debug, Clone, PartialEq)]
pub struct Organisation {
    pub id: i64,
    pub kind: OrganisationKind,
    pub name: String,
    pub community_id: CommunityId,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<organisation::Model> for Organisation {
    type Error = RepoError;

    fn try_from(m: organisation::Model) -> Result<Self, RepoError> {
        Ok(Organisation {
            community_id: CommunityId::new(m.community_id)
                .map_err(corrupt("organisation", m.id))?,
            id: m.id,
            kind: OrganisationKind::parse(&m.kind).map_err(corrupt("organisation", m.id))?,
            name: m.name,
            contact_name: m.contact_name,
            contact_phone: m.contact_phone,
            created_at: m.created_at.with_timezone(&Utc),
        })
    }
}

pub async fn insert_organisation(
    db: &impl ConnectionTrait,
    kind: OrganisationKind,
    name: &str,
    community: CommunityId,
    contact_name: Option<&str>,
    contact_phone: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Organisation, RepoError> {
    organisation::ActiveModel {
        kind: Set(kind.as_str().to_owned()),
        name: Set(name.to_owned()),
        community_id: Set(community.get()),
        contact_name: Set(contact_name.map(str::to_owned)),
        contact_phone: Set(contact_phone.map(str::to_owned)),
        created_at: Set(now.fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

pub async fn get_organisation(
    db: &impl ConnectionTrait,
    id: i64,
) -> Result<Organisation, RepoError> {
    organisation::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("organisation"))?
        .try_into()
}

/// Organisations, optionally of one community, by id.
pub async fn list_organisations(
    db: &impl ConnectionTrait,
    community: Option<CommunityId>,
) -> Result<Vec<Organisation>, RepoError> {
    let mut q = organisation::Entity::find();
    if let Some(c) = community {
        q = q.filter(organisation::Column::CommunityId.eq(c.get()));
    }
    q.order_by_asc(organisation::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Organisation::try_from)
        .collect()
}

/// Makes `user` a member of `org` (moving them if they belonged to another).
pub async fn set_member(
    db: &impl ConnectionTrait,
    org: i64,
    user: UserId,
) -> Result<(), RepoError> {
    organisation_member::Entity::delete_many()
        .filter(organisation_member::Column::UserId.eq(user.get()))
        .exec(db)
        .await?;
    organisation_member::ActiveModel {
        user_id: Set(user.get()),
        organisation_id: Set(org),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The member accounts of an organisation.
pub async fn members(db: &impl ConnectionTrait, org: i64) -> Result<Vec<UserId>, RepoError> {
    organisation_member::Entity::find()
        .filter(organisation_member::Column::OrganisationId.eq(org))
        .order_by_asc(organisation_member::Column::UserId)
        .all(db)
        .await?
        .into_iter()
        .map(|m| UserId::new(m.user_id).map_err(corrupt("organisation_member", m.user_id)))
        .collect()
}

/// The organisation a partner account belongs to.
pub async fn organisation_of(
    db: &impl ConnectionTrait,
    user: UserId,
) -> Result<Option<Organisation>, RepoError> {
    let Some(m) = organisation_member::Entity::find_by_id(user.get())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    get_organisation(db, m.organisation_id).await.map(Some)
}

/// An enabled officer as the stationing picker lists him: who he is and where he serves today.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryOfficer {
    pub user_id: UserId,
    pub name: String,
    pub badge_number: String,
    pub squad: Option<String>,
    /// The community of his stationing running on the day asked about.
    pub stationed_in: Option<CommunityId>,
}

/// Enabled officers whose name or badge number contains `text` (all when `None`), by badge
/// number, at most `limit`; each with the community he is stationed in on `on`.
pub async fn officer_directory(
    db: &impl ConnectionTrait,
    text: Option<&str>,
    on: NaiveDate,
    limit: u64,
) -> Result<Vec<DirectoryOfficer>, RepoError> {
    use sea_orm::QuerySelect;
    let mut q = officer::Entity::find()
        .find_also_related(users::Entity)
        .filter(users::Column::Role.eq("officer"))
        .filter(users::Column::Disabled.eq(false));
    if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
        q = q.filter(
            Condition::any()
                .add(users::Column::DisplayName.contains(t))
                .add(officer::Column::BadgeNumber.contains(t)),
        );
    }
    let rows = q
        .order_by_asc(officer::Column::BadgeNumber)
        .limit(limit)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|(o, _)| o.user_id).collect();
    let d = day(on);
    let running = stationing::Entity::find()
        .filter(stationing::Column::OfficerId.is_in(ids))
        .filter(stationing::Column::StartsOn.lte(d.as_str()))
        .filter(
            Condition::any()
                .add(stationing::Column::EndsOn.is_null())
                .add(stationing::Column::EndsOn.gte(d.as_str())),
        )
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (o, account) in rows {
        let Some(account) = account else { continue };
        let stationed_in = running
            .iter()
            .find(|s| s.officer_id == o.user_id)
            .map(|s| CommunityId::new(s.community_id))
            .transpose()
            .map_err(corrupt("stationing", o.user_id))?;
        out.push(DirectoryOfficer {
            user_id: UserId::new(account.id).map_err(corrupt("users", account.id))?,
            name: account.display_name,
            badge_number: o.badge_number,
            squad: o.squad,
            stationed_in,
        });
    }
    Ok(out)
}
