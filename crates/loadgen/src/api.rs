//! The API's benchmark: Whistle's cost over the database's own.
//!
//! Seeds a PostgreSQL database of its own with `--cases` cases over the demo city, starts the
//! real `whistle-api` binary on it as a child process (so its memory and CPU can be read from
//! `/proc`), and drives each scenario through a real HTTP client at `--concurrency` for
//! `--duration` seconds. In the same run the same work goes straight to PostgreSQL through the
//! same driver (sqlx under sea-orm) at the same concurrency: the raw baseline. `GET /healthz`
//! is the HTTP ceiling: what the server costs with no database at all.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value,
};
use serde_json::json;
use whistle_persistence::{DbSettings, connect, migrate};

/// The signing key handed to the server (`kid:base64` of 32 bytes); a benchmark needs no secret.
const SIGNING_KEY: &str = "bench-1:KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The PostgreSQL server (a database of its own is created there and dropped after).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    server: String,
    /// Cases in the database before the first scenario.
    #[arg(long, default_value_t = 1_000_000)]
    cases: u64,
    /// Concurrent clients, for the API and for the raw baseline alike.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// CI's quick run: 10,000 cases, 3 seconds per scenario (overrides --cases and --duration).
    #[arg(long)]
    smoke: bool,
    /// The `whistle-api` binary (default: beside this one, as cargo builds it).
    #[arg(long)]
    api_bin: Option<PathBuf>,
    /// Also measure case intake on the embedded default (a fresh SQLite file, demo city only).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    sqlite: bool,
    /// Write the results as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the Markdown table here too (it is always printed).
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Keep the database afterwards (its name is printed).
    #[arg(long)]
    keep: bool,
}

// ---- measuring -------------------------------------------------------------------------------

/// One unit of work: `Ok(true)` done, `Ok(false)` nothing left to do (the worker stops).
type Op = Arc<
    dyn Fn(usize, u64) -> Pin<Box<dyn Future<Output = anyhow::Result<bool>> + Send>> + Send + Sync,
>;

fn op<F, Fut>(f: F) -> Op
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<bool>> + Send + 'static,
{
    Arc::new(move |w, i| Box::pin(f(w, i)))
}

#[derive(Debug)]
struct Stats {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    secs: f64,
    hist: Histogram<u64>,
}

impl Stats {
    fn per_sec(&self) -> f64 {
        self.ok as f64 / self.secs.max(1e-9)
    }
    fn ms(&self, q: f64) -> f64 {
        self.hist.value_at_quantile(q) as f64 / 1000.0
    }
    fn json(&self) -> serde_json::Value {
        json!({
            "ok": self.ok, "errors": self.errors, "first_error": self.first_error,
            "secs": self.secs, "per_sec": self.per_sec(),
            "p50_ms": self.ms(0.50), "p95_ms": self.ms(0.95), "p99_ms": self.ms(0.99),
            "max_ms": self.hist.max() as f64 / 1000.0,
        })
    }
}

fn histogram() -> Histogram<u64> {
    // Microseconds, from 1 µs to 60 s, three significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Runs `op` from `concurrency` workers until `duration` has passed (or the work runs out).
async fn drive(concurrency: usize, duration: Duration, op: Op) -> Stats {
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let op = op.clone();
        workers.push(tokio::spawn(async move {
            let mut hist = histogram();
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None);
            let mut i = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                match op(w, i).await {
                    Ok(true) => {
                        ok += 1;
                        let us = t.elapsed().as_micros().clamp(1, 60_000_000) as u64;
                        hist.saturating_record(us);
                    }
                    Ok(false) => break,
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
                i += 1;
            }
            (hist, ok, errors, first_error)
        }));
    }
    let mut stats = Stats {
        ok: 0,
        errors: 0,
        first_error: None,
        secs: 0.0,
        hist: histogram(),
    };
    for w in workers {
        match w.await {
            Ok((h, ok, errors, first)) => {
                stats.hist.add(&h).expect("same bounds");
                stats.ok += ok;
                stats.errors += errors;
                if stats.first_error.is_none() {
                    stats.first_error = first;
                }
            }
            Err(e) => {
                stats.errors += 1;
                stats.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    stats.secs = start.elapsed().as_secs_f64();
    stats
}

/// A child process's CPU time (user + system) and memory, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
struct ProcSample {
    cpu_secs: f64,
    /// All PostgreSQL processes together (`postgres_cpu_secs`).
    pg_cpu_secs: f64,
    rss_kb: u64,
    peak_rss_kb: u64,
}

fn sample(pid: u32) -> ProcSample {
    let mut s = ProcSample {
        pg_cpu_secs: postgres_cpu_secs(),
        ..ProcSample::default()
    };
    if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // Fields after the command name (which may hold spaces) start at field 3.
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            // utime and stime are fields 14 and 15, i.e. 11 and 12 after the name; Linux
            // reports them in USER_HZ, which is 100 on every mainstream architecture.
            s.cpu_secs = (ticks(11) + ticks(12)) / 100.0;
        }
    }
    if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
        for line in status.lines() {
            let kb = || {
                line.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            if line.starts_with("VmRSS:") {
                s.rss_kb = kb();
            } else if line.starts_with("VmHWM:") {
                s.peak_rss_kb = kb();
            }
        }
    }
    s
}

