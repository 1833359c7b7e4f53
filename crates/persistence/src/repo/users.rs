//! Accounts and officer records.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use whistle_domain::ids::{OfficerId, UserId};
use whistle_domain::jurisdiction::{Area, AreaLevel, Jurisdiction};
use whistle_domain::people::Role;
use whistle_domain::people::{BadgeNumber, NewUser, Officer, PhoneNumber, User, Username};
use whistle_domain::text::Name;

use super::{Page, PageRequest};
use crate::entities::{community, district, officer, street, user_area, users};
use crate::error::{RepoError, corrupt};

impl TryFrom<users::Model> for User {
    type Error = RepoError;

    fn try_from(m: users::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("users", m.id)(e);
        Ok(User {
            id: UserId::new(m.id).map_err(bad)?,
            username: Username::parse(&m.username).map_err(bad)?,
            display_name: Name::parse(&m.display_name).map_err(bad)?,
            phone: m
                .phone
                .as_deref()
                .map(PhoneNumber::parse)
                .transpose()
                .map_err(bad)?,
            role: m.role.parse().map_err(bad)?,
            disabled: m.disabled,
        })
    }
}

impl TryFrom<officer::Model> for Officer {
    type Error = RepoError;

    fn try_from(m: officer::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("officer", m.id)(e);
        Ok(Officer {
            id: OfficerId::new(m.id).map_err(bad)?,
            user_id: UserId::new(m.user_id).map_err(bad)?,
            badge_number: BadgeNumber::parse(&m.badge_number).map_err(bad)?,
            squad: m
                .squad
                .as_deref()
                .map(Name::parse)
                .transpose()
                .map_err(bad)?,
        })
    }
}

/// The officer record to create with an officer's or leader's account.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOfficer {
    pub badge_number: BadgeNumber,
    pub squad: Option<Name>,
}

/// A stored account with its password hash, for login and password changes.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
    /// An admin reset the password: it must be changed before anything else.
    pub must_change_password: bool,
}

impl TryFrom<users::Model> for UserCredentials {
    type Error = RepoError;

    fn try_from(row: users::Model) -> Result<Self, RepoError> {
        let password_hash = row.password_hash.clone();
        let must_change_password = row.must_change_password;
        Ok(UserCredentials {
            user: row.try_into()?,
            password_hash,
            must_change_password,
        })
    }
}

/// Creates an account (and its officer record). Run it in a transaction when `officer` is given,
/// so that a refused badge number leaves no account behind. A taken username, phone or badge
/// number is a `RepoError::Conflict`.
pub async fn create_user(
    db: &impl ConnectionTrait,
    new: &NewUser,
    password_hash: String,
    officer: Option<&NewOfficer>,
    now: DateTime<Utc>,
) -> Result<(User, Option<Officer>), RepoError> {
    let now = now.fixed_offset();
    let user: User = users::ActiveModel {
        username: Set(new.username.as_str().to_owned()),
        display_name: Set(new.display_name.as_str().to_owned()),
        phone: Set(new.phone.as_ref().map(|p| p.as_str().to_owned())),
        role: Set(new.role.as_str().to_owned()),
        password_hash: Set(password_hash),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()?;
    let officer = match officer {
        None => None,
        Some(o) => Some(
            officer::ActiveModel {
                user_id: Set(user.id.get()),
                badge_number: Set(o.badge_number.as_str().to_owned()),
                squad: Set(o.squad.as_ref().map(|s| s.as_str().to_owned())),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?
            .try_into()?,
        ),
    };
    Ok((user, officer))
}

pub async fn find_by_username(
    db: &impl ConnectionTrait,
    username: &Username,
) -> Result<Option<UserCredentials>, RepoError> {
    users::Entity::find()
        .filter(users::Column::Username.eq(username.as_str()))
        .one(db)
        .await?
        .map(UserCredentials::try_from)
        .transpose()
}

/// The account with this id and its password hash.
pub async fn credentials(
    db: &impl ConnectionTrait,
    id: UserId,
) -> Result<UserCredentials, RepoError> {
    users::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("user"))?
        .try_into()
}

pub async fn get_user(db: &impl ConnectionTrait, id: UserId) -> Result<User, RepoError> {
    users::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("user"))?
        .try_into()
}

/// The accounts among `ids` that exist, in one query (ids that name no account are left out).
pub async fn get_users(db: &impl ConnectionTrait, ids: &[UserId]) -> Result<Vec<User>, RepoError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    users::Entity::find()
        .filter(users::Column::Id.is_in(ids.iter().map(|id| id.get())))
        .all(db)
        .await?
        .into_iter()
        .map(User::try_from)
        .collect()
}

pub async fn officer_of_user(
    db: &impl ConnectionTrait,
    id: UserId,
) -> Result<Option<Officer>, RepoError> {
    officer::Entity::find()
        .filter(officer::Column::UserId.eq(id.get()))
        .one(db)
        .await?
        .map(Officer::try_from)
        .transpose()
}

