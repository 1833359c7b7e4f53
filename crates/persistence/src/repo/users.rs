//! Accounts and officer records.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use whistle_domain::ids::{OfficerId, UserId};
use whistle_domain::people::{BadgeNumber, NewUser, Officer, PhoneNumber, User, Username};
use whistle_domain::text::Name;

use crate::entities::{officer, users};
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

/// A stored account with its password hash, for login.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

/// Creates an account (and its officer record). Run it in a transaction when `officer` is given,
/// so that a refused badge number leaves no account behind. A taken username, phone or badge
/// number is a `RepoError::Conflict`.
pub async fn create_user(
    db: &impl ConnectionTrait,
    new: &NewUser,
    password_hash: String,
    officer: Option<&NewOfficer>,
) -> Result<(User, Option<Officer>), RepoError> {
    let now = Utc::now().fixed_offset();
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
    let Some(row) = users::Entity::find()
        .filter(users::Column::Username.eq(username.as_str()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let password_hash = row.password_hash.clone();
    Ok(Some(UserCredentials {
        user: row.try_into()?,
        password_hash,
    }))
}

pub async fn get_user(db: &impl ConnectionTrait, id: UserId) -> Result<User, RepoError> {
    users::Entity::find_by_id(id.get())
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("user"))?
        .try_into()
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
