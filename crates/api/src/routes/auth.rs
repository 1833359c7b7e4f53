//! Accounts and sessions: register (and verify the phone), login, refresh, logout, and "who am
//! I".

use axum::Json;
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use whistle_auth::device::KnownDevice;
use whistle_auth::password::{self, Password, PasswordError};
use whistle_auth::refresh;
use whistle_auth::token::keyed_digest;
use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::Jurisdiction;
use whistle_domain::notice::{Channel, Facts, Locale, Rendered, Template, render};
use whistle_domain::people::{NewUser, PhoneNumber, Role, Username};
use whistle_domain::text::Name;
use whistle_persistence::RepoError;
use whistle_persistence::repo::audit::{self, AuditEntry, AuditEvent};
use whistle_persistence::repo::logins::{self, ACCOUNT_WIDE, Forget};
use whistle_persistence::repo::notifications::{self, NewNotification};
use whistle_persistence::repo::registrations::{self, NewPendingRegistration};
use whistle_persistence::repo::sessions::{self};
use whistle_persistence::repo::users;

use crate::app::sessions::{
    SessionStart, hash_off_executor, open_session, verify_off_executor, weak_field,
};
use crate::error::{ApiError, Problem};
use crate::extract::ApiJson;
use crate::extract::{ClientIp, CurrentUser};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::wire::accounts::{AccountDto, SessionDto, user_agent};

/// How long a registration code works.
const CODE_TTL_SECS: i64 = 600;
/// How long a phone waits between two registration texts, whether or not it has an account.
const RESEND_SECS: i64 = 60;
/// Codes tried before a pending registration is void (the right one counts too).
const MAX_CODE_ATTEMPTS: i32 = 5;

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

fn weak(e: PasswordError) -> ApiError {
    weak_field(e, "password").into()
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "wrong username or password")
}

/// A source that must wait before its next attempt is looked at.
fn throttled(wait: chrono::Duration) -> ApiError {
    ApiError::TooManyRequests {
        code: "login_throttled",
        detail: "too many failed logins from here; wait before trying again (every attempt \
                 meanwhile doubles the wait; a device that logged in to this account before is \
                 not held back)"
            .into(),
        retry_after_secs: ((wait.num_milliseconds() + 999) / 1000).max(1) as u64,
    }
}

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

/// Forgets login counts nobody has touched for longer than any of them matters, at most once
/// an hour per process. A failure here is logged, never the login's problem.
async fn forget_old_counts(state: &AppState, now: DateTime<Utc>) {
    use std::sync::atomic::Ordering;
    let last = state.auth.login_sweep_at.load(Ordering::Relaxed);
    if now.timestamp() - last < 3600
        || state
            .auth
            .login_sweep_at
            .compare_exchange(last, now.timestamp(), Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let p = &state.auth.login_throttle;
    let keep = p.known_for.max(p.forget_after).max(p.account_window);
    let before = now - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::days(90));
    if let Err(e) = logins::forget_untouched(&state.db, before).await {
        tracing::warn!(error = %e, "could not forget old login counts");
    }
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthorized(
        "invalid_refresh_token",
        "the refresh token is invalid, used or expired",
    )
}

fn invalid_code() -> ApiError {
    ApiError::Unprocessable {
        code: "invalid_code",
        detail: "the code is wrong or expired, or was tried too often; register again for a new \
                 code"
            .into(),
        field: Some("code".into()),
    }
}

/// The same answer for a phone with an account and one without, so it tells nothing.
fn resend_too_soon(sent_at: chrono::DateTime<Utc>, now: chrono::DateTime<Utc>) -> ApiError {
    let wait = sent_at + chrono::Duration::seconds(RESEND_SECS) - now;
    ApiError::TooManyRequests {
        code: "rate_limited",
        detail: "a code was sent to this phone moments ago; retry later".into(),
        retry_after_secs: wait.num_seconds().max(1) as u64,
    }
}

