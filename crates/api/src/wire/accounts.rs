//! The wire shapes of accounts and sessions, shared by the sign-in, account and admin routes.

use axum::http::HeaderMap;
use axum::http::header::USER_AGENT;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use whistle_domain::jurisdiction::{Area, Jurisdiction};
use whistle_domain::people::{Officer, User};

use crate::app::sessions::Session;

/// An area of a jurisdiction.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AreaDto {
    /// `district`, `street` or `community`.
    pub level: String,
    pub id: i64,
}

impl From<&Area> for AreaDto {
    fn from(a: &Area) -> Self {
        AreaDto {
            level: a.level().as_str().to_owned(),
            id: a.id(),
        }
    }
}

/// An account as its owner (or an admin) sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDto {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    /// `resident`, `partner`, `officer`, `leader`, `dispatcher` or `admin`.
    pub role: String,
    pub disabled: bool,
    /// Where the account acts: communities (officers, partners), streets or districts (leaders).
    pub jurisdiction: Vec<AreaDto>,
    pub badge_number: Option<String>,
    pub squad: Option<String>,
}

impl AccountDto {
    pub fn new(user: &User, jurisdiction: &Jurisdiction, officer: Option<&Officer>) -> Self {
        AccountDto {
            id: user.id.get(),
            username: user.username.to_string(),
            display_name: user.display_name.to_string(),
            phone: user.phone.as_ref().map(|p| p.as_str().to_owned()),
            role: user.role.as_str().to_owned(),
            disabled: user.disabled,
            jurisdiction: jurisdiction.areas().iter().map(AreaDto::from).collect(),
            badge_number: officer.map(|o| o.badge_number.as_str().to_owned()),
            squad: officer.and_then(|o| o.squad.as_ref().map(|s| s.to_string())),
        }
    }
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDto {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Exchange at `/api/v1/auth/refresh` for a new pair; each refresh token works once.
    pub refresh_token: String,
    pub refresh_expires_in: i64,
    /// Names this session in `GET /api/v1/me/sessions`.
    pub session_id: String,
    /// True after an admin reset the password: until it is changed with
    /// `POST /api/v1/me/password`, every other endpoint answers this access token with
    /// `403 password_change_required`.
    pub password_change_required: bool,
    /// Given at login: send it back with later logins as the `X-Whistle-Device` header (a
    /// browser also gets it as the `whistle_device` cookie), so that failed logins from
    /// elsewhere never hold this device back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    pub account: AccountDto,
}

impl From<Session> for SessionDto {
    fn from(s: Session) -> Self {
        SessionDto {
            account: AccountDto::new(&s.user, &s.jurisdiction, s.officer.as_ref()),
            access_token: s.access_token,
            token_type: "Bearer",
            expires_in: s.expires_in,
            refresh_token: s.refresh_token,
            refresh_expires_in: s.refresh_expires_in,
            session_id: s.session_id,
            password_change_required: s.password_change_required,
            device_token: None,
        }
    }
}

/// The client's `User-Agent`, as a session records it.
pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers.get(USER_AGENT).and_then(|v| v.to_str().ok())
}
