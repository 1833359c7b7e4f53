//! What the notifier produced, as the API serves it: each account's in-app inbox and how the
//! account is reached (e-mail, language), and for admins the outbox with its dead letters.
//!
//! The notifier (`whistle-notifier`) writes and delivers notifications; the API only reads
//! them, marks them read, and puts a dead one back in the queue.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::policy::{Action, Resource};
use whistle_domain::ids::{CaseId, UserId};
use whistle_domain::notice::{DeliveryState, EmailAddress, Locale};
use whistle_persistence::repo::notifications::{self, Notification};

use crate::app::access::require;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiPath, CurrentUser};
use crate::state::AppState;
use crate::wire::paging::{Cursor, limit};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
        .routes(routes!(get_settings, put_settings))
        .routes(routes!(admin_list))
        .routes(routes!(admin_retry))
}

/// An in-app notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxItemDto {
    pub id: i64,
    /// e.g. `case.accepted`, `officer.assignment`, `sla.overdue`, `pledge.expiring`.
    pub template: String,
    /// `status`, `sla` or `pledge`.
    pub kind: String,
    pub case_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<Notification> for InboxItemDto {
    fn from(n: Notification) -> Self {
        InboxItemDto {
            id: n.id,
            template: n.template.as_str().to_owned(),
            kind: n.kind.as_str().to_owned(),
            case_id: n.case_id.map(CaseId::get),
            title: n.title,
            body: n.body,
            created_at: n.sent_at.unwrap_or(n.created_at),
            read_at: n.read_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxDto {
    /// Newest first.
    pub items: Vec<InboxItemDto>,
    pub next_cursor: Option<String>,
    /// Unread in the whole inbox, not only this page.
    pub unread: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// `true`: only unread ones.
    pub unread: Option<bool>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u64>,
}

/// The caller's in-app notifications, newest first, with the unread count.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(InboxQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = InboxDto),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn inbox(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    Query(q): Query<InboxQuery>,
) -> Result<Json<InboxDto>, ApiError> {
    let before = Cursor::decode(q.cursor.as_deref())?;
    let limit = limit(q.limit)?;
    let mut rows = notifications::inbox(
        &state.db,
        p.user_id,
        q.unread.unwrap_or(false),
        before,
        limit + 1,
    )
    .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|n| Cursor::encode(n.id)))
        .flatten();
    let unread = notifications::unread_count(&state.db, p.user_id).await?;
    Ok(Json(InboxDto {
        items: rows.into_iter().map(InboxItemDto::from).collect(),
        next_cursor,
        unread,
    }))
}

/// Marks one of the caller's notifications read (again is harmless).
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 204, description = "Read"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not one of the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
async fn mark_read(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    if notifications::mark_read(&state.db, p.user_id, id, state.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "notification_not_found",
            format!("you have no notification {id}"),
        ))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedDto {
    /// How many were unread and are now read.
    pub marked: u64,
}

/// Marks every notification of the caller read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, body = MarkedDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
async fn mark_all_read(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<MarkedDto>, ApiError> {
    let marked = notifications::mark_all_read(&state.db, p.user_id, state.now()).await?;
    Ok(Json(MarkedDto { marked }))
}

/// How an account is reached. SMS goes to the account's phone number; residents get no SMS or
/// e-mail during the city's quiet hours (the inbox still fills).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationSettingsDto {
    /// E-mail for notices; `null` for none.
    pub email: Option<String>,
    /// `zh` or `en`: the language of notices.
    pub locale: String,
}

/// The caller's notification settings.
#[utoipa::path(get, path = "/api/v1/me/notification-settings", tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, body = NotificationSettingsDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_settings(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<NotificationSettingsDto>, ApiError> {
    let c = notifications::contact_of(&state.db, p.user_id).await?;
    Ok(Json(NotificationSettingsDto {
        email: c.email,
        locale: c.locale.as_str().to_owned(),
    }))
}

