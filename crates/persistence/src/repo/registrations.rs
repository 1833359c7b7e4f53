//! Registrations waiting for their SMS code: one per phone, replaced by each new request,
//! removed when the code is verified, void after too many wrong codes or when it runs out.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use whistle_domain::ids::UserId;
use whistle_domain::people::PhoneNumber;
use whistle_domain::text::Name;

use crate::entities::{pending_registration, users};
use crate::error::{RepoError, corrupt};

/// A registration to store.
#[derive(Debug, Clone)]
pub struct NewPendingRegistration {
    pub phone: PhoneNumber,
    pub display_name: Name,
    pub password_hash: String,
    pub code_hash: String,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A stored registration.
#[derive(Clone, PartialEq)]
pub struct PendingRegistration {
    pub id: i64,
    pub phone: PhoneNumber,
    pub display_name: Name,
    pub password_hash: String,
    pub code_hash: String,
    /// Codes tried, this one included when read by [`count_attempt`].
    pub attempts: i32,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for PendingRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRegistration")
            .field("id", &self.id)
            .field("phone", &self.phone)
            .field("attempts", &self.attempts)
            .field("sent_at", &self.sent_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl TryFrom<pending_registration::Model> for PendingRegistration {
    type Error = RepoError;

    fn try_from(m: pending_registration::Model) -> Result<Self, RepoError> {
        let bad = |e| corrupt("pending_registration", m.id)(e);
        Ok(PendingRegistration {
            id: m.id,
            phone: PhoneNumber::parse(&m.phone).map_err(bad)?,
            display_name: Name::parse(&m.display_name).map_err(bad)?,
            password_hash: m.password_hash,
            code_hash: m.code_hash,
            attempts: m.attempts,
            sent_at: m.sent_at.with_timezone(&Utc),
            expires_at: m.expires_at.with_timezone(&Utc),
        })
    }
}

/// The account whose login name or phone is `phone`, if there is one: either makes the
/// phone taken.
pub async fn account_with_phone(
    db: &impl ConnectionTrait,
    phone: &PhoneNumber,
) -> Result<Option<UserId>, RepoError> {
    let id: Option<i64> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(
            Condition::any()
                .add(users::Column::Username.eq(phone.as_str()))
                .add(users::Column::Phone.eq(phone.as_str())),
        )
        .into_tuple()
        .one(db)
        .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    UserId::new(id).map(Some).map_err(corrupt("users", id))
}

/// When the SMS of the phone's stored registration was queued, if one is stored.
pub async fn last_sent(
    db: &impl ConnectionTrait,
    phone: &PhoneNumber,
) -> Result<Option<DateTime<Utc>>, RepoError> {
    let sent: Option<sea_orm::prelude::DateTimeWithTimeZone> = pending_registration::Entity::find()
        .select_only()
        .column(pending_registration::Column::SentAt)
        .filter(pending_registration::Column::Phone.eq(phone.as_str()))
        .into_tuple()
        .one(db)
        .await?;
    Ok(sent.map(|t| t.with_timezone(&Utc)))
}

/// Stores `new` in place of the phone's earlier registration (its code and its count of
/// attempts go with it), unless that one's SMS was queued after `resend_from`. Returns `false`
/// when it was, and nothing changed. One statement, so two requests racing for one phone
/// cannot both pass.
pub async fn replace(
    db: &impl ConnectionTrait,
    new: &NewPendingRegistration,
    resend_from: DateTime<Utc>,
) -> Result<bool, RepoError> {
    use pending_registration::Column as C;
    let row = pending_registration::ActiveModel {
        phone: Set(new.phone.as_str().to_owned()),
        display_name: Set(new.display_name.as_str().to_owned()),
        password_hash: Set(new.password_hash.clone()),
        code_hash: Set(new.code_hash.clone()),
        attempts: Set(0),
        sent_at: Set(new.sent_at.fixed_offset()),
        expires_at: Set(new.expires_at.fixed_offset()),
        ..Default::default()
    };
    let written = pending_registration::Entity::insert(row)
        .on_conflict(
            OnConflict::column(C::Phone)
                .update_columns([
                    C::DisplayName,
                    C::PasswordHash,
                    C::CodeHash,
                    C::Attempts,
                    C::SentAt,
                    C::ExpiresAt,
                ])
                .action_and_where(
                    Expr::col((pending_registration::Entity, C::SentAt))
                        .lte(resend_from.fixed_offset()),
                )
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(written == 1)
}

/// Counts one try at the phone's code, if its registration is still open: not expired at
/// `now` and fewer than `max_attempts` tries so far. Returns the registration with the try
/// counted, or `None` when there is none open. The try is counted before the code is compared,
/// so parallel guesses cannot share one remaining try.
pub async fn count_attempt(
    db: &impl ConnectionTrait,
    phone: &PhoneNumber,
    max_attempts: i32,
    now: DateTime<Utc>,
) -> Result<Option<PendingRegistration>, RepoError> {
    use pending_registration::Column as C;
    let rows = pending_registration::Entity::update_many()
        .col_expr(C::Attempts, Expr::col(C::Attempts).add(1))
        .filter(C::Phone.eq(phone.as_str()))
        .filter(C::Attempts.lt(max_attempts))
        .filter(C::ExpiresAt.gt(now.fixed_offset()))
        .exec_with_returning(db)
        .await?;
    rows.into_iter()
        .next()
        .map(PendingRegistration::try_from)
        .transpose()
}

/// Removes the registration once its account is created: `false` when it is no longer the one
/// that was verified (another request completed or replaced it meanwhile).
pub async fn complete(
    db: &impl ConnectionTrait,
    id: i64,
    code_hash: &str,
) -> Result<bool, RepoError> {
    let res = pending_registration::Entity::delete_many()
        .filter(pending_registration::Column::Id.eq(id))
        .filter(pending_registration::Column::CodeHash.eq(code_hash))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Removes registrations whose code ran out before `now` and whose SMS was queued before
/// `resend_from`: they can neither be verified nor hold back a new SMS. Returns how many.
pub async fn delete_stale(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    resend_from: DateTime<Utc>,
) -> Result<u64, RepoError> {
    let res = pending_registration::Entity::delete_many()
        .filter(pending_registration::Column::ExpiresAt.lte(now.fixed_offset()))
        .filter(pending_registration::Column::SentAt.lte(resend_from.fixed_offset()))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
