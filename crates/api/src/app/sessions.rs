//! Passwords and sessions as the account use cases share them: hashing off the executor, the
//! policy's refusal of a weak password, and opening a session (a refresh token in its family and
//! an access token naming it).

use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use whistle_auth::Principal;
use whistle_auth::password::{self, Password, PasswordError};
use whistle_auth::refresh;
use whistle_auth::token::SessionClaims;
use whistle_domain::jurisdiction::Jurisdiction;
use whistle_domain::people::{Officer, User};
use whistle_persistence::repo::sessions::{self, NewRefreshToken};
use whistle_persistence::repo::users;

use crate::app::AppError;
use crate::state::AppState;

/// Argon2id on a blocking thread: a hash takes tens of milliseconds.
pub async fn hash_off_executor(p: Password) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || password::hash(&p))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))
}

/// A password checked against its hash on a blocking thread.
pub async fn verify_off_executor(p: Password, hash: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || password::verify(&p, &hash))
        .await
        .map_err(|e| AppError::Internal(e.into()))
}

/// A new password the policy refuses, naming the field it came in.
pub fn weak_field(e: PasswordError, field: &str) -> AppError {
    AppError::invalid("weak_password", field, e.to_string())
}

/// Where a session comes from: a new login (no family yet) or an existing session going on
/// (a refresh, a password change).
#[derive(Debug, Clone)]
pub struct SessionStart<'a> {
    pub family: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub user_agent: Option<&'a str>,
    pub ip: &'a str,
    pub password_change_required: bool,
}

impl<'a> SessionStart<'a> {
    /// A new login from a client.
    pub fn login(user_agent: Option<&'a str>, ip: &'a str) -> Self {
        SessionStart {
            family: None,
            started_at: None,
            user_agent,
            ip,
            password_change_required: false,
        }
    }
}

/// A session just opened, with the account it is for.
#[derive(Debug)]
pub struct Session {
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    /// The family id, which names the session.
    pub session_id: String,
    pub password_change_required: bool,
    pub user: User,
    pub jurisdiction: Jurisdiction,
    pub officer: Option<Officer>,
}

/// Stores a refresh token in the session's family (a new family for a new login) and signs an
/// access token naming it.
pub async fn open_session(
    state: &AppState,
    txn: &DatabaseTransaction,
    user: &User,
    jurisdiction: Jurisdiction,
    start: SessionStart<'_>,
) -> Result<Session, AppError> {
    let now = state.now();
    let token = refresh::generate().map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    let family = start
        .family
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let refresh_ttl = state.auth.refresh_ttl_secs;
    sessions::insert(
        txn,
        &NewRefreshToken {
            user_id: user.id,
            family_id: &family,
            token_hash: &token.hash,
            expires_at: now + chrono::Duration::seconds(refresh_ttl),
            started_at: start.started_at.unwrap_or(now),
            user_agent: start.user_agent,
            client_ip: Some(start.ip),
        },
    )
    .await?;
    let officer = users::officer_of_user(txn, user.id).await?;
    let principal = Principal {
        user_id: user.id,
        role: user.role,
        jurisdiction: jurisdiction.clone(),
    };
    let access = state
        .auth
        .keys
        .issue_for_session(
            &principal,
            now.timestamp_millis(),
            state.auth.access_ttl_secs,
            &SessionClaims {
                session_id: Some(family.clone()),
                password_change_required: start.password_change_required,
            },
        )
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Session {
        access_token: access.token,
        expires_in: state.auth.access_ttl_secs,
        refresh_token: token.plaintext,
        refresh_expires_in: refresh_ttl,
        session_id: family,
        password_change_required: start.password_change_required,
        user: user.clone(),
        jurisdiction,
        officer,
    })
}