/// Replaces an account's password hash and whether it must be changed at the next login (set by
/// an admin's reset, cleared by the owner's change).
pub async fn set_password(
    db: &impl ConnectionTrait,
    id: UserId,
    password_hash: String,
    must_change: bool,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let res = users::Entity::update_many()
        .col_expr(users::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(users::Column::MustChangePassword, Expr::value(must_change))
        .col_expr(users::Column::UpdatedAt, Expr::value(now.fixed_offset()))
        .filter(users::Column::Id.eq(id.get()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(RepoError::NotFound("user"));
    }
    Ok(())
}

/// The stored areas of an account, checked against its role.
pub async fn jurisdiction_of(
    db: &impl ConnectionTrait,
    id: UserId,
    role: Role,
) -> Result<Jurisdiction, RepoError> {
    let rows = user_area::Entity::find()
        .filter(user_area::Column::UserId.eq(id.get()))
        .all(db)
        .await?;
    let areas = rows
        .iter()
        .map(|r| {
            r.level
                .parse::<AreaLevel>()
                .and_then(|level| Area::new(level, r.area_id))
                .map_err(corrupt("user_area", r.id))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Jurisdiction::for_role(role, areas).map_err(corrupt("users", id.get()))
}

/// Replaces an account's areas. Every area must exist (`RepoError::Reference` naming the first
/// that does not). Run in a transaction with any role change.
pub async fn set_jurisdiction(
    db: &impl ConnectionTrait,
    id: UserId,
    jurisdiction: &Jurisdiction,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    for area in jurisdiction.areas() {
        let exists = match area {
            Area::District(d) => district::Entity::find_by_id(d.get())
                .one(db)
                .await?
                .is_some(),
            Area::Street(s) => street::Entity::find_by_id(s.get()).one(db).await?.is_some(),
            Area::Community(c) => community::Entity::find_by_id(c.get())
                .one(db)
                .await?
                .is_some(),
        };
        if !exists {
            return Err(RepoError::Reference(format!(
                "{} {} does not exist",
                area.level(),
                area.id()
            )));
        }
    }
    user_area::Entity::delete_many()
        .filter(user_area::Column::UserId.eq(id.get()))
        .exec(db)
        .await?;
    let now = now.fixed_offset();
    for area in jurisdiction.areas() {
        user_area::ActiveModel {
            user_id: Set(id.get()),
            level: Set(area.level().as_str().to_owned()),
            area_id: Set(area.id()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Changes an account's role. The caller clears or replaces the jurisdiction in the same
/// transaction, since what an account may hold depends on its role.
pub async fn set_role(
    db: &impl ConnectionTrait,
    id: UserId,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let res = users::Entity::update_many()
        .col_expr(users::Column::Role, Expr::value(role.as_str()))
        .col_expr(users::Column::UpdatedAt, Expr::value(now.fixed_offset()))
        .filter(users::Column::Id.eq(id.get()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(RepoError::NotFound("user"));
    }
    Ok(())
}

pub async fn set_disabled(
    db: &impl ConnectionTrait,
    id: UserId,
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let res = users::Entity::update_many()
        .col_expr(users::Column::Disabled, Expr::value(disabled))
        .col_expr(users::Column::UpdatedAt, Expr::value(now.fixed_offset()))
        .filter(users::Column::Id.eq(id.get()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(RepoError::NotFound("user"));
    }
    Ok(())
}

/// Ends the account's access tokens issued before `at`: API processes refuse them from their
/// next request on (the API keeps the recent cutoffs in memory, see `sessions_ended_since`).
/// Refresh tokens are untouched; `sessions::revoke_user` ends those as well.
pub async fn end_access_tokens(
    db: &impl ConnectionTrait,
    id: UserId,
    at: DateTime<Utc>,
) -> Result<(), RepoError> {
    let res = users::Entity::update_many()
        .col_expr(
            users::Column::SessionsValidAfter,
            Expr::value(at.fixed_offset()),
        )
        .filter(users::Column::Id.eq(id.get()))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(RepoError::NotFound("user"));
    }
    Ok(())
}

/// Accounts whose access tokens were ended after `since`, with the instant (through
/// `idx_users_sessions_valid_after`; only recent cutoffs matter, older tokens have expired).
pub async fn sessions_ended_since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<(UserId, DateTime<Utc>)>, RepoError> {
    let rows: Vec<(i64, Option<sea_orm::prelude::DateTimeWithTimeZone>)> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::SessionsValidAfter)
        .filter(users::Column::SessionsValidAfter.gt(since.fixed_offset()))
        .into_tuple()
        .all(db)
        .await?;
    rows.into_iter()
        .filter_map(|(id, at)| at.map(|at| (id, at)))
        .map(|(id, at)| {
            Ok((
                UserId::new(id).map_err(corrupt("users", id))?,
                at.with_timezone(&Utc),
            ))
        })
        .collect()
}

/// Gives an account an officer record if it has none (on a change of role to officer or leader).
pub async fn ensure_officer(
    db: &impl ConnectionTrait,
    id: UserId,
    new: &NewOfficer,
    now: DateTime<Utc>,
) -> Result<Officer, RepoError> {
    if let Some(found) = officer_of_user(db, id).await? {
        return Ok(found);
    }
    officer::ActiveModel {
        user_id: Set(id.get()),
        badge_number: Set(new.badge_number.as_str().to_owned()),
        squad: Set(new.squad.as_ref().map(|s| s.as_str().to_owned())),
        created_at: Set(now.fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

/// A page of accounts in id order, optionally of one role.
pub async fn list_users(
    db: &impl ConnectionTrait,
    role: Option<Role>,
    page: PageRequest,
) -> Result<Page<User>, RepoError> {
    let mut q = users::Entity::find().order_by_asc(users::Column::Id);
    if let Some(after) = page.after {
        q = q.filter(users::Column::Id.gt(after));
    }
    if let Some(role) = role {
        q = q.filter(users::Column::Role.eq(role.as_str()));
    }
    let rows = q.limit(page.limit + 1).all(db).await?;
    let users = rows
        .into_iter()
        .map(User::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_overfetch(users, page.limit, |u| u.id.get()))
}