/// CPU time (user + system) of every PostgreSQL server process on this host, in seconds: the
/// database's share of the two cores during a scenario. Backends that exit in between are lost,
/// but the pools here keep theirs for the whole run.
fn postgres_cpu_secs() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .map(|stat| {
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            (ticks(11) + ticks(12)) / 100.0
        })
        .sum()
}

// ---- the database ----------------------------------------------------------------------------

pub(crate) async fn exec(db: &impl ConnectionTrait, sql: &str) -> anyhow::Result<u64> {
    Ok(db
        .execute_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await
        .with_context(|| format!("running {}", sql.lines().next().unwrap_or(sql)))?
        .rows_affected())
}

async fn ids(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<i64>> {
    let rows = db
        .query_all_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await
        .with_context(|| format!("running {sql}"))?;
    rows.iter()
        .map(|r| r.try_get_by_index::<i64>(0).map_err(Into::into))
        .collect()
}

pub(crate) async fn one_id(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    ids(db, sql)
        .await?
        .first()
        .copied()
        .with_context(|| format!("no row for {sql}"))
}

/// `n` cases over the demo city, ids in the order they were reported over two years: the
/// newest 5% still open and spread over every stage (with deadlines from long overdue to three
/// days ahead), the rest closed or (one in twenty) rejected. Every category, grid, priority and
/// source; assigned to the officer stationed in the community where there is one. Each case has
/// its report event, and those past `reported` a second event.
pub(crate) async fn seed_cases(db: &DatabaseConnection, n: u64) -> anyhow::Result<()> {
    let open_from = n - n / 20;
    let sql = format!(
        "INSERT INTO cases (number, category_id, case_type, priority, source, status, description,
            address, lat, lon, grid_id, community_id, street_id, district_id, reporter_id,
            reporter_phone, suggested_officer_id, assignee_id, stage, stage_due, stage_started_at,
            version, created_at, updated_at, closed_at)
         SELECT 'BX-' || to_char(s.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-'
                    || lpad(s.g::text, 7, '0'),
            s.category_id, s.case_type, s.priority, s.source, s.status,
            '压测案件 ' || s.g || '：小区门口有人占道经营，影响通行。', '压测地址 ' || (s.g % 500),
            s.lat, s.lon, s.grid_id, s.community_id, s.street_id, s.district_id,
            CASE WHEN s.h % 3 = 0 THEN s.zhang END,
            CASE WHEN s.h % 3 <> 0 THEN '139' || lpad((s.g % 100000000)::text, 8, '0') END,
            s.officer,
            CASE WHEN s.status IN ('dispatched','in_progress','resolved','verified','closed')
                 THEN s.officer END,
            s.stage,
            CASE WHEN s.stage IS NOT NULL THEN s.created_at + (s.h % 96) * interval '1 hour' END,
            CASE WHEN s.stage IS NOT NULL THEN s.created_at END,
            CASE WHEN s.status = 'reported' THEN 1 ELSE 5 END,
            s.created_at, s.created_at,
            CASE WHEN s.status IN ('closed','rejected')
                 THEN s.created_at + (1 + s.h % 5) * interval '1 day' END
         FROM (
            SELECT r.g, r.h, r.created_at, c.id AS category_id, c.case_type,
                (ARRAY['normal','normal','normal','high','urgent','low'])[1 + (r.g * 40503) % 6]
                    AS priority,
                (ARRAY['resident_app','resident_app','hotline_12345','officer_patrol','partner'])
                    [1 + (r.g * 7) % 5] AS source,
                r.status,
                CASE r.status WHEN 'reported' THEN 'accept' WHEN 'accepted' THEN 'dispatch'
                    WHEN 'dispatched' THEN 'sign' WHEN 'in_progress' THEN 'resolve'
                    WHEN 'resolved' THEN 'verify' END AS stage,
                34.585 + 0.012 * ((r.h % 1000) / 1000.0) AS lat,
                119.140 + 0.016 * (((r.h / 1000) % 1000) / 1000.0) AS lon,
                gr.id AS grid_id, gr.community_id, co.street_id, st.district_id,
                (SELECT officer_id FROM stationing sn WHERE sn.community_id = gr.community_id
                 ORDER BY sn.id LIMIT 1) AS officer,
                (SELECT id FROM users WHERE username = '13800001234') AS zhang
            FROM (
                SELECT g, (g * 2654435761) % 4294967296 AS h,
                    now() - ({n} - g) * (interval '730 days' / {n}) AS created_at,
                    CASE WHEN g > {open_from} THEN
                        (ARRAY['reported','accepted','dispatched','in_progress','in_progress',
                               'resolved','verified'])[1 + (g * 2654435761 / 7) % 7]
                    WHEN (g * 2654435761) % 20 = 0 THEN 'rejected'
                    ELSE 'closed' END AS status
                FROM generate_series(1::bigint, {n}) g
            ) r
            JOIN (SELECT id, case_type, row_number() OVER (ORDER BY id) - 1 AS k
                  FROM case_category) c ON c.k = r.g % (SELECT count(*) FROM case_category)
            JOIN (SELECT id, community_id, row_number() OVER (ORDER BY id) - 1 AS k FROM grid) gr
              ON gr.k = (r.g / 7) % (SELECT count(*) FROM grid)
            JOIN community co ON co.id = gr.community_id
            JOIN street st ON st.id = co.street_id
         ) s"
    );
    exec(db, &sql).await?;
    // The notifier's plan of every running deadline: look at it when it falls due.
    exec(
        db,
        "INSERT INTO case_sla (case_id, check_at)
         SELECT id, stage_due FROM cases WHERE number LIKE 'BX-%' AND stage_due IS NOT NULL",
    )
    .await?;
    exec(
        db,
        "INSERT INTO case_event (case_id, at, actor_id, actor_role, action, from_status,
            to_status, data)
         SELECT id, created_at, reporter_id,
            CASE WHEN reporter_id IS NULL THEN 'anonymous' ELSE 'resident' END, 'report', NULL,
            'reported', '{\"source\":\"' || source || '\"}'
         FROM cases WHERE number LIKE 'BX-%'",
    )
    .await?;
    exec(
        db,
        "INSERT INTO case_event (case_id, at, actor_role, action, from_status, to_status, note)
         SELECT id, created_at + interval '1 hour', 'dispatcher',
            CASE status WHEN 'rejected' THEN 'reject' ELSE 'accept' END, 'reported', status,
            '压测：批量推进'
         FROM cases WHERE number LIKE 'BX-%' AND status <> 'reported'",
    )
    .await?;
    // A database that has been running for two years has been vacuumed by autovacuum: its
    // visibility map is set, and index-only scans skip the table. A bulk load has neither until
    // autovacuum comes round, so do now what it would do.
    exec(db, "VACUUM ANALYZE").await?;
    Ok(())
}

