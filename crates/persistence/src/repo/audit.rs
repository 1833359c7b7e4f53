//! The audit log: logins, failures, lockouts, account and role changes. Append-only.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use whistle_domain::ids::UserId;

use crate::entities::audit_log;
use crate::error::RepoError;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditEvent {
    Registered,
    LoginSucceeded,
    LoginFailed,
    AccountLocked,
    LoginWhileLocked,
    LoginWhileDisabled,
    RefreshReuseDetected,
    LoggedOut,
    UserCreated,
    UserDisabled,
    UserEnabled,
    RoleChanged,
    JurisdictionChanged,
    ApiKeyCreated,
    ApiKeyRevoked,
    LoginThrottled,
    AccountThrottled,
    PasswordChanged,
    PasswordReset,
    SessionRevoked,
}

impl AuditEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::Registered => "registered",
            AuditEvent::LoginSucceeded => "login_succeeded",
            AuditEvent::LoginFailed => "login_failed",
            AuditEvent::AccountLocked => "account_locked",
            AuditEvent::LoginWhileLocked => "login_while_locked",
            AuditEvent::LoginWhileDisabled => "login_while_disabled",
            AuditEvent::RefreshReuseDetected => "refresh_reuse_detected",
            AuditEvent::LoggedOut => "logged_out",
            AuditEvent::UserCreated => "user_created",
            AuditEvent::UserDisabled => "user_disabled",
            AuditEvent::UserEnabled => "user_enabled",
            AuditEvent::RoleChanged => "role_changed",
            AuditEvent::JurisdictionChanged => "jurisdiction_changed",
            AuditEvent::ApiKeyCreated => "api_key_created",
            AuditEvent::ApiKeyRevoked => "api_key_revoked",
            AuditEvent::LoginThrottled => "login_throttled",
            AuditEvent::AccountThrottled => "account_throttled",
            AuditEvent::PasswordChanged => "password_changed",
            AuditEvent::PasswordReset => "password_reset",
            AuditEvent::SessionRevoked => "session_revoked",
        }
    }
}

/// One entry to record.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    pub actor: Option<UserId>,
    pub subject: Option<UserId>,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

/// A recorded entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub event: String,
    pub actor_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

pub async fn record(
    db: &impl ConnectionTrait,
    event: AuditEvent,
    entry: AuditEntry,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    // Client-supplied text is bounded so a hostile login name cannot bloat the log, and control
    // characters are replaced: PostgreSQL refuses NUL in text columns.
    let clip = |s: String, n: usize| {
        s.chars()
            .take(n)
            .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
            .collect::<String>()
    };
    audit_log::ActiveModel {
        at: Set(now.fixed_offset()),
        event: Set(event.as_str().to_owned()),
        actor_id: Set(entry.actor.map(UserId::get)),
        subject_id: Set(entry.subject.map(UserId::get)),
        // Login names come from the client: bounded so a hostile one cannot bloat the log.
        username: Set(entry.username.map(|u| clip(u, 64))),
        ip: Set(entry.ip.map(|i| clip(i, 64))),
        detail: Set(entry.detail.map(|d| clip(d, 1000))),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Newest first; `before` is the id of the last entry of the previous page.
pub async fn list(
    db: &impl ConnectionTrait,
    subject: Option<UserId>,
    before: Option<i64>,
    limit: u64,
) -> Result<(Vec<AuditRecord>, Option<i64>), RepoError> {
    let mut q = audit_log::Entity::find().order_by_desc(audit_log::Column::Id);
    if let Some(s) = subject {
        q = q.filter(audit_log::Column::SubjectId.eq(s.get()));
    }
    if let Some(b) = before {
        q = q.filter(audit_log::Column::Id.lt(b));
    }
    let mut rows = q.limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((
        rows.into_iter()
            .map(|m| AuditRecord {
                id: m.id,
                at: m.at.with_timezone(&Utc),
                event: m.event,
                actor_id: m.actor_id,
                subject_id: m.subject_id,
                username: m.username,
                ip: m.ip,
                detail: m.detail,
            })
            .collect(),
        next,
    ))
}
