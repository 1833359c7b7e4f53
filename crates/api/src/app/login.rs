//! Logging in with a name and a password, throttled per source.
//!
//! Unknown accounts and wrong passwords get the same answer in the same time. No account is
//! ever locked for everybody: failures are counted per source (the client address, or the
//! device when the client presents a device token of this account). Past the free failures a
//! source waits, and every further attempt from it doubles the wait. Past the account-wide
//! limit (guessing from many addresses), sources that never logged in to the account wait too;
//! a known device or an address that logged in before never does.

use chrono::{DateTime, Duration, Utc};
use sea_orm::TransactionTrait;
use whistle_auth::device::KnownDevice;
use whistle_auth::password::{self, Password};
use whistle_domain::people::{PhoneNumber, Username};
use whistle_persistence::repo::audit::{self, AuditEntry, AuditEvent};
use whistle_persistence::repo::logins::{self, ACCOUNT_WIDE, Forget};
use whistle_persistence::repo::users;

use crate::app::AppError;
use crate::app::sessions::{Session, SessionStart, open_session, verify_off_executor};
use crate::state::AppState;

/// A login attempt.
pub struct Login<'a> {
    /// The name as typed: a username, or a resident's phone number in any common form.
    pub name: &'a str,
    pub password: Password,
    /// The valid device tokens the client presented (of any account).
    pub devices: Vec<KnownDevice>,
    pub ip: &'a str,
    pub user_agent: Option<&'a str>,
}

impl std::fmt::Debug for Login<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("name", &self.name)
            .field("password", &"…")
            .field("devices", &self.devices)
            .field("ip", &self.ip)
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

/// A successful login: the session, and the device token to hand back (the one the client
/// presented for this account, or a new one).
#[derive(Debug)]
pub struct LoggedIn {
    pub session: Session,
    pub device: KnownDevice,
}

fn invalid_credentials() -> AppError {
    AppError::Unauthenticated {
        code: "invalid_credentials",
        detail: "wrong username or password".into(),
    }
}

/// A source that must wait before its next attempt is looked at.
fn throttled(wait: Duration) -> AppError {
    AppError::Throttled {
        code: "login_throttled",
        detail: "too many failed logins from here; wait before trying again (every attempt \
                 meanwhile doubles the wait; a device that logged in to this account before is \
                 not held back)"
            .into(),
        retry_after_secs: ((wait.num_milliseconds() + 999) / 1000).max(1) as u64,
    }
}

/// The login name as stored: a phone number in its 11-digit form, else a username.
fn login_name(raw: &str) -> Option<Username> {
    match PhoneNumber::parse(raw) {
        Ok(phone) => Username::parse(phone.as_str()).ok(),
        Err(_) => Username::parse(raw).ok(),
    }
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
    let before = now - Duration::from_std(keep).unwrap_or(Duration::days(90));
    if let Err(e) = logins::forget_untouched(&state.db, before).await {
        tracing::warn!(error = %e, "could not forget old login counts");
    }
}

/// Logs in, or refuses and counts the failure. An account whose password an admin reset gets
/// a session that may only change the password.
pub async fn login(state: &AppState, cmd: Login<'_>) -> Result<LoggedIn, AppError> {
    let ip = cmd.ip;
    let tried: String = cmd.name.trim().to_lowercase().chars().take(64).collect();
    let name = login_name(cmd.name);
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
    forget_old_counts(state, now).await;
    let policy = state.auth.login_throttle.clone();
    let device = found
        .as_ref()
        .and_then(|f| cmd.devices.into_iter().find(|d| d.user_id == f.user.id));
    let source = device
        .as_ref()
        .map(KnownDevice::source)
        .unwrap_or_else(|| ip.to_owned());
    let counts = logins::states(&state.db, &account, &[&source, ip, ACCOUNT_WIDE]).await?;
    let known_since = now - Duration::from_std(policy.known_for).unwrap_or_default();
    let known = device.is_some()
        || counts
            .get(ip)
            .and_then(|c| c.succeeded_at)
            .is_some_and(|at| at > known_since);
    let forget_source = Forget::LastFailureBefore(
        now - Duration::from_std(policy.forget_after).unwrap_or_default(),
    );
    let source_delay = |f: u32| {
        policy
            .source_delay(f)
            .and_then(|d| Duration::from_std(d).ok())
    };
    let entry = |subject, detail: Option<&str>| AuditEntry {
        subject,
        username: Some(tried.clone()),
        ip: Some(ip.to_owned()),
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
            now,
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
            now,
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
    let matches = verify_off_executor(cmd.password, stored_hash).await?;
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
                    now - Duration::from_std(policy.account_window).unwrap_or_default(),
                );
                let whole =
                    logins::record_failure(&txn, &account, ACCOUNT_WIDE, now, window, |f| {
                        policy
                            .account_block(f)
                            .and_then(|d| Duration::from_std(d).ok())
                    })
                    .await?;
                if whole.failures == policy.account_limit {
                    audit::record(
                        &txn,
                        AuditEvent::AccountThrottled,
                        entry(subject, None),
                        now,
                    )
                    .await?;
                    tracing::warn!(
                        account = %account,
                        "many failed logins on one account: sources that never logged in to it wait"
                    );
                }
            }
            audit::record(&txn, AuditEvent::LoginFailed, entry(subject, None), now).await?;
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
            now,
        )
        .await?;
        return Err(AppError::forbidden(
            "account_disabled",
            "this account is disabled",
        ));
    }
    let device = match device {
        Some(d) => d,
        None => {
            KnownDevice::new(user.id).map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?
        }
    };
    let txn = state.db.begin().await?;
    logins::record_success(&txn, &account, &source, now).await?;
    if source != ip {
        logins::record_success(&txn, &account, ip, now).await?;
    }
    let jurisdiction = users::jurisdiction_of(&txn, user.id, user.role).await?;
    audit::record(
        &txn,
        AuditEvent::LoginSucceeded,
        entry(Some(user.id), None),
        now,
    )
    .await?;
    let session = open_session(
        state,
        &txn,
        &user,
        jurisdiction,
        SessionStart {
            password_change_required: found.must_change_password,
            ..SessionStart::login(cmd.user_agent, ip)
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(user_id = user.id.get(), role = %user.role, "login");
    Ok(LoggedIn { session, device })
}
