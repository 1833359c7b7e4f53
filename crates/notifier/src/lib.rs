#![doc = include_str!("../README.md")]

pub mod channels;
mod deliver;
pub mod metrics;
pub mod settings;
mod sweep;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::DatabaseConnection;
use whistle_domain::notice::{QuietHours, SlaThresholds};
use whistle_domain::time::{Clock, SystemClock};
use whistle_persistence::repo::notifications as outbox;
use whistle_persistence::{Backend, RepoError, connect};

pub use deliver::Outcome;
pub use settings::Settings;

use channels::{Email, Inbox, Sms, Webhooks};
use metrics::Metrics;

/// Installs the log subscriber the configuration asks for.
pub fn init_logging(settings: &Settings) {
    whistle_process::init_logs(&settings.log);
}

/// The lease that makes one notifier the active one on SQLite.
const SQLITE_LEASE: &str = "sqlite";

/// What one [`Notifier::run_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// `false` on SQLite when another notifier holds the lease: this one stood by.
    pub active: bool,
    pub events: usize,
    pub deadlines: usize,
    pub pledges: usize,
    /// Notifications written to the outbox.
    pub created: u64,
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
    pub moot: usize,
    pub deferred: usize,
    /// Whether a step filled its whole batch: more may be waiting right now.
    pub more: bool,
}

/// Totals of several rounds (`more` is the last round's).
impl std::ops::AddAssign for Report {
    fn add_assign(&mut self, r: Report) {
        self.active |= r.active;
        self.events += r.events;
        self.deadlines += r.deadlines;
        self.pledges += r.pledges;
        self.created += r.created;
        self.sent += r.sent;
        self.retried += r.retried;
        self.dead += r.dead;
        self.moot += r.moot;
        self.deferred += r.deferred;
        self.more = r.more;
    }
}

impl Report {
    pub fn to_json(&self) -> String {
        format!(
            "{{\"active\":{},\"events\":{},\"deadlines\":{},\"pledges\":{},\"created\":{},\"sent\":{},\"retried\":{},\"dead\":{},\"moot\":{},\"deferred\":{}}}",
            self.active,
            self.events,
            self.deadlines,
            self.pledges,
            self.created,
            self.sent,
            self.retried,
            self.dead,
            self.moot,
            self.deferred
        )
    }
}

/// What one sweep wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub events: usize,
    pub deadlines: usize,
    pub pledges: usize,
    pub created: u64,
    pub elapsed: Duration,
}

/// One notifier process: the sweep that writes the outbox and the delivery that empties it.
pub struct Notifier {
    db: DatabaseConnection,
    backend: Backend,
    worker: String,
    settings: Settings,
    thresholds: SlaThresholds,
    quiet: Option<QuietHours>,
    offset: FixedOffset,
    inbox: Inbox,
    webhooks: Webhooks,
    sms: Option<Sms>,
    email: Option<Email>,
    metrics: Arc<Metrics>,
    /// Where "now" comes from for a round started by [`Notifier::run_once`] and for the time a
    /// delivery is recorded as sent.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("worker", &self.worker)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier over an open database (migrated by the API; the notifier never migrates),
    /// on the system's clock.
    pub fn new(db: DatabaseConnection, settings: Settings) -> anyhow::Result<Arc<Self>> {
        Self::with_clock(db, settings, Arc::new(SystemClock))
    }