/// Sets the caller's e-mail for notices and their language.
#[utoipa::path(put, path = "/api/v1/me/notification-settings", tag = "notifications",
    request_body = NotificationSettingsDto, security(("bearer" = [])),
    responses(
        (status = 200, body = NotificationSettingsDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_settings(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<NotificationSettingsDto>,
) -> Result<Json<NotificationSettingsDto>, ApiError> {
    let email = req
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(EmailAddress::parse)
        .transpose()?;
    let locale = Locale::parse(&req.locale)?;
    notifications::set_contact(
        &state.db,
        p.user_id,
        email.as_ref().map(EmailAddress::as_str),
        locale,
    )
    .await?;
    Ok(Json(NotificationSettingsDto {
        email: email.map(|e| e.as_str().to_owned()),
        locale: locale.as_str().to_owned(),
    }))
}

/// A notification as the admin sees it in the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxItemDto {
    pub id: i64,
    pub template: String,
    pub kind: String,
    /// `inbox`, `email`, `sms` or `webhook`.
    pub channel: String,
    /// The e-mail address, phone number or webhook name.
    pub address: Option<String>,
    pub user_id: Option<i64>,
    pub case_id: Option<i64>,
    /// `pending`, `sending`, `sent`, `dead` or `moot`.
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub title: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Notification> for OutboxItemDto {
    fn from(n: Notification) -> Self {
        OutboxItemDto {
            id: n.id,
            template: n.template.as_str().to_owned(),
            kind: n.kind.as_str().to_owned(),
            channel: n.channel.as_str().to_owned(),
            address: n.address,
            user_id: n.user_id.map(UserId::get),
            case_id: n.case_id.map(CaseId::get),
            state: n.state.as_str().to_owned(),
            attempts: n.attempts,
            next_attempt_at: n.next_attempt_at,
            last_error: n.last_error,
            title: n.title,
            created_at: n.created_at,
            sent_at: n.sent_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxPageDto {
    /// Newest first.
    pub items: Vec<OutboxItemDto>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// `pending`, `sending`, `sent`, `dead` or `moot`; all when absent.
    pub state: Option<String>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u64>,
}

/// The outbox, newest first: `state=dead` lists what the notifier gave up on, with the error.
#[utoipa::path(get, path = "/api/v1/admin/notifications", tag = "notifications",
    params(OutboxQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = OutboxPageDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn admin_list(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    Query(q): Query<OutboxQuery>,
) -> Result<Json<OutboxPageDto>, ApiError> {
    require(&p, Action::ManageUsers, &Resource::default())?;
    let wanted = q
        .state
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(DeliveryState::parse)
        .transpose()?;
    let before = Cursor::decode(q.cursor.as_deref())?;
    let limit = limit(q.limit)?;
    let mut rows = notifications::list(&state.db, wanted, before, limit + 1).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|n| Cursor::encode(n.id)))
        .flatten();
    Ok(Json(OutboxPageDto {
        items: rows.into_iter().map(OutboxItemDto::from).collect(),
        next_cursor,
    }))
}

/// Puts a dead notification back in the queue with a fresh count of attempts (after the
/// address or the receiver was fixed). The notifier sends it on its next round.
#[utoipa::path(post, path = "/api/v1/admin/notifications/{id}/retry", tag = "notifications",
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = OutboxItemDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not dead", body = Problem, content_type = "application/problem+json"),
    ))]
async fn admin_retry(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<OutboxItemDto>, ApiError> {
    require(&p, Action::ManageUsers, &Resource::default())?;
    let current = notifications::get(&state.db, id)
        .await
        .map_err(ApiError::when_missing(ApiError::not_found(
            "notification_not_found",
            format!("no notification {id}"),
        )))?;
    if !notifications::retry_dead(&state.db, id, state.now()).await? {
        return Err(ApiError::Conflict {
            code: "not_dead",
            detail: format!(
                "only a dead notification can be retried; this one is {}",
                current.state
            ),
        });
    }
    tracing::info!(
        notification_id = id,
        admin_id = p.user_id.get(),
        "dead notification retried"
    );
    Ok(Json(notifications::get(&state.db, id).await?.into()))
}
