//! Administering accounts: creating one with its jurisdiction, disabling and enabling it,
//! changing its role or jurisdiction, resetting its password. Every change is audited in the
//! same transaction as the change, and a change that alters what the account may do ends its
//! access tokens at once.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use whistle_auth::Principal;
use whistle_auth::password::Password;
use whistle_auth::policy::{Action, Resource};
use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::{Area, Jurisdiction};
use whistle_domain::people::{NewUser, Officer, Role, User};
use whistle_persistence::RepoError;
use whistle_persistence::repo::audit::{self, AuditEntry, AuditEvent};
use whistle_persistence::repo::sessions;
use whistle_persistence::repo::users::{self, NewOfficer};

use crate::app::AppError;
use crate::app::access::require;
use crate::app::sessions::{hash_off_executor, weak_field};
use crate::state::AppState;

/// An account as an administrator sees it.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: User,
    pub jurisdiction: Jurisdiction,
    pub officer: Option<Officer>,
}

/// Who administers, and from where (for the audit log).
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a> {
    pub principal: &'a Principal,
    pub ip: &'a str,
}

/// Only administrators manage accounts.
pub fn may_manage(p: &Principal) -> Result<(), AppError> {
    require(p, Action::ManageUsers, &Resource::city())
}

fn no_user(id: impl std::fmt::Display) -> AppError {
    AppError::not_found("user_not_found", format!("no user {id}"))
}

fn user_id(raw: i64) -> Result<UserId, AppError> {
    UserId::new(raw).map_err(|_| no_user(raw))
}

async fn load_user(db: &impl ConnectionTrait, id: UserId) -> Result<User, AppError> {
    users::get_user(db, id)
        .await
        .map_err(AppError::when_missing(no_user(id)))
}

async fn account_of(db: &impl ConnectionTrait, id: UserId) -> Result<Account, AppError> {
    let user = load_user(db, id).await?;
    let jurisdiction = users::jurisdiction_of(db, id, user.role).await?;
    let officer = users::officer_of_user(db, id).await?;
    Ok(Account {
        user,
        jurisdiction,
        officer,
    })
}

/// One account.
pub async fn get(state: &AppState, p: &Principal, id: i64) -> Result<Account, AppError> {
    may_manage(p)?;
    account_of(&state.db, user_id(id)?).await
}

/// Accounts of one page, each with its jurisdiction and officer record.
pub async fn accounts_of(state: &AppState, found: &[User]) -> Result<Vec<Account>, AppError> {
    let mut out = Vec::with_capacity(found.len());
    for u in found {
        out.push(Account {
            jurisdiction: users::jurisdiction_of(&state.db, u.id, u.role).await?,
            officer: users::officer_of_user(&state.db, u.id).await?,
            user: u.clone(),
        });
    }
    Ok(out)
}

fn area_error(e: RepoError) -> AppError {
    match e {
        RepoError::Reference(what) => AppError::invalid("unknown_area", "areas", what),
        other => other.into(),
    }
}

fn taken(e: RepoError) -> AppError {
    match e {
        RepoError::Conflict(clash) => AppError::Taken {
            code: "account_taken",
            clash,
        },
        other => other.into(),
    }
}

async fn audit_change(
    txn: &DatabaseTransaction,
    event: AuditEvent,
    by: Admin<'_>,
    subject: UserId,
    detail: String,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    audit::record(
        txn,
        event,
        AuditEntry {
            actor: Some(by.principal.user_id),
            subject: Some(subject),
            ip: Some(by.ip.to_owned()),
            detail: Some(detail),
            ..Default::default()
        },
        now,
    )
    .await?;
    Ok(())
}

fn not_self(p: &Principal, id: UserId) -> Result<(), AppError> {
    if p.user_id == id {
        return Err(AppError::conflict(
            "cannot_modify_self",
            "admins cannot disable or re-role their own account",
        ));
    }
    Ok(())
}

fn badge_required() -> AppError {
    AppError::invalid(
        "invalid_value",
        "badge_number",
        "officers and leaders need a badge_number",
    )
}

/// The officer record a role comes with: officers and leaders carry a badge, nobody else does.
fn officer_for(role: Role, officer: Option<NewOfficer>) -> Result<Option<NewOfficer>, AppError> {
    match officer {
        Some(_) if !role.is_enforcement() => Err(AppError::invalid(
            "invalid_value",
            "badge_number",
            "badge_number is only for officers and leaders",
        )),
        other => Ok(other),
    }
}