// ---- the server ------------------------------------------------------------------------------

/// A `whistle-api` child process, killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn api_binary(args: &Args) -> anyhow::Result<PathBuf> {
    binary_beside(args.api_bin.as_ref())
}

/// The `whistle-api` binary: the one given, else the one cargo built beside this tool.
pub(crate) fn binary_beside(given: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    let bin = match given {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("the benchmark's own directory")?
            .join("whistle-api"),
    };
    if !bin.is_file() {
        bail!(
            "no whistle-api binary at {} (build it first: cargo build -p whistle-api, with \
             --release for a release benchmark; or pass --api-bin)",
            bin.display()
        );
    }
    Ok(bin)
}

pub(crate) async fn start_server(
    bin: &Path,
    database_url: &str,
    demo: bool,
    dir: &Path,
    client: &reqwest::Client,
) -> anyhow::Result<Server> {
    // A free port: bind, note it, let go. The server binds it a moment later.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let log = dir.join(format!("whistle-api-{port}.log"));
    let mut cmd = Command::new(bin);
    if demo {
        cmd.arg("--demo");
    }
    cmd.env("DATABASE_URL", database_url)
        .env("WHISTLE__SERVER__HOST", "127.0.0.1")
        .env("WHISTLE__SERVER__PORT", port.to_string())
        .env("WHISTLE__AUTH__SIGNING_KEY", SIGNING_KEY)
        .env("WHISTLE__ATTACHMENTS__DIR", dir.join("attachments"))
        .env("WHISTLE__LOG__FILTER", "warn")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?);
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    };
    let t = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await
            && r.status().is_success()
        {
            return Ok(server);
        }
        if t.elapsed() > Duration::from_secs(60) {
            let log = std::fs::read_to_string(&server.log).unwrap_or_default();
            bail!("whistle-api did not answer /healthz within 60 s; its log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn login(client: &reqwest::Client, base: &str, user: &str) -> anyhow::Result<String> {
    let res = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": user, "password": whistle_api::demo::DEMO_PASSWORD}))
        .send()
        .await?;
    let status = res.status();
    let body: serde_json::Value = res.json().await?;
    if !status.is_success() {
        bail!("login {user}: {status} {body}");
    }
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("an access token")
}

/// Sends a request and checks its status; the body is read to the end, as a client would.
async fn expect(req: reqwest::RequestBuilder, want: u16) -> anyhow::Result<usize> {
    let res = req.send().await?;
    let status = res.status().as_u16();
    let body = res.bytes().await?;
    if status != want {
        bail!(
            "status {status} (wanted {want}): {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    }
    Ok(body.len())
}

/// A deterministic pseudo-random number (splitmix64): no extra dependency, repeatable runs.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn unit(x: u64) -> f64 {
    (mix(x) >> 11) as f64 / (1u64 << 53) as f64
}

/// A report as a phone sends it: a point inside one of the two communities that have an
/// officer stationed (so it is routed to someone), a category from the catalogue.
fn report_body(categories: &[String], w: usize, i: u64) -> serde_json::Value {
    let seed = ((w as u64) << 40) ^ i;
    let col = (mix(seed) % 2) as usize;
    let [min_lon, min_lat, max_lon, max_lat] = whistle_api::demo::community_rect(0, col);
    let lat = min_lat + (max_lat - min_lat) * (0.05 + 0.9 * unit(seed ^ 1));
    let lon = min_lon + (max_lon - min_lon) * (0.05 + 0.9 * unit(seed ^ 2));
    let category = &categories[(mix(seed ^ 3) % categories.len() as u64) as usize];
    json!({
        "category": category,
        "description": format!("压测：小区南门外商家高音喇叭叫卖，噪声扰民（{w}-{i}）。"),
        "lat": lat, "lon": lon, "crs": "wgs84",
        "address": "文昌社区南门",
    })
}

// ---- the run ---------------------------------------------------------------------------------

struct Row {
    scenario: &'static str,
    api: Option<Stats>,
    raw: Option<Stats>,
    /// The server's CPU over the API half of the scenario, in cores (1.0 = one core busy).
    api_cpu: Option<f64>,
    /// PostgreSQL's CPU over the API half, in cores.
    pg_cpu: Option<f64>,
    api_rss_mb: Option<f64>,
}

impl Row {
    /// CPU time per operation in µs from a share of the cores (`cores` × 1 s ÷ operations per
    /// second): less sensitive than the throughput to what else runs on a shared machine.
    fn micros_per_op(&self, cores: Option<f64>) -> Option<f64> {
        let per_sec = self.api.as_ref()?.per_sec();
        let cores = cores?;
        (per_sec > 0.0).then(|| cores * 1e6 / per_sec)
    }
}

pub async fn run(mut args: Args) -> anyhow::Result<()> {
    if args.smoke {
        args.cases = 10_000;
        args.duration = 3;
    }
    if !args.server.starts_with("postgres") {
        bail!("the API benchmark seeds PostgreSQL (--server postgres://…)");
    }
    if args.cases < 100 {
        bail!("--cases must be at least 100");
    }
    let bin = api_binary(&args)?;
    let scratch = Scratch::create(&args.server, "whistle_bench").await?;
    let result = measure(&args, &bin, &scratch.url, &scratch.dir).await;
    scratch.finish(args.keep).await?;
    result
}

/// A PostgreSQL database and a work directory of a benchmark's own, named alike.
pub(crate) struct Scratch {
    admin: DatabaseConnection,
    name: String,
    pub(crate) url: String,
    pub(crate) dir: PathBuf,
}

impl Scratch {
    pub(crate) async fn create(server: &str, prefix: &str) -> anyhow::Result<Self> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(server)
            .await
            .context("connecting to the PostgreSQL server")?;
        exec(&admin, &format!("CREATE DATABASE {name}")).await?;
        let mut url = url::Url::parse(server)?;
        url.set_path(&format!("/{name}"));
        let dir = std::env::temp_dir().join(&name);
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            admin,
            url: url.to_string(),
            dir,
            name,
        })
    }

    /// Drops both, or with `keep` says where they are.
    pub(crate) async fn finish(self, keep: bool) -> anyhow::Result<()> {
        if keep {
            eprintln!("kept database {} and {}", self.name, self.dir.display());
        } else {
            exec(
                &self.admin,
                &format!("DROP DATABASE {} WITH (FORCE)", self.name),
            )
            .await?;
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        Ok(())
    }
}

