//! Authentication in the HTTP layer: the key ring and limiters every request shares, the
//! session cutoffs, and who is asking about a case. The extractors that turn a bearer token
//! into a principal are in `crate::extract`; the policy is consulted through
//! `crate::app::access`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use whistle_auth::token::{KeyRing, SigningKey};

use crate::config::{Environment, Settings};
use crate::ratelimit::KeyedLimiter;

/// What authentication needs at run time.
#[derive(Debug)]
pub struct AuthContext {
    pub keys: KeyRing,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    /// How failed logins slow further ones (counted in the database, `repo::logins`).
    pub login_throttle: whistle_auth::throttle::LoginThrottle,
    pub ip_limiter: KeyedLimiter,
    pub account_limiter: KeyedLimiter,
    pub trust_forwarded_for: bool,
    pub forwarded_for_hops: u32,
    /// Signs known-device tokens (`whistle_auth::device`).
    pub device_secret: [u8; 32],
    /// Unix seconds of the last sweep of old login counts (one per hour per process).
    pub login_sweep_at: std::sync::atomic::AtomicI64,
    /// Whether the device cookie carries `Secure` (the public URL is https).
    pub secure_cookies: bool,
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
            login_throttle: whistle_auth::throttle::LoginThrottle {
                free_failures: auth.login_free_failures.max(1),
                first_delay: Duration::from_secs(auth.login_first_delay_secs.max(1)),
                max_delay: Duration::from_secs(auth.login_max_delay_secs.max(1)),
                forget_after: Duration::from_secs(auth.login_forget_after_secs.max(1)),
                account_limit: auth.account_failure_limit.max(1),
                account_window: Duration::from_secs(auth.account_window_secs.max(1)),
                account_block: Duration::from_secs(auth.account_block_secs.max(1)),
                known_for: Duration::from_secs(auth.known_device_days.max(1) * 86_400),
            },
            ip_limiter: KeyedLimiter::new(limits.auth_ip_burst, limits.auth_ip_per_minute),
            account_limiter: KeyedLimiter::new(
                limits.auth_account_burst,
                limits.auth_account_per_minute,
            ),
            trust_forwarded_for: limits.trust_forwarded_for,
            forwarded_for_hops: limits.forwarded_for_hops.max(1),
            device_secret: signing.derive("whistle/known-device/v1"),
            login_sweep_at: std::sync::atomic::AtomicI64::new(0),
            secure_cookies: settings.server.public_base_url.starts_with("https://"),
            tracking_secret: signing.derive("whistle/case-tracking/v1"),
        })
    }

    /// Counts an authentication attempt from `ip` for `account`; 429 when over either limit.
    /// For registration and its codes, keyed by phone; logins use [`AuthContext::throttle_address`]
    /// and the per-source counts instead, since a limit per account name alone would let anyone
    /// keep the account's owner out.
    pub fn throttle(&self, ip: &str, account: &str) -> Result<(), TooManyAttempts> {
        self.throttle_address(ip)?;
        self.account_limiter
            .check(&format!("acct:{account}"), Instant::now())
            .map_err(too_many)
    }

    /// Counts an authentication attempt from `ip`; 429 when the address sends too many.
    pub fn throttle_address(&self, ip: &str) -> Result<(), TooManyAttempts> {
        self.ip_limiter.check(ip, Instant::now()).map_err(too_many)
    }
}

/// Too many attempts from one address or for one account: try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyAttempts {
    pub retry_after: Duration,
}

fn too_many(retry_after: Duration) -> TooManyAttempts {
    TooManyAttempts { retry_after }
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
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, whistle_persistence::RepoError> {
        let cutoffs = SessionCutoffs {
            ended: Default::default(),
            polled_at: std::sync::Mutex::new(Instant::now()),
            polling: tokio::sync::Mutex::new(()),
            every,
            window: chrono::Duration::seconds(access_ttl_secs + 60),
        };
        cutoffs.read(db, now).await?;
        Ok(cutoffs)
    }

    async fn read(
        &self,
        db: &whistle_persistence::DatabaseConnection,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), whistle_persistence::RepoError> {
        let since = now - self.window;
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
    /// `now` is the state's clock; the poll interval itself is measured on the monotonic clock.
    pub async fn refresh_if_due(
        &self,
        db: &whistle_persistence::DatabaseConnection,
        now: chrono::DateTime<chrono::Utc>,
    ) {
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
        if let Err(e) = self.read(db, now).await {
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
