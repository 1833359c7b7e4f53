//! The notifier's benchmark: how long the SLA sweep takes to find and write the reminders of
//! `--due` deadlines among `--cases` open cases, and how many notifications a second one
//! notifier delivers to a webhook receiver on loopback (which verifies every signature).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use whistle_domain::notice::{Channel, Locale, Template};
use whistle_notifier::channels::{ID_HEADER, SIGNATURE_HEADER, verify};
use whistle_notifier::settings::WebhookSettings;
use whistle_notifier::{Notifier, Settings};
use whistle_persistence::repo::notifications::{self, NewNotification};
use whistle_persistence::{DbSettings, connect, migrate};

const SECRET: &str = "whistle-bench-webhook-secret";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The PostgreSQL server (a database of its own is created there and dropped after).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    server: String,
    /// Open cases in the database.
    #[arg(long, default_value_t = 1_000_000)]
    cases: u64,
    /// Of which this many have a deadline due.
    #[arg(long, default_value_t = 1_000)]
    due: u64,
    /// Sweeps measured (each with `--due` fresh deadlines).
    #[arg(long, default_value_t = 5)]
    repeats: u32,
    /// Webhook notifications delivered for the throughput figure.
    #[arg(long, default_value_t = 10_000)]
    deliveries: u64,
    /// Deliveries in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Write the results as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Keep the database afterwards (its name is printed).
    #[arg(long)]
    keep: bool,
}

#[derive(Default)]
struct Receiver {
    ids: Mutex<HashSet<i64>>,
    repeats: Mutex<u64>,
    rejected: Mutex<u64>,
}

async fn receive(State(rx): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let sig = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if verify(SECRET, sig, &body, now, Duration::from_secs(300)).is_err() {
        *rx.rejected.lock().expect("lock") += 1;
        return StatusCode::UNAUTHORIZED;
    }
    let id = headers
        .get(ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(-1);
    if !rx.ids.lock().expect("lock").insert(id) {
        *rx.repeats.lock().expect("lock") += 1;
    }
    StatusCode::NO_CONTENT
}

async fn exec(db: &DatabaseConnection, sql: &str) -> anyhow::Result<u64> {
    Ok(db
        .execute_raw(Statement::from_string(DbBackend::Postgres, sql.to_owned()))
        .await
        .with_context(|| format!("running {}", sql.lines().next().unwrap_or(sql)))?
        .rows_affected())
}

async fn plan(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<String>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"),
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String>("", "QUERY PLAN").map_err(Into::into))
        .collect()
}

/// Open cases, spread over the demo city's grids and categories, all in the handling stage with
/// a deadline weeks away (so none is due), assigned to 田野.
async fn seed_cases(db: &DatabaseConnection, n: u64) -> anyhow::Result<()> {
    let sql = format!(
        "INSERT INTO cases (number, category_id, case_type, priority, source, status, description,
            lat, lon, grid_id, community_id, street_id, district_id, assignee_id, stage, stage_due,
            stage_started_at, version, created_at, updated_at)
         SELECT 'BX-20261126-' || lpad(g::text, 7, '0'), c.id, c.case_type, 'normal',
            'resident_app', 'in_progress', '压测案件 ' || g, 34.58, 119.14, gr.id, gr.community_id,
            co.street_id, st.district_id, u.id, 'resolve',
            now() + interval '30 days' + (g % 86400) * interval '1 second',
            now() - interval '1 day',
            1, now() - interval '1 day', now() - interval '1 day'
         FROM generate_series(1, {n}) g
         JOIN (SELECT id, case_type, row_number() OVER (ORDER BY id) - 1 AS k FROM case_category) c
           ON c.k = g % (SELECT count(*) FROM case_category)
         JOIN (SELECT id, community_id, row_number() OVER (ORDER BY id) - 1 AS k FROM grid) gr
           ON gr.k = g % (SELECT count(*) FROM grid)
         JOIN community co ON co.id = gr.community_id
         JOIN street st ON st.id = co.street_id
         CROSS JOIN (SELECT id FROM users WHERE username = 'tianye') u"
    );
    exec(db, &sql).await?;
    // Their plans: the next look weeks away, as the sweep leaves a planned deadline.
    exec(
        db,
        "INSERT INTO case_sla (case_id, check_at)
         SELECT id, stage_due - interval '10 days' FROM cases WHERE description LIKE '压测案件 %'",
    )
    .await?;
    exec(db, "ANALYZE cases").await?;
    exec(db, "ANALYZE case_sla").await?;
    Ok(())
}

/// Makes the newest `due` cases overdue now, each with a deadline of round `round` (a new
/// deadline: new reminders).
async fn arm(db: &DatabaseConnection, due: u64, round: u32) -> anyhow::Result<u64> {
    let newest = format!(
        "SELECT id FROM cases WHERE description LIKE '压测案件 %' ORDER BY id DESC LIMIT {due}"
    );
    exec(
        db,
        &format!(
            "UPDATE cases SET stage_started_at = now() - interval '2 hours',
                stage_due = now() - interval '10 minutes' - interval '{round} minutes'
             WHERE id IN ({newest})"
        ),
    )
    .await?;
    exec(
        db,
        &format!(
            "UPDATE case_sla SET check_at = now() - interval '1 minute', level = NULL
             WHERE case_id IN ({newest})"
        ),
    )
    .await
}

