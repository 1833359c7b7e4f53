//! Accounts and sessions: register (and verify the phone), login, refresh, logout, and "who am
//! I".

use axum::Json;
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::device::KnownDevice;
use whistle_auth::password::Password;
use whistle_domain::notice::Locale;
use whistle_domain::people::PhoneNumber;
use whistle_domain::text::Name;
use whistle_persistence::RepoError;
use whistle_persistence::repo::users;

use crate::app::login::{self, Login};
use crate::app::registration::{self, Register};
use crate::app::sessions::{self, SessionStart};
use crate::error::{ApiError, Problem};
use crate::extract::ApiJson;
use crate::extract::{ClientIp, CurrentUser};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::wire::accounts::{AccountDto, SessionDto, user_agent};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(verify_registration))
        .routes(routes!(login))
        .routes(routes!(refresh_session))
        .routes(routes!(logout))
        .routes(routes!(me))
}

// ---- wire types ----------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Mainland mobile number; becomes the login name.
    pub phone: String,
    /// 8–128 characters mixing at least two of letters, digits, other characters.
    pub password: String,
    /// Name shown to the officer handling the resident's cases.
    pub display_name: String,
}

/// The answer to every accepted registration, whether or not the phone already has an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationPendingDto {
    /// Always `code_sent`: a 6-digit code is on its way by SMS.
    pub status: &'static str,
    /// Seconds the code works.
    pub expires_in: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyRegistrationRequest {
    /// The phone number registered.
    pub phone: String,
    /// The 6-digit code from the SMS.
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username, or a resident's phone number.
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

// ---- helpers -------------------------------------------------------------------------------

/// The header and cookie a client sends its known-device token in.
pub(crate) const DEVICE_HEADER: &str = "x-whistle-device";
const DEVICE_COOKIE: &str = "whistle_device";

/// The valid device tokens the request carries (header first, then cookies).
fn presented_devices(headers: &HeaderMap, key: &[u8; 32]) -> Vec<KnownDevice> {
    let from_header = headers
        .get_all(DEVICE_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned);
    let from_cookies = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix("whistle_device="))
        .map(str::to_owned);
    from_header
        .chain(from_cookies)
        .take(8)
        .filter_map(|t| KnownDevice::verify(key, &t))
        .collect()
}

/// The cookie that carries the device token for browsers: sent only to the login endpoints,
/// never readable by scripts.
fn device_cookie(state: &AppState, token: &str) -> Option<HeaderValue> {
    let secure = if state.auth.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let max_age = state.auth.login_throttle.known_for.as_secs();
    HeaderValue::from_str(&format!(
        "{DEVICE_COOKIE}={token}; Path=/api/v1/auth; Max-Age={max_age}; HttpOnly; \
         SameSite=Strict{secure}"
    ))
    .ok()
}

fn locale(lang: Lang) -> Locale {
    match lang {
        Lang::Zh => Locale::Zh,
        Lang::En => Locale::En,
    }
}

// ---- handlers ------------------------------------------------------------------------------

/// Ask to register a resident account (phone number + password): a code is texted to the phone.
///
/// The answer is the same `202` whether or not the phone already has an account, so that it
/// tells nobody which numbers are registered. A phone without an account gets a 6-digit code,
/// valid for 10 minutes, to send to `/api/v1/auth/register/verify`; a phone with one gets an SMS
/// saying someone tried, and no code. Asking again replaces the earlier code, at most once a
/// minute per phone (else `429` with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    params(("Accept-Language" = Option<String>, Header, description = "Language of the SMS: zh (default) or en")),
    responses(
        (status = 202, description = "Code sent (or, for a phone with an account, the owner told)", body = RegistrationPendingDto),
        (status = 422, description = "Invalid phone, name or too weak a password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts, or a code went to this phone less than a minute ago; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    lang: Lang,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<RegistrationPendingDto>), ApiError> {
    let account_key: String = req.phone.chars().take(64).collect();
    state.auth.throttle(&ip, &account_key)?;
    let cmd = Register {
        phone: PhoneNumber::parse(&req.phone)?,
        display_name: Name::parse(&req.display_name)?,
        password: req.password,
        locale: locale(lang),
    };
    let expires_in = registration::register(&state, cmd).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RegistrationPendingDto {
            status: "code_sent",
            expires_in,
        }),
    ))
}

