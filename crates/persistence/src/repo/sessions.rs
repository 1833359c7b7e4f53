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
    /// When the login that began the family happened (`None` for tokens stored before this
    /// was kept: then the family's first row is as good as unknown).
    pub started_at: Option<DateTime<Utc>>,
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
            started_at: m.started_at.map(|t| t.with_timezone(&Utc)),
        })
    }
}

/// A refresh token to store: the first of a login's family, or the next one of a refresh.
#[derive(Debug, Clone)]
pub struct NewRefreshToken<'a> {
    pub user_id: UserId,
    pub family_id: &'a str,
    pub token_hash: &'a str,
    pub expires_at: DateTime<Utc>,
    /// When the family's login happened.
    pub started_at: DateTime<Utc>,
    /// The client program (its `User-Agent`, clipped) and address that asked for the token.
    pub user_agent: Option<&'a str>,
    pub client_ip: Option<&'a str>,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    new: &NewRefreshToken<'_>,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let clip = |s: &str, n: usize| -> String {
        s.chars()
            .take(n)
            .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
            .collect()
    };
    refresh_token::ActiveModel {
        user_id: Set(new.user_id.get()),
        family_id: Set(new.family_id.to_owned()),
        token_hash: Set(new.token_hash.to_owned()),
        created_at: Set(now.fixed_offset()),
        expires_at: Set(new.expires_at.fixed_offset()),
        started_at: Set(Some(new.started_at.fixed_offset())),
        user_agent: Set(new.user_agent.map(|u| clip(u, 200))),
        client_ip: Set(new.client_ip.map(|i| clip(i, 64))),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A live session as its owner sees it: a login's family through its one live token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// The family id, which names the session.
    pub id: String,
    pub started_at: DateTime<Utc>,
    /// When the live token was issued: the login, or the last refresh.
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub client_ip: Option<String>,
}

/// The account's sessions that can still be refreshed, most recently used first.
pub async fn list_live(
    db: &impl ConnectionTrait,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Result<Vec<LiveSession>, RepoError> {
    use sea_orm::QueryOrder;
    let rows = refresh_token::Entity::find()
        .filter(refresh_token::Column::UserId.eq(user_id.get()))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now.fixed_offset()))
        .order_by_desc(refresh_token::Column::CreatedAt)
        .order_by_desc(refresh_token::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| LiveSession {
            started_at: m.started_at.unwrap_or(m.created_at).with_timezone(&Utc),
            last_used_at: m.created_at.with_timezone(&Utc),
            expires_at: m.expires_at.with_timezone(&Utc),
            id: m.family_id,
            user_agent: m.user_agent,
            client_ip: m.client_ip,
        })
        .collect())
}

/// Ends one session of an account: revokes its family's live tokens, only if the family is the
/// account's. Returns how many tokens it revoked (0: no such live session of this account).
pub async fn revoke_session(
    db: &impl ConnectionTrait,
    user_id: UserId,
    family_id: &str,
    now: DateTime<Utc>,
) -> Result<u64, RepoError> {
    let res = refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::RevokedAt,
            Expr::value(now.fixed_offset()),
        )
        .filter(refresh_token::Column::UserId.eq(user_id.get()))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Whether the account has a session with this id that can still be refreshed.
pub async fn is_live(
    db: &impl ConnectionTrait,
    user_id: UserId,
    family_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, RepoError> {
    use sea_orm::PaginatorTrait;
    Ok(refresh_token::Entity::find()
        .filter(refresh_token::Column::UserId.eq(user_id.get()))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now.fixed_offset()))
        .count(db)
        .await?
        > 0)
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
