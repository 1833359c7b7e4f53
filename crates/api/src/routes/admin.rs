//! Account management for admins: list, create, disable/enable, change role and jurisdiction;
//! and the audit log. Every change is audited in the same transaction as the change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::policy::{Action, Resource};
use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::Area;
use whistle_domain::people::{BadgeNumber, NewUser, PhoneNumber, Role, Username};
use whistle_domain::text::Name;
use whistle_persistence::repo::PageRequest;
use whistle_persistence::repo::audit;
use whistle_persistence::repo::users::{self, NewOfficer};

use crate::app::access::require;
use crate::app::accounts::{self, Account, Admin, ChangeRole, CreateAccount};
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

fn areas_of(areas: &[AreaDto]) -> Result<Vec<Area>, ApiError> {
    Ok(areas
        .iter()
        .map(|a| Area::new(a.level.parse()?, a.id))
        .collect::<Result<Vec<_>, _>>()?)
}

/// The officer record the request names: a badge (and a squad) when one is given.
fn officer_of(badge: Option<&str>, squad: Option<&str>) -> Result<Option<NewOfficer>, ApiError> {
    badge
        .map(|b| {
            Ok(NewOfficer {
                badge_number: BadgeNumber::parse(b)?,
                squad: squad.map(Name::parse).transpose()?,
            })
        })
        .transpose()
}

fn dto(a: &Account) -> AccountDto {
    AccountDto::new(&a.user, &a.jurisdiction, a.officer.as_ref())
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
    accounts::may_manage(&p)?;
    let role = q.role.as_deref().map(str::parse::<Role>).transpose()?;
    let page = PageRequest {
        after: Cursor::decode(q.cursor.as_deref())?,
        limit: paging::limit(q.limit)?,
    };
    let found = users::list_users(&state.db, role, page).await?;
    let items = accounts::accounts_of(&state, &found.items)
        .await?
        .iter()
        .map(dto)
        .collect();
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
    let cmd = CreateAccount {
        user: NewUser {
            display_name: Name::parse(&req.display_name)?,
            username: Username::parse(&req.username)?,
            phone: req.phone.as_deref().map(PhoneNumber::parse).transpose()?,
            role: req.role.parse()?,
        },
        password: req.password,
        officer: officer_of(req.badge_number.as_deref(), req.squad.as_deref())?,
        areas: areas_of(&req.areas)?,
    };
    let by = Admin {
        principal: &p,
        ip: &ip,
    };
    let account = accounts::create(&state, by, cmd).await?;
    Ok((StatusCode::CREATED, Json(dto(&account))))
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
    Ok(Json(dto(&accounts::get(&state, &p, id).await?)))
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
    let by = Admin {
        principal: &p,
        ip: &ip,
    };
    Ok(Json(dto(&accounts::disable(&state, by, id).await?)))
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
    let by = Admin {
        principal: &p,
        ip: &ip,
    };
    Ok(Json(dto(&accounts::enable(&state, by, id).await?)))
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
    let cmd = ChangeRole {
        role: req.role.parse()?,
        officer: officer_of(req.badge_number.as_deref(), req.squad.as_deref())?,
        areas: areas_of(&req.areas)?,
    };
    let by = Admin {
        principal: &p,
        ip: &ip,
    };
    Ok(Json(dto(&accounts::set_role(&state, by, id, cmd).await?)))
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
    let areas = areas_of(&req.areas)?;
    let by = Admin {
        principal: &p,
        ip: &ip,
    };
    Ok(Json(dto(&accounts::set_jurisdiction(
        &state, by, id, areas,
    )
    .await?)))
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
    let by = Admin {
        principal: &p,
        ip: &ip,
    };
    let done = accounts::reset_password(&state, by, id, req.temporary_password).await?;
    Ok(Json(PasswordResetDto {
        user_id: done.user_id.get(),
        temporary_password: done.temporary_password,
        password_change_required: true,
        sessions_revoked: done.sessions_revoked,
    }))
}
