//! Authentication in the HTTP layer: the key ring and limiters every request shares, and
//! [`require`], the one way handlers consult the authorization policy. The extractors that turn a
//! bearer token into a principal are in `crate::extract`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use whistle_auth::Principal;
use whistle_auth::policy::{Action, Decision, DenyReason, Resource, authorize};
use whistle_auth::token::{KeyRing, SigningKey};

use crate::config::{Environment, Settings};
use crate::error::ApiError;
use crate::ratelimit::{FailureTracker, KeyedLimiter};

/// What authentication needs at run time.
#[derive(Debug)]
pub struct AuthContext {
    pub keys: KeyRing,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub lockout_threshold: i32,
    pub lockout: chrono::Duration,
    pub ip_limiter: KeyedLimiter,
    pub account_limiter: KeyedLimiter,
    pub unknown_accounts: FailureTracker,
    pub trust_forwarded_for: bool,
    /// Derived from the signing key; makes anonymous reporters' tracking tokens reproducible for
    /// a retried intake (same Idempotency-Key → same token).
    pub tracking_secret: [u8; 32],
}

impl AuthContext {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let auth = &settings.auth;
        let signing = signing_key(settings)?;
        let mut older = Vec::new();
        for raw in auth
            .verification_keys
            .expose()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            older.push(SigningKey::parse(raw).context("auth.verification_keys")?);
        }
        let limits = &settings.limits;
        Ok(AuthContext {
            keys: KeyRing::new(&signing, &older, &auth.issuer, &auth.audience),
            access_ttl_secs: auth.access_ttl_secs.max(1),
            refresh_ttl_secs: auth.refresh_ttl_secs.max(1),
            lockout_threshold: auth.lockout_threshold.max(1),
            lockout: chrono::Duration::seconds(auth.lockout_secs.max(1)),
            ip_limiter: KeyedLimiter::new(limits.auth_ip_burst, limits.auth_ip_per_minute),
            account_limiter: KeyedLimiter::new(
                limits.auth_account_burst,
                limits.auth_account_per_minute,
            ),
            unknown_accounts: FailureTracker::new(
                auth.lockout_threshold.max(1) as u32,
                Duration::from_secs(auth.lockout_secs.max(1) as u64),
            ),
            trust_forwarded_for: limits.trust_forwarded_for,
            tracking_secret: signing.derive("whistle/case-tracking/v1"),
        })
    }

    /// Counts an authentication attempt from `ip` for `account`; 429 when over either limit.
    pub fn throttle(&self, ip: &str, account: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let over = |wait: Duration| ApiError::TooManyRequests {
            code: "rate_limited",
            detail: "too many attempts; retry later".into(),
            retry_after_secs: wait.as_secs().max(1),
        };
        self.ip_limiter.check(ip, now).map_err(over)?;
        self.account_limiter
            .check(&format!("acct:{account}"), now)
            .map_err(over)
    }
}

/// The configured signing key; in development without one, a key generated once and kept in
/// `auth.dev_key_file`; in production without one, an error (the process refuses to start).
fn signing_key(settings: &Settings) -> anyhow::Result<SigningKey> {
    let configured = settings.auth.signing_key.expose().trim();
    if !configured.is_empty() {
        return SigningKey::parse(configured).context("auth.signing_key");
    }
    if settings.app.environment == Environment::Production {
        anyhow::bail!(
            "auth.signing_key is required in production (set WHISTLE__AUTH__SIGNING_KEY to \
             kid:base64 of at least 32 random bytes)"
        );
    }
    let path = Path::new(&settings.auth.dev_key_file);
    if path.exists() {
        let raw =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return SigningKey::parse(&raw).with_context(|| format!("key in {}", path.display()));
    }
    let key = SigningKey::generate("dev-1").context("generating a development key")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_private(path, &key.to_config_string())?;
    tracing::warn!(path = %path.display(), "generated a development signing key; configure auth.signing_key in production");
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(content.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))
}

/// Asks the policy; a denial becomes 403, or 404 for reads that must not reveal existence.
pub fn require(principal: &Principal, action: Action, resource: &Resource) -> Result<(), ApiError> {
    match authorize(principal, action, resource) {
        Decision::Allow => Ok(()),
        Decision::Deny(reason) => {
            // Every refusal is audited (target `whistle::audit`): who, what, why; never the
            // object's personal data.
            tracing::warn!(
                target: "whistle::audit",
                user_id = principal.user_id.get(),
                role = principal.role.as_str(),
                ?action,
                ?reason,
                "refused"
            );
            if action.is_read() && reason != DenyReason::NotPermitted {
                return Err(ApiError::not_found("not_found", "not found"));
            }
            Err(ApiError::forbidden(
                match reason {
                    DenyReason::NotPermitted => "forbidden",
                    DenyReason::OutsideJurisdiction => "outside_jurisdiction",
                    DenyReason::NotOwner => "not_owner",
                },
                "you are not allowed to do this",
            ))
        }
    }
}