async fn measure(args: &Args, bin: &Path, url: &str, dir: &Path) -> anyhow::Result<()> {
    let conc = args.concurrency.max(1);
    let dur = Duration::from_secs(args.duration.max(1));
    // The raw baseline's pool is the size of the server's (16 on PostgreSQL, db.rs).
    let db = connect(&DbSettings {
        url: url.to_owned(),
        max_connections: Some(16),
        acquire_timeout: Duration::from_secs(30),
        statement_timeout: None,
    })
    .await?;
    migrate(&db).await?;
    whistle_api::demo::seed(&db).await?;
    let t = Instant::now();
    seed_cases(&db, args.cases).await?;
    let seed_secs = t.elapsed().as_secs_f64();
    eprintln!("seeded {} cases in {seed_secs:.1} s", args.cases);

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(conc * 2)
        .build()?;
    let server = start_server(bin, url, false, dir, &client).await?;
    let pid = server.pid();
    let base = Arc::new(server.base.clone());

    let resident = Arc::new(login(&client, &base, "13800001234").await?);
    let officer = Arc::new(login(&client, &base, "tianye").await?);
    let dispatcher = Arc::new(login(&client, &base, "dispatcher").await?);
    let tianye = one_id(&db, "SELECT id FROM users WHERE username = 'tianye'").await?;
    let zhang = one_id(&db, "SELECT id FROM users WHERE username = '13800001234'").await?;
    let wenchang = one_id(&db, "SELECT id FROM community WHERE code = '320706001001'").await?;
    let wenchang_grid = one_id(
        &db,
        &format!("SELECT id FROM grid WHERE community_id = {wenchang} ORDER BY id LIMIT 1"),
    )
    .await?;
    let (street, district) = {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                format!(
                    "SELECT co.street_id, st.district_id FROM community co \
                     JOIN street st ON st.id = co.street_id WHERE co.id = {wenchang}"
                ),
            ))
            .await?
            .context("文昌社区's street")?;
        (
            row.try_get_by_index::<i64>(0)?,
            row.try_get_by_index::<i64>(1)?,
        )
    };
    let noise = one_id(&db, "SELECT id FROM case_category WHERE code = 'noise'").await?;
    let categories: Arc<Vec<String>> = Arc::new({
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT code FROM case_category ORDER BY id".to_owned(),
            ))
            .await?;
        rows.iter()
            .map(|r| r.try_get_by_index::<String>(0))
            .collect::<Result<_, _>>()?
    });
    // Cases 田野 may read, for the detail scenario.
    let detail_ids: Arc<Vec<i64>> = Arc::new(
        ids(
            &db,
            &format!(
                "SELECT id FROM cases WHERE community_id = {wenchang} AND id % 7 = 0 \
                 ORDER BY id DESC LIMIT 20000"
            ),
        )
        .await?,
    );
    if detail_ids.is_empty() {
        bail!("no cases in 文昌社区 to read");
    }

    let mut rows: Vec<Row> = Vec::new();
    let cpu_of = |before: ProcSample, secs: f64| {
        let after = sample(pid);
        (
            Some((after.cpu_secs - before.cpu_secs) / secs.max(1e-9)),
            Some(after.rss_kb as f64 / 1024.0),
            Some((after.pg_cpu_secs - before.pg_cpu_secs) / secs.max(1e-9)),
        )
    };

    // HTTP ceiling.
    eprintln!("scenario: GET /healthz");
    let before = sample(pid);
    let api = drive(conc, dur, {
        let (client, base) = (client.clone(), base.clone());
        op(move |_, _| {
            let req = client.get(format!("{base}/healthz"));
            async move { expect(req, 200).await.map(|_| true) }
        })
    })
    .await;
    let (api_cpu, api_rss_mb, pg_cpu) = cpu_of(before, api.secs);
    rows.push(Row {
        scenario: "GET /healthz (HTTP ceiling)",
        api: Some(api),
        raw: None,
        api_cpu,
        pg_cpu,
        api_rss_mb,
    });

    // Create case.
    eprintln!("scenario: create case");
    let before = sample(pid);
    let api = drive(conc, dur, {
        let (client, base, token, cats) = (
            client.clone(),
            base.clone(),
            resident.clone(),
            categories.clone(),
        );
        op(move |w, i| {
            let req = client
                .post(format!("{base}/api/v1/cases"))
                .bearer_auth(token.as_str())
                .header("idempotency-key", format!("bench-{w}-{i}"))
                .json(&report_body(&cats, w, i));
            async move { expect(req, 201).await.map(|_| true) }
        })
    })
    .await;
    let (api_cpu, api_rss_mb, pg_cpu) = cpu_of(before, api.secs);
    let seq = Arc::new(AtomicU64::new(0));
    let raw = drive(conc, dur, {
        let (db, seq) = (db.clone(), seq.clone());
        op(move |_, _| {
            let (db, seq) = (db.clone(), seq.clone());
            async move {
                let n = seq.fetch_add(1, Ordering::Relaxed) + 1;
                raw_insert(
                    &db,
                    n,
                    noise,
                    wenchang_grid,
                    wenchang,
                    street,
                    district,
                    zhang,
                )
                .await
                .map(|_| true)
            }
        })
    })
    .await;
    rows.push(Row {
        scenario: "create case",
        api: Some(api),
        raw: Some(raw),
        api_cpu,
        pg_cpu,
        api_rss_mb,
    });

    // Officer queue.
    eprintln!("scenario: officer queue");
    let before = sample(pid);
    let api = drive(conc, dur, {
        let (client, base, token) = (client.clone(), base.clone(), officer.clone());
        op(move |_, _| {
            let req = client
                .get(format!("{base}/api/v1/cases?assignee=me"))
                .bearer_auth(token.as_str());
            async move { expect(req, 200).await.map(|_| true) }
        })
    })
    .await;
    let (api_cpu, api_rss_mb, pg_cpu) = cpu_of(before, api.secs);
    let raw = drive(conc, dur, {
        let db = db.clone();
        op(move |_, _| {
            let db = db.clone();
            async move {
                // The statement sea-orm builds for the queue: 田野's communities, his cases,
                // by deadline, one more than the page to know whether there is a next one.
                let rows = db
                    .query_all_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "SELECT * FROM cases WHERE (community_id IN ($1) OR FALSE) \
                         AND assignee_id = $2 \
                         ORDER BY stage_due ASC NULLS LAST, id ASC LIMIT $3",
                        [wenchang.into(), tianye.into(), Value::from(51i64)],
                    ))
                    .await?;
                anyhow::ensure!(!rows.is_empty(), "田野's queue is empty");
                Ok(true)
            }
        })
    })
    .await;
    rows.push(Row {
        scenario: "officer queue (assignee=me, first page)",
        api: Some(api),
        raw: Some(raw),
        api_cpu,
        pg_cpu,
        api_rss_mb,
    });

    // Case detail + timeline.
    eprintln!("scenario: case detail + timeline");
    let before = sample(pid);
    let api = drive(conc, dur, {
        let (client, base, token, ids) = (
            client.clone(),
            base.clone(),
            officer.clone(),
            detail_ids.clone(),
        );
        op(move |w, i| {
            let id = ids[(mix(((w as u64) << 40) ^ i) % ids.len() as u64) as usize];
            let detail = client
                .get(format!("{base}/api/v1/cases/{id}"))
                .bearer_auth(token.as_str());
            let timeline = client
                .get(format!("{base}/api/v1/cases/{id}/timeline"))
                .bearer_auth(token.as_str());
            async move {
                expect(detail, 200).await?;
                expect(timeline, 200).await?;
                Ok(true)
            }
        })
    })
    .await;
    let (api_cpu, api_rss_mb, pg_cpu) = cpu_of(before, api.secs);
    let raw = drive(conc, dur, {
        let (db, ids) = (db.clone(), detail_ids.clone());
        op(move |w, i| {
            let id = ids[(mix(((w as u64) << 40) ^ i) % ids.len() as u64) as usize];
            let db = db.clone();
            async move {
                let case = db
                    .query_one_raw(Statement::from_sql_and_values(
                        DbBackend::Postgres,
                        "SELECT * FROM cases WHERE id = $1",
                        [id.into()],
                    ))
                    .await?;
                anyhow::ensure!(case.is_some(), "case {id} is missing");
                db.query_all_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT * FROM case_event WHERE case_id = $1 ORDER BY at, id",
                    [id.into()],
                ))
                .await?;
                Ok(true)
            }
        })
    })
    .await;
    rows.push(Row {
        scenario: "case detail + timeline",
        api: Some(api),
        raw: Some(raw),
        api_cpu,
        pg_cpu,
        api_rss_mb,
    });

    // One lifecycle action: the command centre accepts (立案) a reported case.
    eprintln!("scenario: lifecycle action (accept)");
    let reported: Arc<Vec<i64>> = Arc::new(
        ids(
            &db,
            "SELECT id FROM cases WHERE status = 'reported' AND version = 1 ORDER BY id DESC",
        )
        .await?,
    );
    let next = Arc::new(AtomicUsize::new(0));
    let before = sample(pid);
    let api = drive(conc, dur, {
        let (client, base, token) = (client.clone(), base.clone(), dispatcher.clone());
        let (reported, next) = (reported.clone(), next.clone());
        op(move |_, _| {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let id = reported.get(k).copied();
            let req = id.map(|id| {
                client
                    .post(format!("{base}/api/v1/cases/{id}/actions"))
                    .bearer_auth(token.as_str())
                    .json(&json!({"action": "accept", "version": 1}))
            });
            async move {
                match req {
                    Some(req) => expect(req, 200).await.map(|_| true),
                    None => Ok(false),
                }
            }
        })
    })
    .await;
    let (api_cpu, api_rss_mb, pg_cpu) = cpu_of(before, api.secs);
    rows.push(Row {
        scenario: "lifecycle action (accept)",
        api: Some(api),
        raw: None,
        api_cpu,
        pg_cpu,
        api_rss_mb,
    });

    // Public map, Open311.
    for (scenario, path) in [
        ("public map (first page)", "/api/v1/public/cases"),
        ("Open311 GET requests.json", "/open311/v2/requests.json"),
    ] {
        eprintln!("scenario: {scenario}");
        let before = sample(pid);
        let api = drive(conc, dur, {
            let (client, base) = (client.clone(), base.clone());
            op(move |_, _| {
                let req = client.get(format!("{base}{path}"));
                async move { expect(req, 200).await.map(|_| true) }
            })
        })
        .await;
        let (api_cpu, api_rss_mb, pg_cpu) = cpu_of(before, api.secs);
        rows.push(Row {
            scenario,
            api: Some(api),
            raw: None,
            api_cpu,
            pg_cpu,
            api_rss_mb,
        });
    }

    let end = sample(pid);
    drop(server);

    // The embedded default: intake on a fresh SQLite file with the demo city.
    let mut sqlite_row = None;
    if args.sqlite {
        eprintln!("scenario: create case on the embedded SQLite default");
        let sqlite_url = format!("sqlite://{}", dir.join("whistle.db").display());
        let server = start_server(bin, &sqlite_url, true, dir, &client).await?;
        let pid = server.pid();
        let base = Arc::new(server.base.clone());
        let token = Arc::new(login(&client, &base, "13800001234").await?);
        let before = sample(pid);
        let api = drive(conc, dur, {
            let (client, base, cats) = (client.clone(), base.clone(), categories.clone());
            op(move |w, i| {
                let req = client
                    .post(format!("{base}/api/v1/cases"))
                    .bearer_auth(token.as_str())
                    .header("idempotency-key", format!("bench-{w}-{i}"))
                    .json(&report_body(&cats, w, i));
                async move { expect(req, 201).await.map(|_| true) }
            })
        })
        .await;
        let after = sample(pid);
        sqlite_row = Some(Row {
            scenario: "create case, embedded SQLite (demo city only)",
            api_cpu: Some((after.cpu_secs - before.cpu_secs) / api.secs.max(1e-9)),
            pg_cpu: None,
            api_rss_mb: Some(after.rss_kb as f64 / 1024.0),
            api: Some(api),
            raw: None,
        });
    }
    rows.extend(sqlite_row);

    report(args, &rows, seed_secs, end)?;
    let failed: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            [("whistle", &r.api), ("raw", &r.raw)]
                .into_iter()
                .filter_map(move |(side, s)| s.as_ref().map(|s| (side, s, r.scenario)))
        })
        .filter(|(_, s, _)| s.errors > 0 || s.ok == 0)
        .map(|(side, s, scenario)| {
            format!(
                "{scenario} ({side}): {} ok, {} errors; first: {}",
                s.ok,
                s.errors,
                s.first_error.as_deref().unwrap_or("-")
            )
        })
        .collect();
    db.close().await?;
    if !failed.is_empty() {
        bail!("scenarios failed:\n{}", failed.join("\n"));
    }
    Ok(())
}

