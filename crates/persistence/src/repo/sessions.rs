//! Refresh tokens, stored as hashes, grouped in families (one family per login).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use whistle_domain::ids::UserId;

use crate::entities::refresh_token;
use crate::error::{RepoError, corrupt};

/// A stored refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub id: i64,
    pub user_id: UserId,
    pub family_id: String,
    pub expires_at: DateTime<Utc>,
    /// Set once the token was exchanged for a new one; presenting it again is reuse.
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TryFrom<refresh_token::Model> for RefreshRecord {
    type Error = RepoError;

    fn try_from(m: refresh_token::Model) -> Result<Self, RepoError> {
        Ok(RefreshRecord {
            id: m.id,
            user_id: UserId::new(m.user_id).map_err(corrupt("refresh_token", m.id))?,
            family_id: m.family_id,
            expires_at: m.expires_at.with_timezone(&Utc),
            rotated_at: m.rotated_at.map(|t| t.with_timezone(&Utc)),
            revoked_at: m.revoked_at.map(|t| t.with_timezone(&Utc)),
        })
    }
}

pub async fn insert(
    db: &impl ConnectionTrait,
    user_id: UserId,
    family_id: &str,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), RepoError> {
    refresh_token::ActiveModel {
        user_id: Set(user_id.get()),
        family_id: Set(family_id.to_owned()),
        token_hash: Set(token_hash.to_owned()),
        created_at: Set(Utc::now().fixed_offset()),
        expires_at: Set(expires_at.fixed_offset()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn find_by_hash(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<RefreshRecord>, RepoError> {
    refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(token_hash))
        .one(db)
        .await?
        .map(RefreshRecord::try_from)
        .transpose()
}

/// Marks the token as exchanged, only if it is still live. Returns false when another request
/// rotated or revoked it first: two concurrent refreshes with one token cannot both succeed.
pub async fn mark_rotated(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let res = refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RotatedAt,
            Expr::value(now.fixed_offset()),
        )
        .filter(refresh_token::Column::Id.eq(id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Revokes every live token of a family (logout, or reuse of a rotated token).
pub async fn revoke_family(
    db: &impl ConnectionTrait,
    family_id: &str,
    now: DateTime<Utc>,
) -> Result<u64, RepoError> {
    let res = refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            Expr::value(now.fixed_offset()),
        )
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Revokes every live token of an account (disabled, role changed): its refresh tokens, and
/// its access tokens issued before `now` (`users::end_access_tokens`).
pub async fn revoke_user(
    db: &impl ConnectionTrait,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<u64, RepoError> {
    crate::repo::users::end_access_tokens(db, user_id, now).await?;
    let res = refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            Expr::value(now.fixed_offset()),
        )
        .filter(refresh_token::Column::UserId.eq(user_id.get()))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Live tokens of an account (not rotated, not revoked, not expired).
pub async fn count_live(
    db: &impl ConnectionTrait,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<u64, RepoError> {
    use sea_orm::PaginatorTrait;
    Ok(refresh_token::Entity::find()
        .filter(refresh_token::Column::UserId.eq(user_id.get()))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now.fixed_offset()))
        .count(db)
        .await?)
}
