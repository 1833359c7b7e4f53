//! A resident registers with a phone number and a password: a code is texted to the phone, and
//! the account is created, and logged in, when the code comes back.
//!
//! The answers tell nobody which numbers are registered: a phone with an account gets a
//! registration like any other (it holds back the next SMS alike), but its code is sent to
//! nobody, its owner is told that someone tried, and verifying finds the phone taken, which is
//! the same `invalid_code` as a wrong code.

use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait;
use whistle_auth::password::Password;
use whistle_auth::token::keyed_digest;
use whistle_domain::ids::UserId;
use whistle_domain::jurisdiction::Jurisdiction;
use whistle_domain::notice::{Channel, Facts, Locale, Rendered, Template, render};
use whistle_domain::people::{NewUser, PhoneNumber, Role, Username};
use whistle_domain::text::Name;
use whistle_persistence::RepoError;
use whistle_persistence::repo::audit::{self, AuditEntry, AuditEvent};
use whistle_persistence::repo::notifications::{self, NewNotification};
use whistle_persistence::repo::registrations::{self, NewPendingRegistration};
use whistle_persistence::repo::users;

use crate::app::AppError;
use crate::app::sessions::{Session, SessionStart, hash_off_executor, open_session, weak_field};
use crate::state::AppState;

/// How long a registration code works.
pub const CODE_TTL_SECS: i64 = 600;
/// How long a phone waits between two registration texts, whether or not it has an account.
pub const RESEND_SECS: i64 = 60;
/// Codes tried before a pending registration is void (the right one counts too).
pub const MAX_CODE_ATTEMPTS: i32 = 5;

/// A request to register.
#[derive(Debug, Clone)]
pub struct Register {
    pub phone: PhoneNumber,
    pub display_name: Name,
    /// Checked against the password policy and the phone number.
    pub password: String,
    /// The language of the SMS.
    pub locale: Locale,
}

/// Wrong, expired, used up, asked for by nobody, or for a phone that has an account: one answer.
pub fn invalid_code() -> AppError {
    AppError::invalid(
        "invalid_code",
        "code",
        "the code is wrong or expired, or was tried too often; register again for a new code",
    )
}

/// The same answer for a phone with an account and one without, so it tells nothing.
fn resend_too_soon(sent_at: DateTime<Utc>, now: DateTime<Utc>) -> AppError {
    let wait = sent_at + Duration::seconds(RESEND_SECS) - now;
    AppError::Throttled {
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

/// One SMS for the outbox; the notifier sends it through its gateway. The code to a phone
/// without an account; to the owner of one that has, the news that someone tried.
fn registration_sms(
    phone: &PhoneNumber,
    owner: Option<UserId>,
    locale: Locale,
    code: &str,
    hotline: &str,
    now: DateTime<Utc>,
) -> NewNotification {
    let (template, facts) = match owner {
        None => (
            Template::RegistrationCode,
            Facts {
                code: Some(code.to_owned()),
                code_minutes: Some(CODE_TTL_SECS / 60),
                ..Facts::default()
            },
        ),
        Some(_) => (
            Template::RegistrationAttempt,
            Facts {
                hotline: Some(hotline.to_owned()),
                ..Facts::default()
            },
        ),
    };
    let Rendered { title, body } = render(template, locale, &facts);
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
        template,
        case_id: None,
        user_id: owner,
        channel: Channel::Sms,
        address: Some(phone.as_str().to_owned()),
        locale,
        title,
        body,
        payload,
        next_attempt_at: now,
        created_at: now,
    }
}

/// Stores the pending registration and queues its SMS; answers how long the code works, in
/// seconds. Asking again replaces the earlier code, at most once every [`RESEND_SECS`] per
/// phone.
pub async fn register(state: &AppState, cmd: Register) -> Result<i64, AppError> {
    let phone = cmd.phone;
    let password =
        Password::new(&cmd.password, &[phone.as_str()]).map_err(|e| weak_field(e, "password"))?;
    // Spares the argon2 hash for a resend that would be refused anyway; the statement that
    // stores the registration checks again, atomically.
    let now = state.now();
    if let Some(sent_at) = registrations::last_sent(&state.db, &phone).await?
        && sent_at + Duration::seconds(RESEND_SECS) > now
    {
        return Err(resend_too_soon(sent_at, now));
    }
    // Hashed for a phone with an account too, so that both answers take as long.
    let password_hash = hash_off_executor(password).await?;
    let code = new_code();
    let owner = registrations::account_with_phone(&state.db, &phone).await?;
    let now = state.now();
    let resend_from = now - Duration::seconds(RESEND_SECS);
    let pending = NewPendingRegistration {
        phone: phone.clone(),
        display_name: cmd.display_name,
        password_hash,
        code_hash: code_hash(state, &phone, &code),
        sent_at: now,
        expires_at: now + Duration::seconds(CODE_TTL_SECS),
    };
    let sms = registration_sms(
        &phone,
        owner,
        cmd.locale,
        &code,
        &state.settings.app.hotline,
        now,
    );
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
    Ok(CODE_TTL_SECS)
}

/// Creates the resident account with the code texted by [`register`], and logs it in. Every
/// try counts; [`MAX_CODE_ATTEMPTS`] void the registration.
pub async fn verify(
    state: &AppState,
    phone: PhoneNumber,
    code: &str,
    client: SessionStart<'_>,
) -> Result<Session, AppError> {
    let Some(pending) =
        registrations::count_attempt(&state.db, &phone, MAX_CODE_ATTEMPTS, state.now()).await?
    else {
        return Err(invalid_code());
    };
    let presented = code_hash(state, &phone, code.trim());
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
    let user = match users::create_user(
        &txn,
        &new,
        pending.password_hash.clone(),
        None,
        state.now(),
    )
    .await
    {
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
            ip: Some(client.ip.to_owned()),
            ..Default::default()
        },
        state.now(),
    )
    .await?;
    let session = open_session(state, &txn, &user, Jurisdiction::none(), client).await?;
    txn.commit().await?;
    tracing::info!(user_id = user.id.get(), "resident registered");
    Ok(session)
}