/// Six random digits. The low 48 bits of a version 4 UUID come from the operating system's
/// random source; 2^48 is so much larger than 10^6 that the remainder is as good as uniform.
fn new_code() -> String {
    let random = uuid::Uuid::new_v4().as_u128() & ((1u128 << 48) - 1);
    format!("{:06}", random % 1_000_000)
}

/// The stored form of a code: keyed, so that a copy of the table does not give the codes away
/// to someone trying all million of them, and bound to the phone. The key is derived from the
/// signing key, which every API process shares.
fn code_hash(state: &AppState, phone: &PhoneNumber, code: &str) -> String {
    let key = keyed_digest(&state.auth.tracking_secret, b"whistle/registration-code/v1");
    let digest = keyed_digest(&key, format!("{}:{code}", phone.as_str()).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares every byte whatever the first difference, so the time taken does not tell how much
/// of a guess was right.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The SMS that carries a registration code.
fn code_sms(lang: Lang, code: &str) -> (String, String) {
    sms_text(
        Template::RegistrationCode,
        lang,
        Facts {
            code: Some(code.to_owned()),
            code_minutes: Some(CODE_TTL_SECS / 60),
            ..Facts::default()
        },
    )
}

/// The SMS to the owner of a phone someone tried to register again: no code, since the phone
/// has its account already.
fn registered_already_sms(lang: Lang, hotline: &str) -> (String, String) {
    sms_text(
        Template::RegistrationAttempt,
        lang,
        Facts {
            hotline: Some(hotline.to_owned()),
            ..Facts::default()
        },
    )
}

fn sms_text(template: Template, lang: Lang, facts: Facts) -> (String, String) {
    let locale = match lang {
        Lang::Zh => Locale::Zh,
        Lang::En => Locale::En,
    };
    let Rendered { title, body } = render(template, locale, &facts);
    (title, body)
}

/// One SMS for the outbox; the notifier sends it through its gateway.
fn registration_sms(
    phone: &PhoneNumber,
    owner: Option<UserId>,
    lang: Lang,
    (title, body): (String, String),
    now: chrono::DateTime<Utc>,
) -> NewNotification {
    // A code is wanted at once, quiet hours or not (no `recipient_kind`, so none apply); a
    // warning to an account holder can wait for the morning like any resident's SMS.
    let payload = match owner {
        None => serde_json::json!({"purpose": "registration_code"}),
        Some(_) => serde_json::json!({
            "purpose": "registration_attempt",
            "recipient_kind": "resident",
        }),
    };
    NewNotification {
        dedupe_key: format!("reg:{}", uuid::Uuid::new_v4()),
        template: match owner {
            None => Template::RegistrationCode,
            Some(_) => Template::RegistrationAttempt,
        },
        case_id: None,
        user_id: owner,
        channel: Channel::Sms,
        address: Some(phone.as_str().to_owned()),
        locale: match lang {
            Lang::Zh => Locale::Zh,
            Lang::En => Locale::En,
        },
        title,
        body,
        payload,
        next_attempt_at: now,
        created_at: now,
    }
}

/// The login name as stored: a phone number in its 11-digit form, else a username.
fn login_name(raw: &str) -> Option<Username> {
    match PhoneNumber::parse(raw) {
        Ok(phone) => Username::parse(phone.as_str()).ok(),
        Err(_) => Username::parse(raw).ok(),
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
    let phone = PhoneNumber::parse(&req.phone)?;
    let display_name = Name::parse(&req.display_name)?;
    let password = Password::new(&req.password, &[phone.as_str()]).map_err(weak)?;
    // Spares the argon2 hash for a resend that would be refused anyway; the statement that
    // stores the registration checks again, atomically.
    let now = state.now();
    if let Some(sent_at) = registrations::last_sent(&state.db, &phone).await?
        && sent_at + chrono::Duration::seconds(RESEND_SECS) > now
    {
        return Err(resend_too_soon(sent_at, now));
    }
    // Hashed for a phone with an account too, so that both answers take as long.
    let password_hash = hash_off_executor(password).await?;
    let code = new_code();
    let owner = registrations::account_with_phone(&state.db, &phone).await?;
    let now = state.now();
    let resend_from = now - chrono::Duration::seconds(RESEND_SECS);
    let pending = NewPendingRegistration {
        phone: phone.clone(),
        display_name,
        password_hash,
        // A phone with an account gets a registration like any other (it holds back the next
        // SMS alike), but its code is sent to nobody, and verifying would find the phone taken.
        code_hash: code_hash(&state, &phone, &code),
        sent_at: now,
        expires_at: now + chrono::Duration::seconds(CODE_TTL_SECS),
    };
    let text = match owner {
        None => code_sms(lang, &code),
        Some(_) => registered_already_sms(lang, &state.settings.app.hotline),
    };
    let sms = registration_sms(&phone, owner, lang, text, now);
    let txn = state.db.begin().await?;
    registrations::delete_stale(&txn, now, resend_from).await?;
    if !registrations::replace(&txn, &pending, resend_from).await? {
        let sent_at = registrations::last_sent(&txn, &phone).await?.unwrap_or(now);
        return Err(resend_too_soon(sent_at, now));
    }
    notifications::insert_new(&txn, &[sms]).await?;
    txn.commit().await?;
    if state.settings.auth.log_verification_codes {
        match owner {
            None => tracing::info!(
                phone = %phone.masked(),
                code = %code,
                "registration code (auth.log_verification_codes is on)"
            ),
            Some(_) => tracing::info!(
                phone = %phone.masked(),
                "registration asked for a phone that has an account: its owner is told, no code"
            ),
        }
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(RegistrationPendingDto {
            status: "code_sent",
            expires_in: CODE_TTL_SECS,
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
    let Ok(phone) = PhoneNumber::parse(&req.phone) else {
        return Err(invalid_code());
    };
    let Some(pending) =
        registrations::count_attempt(&state.db, &phone, MAX_CODE_ATTEMPTS, state.now()).await?
    else {
        return Err(invalid_code());
    };
    let presented = code_hash(&state, &phone, req.code.trim());
    if !same_bytes(presented.as_bytes(), pending.code_hash.as_bytes()) {
        return Err(invalid_code());
    }
    let new = NewUser {
        username: Username::parse(phone.as_str())?,
        display_name: pending.display_name.clone(),
        phone: Some(phone),
        role: Role::Resident,
    };
    let txn = state.db.begin().await?;
    // Another request verified or replaced this registration meanwhile.
    if !registrations::complete(&txn, pending.id, &pending.code_hash).await? {
        return Err(invalid_code());
    }
    let user = match users::create_user(&txn, &new, pending.password_hash.clone(), None).await {
        Ok((user, _)) => user,
        // The phone has an account: it had one when the code was asked for (and the code went
        // to nobody), or got one since.
        Err(RepoError::Conflict(_)) => return Err(invalid_code()),
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &txn,
        AuditEvent::Registered,
        AuditEntry {
            actor: Some(user.id),
            subject: Some(user.id),
            ip: Some(ip.clone()),
            ..Default::default()
        },
    )
    .await?;
    let session = SessionDto::from(
        open_session(
            &state,
            &txn,
            &user,
            Jurisdiction::none(),
            SessionStart::login(user_agent(&headers), &ip),
        )
        .await?,
    );
    txn.commit().await?;
    tracing::info!(user_id = user.id.get(), "resident registered");
    Ok((StatusCode::CREATED, Json(session)))
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
    let tried: String = req
        .username
        .trim()
        .to_lowercase()
        .chars()
        .take(64)
        .collect();
    state.auth.throttle_address(&ip)?;
    let password = Password::for_login(&req.password).ok_or_else(|| ApiError::Unprocessable {
        code: "password_too_long",
        detail: format!("a password has at most {} characters", Password::MAX_CHARS),
        field: Some("password".into()),
    })?;
    let name = login_name(&req.username);
    // Counted under the stored form of the name, so `+86 139…` and `139…` are one account;
    // a name that cannot exist is counted as typed, exactly like a real one.
    let account = name
        .as_ref()
        .map(|n| n.as_str().to_lowercase())
        .unwrap_or_else(|| tried.clone());
    let found = match &name {
        Some(name) => users::find_by_username(&state.db, name).await?,
        None => None,
    };
    let now = state.now();
    forget_old_counts(&state, now).await;
    let policy = state.auth.login_throttle.clone();
    let device = found.as_ref().and_then(|f| {
        presented_devices(&headers, &state.auth.device_secret)
            .into_iter()
            .find(|d| d.user_id == f.user.id)
    });
    let source = device
        .as_ref()
        .map(KnownDevice::source)
        .unwrap_or_else(|| ip.clone());
    let counts = logins::states(&state.db, &account, &[&source, &ip, ACCOUNT_WIDE]).await?;
    let known_since = now - chrono::Duration::from_std(policy.known_for).unwrap_or_default();
    let known = device.is_some()
        || counts
            .get(&ip)
            .and_then(|c| c.succeeded_at)
            .is_some_and(|at| at > known_since);
    let forget_source = Forget::LastFailureBefore(
        now - chrono::Duration::from_std(policy.forget_after).unwrap_or_default(),
    );
    let source_delay = |f: u32| {
        policy
            .source_delay(f)
            .and_then(|d| chrono::Duration::from_std(d).ok())
    };
    let entry = |subject, detail: Option<&str>| AuditEntry {
        subject,
        username: Some(tried.clone()),
        ip: Some(ip.clone()),
        detail: detail.map(str::to_owned),
        ..Default::default()
    };
    let subject = found.as_ref().map(|f| f.user.id);

    // This source must wait: the attempt is not looked at, and it counts, so a source that keeps
    // trying waits longer and longer.
    if counts
        .get(&source)
        .and_then(|c| c.blocked_until)
        .is_some_and(|until| until > now)
    {
        let txn = state.db.begin().await?;
        let after =
            logins::record_failure(&txn, &account, &source, now, forget_source, source_delay)
                .await?;
        audit::record(
            &txn,
            AuditEvent::LoginThrottled,
            entry(subject, Some("this source must wait")),
        )
        .await?;
        txn.commit().await?;
        return Err(throttled(after.blocked_until.unwrap_or(now) - now));
    }
    // Many failures over the whole account: only sources that never logged in to it wait.
    if !known
        && let Some(until) = counts
            .get(ACCOUNT_WIDE)
            .and_then(|c| c.blocked_until)
            .filter(|until| *until > now)
    {
        audit::record(
            &state.db,
            AuditEvent::LoginThrottled,
            entry(
                subject,
                Some("many failures on the account; unknown sources wait"),
            ),
        )
        .await?;
        return Err(throttled(until - now));
    }

    // Always one argon2 verification, against a dummy hash for unknown accounts, so that the
    // answer takes as long whether or not the account exists.
    let stored_hash = found
        .as_ref()
        .map(|f| f.password_hash.clone())
        .unwrap_or_else(|| password::dummy_hash().to_owned());
    let matches = verify_off_executor(password, stored_hash).await?;
    let found = match found {
        Some(found) if matches => found,
        _ => {
            let txn = state.db.begin().await?;
            logins::record_failure(&txn, &account, &source, now, forget_source, source_delay)
                .await?;
            // A known source's typing errors do not count against the account: they are not
            // what the account-wide limit is for.
            if !known {
                let window = Forget::FirstFailureBefore(
                    now - chrono::Duration::from_std(policy.account_window).unwrap_or_default(),
                );
                let whole =
                    logins::record_failure(&txn, &account, ACCOUNT_WIDE, now, window, |f| {
                        policy
                            .account_block(f)
                            .and_then(|d| chrono::Duration::from_std(d).ok())
                    })
                    .await?;
                if whole.failures == policy.account_limit {
                    audit::record(&txn, AuditEvent::AccountThrottled, entry(subject, None)).await?;
                    tracing::warn!(
                        account = %account,
                        "many failed logins on one account: sources that never logged in to it wait"
                    );
                }
            }
            audit::record(&txn, AuditEvent::LoginFailed, entry(subject, None)).await?;
            txn.commit().await?;
            return Err(invalid_credentials());
        }
    };
    let user = found.user;
    if user.disabled {
        audit::record(
            &state.db,
            AuditEvent::LoginWhileDisabled,
            entry(Some(user.id), None),
        )
        .await?;
        return Err(ApiError::forbidden(
            "account_disabled",
            "this account is disabled",
        ));
    }
    let device = match device {
        Some(d) => d,
        None => {
            KnownDevice::new(user.id).map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?
        }
    };
    let txn = state.db.begin().await?;
    logins::record_success(&txn, &account, &source, now).await?;
    if source != ip {
        logins::record_success(&txn, &account, &ip, now).await?;
    }
    let jurisdiction = users::jurisdiction_of(&txn, user.id, user.role).await?;
    audit::record(&txn, AuditEvent::LoginSucceeded, entry(Some(user.id), None)).await?;
    let mut session = SessionDto::from(
        open_session(
            &state,
            &txn,
            &user,
            jurisdiction,
            SessionStart {
                password_change_required: found.must_change_password,
                ..SessionStart::login(user_agent(&headers), &ip)
            },
        )
        .await?,
    );
    txn.commit().await?;
    let token = device.token(&state.auth.device_secret);
    let cookie = device_cookie(&state, &token).unwrap_or_else(|| HeaderValue::from_static(""));
    session.device_token = Some(token);
    tracing::info!(user_id = user.id.get(), role = %user.role, "login");
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
    if req.refresh_token.len() > 256 {
        return Err(invalid_refresh());
    }
    let hash = refresh::hash(req.refresh_token.trim());
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
                ip: Some(ip),
                detail: Some(format!("family revoked ({revoked} live tokens)")),
                ..Default::default()
            },
        )
        .await?;
        txn.commit().await?;
        tracing::warn!(
            user_id = record.user_id.get(),
            "refresh token reuse: session family revoked"
        );
        return Err(ApiError::unauthorized(
            "refresh_token_reused",
            "this refresh token was already used; log in again",
        ));
    }
    let found = users::credentials(&txn, record.user_id).await?;
    let user = found.user;
    if user.disabled {
        sessions::revoke_family(&txn, &record.family_id, now).await?;
        txn.commit().await?;
        return Err(invalid_refresh());
    }
    // Role and jurisdiction are read afresh: changes made by an admin apply from here on.
    let jurisdiction = users::jurisdiction_of(&txn, user.id, user.role).await?;
    let session = SessionDto::from(
        open_session(
            &state,
            &txn,
            &user,
            jurisdiction,
            SessionStart {
                family: Some(record.family_id),
                started_at: record.started_at,
                user_agent: user_agent(&headers),
                ip: &ip,
                password_change_required: found.must_change_password,
            },
        )
        .await?,
    );
    txn.commit().await?;
    Ok(Json(session))
}

/// Log out: revoke the refresh token and every token of the same login. Idempotent.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Logged out (also when the token was unknown)")))]
async fn logout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    if req.refresh_token.len() > 256 {
        return Ok(StatusCode::NO_CONTENT);
    }
    let hash = refresh::hash(req.refresh_token.trim());
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
                    ip: Some(ip),
                    ..Default::default()
                },
            )
            .await?;
        }
    }
    txn.commit().await?;
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
