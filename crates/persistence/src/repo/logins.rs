//! Login attempts counted per login name and source (a client address, a known device
//! `d:<id>`, or `*` for the whole account). The rules deciding what a count means are
//! `whistle_auth::throttle`; this module only keeps the counts, so that they hold across API
//! processes and restarts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::entities::login_attempt;
use crate::error::RepoError;

/// The source naming the whole account.
pub const ACCOUNT_WIDE: &str = "*";

/// What is known about one source of logins to one name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceState {
    /// Failures in a row (attempts refused during a wait included).
    pub failures: u32,
    /// No attempt is looked at before this.
    pub blocked_until: Option<DateTime<Utc>>,
    /// The last successful login from this source.
    pub succeeded_at: Option<DateTime<Utc>>,
}

impl From<login_attempt::Model> for SourceState {
    fn from(m: login_attempt::Model) -> Self {
        SourceState {
            failures: u32::try_from(m.failures).unwrap_or(0),
            blocked_until: m.blocked_until.map(|t| t.with_timezone(&Utc)),
            succeeded_at: m.succeeded_at.map(|t| t.with_timezone(&Utc)),
        }
    }
}

/// When a count starts over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forget {
    /// The last failure is older than this (a source that stopped failing).
    LastFailureBefore(DateTime<Utc>),
    /// The first failure of the count is older than this (a fixed window).
    FirstFailureBefore(DateTime<Utc>),
}

/// The states of `sources` for `account` (sources never seen are absent).
pub async fn states(
    db: &impl ConnectionTrait,
    account: &str,
    sources: &[&str],
) -> Result<HashMap<String, SourceState>, RepoError> {
    let rows = login_attempt::Entity::find()
        .filter(login_attempt::Column::Account.eq(account))
        .filter(login_attempt::Column::Source.is_in(sources.iter().copied()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| (m.source.clone(), SourceState::from(m)))
        .collect())
}

async fn ensure_row(
    db: &impl ConnectionTrait,
    account: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    login_attempt::Entity::insert(login_attempt::ActiveModel {
        account: Set(account.to_owned()),
        source: Set(source.to_owned()),
        failures: Set(0),
        updated_at: Set(now.fixed_offset()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            login_attempt::Column::Account,
            login_attempt::Column::Source,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn this(account: &str, source: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(login_attempt::Column::Account.eq(account))
        .add(login_attempt::Column::Source.eq(source))
}

/// Counts a failure of `source` and sets the wait `delay` gives for the new count (`None`: no
/// wait; an earlier, longer wait is kept). Every statement writes before anything is read, so
/// concurrent failures queue on the row instead of losing counts. Run it in a transaction.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    account: &str,
    source: &str,
    now: DateTime<Utc>,
    forget: Forget,
    delay: impl FnOnce(u32) -> Option<chrono::Duration>,
) -> Result<SourceState, RepoError> {
    ensure_row(db, account, source, now).await?;
    let stale = match forget {
        Forget::LastFailureBefore(t) => login_attempt::Column::LastFailureAt.lt(t.fixed_offset()),
        Forget::FirstFailureBefore(t) => login_attempt::Column::FirstFailureAt.lt(t.fixed_offset()),
    };
    login_attempt::Entity::update_many()
        .col_expr(login_attempt::Column::Failures, Expr::value(0))
        .col_expr(
            login_attempt::Column::FirstFailureAt,
            Expr::value(Option::<chrono::DateTime<chrono::FixedOffset>>::None),
        )
        .filter(this(account, source))
        .filter(stale)
        .exec(db)
        .await?;
    login_attempt::Entity::update_many()
        .col_expr(
            login_attempt::Column::Failures,
            Expr::col(login_attempt::Column::Failures).add(1),
        )
        .col_expr(
            login_attempt::Column::LastFailureAt,
            Expr::value(now.fixed_offset()),
        )
        .col_expr(
            login_attempt::Column::UpdatedAt,
            Expr::value(now.fixed_offset()),
        )
        .filter(this(account, source))
        .exec(db)
        .await?;
    login_attempt::Entity::update_many()
        .col_expr(
            login_attempt::Column::FirstFailureAt,
            Expr::value(now.fixed_offset()),
        )
        .filter(this(account, source))
        .filter(login_attempt::Column::FirstFailureAt.is_null())
        .exec(db)
        .await?;
    let row = login_attempt::Entity::find()
        .filter(this(account, source))
        .one(db)
        .await?
        .ok_or(RepoError::NotFound("login_attempt"))?;
    let mut state = SourceState::from(row);
    if let Some(wait) = delay(state.failures) {
        let until = now + wait;
        if state.blocked_until.is_none_or(|b| b < until) {
            login_attempt::Entity::update_many()
                .col_expr(
                    login_attempt::Column::BlockedUntil,
                    Expr::value(until.fixed_offset()),
                )
                .filter(this(account, source))
                .exec(db)
                .await?;
            state.blocked_until = Some(until);
        }
    }
    Ok(state)
}

/// A successful login from `source`: its count starts over and it is known from now on.
pub async fn record_success(
    db: &impl ConnectionTrait,
    account: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    ensure_row(db, account, source, now).await?;
    login_attempt::Entity::update_many()
        .col_expr(login_attempt::Column::Failures, Expr::value(0))
        .col_expr(
            login_attempt::Column::FirstFailureAt,
            Expr::value(Option::<chrono::DateTime<chrono::FixedOffset>>::None),
        )
        .col_expr(
            login_attempt::Column::BlockedUntil,
            Expr::value(Option::<chrono::DateTime<chrono::FixedOffset>>::None),
        )
        .col_expr(
            login_attempt::Column::SucceededAt,
            Expr::value(now.fixed_offset()),
        )
        .col_expr(
            login_attempt::Column::UpdatedAt,
            Expr::value(now.fixed_offset()),
        )
        .filter(this(account, source))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets sources untouched since `before` (neither failed nor succeeded): their counts have
/// lapsed and a source not seen for that long is no longer known. Returns how many went.
pub async fn forget_untouched(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
) -> Result<u64, RepoError> {
    let res = login_attempt::Entity::delete_many()
        .filter(login_attempt::Column::UpdatedAt.lt(before.fixed_offset()))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