/// A new account.
#[derive(Debug, Clone)]
pub struct CreateAccount {
    pub user: NewUser,
    /// Checked against the password policy and the account's own names.
    pub password: String,
    /// Required for officers and leaders.
    pub officer: Option<NewOfficer>,
    /// The jurisdiction, as the role allows it.
    pub areas: Vec<Area>,
}

/// Creates a staff (or resident) account with its jurisdiction.
pub async fn create(
    state: &AppState,
    by: Admin<'_>,
    cmd: CreateAccount,
) -> Result<Account, AppError> {
    may_manage(by.principal)?;
    let role = cmd.user.role;
    let officer = officer_for(role, cmd.officer)?;
    if role.is_enforcement() && officer.is_none() {
        return Err(badge_required());
    }
    let jurisdiction = Jurisdiction::for_role(role, cmd.areas)?;
    let identity: Vec<&str> = [
        Some(cmd.user.username.as_str()),
        cmd.user.phone.as_ref().map(|p| p.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let password =
        Password::new(&cmd.password, &identity).map_err(|e| weak_field(e, "password"))?;
    let hash = hash_off_executor(password).await?;
    let txn = state.db.begin().await?;
    let (user, _) = users::create_user(&txn, &cmd.user, hash, officer.as_ref(), state.now())
        .await
        .map_err(taken)?;
    users::set_jurisdiction(&txn, user.id, &jurisdiction, state.now())
        .await
        .map_err(area_error)?;
    audit_change(
        &txn,
        AuditEvent::UserCreated,
        by,
        user.id,
        format!("role {role}"),
        state.now(),
    )
    .await?;
    let account = account_of(&txn, user.id).await?;
    txn.commit().await?;
    Ok(account)
}

/// Disables an account: it can no longer log in, and all its sessions are revoked.
pub async fn disable(state: &AppState, by: Admin<'_>, id: i64) -> Result<Account, AppError> {
    may_manage(by.principal)?;
    let id = user_id(id)?;
    not_self(by.principal, id)?;
    let txn = state.db.begin().await?;
    load_user(&txn, id).await?;
    users::set_disabled(&txn, id, true, state.now()).await?;
    let now = state.now();
    let revoked = sessions::revoke_user(&txn, id, now).await?;
    audit_change(
        &txn,
        AuditEvent::UserDisabled,
        by,
        id,
        format!("{revoked} sessions revoked"),
        now,
    )
    .await?;
    let account = account_of(&txn, id).await?;
    txn.commit().await?;
    state.cutoffs.note(id, now);
    Ok(account)
}

/// Enables a disabled account.
pub async fn enable(state: &AppState, by: Admin<'_>, id: i64) -> Result<Account, AppError> {
    may_manage(by.principal)?;
    let id = user_id(id)?;
    let txn = state.db.begin().await?;
    load_user(&txn, id).await?;
    users::set_disabled(&txn, id, false, state.now()).await?;
    audit_change(
        &txn,
        AuditEvent::UserEnabled,
        by,
        id,
        String::new(),
        state.now(),
    )
    .await?;
    let account = account_of(&txn, id).await?;
    txn.commit().await?;
    Ok(account)
}

/// A new role with its jurisdiction; a badge when the account becomes an officer or leader
/// and has none yet.
#[derive(Debug, Clone)]
pub struct ChangeRole {
    pub role: Role,
    pub officer: Option<NewOfficer>,
    pub areas: Vec<Area>,
}

/// Changes an account's role and jurisdiction. Sessions are revoked so the change applies at
/// once.
pub async fn set_role(
    state: &AppState,
    by: Admin<'_>,
    id: i64,
    cmd: ChangeRole,
) -> Result<Account, AppError> {
    may_manage(by.principal)?;
    let id = user_id(id)?;
    not_self(by.principal, id)?;
    let role = cmd.role;
    let jurisdiction = Jurisdiction::for_role(role, cmd.areas)?;
    let officer = officer_for(role, cmd.officer)?;
    let txn = state.db.begin().await?;
    let before = load_user(&txn, id).await?;
    if role.is_enforcement() && users::officer_of_user(&txn, id).await?.is_none() {
        let officer = officer.ok_or_else(badge_required)?;
        users::ensure_officer(&txn, id, &officer, state.now())
            .await
            .map_err(taken)?;
    }
    users::set_role(&txn, id, role, state.now()).await?;
    users::set_jurisdiction(&txn, id, &jurisdiction, state.now())
        .await
        .map_err(area_error)?;
    let now = state.now();
    sessions::revoke_user(&txn, id, now).await?;
    audit_change(
        &txn,
        AuditEvent::RoleChanged,
        by,
        id,
        format!("{} -> {role}", before.role),
        now,
    )
    .await?;
    let account = account_of(&txn, id).await?;
    txn.commit().await?;
    state.cutoffs.note(id, now);
    Ok(account)
}

/// Replaces an account's jurisdiction (as its role allows it).
pub async fn set_jurisdiction(
    state: &AppState,
    by: Admin<'_>,
    id: i64,
    areas: Vec<Area>,
) -> Result<Account, AppError> {
    may_manage(by.principal)?;
    let id = user_id(id)?;
    let txn = state.db.begin().await?;
    let user = load_user(&txn, id).await?;
    let jurisdiction = Jurisdiction::for_role(user.role, areas)?;
    users::set_jurisdiction(&txn, id, &jurisdiction, state.now())
        .await
        .map_err(area_error)?;
    // Access tokens carry the jurisdiction: the old ones are refused, and the next refresh
    // issues one with the new areas.
    let now = state.now();
    users::end_access_tokens(&txn, id, now).await?;
    let listed: Vec<String> = jurisdiction
        .areas()
        .iter()
        .map(|a| format!("{}:{}", a.level(), a.id()))
        .collect();
    audit_change(
        &txn,
        AuditEvent::JurisdictionChanged,
        by,
        id,
        listed.join(","),
        now,
    )
    .await?;
    let account = account_of(&txn, id).await?;
    txn.commit().await?;
    state.cutoffs.note(id, now);
    Ok(account)
}

/// What a password reset did.
#[derive(Debug)]
pub struct PasswordReset {
    pub user_id: UserId,
    /// To be given to the owner: shown once.
    pub temporary_password: String,
    /// Refresh tokens revoked.
    pub sessions_revoked: u64,
}

/// Gives an account a temporary password (the admin's `chosen` one, checked by the policy, or a
/// generated one) that must be changed at the next login, and ends every session of it.
pub async fn reset_password(
    state: &AppState,
    by: Admin<'_>,
    id: i64,
    chosen: Option<String>,
) -> Result<PasswordReset, AppError> {
    may_manage(by.principal)?;
    let id = user_id(id)?;
    if by.principal.user_id == id {
        return Err(AppError::conflict(
            "cannot_modify_self",
            "admins change their own password with POST /api/v1/me/password",
        ));
    }
    let user = load_user(&state.db, id).await?;
    let phone = user.phone.as_ref().map(|ph| ph.as_str().to_owned());
    let mut identity = vec![user.username.as_str()];
    identity.extend(phone.as_deref());
    let temporary = match &chosen {
        Some(raw) => {
            Password::new(raw, &identity).map_err(|e| weak_field(e, "temporary_password"))?
        }
        None => Password::temporary(&identity)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?,
    };
    let shown = temporary.expose().to_owned();
    let hash = hash_off_executor(temporary).await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    users::set_password(&txn, id, hash, true, now)
        .await
        .map_err(AppError::when_missing(no_user(id)))?;
    let revoked = sessions::revoke_user(&txn, id, now).await?;
    audit_change(
        &txn,
        AuditEvent::PasswordReset,
        by,
        id,
        format!(
            "temporary password {}; change required at next login; {revoked} refresh tokens revoked",
            if chosen.is_some() {
                "chosen by the admin"
            } else {
                "generated"
            }
        ),
    now)
    .await?;
    txn.commit().await?;
    state.cutoffs.note(id, now);
    tracing::info!(
        user_id = id.get(),
        admin_id = by.principal.user_id.get(),
        "password reset by an admin"
    );
    Ok(PasswordReset {
        user_id: id,
        temporary_password: shown,
        sessions_revoked: revoked,
    })
}
