//! The API's benchmark: Whistle's cost over the database's own.
//!
//! Seeds a PostgreSQL database of its own with `--cases` cases over the demo city, starts the
//! real `whistle-api` binary on it as a child process (so its memory and CPU can be read from
//! `/proc`), and drives each scenario through a real HTTP client at `--concurrency` for
//! `--duration` seconds. In the same run the same work goes straight to PostgreSQL through the
//! same driver (sqlx under sea-orm) at the same concurrency: the raw baseline. `GET /healthz`
//! is the HTTP ceiling: what the server costs with no database at all.

mod drive;
mod report;
mod seed;
mod server;

use drive::{ProcSample, Stats, drive, op, sample};
use report::report;
use seed::ids;
pub(crate) use seed::{exec, one_id, seed_cases};
use server::{api_binary, expect, login, mix, report_body};
pub(crate) use server::{binary_beside, start_server};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
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
