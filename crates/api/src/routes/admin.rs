//! Account management for admins: list, create, disable/enable, change role and jurisdiction;
//! and the audit log. Every change is audited in the same transaction as the change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use sea_orm::{DatabaseTransaction, TransactionTrait};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::Principal;
use whistle_auth::password::{self, Password};
use whistle_auth::policy::{Action, Resource};
use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::{Area, Jurisdiction};
use whistle_domain::people::{BadgeNumber, NewUser, PhoneNumber, Role, User, Username};
use whistle_domain::text::Name;
use whistle_persistence::RepoError;
use whistle_persistence::repo::audit::{self, AuditEntry, AuditEvent};
use whistle_persistence::repo::users::{self, NewOfficer};
use whistle_persistence::repo::{PageRequest, sessions};

use crate::app::access::require;
use crate::app::sessions::{hash_off_executor, weak_field};
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::extract::{ClientIp, CurrentUser};
use crate::state::AppState;
use crate::wire::accounts::{AccountDto, AreaDto};
use crate::wire::paging::{self, Cursor, PageOf};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(set_role))
        .routes(routes!(set_jurisdiction))
        .routes(routes!(reset_password))
        .routes(routes!(list_audit))
}

fn may_manage_users(p: &Principal) -> Result<(), ApiError> {
    Ok(require(p, Action::ManageUsers, &Resource::city())?)
}

fn parse_areas(role: Role, areas: &[AreaDto]) -> Result<Jurisdiction, ApiError> {
    let parsed = areas
        .iter()
        .map(|a| Area::new(a.level.parse()?, a.id))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Jurisdiction::for_role(role, parsed)?)
}

fn user_id(raw: i64) -> Result<UserId, ApiError> {
    UserId::new(raw).map_err(|_| ApiError::not_found("user_not_found", format!("no user {raw}")))
}

async fn load_user(db: &impl sea_orm::ConnectionTrait, id: UserId) -> Result<User, ApiError> {
    users::get_user(db, id)
        .await
        .map_err(ApiError::when_missing(ApiError::not_found(
            "user_not_found",
            format!("no user {id}"),
        )))
}

async fn account(txn: &impl sea_orm::ConnectionTrait, id: UserId) -> Result<AccountDto, ApiError> {
    let user = load_user(txn, id).await?;
    let jurisdiction = users::jurisdiction_of(txn, id, user.role).await?;
    let officer = users::officer_of_user(txn, id).await?;
    Ok(AccountDto::new(&user, &jurisdiction, officer.as_ref()))
}

fn area_error(e: RepoError) -> ApiError {
    match e {
        RepoError::Reference(what) => ApiError::Unprocessable {
            code: "unknown_area",
            detail: what,
            field: Some("areas".into()),
        },
        other => other.into(),
    }
}

