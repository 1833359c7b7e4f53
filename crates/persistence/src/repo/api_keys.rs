//! API keys of client applications (Open311). Only the key's SHA-256 is stored; revoked keys stay,
//! so the cases their client submitted still name it.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use whistle_domain::ids::UserId;
use whistle_domain::text::Name;

use crate::entities::api_key;
use crate::error::{RepoError, corrupt};

/// A client application's key, as stored (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: i64,
    /// The client application.
    pub name: Name,
    /// The first characters of the key, to tell keys apart.
    pub hint: String,
    /// The admin who issued it; `None` when issued from the command line.
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

impl TryFrom<api_key::Model> for ApiKey {
    type Error = RepoError;

    fn try_from(m: api_key::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("api_key", m.id)(e);
        Ok(ApiKey {
            id: m.id,
            name: Name::parse(&m.name).map_err(bad)?,
            hint: m.hint,
            created_by: m.created_by.map(UserId::new).transpose().map_err(bad)?,
            created_at: m.created_at.with_timezone(&Utc),
            revoked_at: m.revoked_at.map(|t| t.with_timezone(&Utc)),
            last_used_at: m.last_used_at.map(|t| t.with_timezone(&Utc)),
        })
    }
}

/// Stores a new key by its hash.
pub async fn insert(
    db: &impl ConnectionTrait,
    name: &Name,
    key_hash: &str,
    hint: &str,
    created_by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<ApiKey, RepoError> {
    api_key::ActiveModel {
        name: Set(name.as_str().to_owned()),
        key_hash: Set(key_hash.to_owned()),
        hint: Set(hint.to_owned()),
        created_by: Set(created_by.map(UserId::get)),
        created_at: Set(now.fixed_offset()),
        revoked_at: Set(None),
        last_used_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?
    .try_into()
}

/// Every key, oldest first (a city has a handful of client applications).
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ApiKey>, RepoError> {
    api_key::Entity::find()
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(ApiKey::try_from)
        .collect()
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<ApiKey, RepoError> {
    api_key::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("api key"))?
        .try_into()
}

/// The unrevoked key with this hash, if any.
pub async fn find_active(
    db: &impl ConnectionTrait,
    key_hash: &str,
) -> Result<Option<ApiKey>, RepoError> {
    api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(key_hash))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .map(ApiKey::try_from)
        .transpose()
}

/// Revokes a key. Returns the key and whether this call revoked it (`false`: it already was);
/// a revoked key is never un-revoked.
pub async fn revoke(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(ApiKey, bool), RepoError> {
    let res = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(now.fixed_offset()))
        .filter(api_key::Column::Id.eq(id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok((get(db, id).await?, res.rows_affected == 1))
}

/// Notes that the key was used just now.
pub async fn touch(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Expr::value(now.fixed_offset()))
        .filter(api_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