/// Create the resident account with the code texted by `/api/v1/auth/register`, and log in.
///
/// A wrong, expired or used-up code, a phone that asked for none, and a phone that has an
/// account get the same `422 invalid_code`. Five tries void the registration: register again.
#[utoipa::path(post, path = "/api/v1/auth/register/verify", tag = "auth", request_body = VerifyRegistrationRequest,
    responses(
        (status = 201, body = SessionDto),
        (status = 422, description = "Wrong, expired or used-up code (`invalid_code`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    ))]
async fn verify_registration(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<VerifyRegistrationRequest>,
) -> Result<(StatusCode, Json<SessionDto>), ApiError> {
    let account_key: String = req.phone.chars().take(64).collect();
    state.auth.throttle(&ip, &account_key)?;
    let phone = PhoneNumber::parse(&req.phone).map_err(|_| registration::invalid_code())?;
    let client = SessionStart::login(user_agent(&headers), &ip);
    let session = registration::verify(&state, phone, &req.code, client).await?;
    Ok((StatusCode::CREATED, Json(session.into())))
}

/// Log in with a username (or a resident's phone number) and password.
///
/// Unknown accounts and wrong passwords get the same answer in the same time. No account is
/// ever locked for everybody: failures are counted per source — the client address, or the
/// device when the request carries a device token of this account (`X-Whistle-Device` header or
/// `whistle_device` cookie, handed out by every successful login). After
/// `auth.login_free_failures` failures a source waits `auth.login_first_delay_secs`, and every
/// further attempt from it doubles the wait (`429 login_throttled` with `Retry-After`). Past
/// `auth.account_failure_limit` failures on the account within `auth.account_window_secs`
/// (guessing from many addresses), sources that never logged in to the account wait too; a
/// known device or an address that logged in before never does.
///
/// An account whose password an admin reset gets `password_change_required: true` and an
/// access token that only `POST /api/v1/me/password` accepts.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    params(
        ("X-Whistle-Device" = Option<String>, Header, description = "The device token an earlier login of this account returned"),
    ),
    responses(
        (status = 200, body = SessionDto, headers(
            ("set-cookie" = String, description = "`whistle_device`: the device token, for browsers (HttpOnly, only sent to /api/v1/auth)"),
        )),
        (status = 401, description = "Wrong username or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Password longer than any valid one", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address (`rate_limited`), or this source must wait after failed logins (`login_throttled`); see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<([(axum::http::HeaderName, HeaderValue); 1], Json<SessionDto>), ApiError> {
    state.auth.throttle_address(&ip)?;
    let password = Password::for_login(&req.password).ok_or_else(|| ApiError::Unprocessable {
        code: "password_too_long",
        detail: format!("a password has at most {} characters", Password::MAX_CHARS),
        field: Some("password".into()),
    })?;
    let done = login::login(
        &state,
        Login {
            name: &req.username,
            password,
            devices: presented_devices(&headers, &state.auth.device_secret),
            ip: &ip,
            user_agent: user_agent(&headers),
        },
    )
    .await?;
    let token = done.device.token(&state.auth.device_secret);
    let cookie = device_cookie(&state, &token).unwrap_or_else(|| HeaderValue::from_static(""));
    let mut session = SessionDto::from(done.session);
    session.device_token = Some(token);
    Ok(([(SET_COOKIE, cookie)], Json(session)))
}

/// Exchange a refresh token for a new access token and a new refresh token.
///
/// Each refresh token works once. Presenting one that was already exchanged means it was copied:
/// every token of that login is revoked and the user must log in again.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, body = SessionDto),
        (status = 401, description = "Invalid, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
    ))]
async fn refresh_session(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<SessionDto>, ApiError> {
    let session = sessions::refresh(&state, &req.refresh_token, user_agent(&headers), &ip).await?;
    Ok(Json(session.into()))
}

/// Log out: revoke the refresh token and every token of the same login. Idempotent.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Logged out (also when the token was unknown)")))]
async fn logout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    sessions::logout(&state, &req.refresh_token, &ip).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account, role and jurisdiction, as stored now.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, body = AccountDto),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
async fn me(
    State(state): State<AppState>,
    CurrentUser(principal): CurrentUser,
) -> Result<Json<AccountDto>, ApiError> {
    let user = match users::get_user(&state.db, principal.user_id).await {
        Ok(u) if !u.disabled => u,
        Ok(_) | Err(RepoError::NotFound(_)) => {
            return Err(ApiError::unauthorized(
                "invalid_token",
                "the account is gone or disabled",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let jurisdiction = users::jurisdiction_of(&state.db, user.id, user.role).await?;
    let officer = users::officer_of_user(&state.db, user.id).await?;
    Ok(Json(AccountDto::new(
        &user,
        &jurisdiction,
        officer.as_ref(),
    )))
}