async fn audit_change(
    txn: &DatabaseTransaction,
    event: AuditEvent,
    actor: &Principal,
    subject: UserId,
    ip: &str,
    detail: String,
) -> Result<(), ApiError> {
    audit::record(
        txn,
        event,
        AuditEntry {
            actor: Some(actor.user_id),
            subject: Some(subject),
            ip: Some(ip.to_owned()),
            detail: Some(detail),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

fn not_self(p: &Principal, id: UserId) -> Result<(), ApiError> {
    if p.user_id == id {
        return Err(ApiError::Conflict {
            code: "cannot_modify_self",
            detail: "admins cannot disable or re-role their own account".into(),
        });
    }
    Ok(())
}

// ---- wire types ----------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Only accounts of this role.
    pub role: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateUserRequest {
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub role: String,
    pub password: String,
    /// Required for officers and leaders.
    pub badge_number: Option<String>,
    pub squad: Option<String>,
    /// Communities for officers and partners, streets or districts for leaders.
    #[serde(default)]
    pub areas: Vec<AreaDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetRoleRequest {
    pub role: String,
    /// Needed when the account becomes an officer or leader and has no badge yet.
    pub badge_number: Option<String>,
    pub squad: Option<String>,
    /// The jurisdiction under the new role (replaces the old one).
    #[serde(default)]
    pub areas: Vec<AreaDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetJurisdictionRequest {
    pub areas: Vec<AreaDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    /// A temporary password of the admin's choosing (the password policy applies); leave out
    /// to have one generated.
    pub temporary_password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordResetDto {
    pub user_id: i64,
    /// Give this to the account's owner: it logs in once, and only to change it.
    pub temporary_password: String,
    /// Always true: the next login may only change the password.
    pub password_change_required: bool,
    /// Refresh tokens revoked (every session of the account ended).
    pub sessions_revoked: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditDto {
    pub id: i64,
    pub at: chrono::DateTime<Utc>,
    /// e.g. `login_failed`, `account_locked`, `role_changed`.
    pub event: String,
    pub actor_id: Option<i64>,
    pub subject_id: Option<i64>,
    pub username: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries about this account.
    pub subject_id: Option<i64>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

// ---- handlers ------------------------------------------------------------------------------

/// Accounts, in id order.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(UserQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PageOf<AccountDto>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_users(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> Result<Json<PageOf<AccountDto>>, ApiError> {
    may_manage_users(&p)?;
    let role = q.role.as_deref().map(str::parse::<Role>).transpose()?;
    let page = PageRequest {
        after: Cursor::decode(q.cursor.as_deref())?,
        limit: paging::limit(q.limit)?,
    };
    let found = users::list_users(&state.db, role, page).await?;
    let mut items = Vec::with_capacity(found.items.len());
    for u in &found.items {
        let jurisdiction = users::jurisdiction_of(&state.db, u.id, u.role).await?;
        let officer = users::officer_of_user(&state.db, u.id).await?;
        items.push(AccountDto::new(u, &jurisdiction, officer.as_ref()));
    }
    Ok(Json(PageOf {
        items,
        next_cursor: found.next_after.map(Cursor::encode),
    }))
}

/// Create a staff (or resident) account with its jurisdiction.
#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", request_body = CreateUserRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AccountDto),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username, phone or badge taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_user(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<AccountDto>), ApiError> {
    may_manage_users(&p)?;
    let role: Role = req.role.parse()?;
    let username = Username::parse(&req.username)?;
    let phone = req.phone.as_deref().map(PhoneNumber::parse).transpose()?;
    let new = NewUser {
        display_name: Name::parse(&req.display_name)?,
        username,
        phone,
        role,
    };
    let officer = new_officer(role, req.badge_number.as_deref(), req.squad.as_deref())?;
    if role.is_enforcement() && officer.is_none() {
        return Err(badge_required());
    }
    let jurisdiction = parse_areas(role, &req.areas)?;
    let identity: Vec<&str> = [
        Some(new.username.as_str()),
        new.phone.as_ref().map(|p| p.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let password =
        Password::new(&req.password, &identity).map_err(|e| ApiError::Unprocessable {
            code: "weak_password",
            detail: e.to_string(),
            field: Some("password".into()),
        })?;
    let hash = tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(|e| ApiError::Internal(e.into()))?;
    let txn = state.db.begin().await?;
    let (user, _) = users::create_user(&txn, &new, hash, officer.as_ref())
        .await
        .map_err(|e| match e {
            RepoError::Conflict(clash) => ApiError::taken("account_taken", &clash),
            other => other.into(),
        })?;
    users::set_jurisdiction(&txn, user.id, &jurisdiction)
        .await
        .map_err(area_error)?;
    audit_change(
        &txn,
        AuditEvent::UserCreated,
        &p,
        user.id,
        &ip,
        format!("role {role}"),
    )
    .await?;
    let dto = account(&txn, user.id).await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(dto)))
}

fn new_officer(
    role: Role,
    badge: Option<&str>,
    squad: Option<&str>,
) -> Result<Option<NewOfficer>, ApiError> {
    match (role.is_enforcement(), badge) {
        (true, Some(b)) => Ok(Some(NewOfficer {
            badge_number: BadgeNumber::parse(b)?,
            squad: squad.map(Name::parse).transpose()?,
        })),
        (true, None) => Ok(None),
        (false, Some(_)) => Err(ApiError::Unprocessable {
            code: "invalid_value",
            detail: "badge_number is only for officers and leaders".into(),
            field: Some("badge_number".into()),
        }),
        (false, None) => Ok(None),
    }
}

fn badge_required() -> ApiError {
    ApiError::Unprocessable {
        code: "invalid_value",
        detail: "officers and leaders need a badge_number".into(),
        field: Some("badge_number".into()),
    }
}

/// One account.
#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = AccountDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_user(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AccountDto>, ApiError> {
    may_manage_users(&p)?;
    Ok(Json(account(&state.db, user_id(id)?).await?))
}

/// Disable an account: it can no longer log in, and all its sessions are revoked.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/disable", tag = "admin",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = AccountDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An admin cannot disable themselves", body = Problem, content_type = "application/problem+json"),
    ))]
async fn disable_user(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AccountDto>, ApiError> {
    may_manage_users(&p)?;
    let id = user_id(id)?;
    not_self(&p, id)?;
    let txn = state.db.begin().await?;
    account(&txn, id).await?;
    users::set_disabled(&txn, id, true).await?;
    let now = state.now();
    let revoked = sessions::revoke_user(&txn, id, now).await?;
    audit_change(
        &txn,
        AuditEvent::UserDisabled,
        &p,
        id,
        &ip,
        format!("{revoked} sessions revoked"),
    )
    .await?;
    let dto = account(&txn, id).await?;
    txn.commit().await?;
    state.cutoffs.note(id, now);
    Ok(Json(dto))
}

/// Enable a disabled account.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/enable", tag = "admin",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = AccountDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn enable_user(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AccountDto>, ApiError> {
    may_manage_users(&p)?;
    let id = user_id(id)?;
    let txn = state.db.begin().await?;
    account(&txn, id).await?;
    users::set_disabled(&txn, id, false).await?;
    audit_change(&txn, AuditEvent::UserEnabled, &p, id, &ip, String::new()).await?;
    let dto = account(&txn, id).await?;
    txn.commit().await?;
    Ok(Json(dto))
}

/// Change an account's role, with its jurisdiction under the new role. Sessions are revoked so
/// the change applies at once: the account's access tokens are refused from the next request.
#[utoipa::path(put, path = "/api/v1/admin/users/{id}/role", tag = "admin",
    params(("id" = i64, Path)), request_body = SetRoleRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = AccountDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_role(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<SetRoleRequest>,
) -> Result<Json<AccountDto>, ApiError> {
    may_manage_users(&p)?;
    let id = user_id(id)?;
    not_self(&p, id)?;
    let role: Role = req.role.parse()?;
    let jurisdiction = parse_areas(role, &req.areas)?;
    let officer = new_officer(role, req.badge_number.as_deref(), req.squad.as_deref())?;
    let txn = state.db.begin().await?;
    let before: User = load_user(&txn, id).await?;
    if role.is_enforcement() && users::officer_of_user(&txn, id).await?.is_none() {
        let officer = officer.ok_or_else(badge_required)?;
        users::ensure_officer(&txn, id, &officer)
            .await
            .map_err(|e| match e {
                RepoError::Conflict(clash) => ApiError::taken("account_taken", &clash),
                other => other.into(),
            })?;
    }
    users::set_role(&txn, id, role).await?;
    users::set_jurisdiction(&txn, id, &jurisdiction)
        .await
        .map_err(area_error)?;
    let now = state.now();
    sessions::revoke_user(&txn, id, now).await?;
    audit_change(
        &txn,
        AuditEvent::RoleChanged,
        &p,
        id,
        &ip,
        format!("{} -> {role}", before.role),
    )
    .await?;
    let dto = account(&txn, id).await?;
    txn.commit().await?;
    state.cutoffs.note(id, now);
    Ok(Json(dto))
}

/// Replace an account's jurisdiction.
#[utoipa::path(put, path = "/api/v1/admin/users/{id}/jurisdiction", tag = "admin",
    params(("id" = i64, Path)), request_body = SetJurisdictionRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = AccountDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An area that does not exist or that the role cannot hold", body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_jurisdiction(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<SetJurisdictionRequest>,
) -> Result<Json<AccountDto>, ApiError> {
    may_manage_users(&p)?;
    let id = user_id(id)?;
    let txn = state.db.begin().await?;
    let user = load_user(&txn, id).await?;
    let jurisdiction = parse_areas(user.role, &req.areas)?;
    users::set_jurisdiction(&txn, id, &jurisdiction)
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
        &p,
        id,
        &ip,
        listed.join(","),
    )
    .await?;
    let dto = account(&txn, id).await?;
    txn.commit().await?;
    state.cutoffs.note(id, now);
    Ok(Json(dto))
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(AuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PageOf<AuditDto>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_audit(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<PageOf<AuditDto>>, ApiError> {
    require(&p, Action::ViewAuditLog, &Resource::city())?;
    let subject = q.subject_id.map(UserId::new).transpose()?;
    let (rows, next) = audit::list(
        &state.db,
        subject,
        Cursor::decode(q.cursor.as_deref())?,
        paging::limit(q.limit)?,
    )
    .await?;
    Ok(Json(PageOf {
        items: rows
            .into_iter()
            .map(|r| AuditDto {
                id: r.id,
                at: r.at,
                event: r.event,
                actor_id: r.actor_id,
                subject_id: r.subject_id,
                username: r.username,
                ip: r.ip,
                detail: r.detail,
            })
            .collect(),
        next_cursor: next.map(Cursor::encode),
    }))
}

/// Reset an account's password (the owner forgot it, or it may be known to someone else).
///
/// The account gets a temporary password — the admin's choice, or a generated one shown once in
/// the answer — and must change it at its next login: that login answers
/// `password_change_required: true` and an access token that only `POST /api/v1/me/password`
/// accepts (everything else is `403 password_change_required`). Every session of the account
/// ends at once. Audited (`password_reset`, naming the admin). Admins change their own password
/// with `POST /api/v1/me/password`.
#[utoipa::path(post, path = "/api/v1/admin/users/{id}/password-reset", tag = "admin",
    params(("id" = i64, Path, description = "The account")),
    request_body = PasswordResetRequest, security(("bearer" = [])),
    responses(
        (status = 200, body = PasswordResetDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "One's own account (`cannot_modify_self`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A chosen temporary password the policy refuses (`weak_password`)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn reset_password(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<PasswordResetRequest>,
) -> Result<Json<PasswordResetDto>, ApiError> {
    may_manage_users(&p)?;
    let id = user_id(id)?;
    if p.user_id == id {
        return Err(ApiError::Conflict {
            code: "cannot_modify_self",
            detail: "admins change their own password with POST /api/v1/me/password".into(),
        });
    }
    let user = load_user(&state.db, id).await?;
    let phone = user.phone.as_ref().map(|ph| ph.as_str().to_owned());
    let mut identity = vec![user.username.as_str()];
    identity.extend(phone.as_deref());
    let (temporary, chosen) = match &req.temporary_password {
        Some(raw) => (
            Password::new(raw, &identity).map_err(|e| weak_field(e, "temporary_password"))?,
            true,
        ),
        None => (
            Password::temporary(&identity)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?,
            false,
        ),
    };
    let shown = temporary.expose().to_owned();
    let hash = hash_off_executor(temporary).await?;
    let now = state.now();
    let txn = state.db.begin().await?;
    users::set_password(&txn, id, hash, true)
        .await
        .map_err(ApiError::when_missing(ApiError::not_found(
            "user_not_found",
            format!("no user {id}"),
        )))?;
    let revoked = sessions::revoke_user(&txn, id, now).await?;
    audit_change(
        &txn,
        AuditEvent::PasswordReset,
        &p,
        id,
        &ip,
        format!(
            "temporary password {}; change required at next login; {revoked} refresh tokens revoked",
            if chosen { "chosen by the admin" } else { "generated" }
        ),
    )
    .await?;
    txn.commit().await?;
    state.cutoffs.note(id, now);
    tracing::info!(
        user_id = id.get(),
        admin_id = p.user_id.get(),
        "password reset by an admin"
    );
    Ok(Json(PasswordResetDto {
        user_id: id.get(),
        temporary_password: shown,
        password_change_required: true,
        sessions_revoked: revoked,
    }))
}