/// Like [`require`], for a scope the caller names explicitly (a list or summary of an officer's
/// or a community's work): a denial is always 403 naming why, even for reads, because the
/// officer or community asked about is not a secret, only their records are.
pub fn require_scope(
    principal: &Principal,
    action: Action,
    resource: &Resource,
) -> Result<(), ApiError> {
    match authorize(principal, action, resource) {
        Decision::Allow => Ok(()),
        Decision::Deny(reason) => {
            tracing::warn!(
                target: "whistle::audit",
                user_id = principal.user_id.get(),
                role = principal.role.as_str(),
                ?action,
                ?reason,
                "scope refused"
            );
            Err(ApiError::forbidden(
                match reason {
                    DenyReason::NotPermitted => "forbidden",
                    DenyReason::OutsideJurisdiction => "outside_jurisdiction",
                    DenyReason::NotOwner => "not_owner",
                },
                "you are not allowed to see this",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whistle_domain::ids::{CommunityId, DistrictId, StreetId, UserId};
    use whistle_domain::jurisdiction::{Area, AreaPath, Jurisdiction};
    use whistle_domain::people::Role;

    fn officer() -> Principal {
        Principal {
            user_id: UserId::new(1).unwrap(),
            role: Role::Officer,
            jurisdiction: Jurisdiction::for_role(
                Role::Officer,
                [Area::Community(CommunityId::new(1).unwrap())],
            )
            .unwrap(),
        }
    }

    fn elsewhere() -> Resource {
        Resource::at(AreaPath {
            district: DistrictId::new(2).unwrap(),
            street: StreetId::new(2).unwrap(),
            community: CommunityId::new(2).unwrap(),
        })
    }

    #[test]
    fn denials_map_to_403_or_hiding_404() {
        let p = officer();
        // A read outside the jurisdiction does not reveal that the thing exists.
        let read = require(&p, Action::ViewCase, &elsewhere()).unwrap_err();
        assert_eq!(read.status().as_u16(), 404);
        // An action outside the jurisdiction is a 403 naming why.
        let act = require(&p, Action::HandleCase, &elsewhere()).unwrap_err();
        assert_eq!(
            (act.status().as_u16(), act.code()),
            (403, "outside_jurisdiction")
        );
        // An action the role never has is a plain 403, also for reads.
        let never = require(&p, Action::ManageUsers, &Resource::city()).unwrap_err();
        assert_eq!((never.status().as_u16(), never.code()), (403, "forbidden"));
        let resident = Principal {
            role: Role::Resident,
            jurisdiction: Jurisdiction::none(),
            ..p
        };
        let other = Resource::city().owned_by(UserId::new(99).unwrap());
        assert_eq!(
            require(&resident, Action::ViewCase, &other)
                .unwrap_err()
                .status()
                .as_u16(),
            404
        );
        assert!(
            require(
                &resident,
                Action::ViewCase,
                &Resource::city().owned_by(resident.user_id)
            )
            .is_ok()
        );
    }
}

/// When each account's sessions were last ended (disabled, role or jurisdiction changed,
/// logged out everywhere): access tokens issued before that are refused, on the next request,
/// without a database read per request.
///
/// The process that ends a session notes it at once ([`SessionCutoffs::note`]). Every process
/// also reads the cutoffs of the last access-token lifetime again when its copy is older than
/// `auth.session_poll_ms` (one indexed query a second at most, by whichever request comes
/// first), which is how a change made through another API process arrives. Reading the whole
/// recent window rather than "what changed since my last look" is immune to clock differences
/// between processes and to transactions that commit out of order; the window holds only the
/// accounts changed in the last few minutes.
#[derive(Debug)]
pub struct SessionCutoffs {
    /// User id → cutoff in Unix milliseconds.
    ended: std::sync::RwLock<std::collections::HashMap<i64, i64>>,
    polled_at: std::sync::Mutex<Instant>,
    polling: tokio::sync::Mutex<()>,
    every: Duration,
    /// How far back a cutoff can still matter: the access-token lifetime and its leeway.
    window: chrono::Duration,
}

impl SessionCutoffs {
    pub async fn load(
        db: &whistle_persistence::DatabaseConnection,
        every: Duration,
        access_ttl_secs: i64,
    ) -> Result<Self, whistle_persistence::RepoError> {
        let cutoffs = SessionCutoffs {
            ended: Default::default(),
            polled_at: std::sync::Mutex::new(Instant::now()),
            polling: tokio::sync::Mutex::new(()),
            every,
            window: chrono::Duration::seconds(access_ttl_secs + 60),
        };
        cutoffs.read(db).await?;
        Ok(cutoffs)
    }

    async fn read(
        &self,
        db: &whistle_persistence::DatabaseConnection,
    ) -> Result<(), whistle_persistence::RepoError> {
        let since = chrono::Utc::now() - self.window;
        let rows = whistle_persistence::repo::users::sessions_ended_since(db, since).await?;
        let fresh: std::collections::HashMap<i64, i64> = rows
            .into_iter()
            .map(|(id, at)| (id.get(), at.timestamp_millis()))
            .collect();
        let mut ended = self.ended.write().unwrap_or_else(|p| p.into_inner());
        // Keep what this process noted itself meanwhile, unless it is too old to matter.
        let horizon = since.timestamp_millis();
        ended.retain(|id, at| *at > horizon && !fresh.contains_key(id));
        ended.extend(fresh);
        *self.polled_at.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        Ok(())
    }

    /// Reads the cutoffs again when this copy is older than the poll interval and no other
    /// request is reading them already. A failed read keeps the old copy (and is logged): the
    /// database being away must not turn every authenticated request into an error here.
    pub async fn refresh_if_due(&self, db: &whistle_persistence::DatabaseConnection) {
        let due = self
            .polled_at
            .lock()
            .map(|t| t.elapsed() >= self.every)
            .unwrap_or(true);
        if !due {
            return;
        }
        let Ok(_reading) = self.polling.try_lock() else {
            return;
        };
        if let Err(e) = self.read(db).await {
            tracing::warn!(error = %e, "could not read the session cutoffs; using the last copy");
            // Try again after another interval, not on every request while the database is away.
            *self.polled_at.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        }
    }

    /// Records a cutoff this process wrote (after its transaction committed).
    pub fn note(&self, user: whistle_domain::ids::UserId, at: chrono::DateTime<chrono::Utc>) {
        let mut ended = self.ended.write().unwrap_or_else(|p| p.into_inner());
        let at = at.timestamp_millis();
        let entry = ended.entry(user.get()).or_insert(at);
        *entry = (*entry).max(at);
    }

    /// Whether a token of `user` issued at `issued_at_ms` was issued before its sessions ended.
    pub fn refuses(&self, user: whistle_domain::ids::UserId, issued_at_ms: i64) -> bool {
        self.ended
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&user.get())
            .is_some_and(|cutoff| issued_at_ms < *cutoff)
    }
}

/// The header an anonymous reporter sends the tracking token of their case in.
pub const TRACKING_HEADER: &str = "x-tracking-token";

/// Who acts on one case: an account (the policy decides what it may do), or the anonymous
/// reporter holding that case's tracking token (which opens that case and no other).
#[derive(Debug, Clone)]
pub enum CaseCaller {
    Account(Principal),
    Reporter,
}

/// Without a login the case's tracking token must come along: none is 401, a wrong one is
/// answered like a missing case (404), so a token cannot be used to probe which ids exist.
pub async fn case_caller(
    state: &crate::state::AppState,
    case_id: whistle_domain::ids::CaseId,
    viewer: Option<Principal>,
    headers: &axum::http::HeaderMap,
) -> Result<CaseCaller, ApiError> {
    if let Some(p) = viewer {
        return Ok(CaseCaller::Account(p));
    }
    let Some(token) = headers.get(TRACKING_HEADER).and_then(|v| v.to_str().ok()) else {
        return Err(ApiError::unauthorized(
            "unauthenticated",
            "log in or send the case's X-Tracking-Token",
        ));
    };
    let stored = whistle_persistence::repo::cases::tracking_hash(&state.db, case_id).await?;
    match stored {
        Some(h) if token.len() <= 128 && whistle_auth::refresh::hash(token) == h => {
            Ok(CaseCaller::Reporter)
        }
        _ => Err(ApiError::not_found("case_not_found", "no such case")),
    }
}