/// The raw baseline of intake: the case row and its first event in one transaction, with the
/// same columns the API writes.
#[allow(clippy::too_many_arguments)]
async fn raw_insert(
    db: &DatabaseConnection,
    n: u64,
    category: i64,
    grid: i64,
    community: i64,
    street: i64,
    district: i64,
    reporter: i64,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now().fixed_offset();
    let txn = db.begin().await?;
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO cases (number, category_id, case_type, priority, source, status,
                description, address, lat, lon, grid_id, community_id, street_id, district_id,
                reporter_id, stage, stage_due, stage_started_at, version,
                idempotency_scope, idempotency_key, created_at, updated_at)
             VALUES ($1, $2, 'complaint', 'high', 'resident_app', 'reported', $3, $4, $5, $6, $7,
                $8, $9, $10, $11, 'accept', $12, $12, 1, $13, $14, $12, $12)
             RETURNING id",
            [
                format!("BR-20261126-{n:07}").into(),
                category.into(),
                format!("压测：小区南门外商家高音喇叭叫卖，噪声扰民（raw-{n}）。").into(),
                "文昌社区南门".into(),
                34.5858f64.into(),
                119.143f64.into(),
                grid.into(),
                community.into(),
                street.into(),
                district.into(),
                reporter.into(),
                now.into(),
                format!("user:{reporter}").into(),
                format!("raw-{n}").into(),
            ],
        ))
        .await?
        .context("RETURNING id")?;
    let id: i64 = row.try_get_by_index(0)?;
    // The deadline's plan for the notifier, as intake writes it.
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO case_sla (case_id, check_at) VALUES ($1, $2)",
        [id.into(), now.into()],
    ))
    .await?;
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "INSERT INTO case_event (case_id, at, actor_id, actor_role, action, to_status, data)
         VALUES ($1, $2, $3, 'resident', 'report', 'reported', $4)",
        [
            id.into(),
            now.into(),
            reporter.into(),
            r#"{"source":"resident_app","crs":"wgs84"}"#.into(),
        ],
    ))
    .await?;
    txn.commit().await?;
    Ok(())
}

