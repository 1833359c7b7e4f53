//! The owner changing their own password, giving the current one.
//!
//! Every session of the account ends (refresh tokens revoked, access tokens issued until now
//! refused), because a password is changed when it may be known to someone else; the caller's
//! own session goes on with fresh tokens. Wrong current passwords are counted like failed
//! logins from the caller's session.

use sea_orm::TransactionTrait;
use whistle_auth::password::Password;
use whistle_domain::ids::UserId;
use whistle_persistence::repo::audit::{self, AuditEntry, AuditEvent};
use whistle_persistence::repo::logins::{self, Forget};
use whistle_persistence::repo::{sessions, users};

use crate::app::AppError;
use crate::app::sessions::{
    Session, SessionStart, hash_off_executor, open_session, verify_off_executor, weak_field,
};
use crate::state::AppState;

/// A password change by the account's owner.
pub struct ChangePassword<'a> {
    pub user: UserId,
    /// The session the request came with; it goes on under the new password.
    pub session_id: Option<String>,
    pub current: &'a str,
    pub new: &'a str,
    pub ip: &'a str,
    pub user_agent: Option<&'a str>,
}

impl std::fmt::Debug for ChangePassword<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangePassword")
            .field("user", &self.user)
            .field("session_id", &self.session_id)
            .field("ip", &self.ip)
            .finish_non_exhaustive()
    }
}

fn wrong_password() -> AppError {
    AppError::invalid(
        "wrong_password",
        "current_password",
        "the current password is not right",
    )
}

fn gone() -> AppError {
    AppError::Unauthenticated {
        code: "invalid_token",
        detail: "the account is gone or disabled".into(),
    }
}

/// Changes the password and answers the caller's session with fresh tokens.
pub async fn change(state: &AppState, cmd: ChangePassword<'_>) -> Result<Session, AppError> {
    let uid = cmd.user;
    let found = users::credentials(&state.db, uid)
        .await
        .map_err(AppError::when_missing(gone()))?;
    if found.user.disabled {
        return Err(gone());
    }
    let user = found.user;
    let phone = user.phone.as_ref().map(|p| p.as_str().to_owned());
    let mut identity = vec![user.username.as_str()];
    identity.extend(phone.as_deref());
    let new = Password::new(cmd.new, &identity).map_err(|e| weak_field(e, "new_password"))?;
    if cmd.new == cmd.current {
        return Err(AppError::invalid(
            "password_unchanged",
            "new_password",
            "the new password must differ from the current one",
        ));
    }
    let current = Password::for_login(cmd.current).ok_or_else(wrong_password)?;

    // Guessing the current password with a stolen access token is slowed like guessing at login.
    let now = state.now();
    let policy = state.auth.login_throttle.clone();
    let account = user.username.as_str().to_lowercase();
    let source = format!("pw:{}", uid.get());
    let counts = logins::states(&state.db, &account, &[&source]).await?;
    let forget = Forget::LastFailureBefore(
        now - chrono::Duration::from_std(policy.forget_after).unwrap_or_default(),
    );
    let delay = |f: u32| {
        policy
            .source_delay(f)
            .and_then(|d| chrono::Duration::from_std(d).ok())
    };
    let must_wait = counts
        .get(&source)
        .and_then(|c| c.blocked_until)
        .is_some_and(|until| until > now);
    let matches = !must_wait && verify_off_executor(current, found.password_hash).await?;
    if !matches {
        let txn = state.db.begin().await?;
        let after = logins::record_failure(&txn, &account, &source, now, forget, delay).await?;
        audit::record(
            &txn,
            AuditEvent::LoginFailed,
            AuditEntry {
                actor: Some(uid),
                subject: Some(uid),
                ip: Some(cmd.ip.to_owned()),
                detail: Some("wrong current password at a password change".into()),
                ..Default::default()
            },
            now,
        )
        .await?;
        txn.commit().await?;
        return match after.blocked_until.filter(|_| must_wait) {
            Some(until) => Err(AppError::Throttled {
                code: "login_throttled",
                detail: "too many wrong passwords; wait before trying again".into(),
                retry_after_secs: ((until - now).num_milliseconds() / 1000 + 1).max(1) as u64,
            }),
            None => Err(wrong_password()),
        };
    }
    let hash = hash_off_executor(new).await?;

    let now = state.now();
    let txn = state.db.begin().await?;
    let started_at = match &cmd.session_id {
        Some(sid) => sessions::list_live(&txn, uid, now)
            .await?
            .into_iter()
            .find(|s| &s.id == sid)
            .map(|s| s.started_at),
        None => None,
    };
    users::set_password(&txn, uid, hash, false, now).await?;
    let revoked = sessions::revoke_user(&txn, uid, now).await?;
    logins::record_success(&txn, &account, &source, now).await?;
    audit::record(
        &txn,
        AuditEvent::PasswordChanged,
        AuditEntry {
            actor: Some(uid),
            subject: Some(uid),
            ip: Some(cmd.ip.to_owned()),
            detail: Some(format!(
                "{}; other sessions ended ({revoked} refresh tokens revoked)",
                if found.must_change_password {
                    "after an admin's reset"
                } else {
                    "by the owner"
                }
            )),
            ..Default::default()
        },
        now,
    )
    .await?;
    let jurisdiction = users::jurisdiction_of(&txn, uid, user.role).await?;
    let session = open_session(
        state,
        &txn,
        &user,
        jurisdiction,
        SessionStart {
            family: cmd.session_id.clone(),
            started_at,
            user_agent: cmd.user_agent,
            ip: cmd.ip,
            password_change_required: false,
        },
    )
    .await?;
    txn.commit().await?;
    state.cutoffs.note(uid, now);
    tracing::info!(user_id = uid.get(), revoked, "password changed");
    Ok(session)
}