    /// The same, reading the time from `clock`.
    pub fn with_clock(
        db: DatabaseConnection,
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Arc<Self>> {
        settings.validate()?;
        let timeout = Duration::from_secs(settings.notifier.send_timeout_secs.max(1));
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("whistle-notifier/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        let n = &settings.notifier;
        let sms = (!n.sms.url.is_empty()).then(|| Sms::new(client.clone(), n.sms.clone()));
        let email = if n.smtp.host.is_empty() {
            None
        } else {
            Some(Email::new(&n.smtp, timeout).context("notifier.smtp")?)
        };
        Ok(Arc::new(Self {
            backend: Backend::of(&db),
            worker: settings.worker_id(),
            thresholds: settings.thresholds()?,
            quiet: settings.quiet_hours()?,
            offset: settings.offset(),
            inbox: Inbox,
            webhooks: Webhooks::new(client, n.webhooks.clone()),
            sms,
            email,
            metrics: Arc::new(Metrics::default()),
            clock,
            db,
            settings,
        }))
    }

    pub fn worker_id(&self) -> &str {
        &self.worker
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    /// One round at the clock's current time.
    pub async fn run_once(self: &Arc<Self>) -> Result<Report, RepoError> {
        self.run_once_at(self.clock.now()).await
    }

    /// One round as if it were `now`: fan out queued case events, plan and send deadline
    /// reminders that are due, the day's pledge reminders, then one batch of deliveries. Tests
    /// drive the clock through `now`; the loop passes the wall clock.
    pub async fn run_once_at(self: &Arc<Self>, now: DateTime<Utc>) -> Result<Report, RepoError> {
        let mut report = Report::default();
        if self.backend == Backend::Sqlite {
            let lease = now + chrono::Duration::from_std(self.claim_duration()).unwrap_or_default();
            if !outbox::acquire_lease(&self.db, SQLITE_LEASE, &self.worker, now, lease).await? {
                return Ok(report);
            }
        }
        report.active = true;
        let batch = self.settings.notifier.batch_size as usize;
        let swept = self.sweep_at(now).await?;
        let (events, deadlines) = (swept.events, swept.deadlines);
        report.events = swept.events;
        report.deadlines = swept.deadlines;
        report.pledges = swept.pledges;
        report.created = swept.created;
        let outcomes = self.deliver_batch(now).await?;
        for o in &outcomes {
            match o {
                Outcome::Sent => report.sent += 1,
                Outcome::Retry => report.retried += 1,
                Outcome::Dead => report.dead += 1,
                Outcome::Moot => report.moot += 1,
                Outcome::Deferred => report.deferred += 1,
                Outcome::Lost => {}
            }
        }
        report.more = events >= batch || deadlines >= batch || outcomes.len() >= batch;
        self.refresh_depth().await?;
        Ok(report)
    }

    /// The writing half of a round (no lease, no delivery): one batch of queued case events,
    /// one batch of due deadlines, and the day's pledges. Public for the benchmark.
    pub async fn sweep_at(&self, now: DateTime<Utc>) -> Result<Swept, RepoError> {
        let started = Instant::now();
        let (events, a) = self.fan_out_events(now).await?;
        let (deadlines, b) = self.sweep_deadlines(now).await?;
        let (pledges, c) = self.sweep_pledges(now).await?;
        let elapsed = started.elapsed();
        self.metrics.sweep(elapsed.as_secs_f64());
        self.metrics.created(a + b + c);
        Ok(Swept {
            events,
            deadlines,
            pledges,
            created: a + b + c,
            elapsed,
        })
    }

    async fn refresh_depth(&self) -> Result<(), RepoError> {
        let queue = outbox::queue_depth(&self.db).await? as i64;
        let events = outbox::queued_events(&self.db).await? as i64;
        self.metrics.depth(queue, events);
        Ok(())
    }

    /// Lets go of the SQLite lease so another notifier can take over at once.
    pub async fn stand_down(&self) -> Result<(), RepoError> {
        if self.backend == Backend::Sqlite {
            outbox::release_lease(&self.db, SQLITE_LEASE, &self.worker).await?;
        }
        Ok(())
    }

    /// Rounds until nothing more is due now (for `--once`).
    pub async fn drain(self: &Arc<Self>) -> Result<Report, RepoError> {
        let mut total = Report::default();
        loop {
            let r = self.run_once().await?;
            let more = r.more;
            total += r;
            if !more {
                // Done for now: another notifier (cron's next run, say) need not wait for the
                // lease to expire.
                self.stand_down().await?;
                return Ok(total);
            }
        }
    }

    /// Rounds until `stop` completes, then finishes the round in hand and lets go of the
    /// lease. A failing database is logged and waited out with a growing pause; the work it
    /// interrupted is still in the database (claims expire, queued events stay queued).
    pub async fn run_until(self: &Arc<Self>, stop: impl Future<Output = ()> + Send + 'static) {
        let stopping = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(tokio::sync::Notify::new());
        {
            let (stopping, wake) = (Arc::clone(&stopping), Arc::clone(&wake));
            tokio::spawn(async move {
                stop.await;
                stopping.store(true, Ordering::SeqCst);
                wake.notify_waiters();
            });
        }
        let poll = Duration::from_millis(self.settings.notifier.poll_interval_ms.max(10));
        let mut failures: u32 = 0;
        while !stopping.load(Ordering::SeqCst) {
            let pause = match self.run_once().await {
                Ok(r) => {
                    if failures > 0 {
                        tracing::info!("database reachable again; resuming");
                    }
                    failures = 0;
                    if r.created + (r.sent + r.dead + r.retried) as u64 > 0 {
                        tracing::info!(
                            events = r.events,
                            deadlines = r.deadlines,
                            created = r.created,
                            sent = r.sent,
                            retried = r.retried,
                            dead = r.dead,
                            moot = r.moot,
                            "round"
                        );
                    }
                    if r.more { Duration::ZERO } else { poll }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    self.metrics.sweep_error();
                    let pause = poll
                        .saturating_mul(1 << failures.min(5))
                        .min(Duration::from_secs(30));
                    tracing::error!(error = %e, attempt = failures, retry_in_ms = pause.as_millis() as u64, "round failed; waiting for the database");
                    pause
                }
            };
            if pause.is_zero() {
                continue;
            }
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if stopping.load(Ordering::SeqCst) {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(pause) => {},
                () = notified => {},
            }
        }
        if let Err(e) = self.stand_down().await {
            tracing::warn!(error = %e, "could not release the lease; it will expire");
        }
        tracing::info!(worker = %self.worker, "notifier stopped");
    }
}

/// Serves `/metrics` (and `/healthz`) on `addr` until the process ends.
pub async fn serve_metrics(
    addr: &str,
    metrics: Arc<Metrics>,
) -> anyhow::Result<std::net::SocketAddr> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics address {addr}"))?;
    let local = listener.local_addr()?;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = Arc::clone(&metrics);
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        m.render(),
                    )
                }
            }),
        )
        .route("/healthz", get(|| async { "ok" }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    Ok(local)
}

/// Connects, serves metrics, and runs until `stop` (or, with `once`, until nothing is due).
pub async fn run(
    settings: Settings,
    once: bool,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Report> {
    let db = connect(&settings.db_settings())
        .await
        .context("connecting to the database")?;
    db.ping().await.context("pinging the database")?;
    let addr = settings.notifier.metrics_addr.clone();
    let notifier = Notifier::new(db.clone(), settings)?;
    if !once && !addr.is_empty() {
        let bound = serve_metrics(&addr, notifier.metrics()).await?;
        tracing::info!(%bound, "metrics at /metrics");
    }
    tracing::info!(backend = ?notifier.backend, worker = %notifier.worker, "notifier ready");
    let report = if once {
        notifier.drain().await.context("running once")?
    } else {
        notifier.run_until(stop).await;
        Report::default()
    };
    db.close().await.context("closing the database pool")?;
    Ok(report)
}
pub use whistle_process::shutdown_signal;