fn report(args: &Args, rows: &[Row], seed_secs: f64, end: ProcSample) -> anyhow::Result<()> {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut md = String::new();
    md.push_str("## whistle-bench api\n\n");
    md.push_str(&format!(
        "{} cases (seeded in {seed_secs:.1} s), {} clients, {} s per scenario, {cpus} CPUs; \
         PostgreSQL; whistle-api peak RSS {:.1} MB\n\n",
        args.cases,
        args.concurrency,
        args.duration,
        end.peak_rss_kb as f64 / 1024.0
    ));
    md.push_str(
        "| scenario | API µs/op | PG µs/op | Whistle /s | p50 ms | p95 ms | p99 ms | raw /s | raw p50 \
         | raw p95 | raw p99 | Whistle ÷ raw | API CPU (cores) | PG CPU (cores) | API RSS MB \
         | errors |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let f = |s: &Option<Stats>, g: &dyn Fn(&Stats) -> String| s.as_ref().map_or("–".into(), g);
    for r in rows {
        let ratio = match (&r.api, &r.raw) {
            (Some(a), Some(b)) if b.per_sec() > 0.0 => format!("{:.2}", a.per_sec() / b.per_sec()),
            _ => "–".into(),
        };
        let errors =
            r.api.as_ref().map_or(0, |s| s.errors) + r.raw.as_ref().map_or(0, |s| s.errors);
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {ratio} | {} | {} | {} \
             | {errors} |\n",
            r.scenario,
            r.micros_per_op(r.api_cpu)
                .map_or("–".into(), |u| format!("{u:.0}")),
            r.micros_per_op(r.pg_cpu)
                .map_or("–".into(), |u| format!("{u:.0}")),
            f(&r.api, &|s| format!("{:.0}", s.per_sec())),
            f(&r.api, &|s| format!("{:.1}", s.ms(0.5))),
            f(&r.api, &|s| format!("{:.1}", s.ms(0.95))),
            f(&r.api, &|s| format!("{:.1}", s.ms(0.99))),
            f(&r.raw, &|s| format!("{:.0}", s.per_sec())),
            f(&r.raw, &|s| format!("{:.1}", s.ms(0.5))),
            f(&r.raw, &|s| format!("{:.1}", s.ms(0.95))),
            f(&r.raw, &|s| format!("{:.1}", s.ms(0.99))),
            r.api_cpu.map_or("–".into(), |c| format!("{c:.2}")),
            r.pg_cpu.map_or("–".into(), |c| format!("{c:.2}")),
            r.api_rss_mb.map_or("–".into(), |m| format!("{m:.0}")),
        ));
    }
    println!("{md}");
    if let Some(path) = &args.markdown {
        std::fs::write(path, &md).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.out {
        let json = json!({
            "cases": args.cases,
            "concurrency": args.concurrency,
            "duration_secs": args.duration,
            "seed_secs": seed_secs,
            "cpus": cpus,
            "api_peak_rss_mb": end.peak_rss_kb as f64 / 1024.0,
            "api_cpu_secs_total": end.cpu_secs,
            "scenarios": rows.iter().map(|r| json!({
                "scenario": r.scenario,
                "whistle": r.api.as_ref().map(Stats::json),
                "raw": r.raw.as_ref().map(Stats::json),
                "ratio": match (&r.api, &r.raw) {
                    (Some(a), Some(b)) if b.per_sec() > 0.0 => Some(a.per_sec() / b.per_sec()),
                    _ => None,
                },
                "api_cpu_cores": r.api_cpu,
                "postgres_cpu_cores": r.pg_cpu,
                "api_cpu_micros_per_op": r.micros_per_op(r.api_cpu),
                "postgres_cpu_micros_per_op": r.micros_per_op(r.pg_cpu),
                "api_rss_mb": r.api_rss_mb,
            })).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
