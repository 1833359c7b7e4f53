//! Passwords and sessions as the account use cases share them: hashing off the executor, the
//! policy's refusal of a weak password, and opening a session (a refresh token in its family and
//! an access token naming it).

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, TransactionTrait};
use whistle_auth::Principal;
use whistle_auth::password::{self, Password, PasswordError};
use whistle_auth::refresh;
use whistle_auth::token::SessionClaims;
use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::Jurisdiction;
use whistle_domain::people::{Officer, User};
use whistle_persistence::repo::audit::{self, AuditEntry, AuditEvent};
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
        now,
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

fn invalid_refresh() -> AppError {
    AppError::Unauthenticated {
        code: "invalid_refresh_token",
        detail: "the refresh token is invalid, used or expired".into(),
    }
}

/// The longest refresh token looked at; longer ones are refused unread.
const MAX_REFRESH_TOKEN: usize = 256;

/// Exchanges a refresh token for a new session of the same family. Each refresh token works
/// once: presenting one that was already exchanged means it was copied, and every token of
/// that login is revoked. Role and jurisdiction are read afresh, so an admin's changes apply
/// from here on.
pub async fn refresh(
    state: &AppState,
    token: &str,
    user_agent: Option<&str>,
    ip: &str,
) -> Result<Session, AppError> {
    if token.len() > MAX_REFRESH_TOKEN {
        return Err(invalid_refresh());
    }
    let hash = refresh::hash(token.trim());
    let now = state.now();
    let txn = state.db.begin().await?;
    let Some(record) = sessions::find_by_hash(&txn, &hash).await? else {
        return Err(invalid_refresh());
    };
    if record.revoked_at.is_some() || record.expires_at <= now {
        return Err(invalid_refresh());
    }
    if record.rotated_at.is_some() || !sessions::mark_rotated(&txn, record.id, now).await? {
        let revoked = sessions::revoke_family(&txn, &record.family_id, now).await?;
        audit::record(
            &txn,
            AuditEvent::RefreshReuseDetected,
            AuditEntry {
                subject: Some(record.user_id),
                ip: Some(ip.to_owned()),
                detail: Some(format!("family revoked ({revoked} live tokens)")),
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        tracing::warn!(
            user_id = record.user_id.get(),
            "refresh token reuse: session family revoked"
        );
        return Err(AppError::Unauthenticated {
            code: "refresh_token_reused",
            detail: "this refresh token was already used; log in again".into(),
        });
    }
    let found = users::credentials(&txn, record.user_id).await?;
    let user = found.user;
    if user.disabled {
        sessions::revoke_family(&txn, &record.family_id, now).await?;
        txn.commit().await?;
        return Err(invalid_refresh());
    }
    let jurisdiction = users::jurisdiction_of(&txn, user.id, user.role).await?;
    let session = open_session(
        state,
        &txn,
        &user,
        jurisdiction,
        SessionStart {
            family: Some(record.family_id),
            started_at: record.started_at,
            user_agent,
            ip,
            password_change_required: found.must_change_password,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(session)
}

/// Logs out: revokes the refresh token and every token of the same login. Idempotent: an
/// unknown token is no error.
pub async fn logout(state: &AppState, token: &str, ip: &str) -> Result<(), AppError> {
    if token.len() > MAX_REFRESH_TOKEN {
        return Ok(());
    }
    let hash = refresh::hash(token.trim());
    let txn = state.db.begin().await?;
    if let Some(record) = sessions::find_by_hash(&txn, &hash).await? {
        let revoked = sessions::revoke_family(&txn, &record.family_id, state.now()).await?;
        if revoked > 0 {
            audit::record(
                &txn,
                AuditEvent::LoggedOut,
                AuditEntry {
                    actor: Some(record.user_id),
                    subject: Some(record.user_id),
                    ip: Some(ip.to_owned()),
                    ..Default::default()
                },
                state.now(),
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Ends every session of `user` (log out everywhere): refresh tokens revoked, access tokens
/// issued until now refused.
pub async fn end_all(state: &AppState, user: UserId, ip: &str) -> Result<u64, AppError> {
    let now = state.now();
    let txn = state.db.begin().await?;
    let revoked = sessions::revoke_user(&txn, user, now).await?;
    audit::record(
        &txn,
        AuditEvent::LoggedOut,
        AuditEntry {
            actor: Some(user),
            subject: Some(user),
            ip: Some(ip.to_owned()),
            detail: Some(format!("everywhere ({revoked} sessions revoked)")),
            ..Default::default()
        },
        now,
    )
    .await?;
    txn.commit().await?;
    state.cutoffs.note(user, now);
    tracing::info!(user_id = user.get(), revoked, "logged out everywhere");
    Ok(revoked)
}

/// Ends one live session of `user`, named by its id; another account's session, or one that
/// has ended, is `NotFound`.
pub async fn end_one(state: &AppState, user: UserId, id: &str, ip: &str) -> Result<(), AppError> {
    let not_found = || AppError::not_found("session_not_found", "no such session of yours");
    if id.len() > 64 {
        return Err(not_found());
    }
    let now = state.now();
    let txn = state.db.begin().await?;
    if !sessions::is_live(&txn, user, id, now).await? {
        return Err(not_found());
    }
    let revoked = sessions::revoke_session(&txn, user, id, now).await?;
    audit::record(
        &txn,
        AuditEvent::SessionRevoked,
        AuditEntry {
            actor: Some(user),
            subject: Some(user),
            ip: Some(ip.to_owned()),
            detail: Some(format!("session {id} ({revoked} refresh tokens revoked)")),
            ..Default::default()
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