fn settings(url: &str, receiver: &str, batch: u64, concurrency: usize) -> anyhow::Result<Settings> {
    let env = [
        ("DATABASE_URL", url.to_owned()),
        ("WHISTLE__NOTIFIER__METRICS_ADDR", String::new()),
        ("WHISTLE__NOTIFIER__QUIET_HOURS", "off".to_owned()),
        ("WHISTLE__NOTIFIER__BATCH_SIZE", batch.to_string()),
        ("WHISTLE__NOTIFIER__CONCURRENCY", concurrency.to_string()),
        ("WHISTLE__NOTIFIER__WORKER_ID", "bench".to_owned()),
        ("WHISTLE__LOG__FILTER", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut s = Settings::load_from(Some(Path::new("/nonexistent/whistle.toml")), env)?;
    s.notifier.webhooks.push(WebhookSettings {
        name: "bench".to_owned(),
        url: receiver.to_owned(),
        secret: SECRET.to_owned(),
        templates: vec!["*".to_owned()],
    });
    Ok(s)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if !args.server.starts_with("postgres") {
        bail!("the notifier benchmark needs PostgreSQL (--server postgres://…)");
    }
    let name = format!("whistle_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(args.server.as_str())
        .await
        .context("connecting to the PostgreSQL server")?;
    exec(&admin, &format!("CREATE DATABASE {name}")).await?;
    let mut url = url::Url::parse(&args.server)?;
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    let result = measure(&args, &url).await;
    if args.keep {
        eprintln!("kept database {name}");
    } else {
        exec(&admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await?;
    }
    result
}

async fn measure(args: &Args, url: &str) -> anyhow::Result<()> {
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
    eprintln!(
        "seeded {} open cases in {:.1} s",
        args.cases,
        t.elapsed().as_secs_f64()
    );

    let rx = Arc::new(Receiver::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/hook", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(rx.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let s = settings(url, &hook, args.due.max(1), args.concurrency)?;
    let notifier = Notifier::new(db.clone(), s)?;
    // The demo city's own notices first, out of the way.
    notifier.drain().await?;

    // The sweep.
    let due_sql = "SELECT * FROM case_sla WHERE check_at <= now() ORDER BY check_at \
                   LIMIT 1000 FOR UPDATE SKIP LOCKED";
    let mut sweeps = Vec::new();
    let mut created = 0;
    let mut query_plan = Vec::new();
    for round in 0..args.repeats {
        let armed = arm(&db, args.due, round).await?;
        if round == 0 {
            query_plan = plan(&db, due_sql).await?;
        }
        let t = Instant::now();
        let mut found = 0;
        loop {
            let s = notifier.sweep_at(Utc::now()).await?;
            found += s.deadlines;
            created += s.created;
            if s.deadlines == 0 {
                break;
            }
        }
        let elapsed = t.elapsed();
        anyhow::ensure!(
            found as u64 == armed,
            "the sweep found {found} of {armed} due deadlines"
        );
        sweeps.push(ms(elapsed));
        // Deliver what the sweep wrote before the next round, outside the measurement.
        notifier.drain().await?;
    }

    // Delivery throughput: webhook notifications, delivered by one notifier.
    let rows: Vec<NewNotification> = (0..args.deliveries)
        .map(|i| NewNotification {
            dedupe_key: format!("bench-{i}"),
            template: Template::CaseClosed,
            case_id: None,
            user_id: None,
            channel: Channel::Webhook,
            address: Some("bench".to_owned()),
            locale: Locale::Zh,
            title: format!("案件已结案（BX-{i}）"),
            body: "案件已结案，感谢您的监督。".to_owned(),
            payload: serde_json::json!({"n": i}),
            next_attempt_at: Utc::now(),
            created_at: Utc::now(),
        })
        .collect();
    notifications::insert_new(&db, &rows).await?;
    let before = rx.ids.lock().expect("lock").len();
    let t = Instant::now();
    let report = notifier.drain().await?;
    let delivery = t.elapsed();
    let received = rx.ids.lock().expect("lock").len() - before;
    let per_sec = received as f64 / delivery.as_secs_f64();
    let rejected = *rx.rejected.lock().expect("lock");
    let repeats = *rx.repeats.lock().expect("lock");

    println!("## whistle-bench notifier\n");
    println!(
        "{} open cases, {} due per sweep, {} sweeps; PostgreSQL\n",
        args.cases, args.due, args.repeats
    );
    println!("| figure | value |\n|---|---|");
    println!(
        "| sweep of {} due deadlines (median of {}) | {:.1} ms |",
        args.due,
        sweeps.len(),
        median(sweeps.clone())
    );
    println!(
        "| sweep min / max | {:.1} / {:.1} ms |",
        sweeps.iter().copied().fold(f64::INFINITY, f64::min),
        sweeps.iter().copied().fold(0.0, f64::max)
    );
    println!(
        "| reminders written per sweep | {} |",
        created / u64::from(args.repeats.max(1))
    );
    println!(
        "| webhook deliveries ({} in flight) | {:.0} /s ({} in {:.2} s) |",
        args.concurrency,
        per_sec,
        received,
        delivery.as_secs_f64()
    );
    println!("| receiver: bad signatures / repeated ids | {rejected} / {repeats} |");
    println!("\nplan of the due-deadline query:\n");
    for line in &query_plan {
        println!("    {line}");
    }
    let json = serde_json::json!({
        "cases": args.cases,
        "due": args.due,
        "sweep_ms": sweeps,
        "sweep_ms_median": median(sweeps.clone()),
        "reminders_written": created,
        "deliveries": received,
        "delivery_secs": delivery.as_secs_f64(),
        "deliveries_per_sec": per_sec,
        "sent_reported": report.sent,
        "rejected": rejected,
        "repeated": repeats,
        "due_query_plan": query_plan,
    });
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    anyhow::ensure!(rejected == 0, "the receiver rejected {rejected} signatures");
    db.close().await?;
    Ok(())
}
