//! The console's pages in a real browser: how long the queue, a case and the dashboard take to
//! be ready over a city with `--cases` cases.
//!
//! Seeds a PostgreSQL database of its own as the API benchmark does, starts `whistle-api` on
//! it, and runs `web/console/bench/pages.mjs` (Playwright driving Debian's Chromium) against
//! it: each page opened `--runs` times cold (a fresh browser context, nothing cached) and warm
//! (its assets cached by an earlier visit), timed from the start of the navigation until the
//! page shows its data.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use whistle_persistence::{DbSettings, connect, migrate};

use crate::api::{Scratch, binary_beside, one_id, seed_cases, start_server};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The PostgreSQL server (a database of its own is created there and dropped after).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    server: String,
    /// Cases in the database.
    #[arg(long, default_value_t = 10_000)]
    cases: u64,
    /// Measured loads of each page (after one unmeasured one).
    #[arg(long, default_value_t = 5)]
    runs: u32,
    /// The `whistle-api` binary (default: beside this one, as cargo builds it).
    #[arg(long)]
    api_bin: Option<PathBuf>,
    /// The `web/` folder with its node_modules (default: `web` under the current directory).
    #[arg(long, default_value = "web")]
    web: PathBuf,
    /// Keep the database afterwards (its name is printed).
    #[arg(long)]
    keep: bool,
}

#[derive(Debug, Deserialize)]
struct PageTime {
    page: String,
    cache: String,
    runs: u32,
    median_ms: u64,
    min_ms: u64,
    max_ms: u64,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if !args.server.starts_with("postgres") {
        bail!("the pages benchmark seeds PostgreSQL (--server postgres://…)");
    }
    if args.cases < 100 {
        bail!("--cases must be at least 100");
    }
    let script = args.web.join("console/bench/pages.mjs");
    if !script.is_file() {
        bail!(
            "no {} (run from the repository's root, or pass --web)",
            script.display()
        );
    }
    let bin = binary_beside(args.api_bin.as_ref())?;
    let scratch = Scratch::create(&args.server, "whistle_pages").await?;
    let result = measure(&args, &bin, &scratch.url, &scratch.dir, &script).await;
    scratch.finish(args.keep).await?;
    result
}

async fn measure(
    args: &Args,
    bin: &std::path::Path,
    url: &str,
    dir: &std::path::Path,
    script: &std::path::Path,
) -> anyhow::Result<()> {
    let db = connect(&DbSettings {
        url: url.to_owned(),
        max_connections: Some(4),
        acquire_timeout: Duration::from_secs(30),
        statement_timeout: None,
    })
    .await?;
    migrate(&db).await?;
    whistle_api::demo::seed(&db).await?;
    seed_cases(&db, args.cases).await?;
    // One of 田野's open cases, for the case page.
    let case_id = one_id(
        &db,
        "SELECT c.id FROM cases c JOIN users u ON u.id = c.assignee_id \
         WHERE u.username = 'tianye' AND c.status = 'in_progress' ORDER BY c.id DESC LIMIT 1",
    )
    .await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let server = start_server(bin, url, false, dir, &client).await?;
    eprintln!(
        "{} cases; whistle-api at {}; case {case_id}",
        args.cases, server.base
    );
    let out = Command::new("node")
        .arg(script.canonicalize()?)
        .arg(&server.base)
        .arg(args.runs.to_string())
        .arg(case_id.to_string())
        .current_dir(args.web.join("console"))
        .output()
        .context("running node (is Node.js installed, and `npm ci` done in web/?)")?;
    if !out.status.success() {
        bail!(
            "the browser run failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('['))
        .context("no result line from the browser run")?;
    let times: Vec<PageTime> = serde_json::from_str(line)?;
    println!(
        "| page ({} cases, {} runs each) | browser cache | median | min | max |",
        args.cases, args.runs
    );
    println!("|---|---|---:|---:|---:|");
    for t in &times {
        println!(
            "| {} | {} | {} ms | {} ms | {} ms |",
            t.page, t.cache, t.median_ms, t.min_ms, t.max_ms
        );
        if t.runs != args.runs {
            bail!("{}: {} runs measured, {} asked", t.page, t.runs, args.runs);
        }
    }
    drop(server);
    Ok(())
}
